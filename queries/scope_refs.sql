-- name: scope_refs
-- The CAD references of every record in an item's scope, in creation order: what an answer by
-- the complete strategy (full review, or a scope query) may disclose. Only references leave
-- the store.
-- uses: scope
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, day_to DATE, minute_from INTEGER, minute_to INTEGER
SELECT cad_ref
FROM scope
ORDER BY created_at, cad_ref;
