-- name: volume_count
-- Fast-path count from the daily volume table: CADs in the boroughs and London days in scope,
-- optionally only those from the given call sources (NULL list: no filter). The table holds
-- no tags: a count by tag is counted from the partitions (count_scope).
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, call_sources VARCHAR[]
SELECT coalesce(sum(n), 0)::BIGINT AS n
FROM daily_volume
WHERE list_contains(CAST($boroughs AS VARCHAR[]), borough)
  AND day BETWEEN $date_from AND $date_to
  AND ($call_sources IS NULL OR list_contains(CAST($call_sources AS VARCHAR[]), call_source))
