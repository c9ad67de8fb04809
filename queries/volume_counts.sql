-- name: volume_counts
-- Daily volumes of the CADs in the view, per store partition (borough, year): CADs per London
-- day, call source, grading and tag set. The tag set is the sorted list of a CAD's distinct
-- tags ([] when it has none), so every CAD falls in exactly one row: totals are exact and
-- "any of these tags" is a sum over tag sets.
-- params: none
SELECT
    borough,
    year,
    day,
    call_source,
    grading,
    list_sort(list_distinct(coalesce(tags, []::VARCHAR[]))) AS tagset,
    count(*)::BIGINT AS n
FROM cad
GROUP BY ALL
