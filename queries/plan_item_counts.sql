-- name: plan_item_counts
-- For one request item, the records each search strategy must review:
--   full_review  every CAD in the item's scope (queries/scope.sql);
--   tag_query    those carrying any of the tags;
--   keyword      those whose free text matches the keyword pattern (case-insensitive regular
--                expression built from escaped keywords) or whose opening/closing code is listed;
--   linked       the tagged CADs plus every CAD linked to or from them (anywhere in the view).
-- Tags and codes are matched upper-cased: the request's are canonical (schema.canonical_label),
-- and so are the store's unless it was written before that rule. (A lambda, which sqlglot
-- renders as Spark's TRANSFORM; the parity tests run it on both engines.)
-- uses: scope
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, day_to DATE, minute_from INTEGER, minute_to INTEGER, tags VARCHAR[], keyword_pattern VARCHAR, codes VARCHAR[]
WITH tagged AS (
  SELECT cad_ref, linked_to
  FROM scope
  WHERE array_length(
      array_intersect(list_transform(tags, lambda t: upper(t)), CAST($tags AS VARCHAR[]))
    ) > 0
),
linked AS (
  SELECT cad_ref FROM tagged
  UNION
  SELECT unnest(linked_to) AS cad_ref FROM tagged
  UNION
  SELECT l.cad_ref
  FROM (SELECT cad_ref, unnest(linked_to) AS target FROM cad) AS l
  JOIN tagged AS t ON l.target = t.cad_ref
)
SELECT
  (SELECT count(*) FROM scope) AS full_review,
  (SELECT count(*) FROM tagged) AS tag_query,
  (
    SELECT count(*)
    FROM scope
    WHERE coalesce(regexp_matches(summary, CAST($keyword_pattern AS VARCHAR)), false)
       OR list_contains(CAST($codes AS VARCHAR[]), upper(opening_code))
       OR list_contains(CAST($codes AS VARCHAR[]), upper(closing_code))
  ) AS keyword,
  (SELECT count(*) FROM linked) AS linked;
