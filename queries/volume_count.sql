-- name: volume_count
-- Fast-path count from the daily volume table: CADs in the boroughs and London days in scope,
-- optionally only those from the given call sources and only those carrying any of the tags
-- (NULL list: no filter). A CAD with several matching tags counts once (one tag set per CAD).
-- Tags are matched upper-cased, as in count_scope (a table counted from a store written before
-- tags had one form may hold 'ume').
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, call_sources VARCHAR[], tags VARCHAR[]
SELECT coalesce(sum(n), 0)::BIGINT AS n
FROM daily_volume
WHERE list_contains(CAST($boroughs AS VARCHAR[]), borough)
  AND day BETWEEN $date_from AND $date_to
  AND ($call_sources IS NULL OR list_contains(CAST($call_sources AS VARCHAR[]), call_source))
  -- Not list_has_any: sqlglot renders it as `&&`, which Spark rejects (docs/scale-out.md).
  AND (
    $tags IS NULL
    OR array_length(
      array_intersect(list_transform(tagset, lambda t: upper(t)), CAST($tags AS VARCHAR[]))
    ) > 0
  )
