-- name: count_scope
-- Counts the CADs in the boroughs on the London days in scope, optionally only those carrying
-- any of the given tags (an empty tag list means every CAD). The triage `check` query.
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, tags VARCHAR[]
SELECT count(*) AS records
FROM cad
WHERE list_contains(CAST($boroughs AS VARCHAR[]), borough)
  AND year BETWEEN year(CAST($date_from AS DATE)) AND year(CAST($date_to AS DATE))
  AND day BETWEEN CAST($date_from AS DATE) AND CAST($date_to AS DATE)
  AND (
    array_length(CAST($tags AS VARCHAR[])) = 0
    OR array_length(array_intersect(tags, CAST($tags AS VARCHAR[]))) > 0
  );
