-- name: plan_item_counts
-- For a group of request items asking the same (tags, keywords, codes, time window) about
-- their own boroughs and days, the records each search strategy must review, by item,
-- borough, local day and hour of the clock (the planner adds the rows up; the s.16 advice
-- uses them as they are):
--   records      every CAD in the item's scope (queries/scope.sql): the full review;
--   tagged       those carrying any of the tags: the tag query;
--   keyword      those whose free text matches the keyword pattern (case-insensitive regular
--                expression built from escaped keywords) or whose opening/closing code is listed;
--   relevant     those tagged or matching a keyword or code, so a narrower window in the advice
--                can keep the hours that matter;
--   linked       (the same on every row of an item: a count of the whole item) the tagged CADs,
--                every CAD they link to, and every CAD of the item's boroughs created on the
--                item's days or the day after (whatever the hour) that links to one of them.
-- `morning` marks the CADs of an overnight window read on the morning after their window's day,
-- so the advice can count them under the night they belong to. An item with an empty scope has
-- no rows.
-- The group's items share one scan: the scope params are the group's union (its boroughs, from
-- the first item's first day to the last day any reads), and `items` says which borough and
-- days each item reads: one text per item and borough, "item<US>borough<US>date_from<US>
-- date_to<US>day_to<US>link_day_to" (US: the unit separator, chr(31); bound, never spliced, and
-- a list of plain texts because Spark and DuckDB index arrays differently). One item is a group
-- of one.
-- Nothing is computed per CAD but its flags and a UTC bucket: the CADs are grouped by
-- borough, day and bucket (whole seconds since the epoch divided by bucket_seconds), and only
-- the grouped buckets are turned into local hours and minutes (the session's time zone), and
-- shared out among the items. planner/clock.py picks a bucket that never holds two local hours
-- or both sides of the window's end (an hour for Europe/London), so the counts are those of
-- converting every CAD. The tagged CADs' references are gathered in the same pass.
-- The reverse links are looked for only in the items' areas and days, so the work grows with
-- the scope, not with the borough-years the request touches: a later call about an event is
-- linked back to its first CAD from the same area within hours (calibration.md §7.5: 0-6 h),
-- so the day after the last one catches the calls after midnight and the hours outside a time
-- window catch those after it.
-- Tags and codes are matched upper-cased: the request's are canonical (schema.canonical_label),
-- and so are the store's unless it was written before that rule. (Lambdas, which sqlglot
-- renders as Spark's FILTER; the parity tests run it on both engines.)
-- uses: scope
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, day_to DATE, minute_from INTEGER, minute_to INTEGER, tags VARCHAR[], keyword_pattern VARCHAR, codes VARCHAR[], link_day_to DATE, bucket_seconds BIGINT, items VARCHAR[]
WITH flagged AS (
  SELECT
    borough,
    day,
    cad_ref,
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
    list(cad_ref) FILTER (WHERE is_tagged) AS tagged_refs
  FROM flagged
  GROUP BY borough, day, bucket
),
-- Each bucket's local hour and minute: the first instant's (every instant's, see above).
clock AS (
  SELECT
    *,
    hour(to_timestamp(bucket * CAST($bucket_seconds AS BIGINT))) AS hour,
    minute(to_timestamp(bucket * CAST($bucket_seconds AS BIGINT))) AS minute
  FROM buckets
),
marked AS (
  SELECT
    *,
    coalesce(
      CAST($minute_from AS INTEGER) >= CAST($minute_to AS INTEGER)
        AND hour * 60 + minute < CAST($minute_to AS INTEGER),
      false
    ) AS morning
  FROM clock
),
wanted AS (
  SELECT
    CAST(split_part(spec, chr(31), 1) AS BIGINT) AS item,
    split_part(spec, chr(31), 2) AS borough,
    CAST(split_part(spec, chr(31), 3) AS DATE) AS first_day,
    CAST(split_part(spec, chr(31), 4) AS DATE) AS last_night,
    CAST(split_part(spec, chr(31), 5) AS DATE) AS last_day,
    CAST(split_part(spec, chr(31), 6) AS DATE) AS link_day
  FROM (SELECT unnest(CAST($items AS VARCHAR[])) AS spec) AS specs
),
-- The buckets of each item's scope: its borough, and its days as queries/scope.sql reads them
-- (an overnight window's morning belongs to the night before).
mine AS (
  SELECT w.item, m.*
  FROM marked AS m
  JOIN wanted AS w
    ON m.borough = w.borough
    AND CASE
      WHEN m.morning THEN m.day > w.first_day AND m.day <= w.last_day
      ELSE m.day BETWEEN w.first_day AND w.last_night
    END
),
tagged AS (
  SELECT item, unnest(tagged_refs) AS cad_ref FROM mine WHERE tagged > 0
),
-- The CADs with links in each item's boroughs, on its days and the next: those that may link
-- back to a tagged one, and the tagged ones' own links (every tagged CAD is in this range, so
-- the scope's scan need not read `linked_to`).
nearby AS (
  SELECT w.item, c.cad_ref, c.linked_to
  FROM cad AS c
  JOIN wanted AS w
    ON c.borough = w.borough AND c.day BETWEEN w.first_day AND w.link_day
  WHERE list_contains(CAST($boroughs AS VARCHAR[]), c.borough)
    AND c.year BETWEEN year(CAST($date_from AS DATE)) AND year(CAST($link_day_to AS DATE))
    AND c.day BETWEEN CAST($date_from AS DATE) AND CAST($link_day_to AS DATE)
    AND array_length(c.linked_to) > 0
),
linked AS (
  SELECT item, cad_ref FROM tagged
  UNION
  SELECT n.item, unnest(n.linked_to) AS cad_ref
  FROM nearby AS n
  JOIN tagged AS t ON n.item = t.item AND n.cad_ref = t.cad_ref
  UNION
  SELECT l.item, l.cad_ref
  FROM (SELECT item, cad_ref, unnest(linked_to) AS target FROM nearby) AS l
  JOIN tagged AS t ON l.item = t.item AND l.target = t.cad_ref
),
linked_counts AS (
  SELECT item, count(*) AS linked FROM linked GROUP BY item
)
SELECT
  m.item,
  m.borough,
  m.day,
  m.hour,
  m.morning,
  CAST(sum(m.records) AS BIGINT) AS records,
  CAST(sum(m.tagged) AS BIGINT) AS tagged,
  CAST(sum(m.keyword) AS BIGINT) AS keyword,
  CAST(sum(m.relevant) AS BIGINT) AS relevant,
  coalesce(max(l.linked), 0) AS linked
FROM mine AS m
LEFT JOIN linked_counts AS l ON l.item = m.item
GROUP BY m.item, m.borough, m.day, m.hour, m.morning
ORDER BY m.item, m.borough, m.day, m.hour, m.morning;
