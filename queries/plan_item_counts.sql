-- name: plan_item_counts
-- For one request item, the records each search strategy must review, by borough, London day
-- and hour of the clock (the planner adds the rows up; the s.16 advice uses them as they are):
--   records      every CAD in the item's scope (queries/scope.sql): the full review;
--   tagged       those carrying any of the tags: the tag query;
--   keyword      those whose free text matches the keyword pattern (case-insensitive regular
--                expression built from escaped keywords) or whose opening/closing code is listed;
--   relevant     those tagged or matching a keyword or code, so a narrower window in the advice
--                can keep the hours that matter;
--   linked       (the same on every row: a count of the whole item) the tagged CADs, every CAD
--                they link to, and every CAD of the item's boroughs created on the item's days or
--                the day after (whatever the hour) that links to one of them.
-- `morning` marks the CADs of an overnight window read on the morning after their window's day,
-- so the advice can count them under the night they belong to. An empty scope has no rows.
-- The reverse links are looked for only in the item's areas and days, so the work grows with
-- the scope, not with the borough-years the request touches: a later call about an event is
-- linked back to its first CAD from the same area within hours (calibration.md §7.5: 0-6 h),
-- so the day after the last one catches the calls after midnight and the hours outside a time
-- window catch those after it. (It used to read every linked_to of every borough-year in the
-- request, once per item; on stores whose links follow that rule the counts are the same.)
-- The scope is read once: the flags of each CAD in scope feed every count and the breakdown.
-- Tags and codes are matched upper-cased: the request's are canonical (schema.canonical_label),
-- and so are the store's unless it was written before that rule. (A lambda, which sqlglot
-- renders as Spark's TRANSFORM; the parity tests run it on both engines.)
-- uses: scope
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, day_to DATE, minute_from INTEGER, minute_to INTEGER, tags VARCHAR[], keyword_pattern VARCHAR, codes VARCHAR[], link_day_to DATE
WITH flagged AS (
  SELECT
    borough,
    day,
    hour(created_at) AS hour,
    coalesce(
      CAST($minute_from AS INTEGER) >= CAST($minute_to AS INTEGER)
        AND hour(created_at) * 60 + minute(created_at) < CAST($minute_to AS INTEGER),
      false
    ) AS morning,
    coalesce(
      array_length(
        array_intersect(list_transform(tags, lambda t: upper(t)), CAST($tags AS VARCHAR[]))
      ) > 0,
      false
    ) AS is_tagged,
    coalesce(regexp_matches(summary, CAST($keyword_pattern AS VARCHAR)), false)
      OR coalesce(list_contains(CAST($codes AS VARCHAR[]), upper(opening_code)), false)
      OR coalesce(list_contains(CAST($codes AS VARCHAR[]), upper(closing_code)), false)
      AS is_keyword
  FROM scope
),
tagged AS (
  SELECT cad_ref, linked_to
  FROM scope
  WHERE array_length(
      array_intersect(list_transform(tags, lambda t: upper(t)), CAST($tags AS VARCHAR[]))
    ) > 0
),
-- The CADs that may link back to a tagged one: the item's boroughs, its days and the next.
nearby AS (
  SELECT cad_ref, linked_to
  FROM cad
  WHERE list_contains(CAST($boroughs AS VARCHAR[]), borough)
    AND year BETWEEN year(CAST($date_from AS DATE)) AND year(CAST($link_day_to AS DATE))
    AND day BETWEEN CAST($date_from AS DATE) AND CAST($link_day_to AS DATE)
    AND array_length(linked_to) > 0
),
linked AS (
  SELECT cad_ref FROM tagged
  UNION
  SELECT unnest(linked_to) AS cad_ref FROM tagged
  UNION
  SELECT l.cad_ref
  FROM (SELECT cad_ref, unnest(linked_to) AS target FROM nearby) AS l
  JOIN tagged AS t ON l.target = t.cad_ref
)
SELECT
  borough,
  day,
  hour,
  morning,
  count(*) AS records,
  count(*) FILTER (WHERE is_tagged) AS tagged,
  count(*) FILTER (WHERE is_keyword) AS keyword,
  count(*) FILTER (WHERE is_tagged OR is_keyword) AS relevant,
  (SELECT count(*) FROM linked) AS linked
FROM flagged
GROUP BY borough, day, hour, morning
ORDER BY borough, day, hour, morning;
