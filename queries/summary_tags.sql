-- name: summary_tags
-- CAD counts per period and group straight from the records (`cad`), for a summary grouped by
-- tag: the daily volume table holds no tags (a tag set dimension made its rebuild 16-26x the
-- raw GROUP BY borough, day), so these are counted from the partitions, as summary_cellkeys
-- counts. A CAD counts once under each distinct tag it carries, untagged CADs under a NULL
-- tag. Same columns, periods and date bounds as summary_volumes.
-- params: period VARCHAR, by_borough BOOLEAN, by_call_source BOOLEAN, by_grading BOOLEAN, date_from DATE, date_to DATE
WITH tagged AS (
    SELECT
        day, borough, call_source, grading,
        unnest(
            CASE WHEN array_length(tags) > 0 THEN list_distinct(tags) ELSE [NULL::VARCHAR] END
        ) AS tag
    FROM cad
    WHERE ($date_from IS NULL OR day >= $date_from)
      AND ($date_to IS NULL OR day <= $date_to)
)
SELECT
    CAST(date_trunc($period, day) AS DATE) AS period_start,
    CASE WHEN $by_borough THEN borough END AS borough,
    CASE WHEN $by_call_source THEN call_source END AS call_source,
    CASE WHEN $by_grading THEN grading END AS grading,
    tag,
    count(*)::BIGINT AS count
FROM tagged
GROUP BY ALL
