-- name: volume_counts
-- Daily volumes of the CADs in the view: CADs per borough, London day and call source (the
-- columns of the table's files, VOLUME_COLUMNS). A day lies in one store partition (borough,
-- year of the day), so no partition key is grouped on: the year as a key cost 5%. That is the
-- table's whole grain: grouping by a CAD's tag set made a
-- rebuild 16-26x the raw GROUP BY borough, day, and grading as a fourth key kept it at 3.5-5x
-- (docs/benchmarks.md sections 4 and 14), so summaries by tag or by grading, and counts by
-- tag, are counted from the partitions (summary_tags, summary_records, count_scope).
-- params: none
SELECT borough, day, call_source, count(*)::BIGINT AS n
FROM cad
GROUP BY ALL
