-- name: summary_cellkeys
-- CAD counts per period and group straight from the records, each with its cell key sum: the
-- sum over the cell's CADs of a record key in 0..255 fixed by the CAD reference (the first
-- byte of md5(salt || cad_ref), read from its two hex digits). The cell key is that sum mod
-- 256, so the same cell gets the same key in every table, whatever else is asked (the ONS
-- cell key method; costplan/summary.py rounds each count by it). Periods, groups, tags and
-- date bounds as in summary_volumes (a CAD counts once under each distinct tag it carries,
-- untagged CADs under a NULL tag). The volume table holds no record keys, so a summary with
-- disclosure control counts from the partitions.
-- params: salt VARCHAR, period VARCHAR, by_borough BOOLEAN, by_call_source BOOLEAN, by_grading BOOLEAN, by_tag BOOLEAN, date_from DATE, date_to DATE
WITH in_range AS (
    SELECT
        day,
        borough,
        call_source,
        grading,
        tags,
        (strpos('0123456789abcdef', substr(md5(CAST($salt AS VARCHAR) || cad_ref), 1, 1)) - 1) * 16
          + strpos('0123456789abcdef', substr(md5(CAST($salt AS VARCHAR) || cad_ref), 2, 1))
          - 1 AS record_key
    FROM cad
    WHERE ($date_from IS NULL OR day >= $date_from)
      AND ($date_to IS NULL OR day <= $date_to)
),
tagged AS (
    SELECT day, borough, call_source, grading, NULL::VARCHAR AS tag, record_key
    FROM in_range
    WHERE NOT $by_tag
    UNION ALL
    SELECT
        day, borough, call_source, grading,
        unnest(
            CASE WHEN array_length(tags) > 0 THEN list_distinct(tags) ELSE [NULL::VARCHAR] END
        ) AS tag,
        record_key
    FROM in_range
    WHERE $by_tag
)
SELECT
    CAST(date_trunc($period, day) AS DATE) AS period_start,
    CASE WHEN $by_borough THEN borough END AS borough,
    CASE WHEN $by_call_source THEN call_source END AS call_source,
    CASE WHEN $by_grading THEN grading END AS grading,
    tag,
    count(*)::BIGINT AS count,
    sum(record_key)::BIGINT AS key_sum
FROM tagged
GROUP BY ALL
