-- name: plan_item_counts
-- For one request item, the records each search strategy must review, by borough, local day
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
-- The scope is read once, and nothing is computed per CAD but its flags and a UTC bucket:
-- the CADs are grouped by borough, day and bucket (whole seconds since the epoch divided by
-- bucket_seconds), and only the grouped buckets are turned into local hours and minutes (the
-- session's time zone). planner/clock.py picks a bucket that never holds two local hours or
-- both sides of the window's end (an hour for Europe/London), so the counts are those of
-- converting every CAD. The tagged CADs' references and links are gathered in the same pass.
-- The reverse links are looked for only in the item's areas and days, so the work grows with
-- the scope, not with the borough-years the request touches: a later call about an event is
-- linked back to its first CAD from the same area within hours (calibration.md §7.5: 0-6 h),
-- so the day after the last one catches the calls after midnight and the hours outside a time
-- window catch those after it.
-- Tags and codes are matched upper-cased: the request's are canonical (schema.canonical_label),
-- and so are the store's unless it was written before that rule. (Lambdas, which sqlglot
-- renders as Spark's FILTER; the parity tests run it on both engines.)
-- uses: scope
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, day_to DATE, minute_from INTEGER, minute_to INTEGER, tags VARCHAR[], keyword_pattern VARCHAR, codes VARCHAR[], link_day_to DATE, bucket_seconds BIGINT
WITH flagged AS (
  SELECT
    borough,
    day,
    cad_ref,
    linked_to,
    -- Integer division: created_at is after 1970, so this is the floor.
    CAST(floor(epoch(created_at)) AS BIGINT) // CAST($bucket_seconds AS BIGINT) AS bucket,
    coalesce(
      array_length(list_filter(tags, lambda t: list_contains(CAST($tags AS VARCHAR[]), upper(t))))
        > 0,
      false
    ) AS is_tagged,
    coalesce(regexp_matches(summary, CAST($keyword_pattern AS VARCHAR)), false)
      OR coalesce(list_contains(CAST($codes AS VARCHAR[]), upper(opening_code)), false)
      OR coalesce(list_contains(CAST($codes AS VARCHAR[]), upper(closing_code)), false)
      AS is_keyword
  FROM scope
),
buckets AS (
  SELECT
    borough,
    day,
    bucket,
    count(*) AS records,
    count(*) FILTER (WHERE is_tagged) AS tagged,
    count(*) FILTER (WHERE is_keyword) AS keyword,
    count(*) FILTER (WHERE is_tagged OR is_keyword) AS relevant,
    list(cad_ref) FILTER (WHERE is_tagged) AS tagged_refs,
    flatten(list(linked_to) FILTER (WHERE is_tagged)) AS tagged_links
  FROM flagged
  GROUP BY borough, day, bucket
),
tagged AS (
  SELECT unnest(tagged_refs) AS cad_ref FROM buckets WHERE tagged > 0
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
  SELECT unnest(tagged_links) AS cad_ref FROM buckets WHERE tagged > 0
  UNION
  SELECT l.cad_ref
  FROM (SELECT cad_ref, unnest(linked_to) AS target FROM nearby) AS l
  JOIN tagged AS t ON l.target = t.cad_ref
),
-- Each bucket's local hour and minute: the first instant's (every instant's, see above).
clock AS (
  SELECT
    borough,
    day,
    hour(to_timestamp(bucket * CAST($bucket_seconds AS BIGINT))) AS hour,
    minute(to_timestamp(bucket * CAST($bucket_seconds AS BIGINT))) AS minute,
    records,
    tagged,
    keyword,
    relevant
  FROM buckets
)
SELECT
  borough,
  day,
  hour,
  coalesce(
    CAST($minute_from AS INTEGER) >= CAST($minute_to AS INTEGER)
      AND hour * 60 + minute < CAST($minute_to AS INTEGER),
    false
  ) AS morning,
  CAST(sum(records) AS BIGINT) AS records,
  CAST(sum(tagged) AS BIGINT) AS tagged,
  CAST(sum(keyword) AS BIGINT) AS keyword,
  CAST(sum(relevant) AS BIGINT) AS relevant,
  (SELECT count(*) FROM linked) AS linked
FROM clock
GROUP BY borough, day, hour, morning
ORDER BY borough, day, hour, morning;
