-- name: volume_counts
-- Daily volumes of the CADs in the view, per store partition (borough, year): CADs per London
-- day, call source and grading. Tags are not a dimension of the table: grouping by a CAD's tag
-- set made a rebuild 16-26x the raw GROUP BY borough, day (docs/benchmarks.md), so summaries
-- and counts by tag are counted from the partitions (summary_tags, count_scope).
-- params: none
SELECT borough, year, day, call_source, grading, count(*)::BIGINT AS n
FROM cad
GROUP BY ALL
