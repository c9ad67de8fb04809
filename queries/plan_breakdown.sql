-- name: plan_breakdown
-- Every CAD in an item's scope counted by borough, day and hour: the basis for section 16
-- advice (which boroughs, how many days, which hours would fit the limit). `morning` marks the
-- CADs of an overnight window read on the morning after their window's day, so the advice can
-- count them under the night they belong to. `relevant` counts the CADs the cheap strategies
-- point at (tagged, or matching a keyword or code), so a narrower window can keep the hours
-- that matter. Matching is as in
-- plan_item_counts (tags and codes upper-cased).
-- uses: scope
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, day_to DATE, minute_from INTEGER, minute_to INTEGER, tags VARCHAR[], keyword_pattern VARCHAR, codes VARCHAR[]
SELECT
  borough,
  day,
  hour(created_at) AS hour,
  coalesce(
    CAST($minute_from AS INTEGER) >= CAST($minute_to AS INTEGER)
      AND hour(created_at) * 60 + minute(created_at) < CAST($minute_to AS INTEGER),
    false
  ) AS morning,
  count(*) AS records,
  count(*) FILTER (
    WHERE array_length(
        array_intersect(list_transform(tags, lambda t: upper(t)), CAST($tags AS VARCHAR[]))
      ) > 0
       OR coalesce(regexp_matches(summary, CAST($keyword_pattern AS VARCHAR)), false)
       OR list_contains(CAST($codes AS VARCHAR[]), upper(opening_code))
       OR list_contains(CAST($codes AS VARCHAR[]), upper(closing_code))
  ) AS relevant
FROM scope
GROUP BY ALL
ORDER BY borough, day, hour, morning;
