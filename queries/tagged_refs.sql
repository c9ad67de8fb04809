-- name: tagged_refs
-- The CAD references of the records carrying any of the tags in an item's scope, in creation
-- order: what a tag-query answer may disclose. Only references leave the store. Tags are
-- matched upper-cased, as in count_scope.
-- uses: scope
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, day_to DATE, minute_from INTEGER, minute_to INTEGER, tags VARCHAR[]
SELECT cad_ref
FROM scope
WHERE array_length(
    array_intersect(list_transform(tags, lambda t: upper(t)), CAST($tags AS VARCHAR[]))
  ) > 0
ORDER BY created_at, cad_ref;
