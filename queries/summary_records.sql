-- name: summary_records
-- CAD counts per period and group straight from the records (`cad`), for a summary grouped by
-- grading and not by tag: the daily volume table's grain is borough, day and call source
-- (grading as a fourth key kept its rebuild at 3.5-5x the raw GROUP BY borough, day:
-- docs/benchmarks.md section 14), so these are counted from the partitions, as summary_tags
-- counts. Same columns, periods and date bounds as summary_volumes; tag is always NULL.
-- params: period VARCHAR, by_borough BOOLEAN, by_call_source BOOLEAN, by_grading BOOLEAN, date_from DATE, date_to DATE
SELECT
    CAST(date_trunc($period, day) AS DATE) AS period_start,
    CASE WHEN $by_borough THEN borough END AS borough,
    CASE WHEN $by_call_source THEN call_source END AS call_source,
    CASE WHEN $by_grading THEN grading END AS grading,
    NULL::VARCHAR AS tag,
    count(*)::BIGINT AS count
FROM cad
WHERE ($date_from IS NULL OR day >= $date_from)
  AND ($date_to IS NULL OR day <= $date_to)
GROUP BY ALL
