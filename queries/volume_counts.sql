-- name: volume_counts
-- Daily volumes of the CADs in the view, per store partition (borough, year): CADs per London
-- day, call source, grading and tag set. The tag set is the sorted list of a CAD's distinct
-- tags ([] when it has none), so every CAD falls in exactly one row: totals are exact and
-- "any of these tags" is a sum over tag sets. Only lists of two or more tags need sorting and
-- de-duplicating; doing it for those alone keeps a rebuild about 4x faster (docs/benchmarks.md).
-- params: none
SELECT
    borough,
    year,
    day,
    call_source,
    grading,
    -- array_length, not len: sqlglot renders len(list) as Spark's string LENGTH.
    CASE
        WHEN array_length(tags) > 1 THEN list_sort(list_distinct(tags))
        ELSE coalesce(tags, []::VARCHAR[])
    END AS tagset,
    count(*)::BIGINT AS n
FROM cad
GROUP BY ALL
