-- name: tagged_refs
-- The CAD references of the records carrying any of the tags in an item's scope, in creation
-- order, with the time-of-day window as in plan_item_counts: what a tag-query answer may
-- disclose. Only references leave the store.
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, minute_from INTEGER, minute_to INTEGER, tags VARCHAR[]
SELECT cad_ref
FROM cad
WHERE list_contains(CAST($boroughs AS VARCHAR[]), borough)
  AND year BETWEEN year(CAST($date_from AS DATE)) AND year(CAST($date_to AS DATE))
  AND day BETWEEN CAST($date_from AS DATE) AND CAST($date_to AS DATE)
  -- In the window when the minutes since its start are fewer than its length (mod a day).
  AND coalesce(
    (hour(created_at) * 60 + minute(created_at) - CAST($minute_from AS INTEGER) + 1440) % 1440
      < (CAST($minute_to AS INTEGER) - CAST($minute_from AS INTEGER) + 1440) % 1440,
    true
  )
  AND array_length(array_intersect(tags, CAST($tags AS VARCHAR[]))) > 0
ORDER BY created_at, cad_ref;
