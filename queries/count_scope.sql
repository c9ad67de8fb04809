-- name: count_scope
-- Counts the CADs in a scope (queries/scope.sql), optionally only those carrying any of the
-- given tags (an empty tag list means every CAD). The triage `check` query. Tags are matched
-- upper-cased: the request's are canonical (schema.canonical_label), and so are the store's
-- unless it was written before that rule.
-- uses: scope
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, day_to DATE, minute_from INTEGER, minute_to INTEGER, tags VARCHAR[]
SELECT count(*) AS records
FROM scope
WHERE array_length(CAST($tags AS VARCHAR[])) = 0
   OR array_length(
       array_intersect(list_transform(tags, lambda t: upper(t)), CAST($tags AS VARCHAR[]))
     ) > 0;
