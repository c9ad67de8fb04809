-- name: summary_volumes
-- CAD counts per period from the daily volume table: period is 'day' (London calendar day),
-- 'week' (ISO week, period_start is the Monday) or 'month'. Columns not grouped on come back
-- NULL. With by_tag a CAD counts once under each distinct tag it carries, and untagged CADs
-- under a NULL tag. date_from / date_to (inclusive London days) may be NULL for no bound.
-- (A UNION of the two cases, not a lateral unnest: DuckDB runs that 30x slower.)
-- params: period VARCHAR, by_borough BOOLEAN, by_call_source BOOLEAN, by_grading BOOLEAN, by_tag BOOLEAN, date_from DATE, date_to DATE
WITH in_range AS (
    SELECT *
    FROM daily_volume
    WHERE ($date_from IS NULL OR day >= $date_from)
      AND ($date_to IS NULL OR day <= $date_to)
),
tagged AS (
    SELECT day, borough, call_source, grading, NULL::VARCHAR AS tag, n
    FROM in_range
    WHERE NOT $by_tag
    UNION ALL
    SELECT
        day, borough, call_source, grading,
        unnest(CASE WHEN array_length(tagset) > 0 THEN tagset ELSE [NULL::VARCHAR] END) AS tag,
        n
    FROM in_range
    WHERE $by_tag
)
SELECT
    CAST(date_trunc($period, day) AS DATE) AS period_start,
    CASE WHEN $by_borough THEN borough END AS borough,
    CASE WHEN $by_call_source THEN call_source END AS call_source,
    CASE WHEN $by_grading THEN grading END AS grading,
    tag,
    sum(n)::BIGINT AS count
FROM tagged
GROUP BY ALL
