-- name: summary_volumes
-- CAD counts per period from the daily volume table: period is 'day' (London calendar day),
-- 'week' (ISO week, period_start is the Monday) or 'month'. Columns not grouped on come back
-- NULL; grading and tag always: the table holds neither (a summary by tag is summary_tags, by
-- grading summary_records, both from the partitions). date_from / date_to (inclusive London
-- days) may be NULL for no bound.
-- params: period VARCHAR, by_borough BOOLEAN, by_call_source BOOLEAN, date_from DATE, date_to DATE
SELECT
    CAST(date_trunc($period, day) AS DATE) AS period_start,
    CASE WHEN $by_borough THEN borough END AS borough,
    CASE WHEN $by_call_source THEN call_source END AS call_source,
    NULL::VARCHAR AS grading,
    NULL::VARCHAR AS tag,
    sum(n)::BIGINT AS count
FROM daily_volume
WHERE ($date_from IS NULL OR day >= $date_from)
  AND ($date_to IS NULL OR day <= $date_to)
GROUP BY ALL
