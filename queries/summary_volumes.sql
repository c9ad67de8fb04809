-- name: summary_volumes
-- CAD counts per period from the daily volume table: period is 'day' (London calendar day),
-- 'week' (ISO week, period_start is the Monday) or 'month'. Columns not grouped on come back
-- NULL. With by_tag a CAD counts once under each distinct tag it carries, and untagged CADs
-- under a NULL tag. date_from / date_to (inclusive London days) may be NULL for no bound.
-- params: period VARCHAR, by_borough BOOLEAN, by_call_source BOOLEAN, by_grading BOOLEAN, by_tag BOOLEAN, date_from DATE, date_to DATE
SELECT
    CAST(date_trunc($period, v.day) AS DATE) AS period_start,
    CASE WHEN $by_borough THEN v.borough END AS borough,
    CASE WHEN $by_call_source THEN v.call_source END AS call_source,
    CASE WHEN $by_grading THEN v.grading END AS grading,
    t.tag AS tag,
    sum(v.n)::BIGINT AS count
FROM daily_volume AS v,
    unnest(
        CASE WHEN $by_tag AND array_length(v.tagset) > 0 THEN v.tagset ELSE [NULL::VARCHAR] END
    ) AS t(tag)
WHERE ($date_from IS NULL OR v.day >= $date_from)
  AND ($date_to IS NULL OR v.day <= $date_to)
GROUP BY ALL
