-- name: volume_partition
-- Daily volumes of one store partition: CADs per London day, call source, grading and tag set.
-- The tag set is the sorted list of a CAD's distinct tags ([] when it has none), so every CAD
-- falls in exactly one row: totals are exact and "any of these tags" is a sum over tag sets.
-- params: borough VARCHAR, year SMALLINT
SELECT
    borough,
    day,
    call_source,
    grading,
    list_sort(list_distinct(coalesce(tags, []::VARCHAR[]))) AS tagset,
    count(*)::BIGINT AS n
FROM cad
WHERE borough = $borough AND year = $year
GROUP BY ALL
ORDER BY day, call_source, grading, tagset
