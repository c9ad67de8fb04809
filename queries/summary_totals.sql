-- name: summary_totals
-- CAD counts per period from the per-borough-day totals (the view `daily_total`), for a summary
-- grouped by borough alone or not at all: the same rows and columns as summary_volumes with
-- by_call_source false (call source, grading and tag come back NULL), from one row per
-- borough-day (summed from its call-source rows) instead of one per call source. period is
-- 'day' (London calendar day), 'week' (ISO week, period_start is the Monday) or 'month';
-- date_from / date_to (inclusive London days) may be NULL for no bound.
-- params: period VARCHAR, by_borough BOOLEAN, date_from DATE, date_to DATE
SELECT
    CAST(date_trunc($period, day) AS DATE) AS period_start,
    CASE WHEN $by_borough THEN borough END AS borough,
    NULL::VARCHAR AS call_source,
    NULL::VARCHAR AS grading,
    NULL::VARCHAR AS tag,
    sum(n)::BIGINT AS count
FROM daily_total
WHERE ($date_from IS NULL OR day >= $date_from)
  AND ($date_to IS NULL OR day <= $date_to)
GROUP BY ALL
