-- name: volume_count
-- Fast-path count from the daily volume table: CADs in the boroughs and London days in scope,
-- optionally only those from the given call sources and only those carrying any of the tags
-- (NULL list: no filter). A CAD with several matching tags counts once (one tag set per CAD).
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, call_sources VARCHAR[], tags VARCHAR[]
SELECT coalesce(sum(n), 0)::BIGINT AS n
FROM daily_volume
WHERE list_contains($boroughs, borough)
  AND day BETWEEN $date_from AND $date_to
  AND ($call_sources IS NULL OR list_contains($call_sources, call_source))
  AND ($tags IS NULL OR list_has_any(tagset, $tags))
