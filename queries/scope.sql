-- name: scope
-- The CADs in one request item's scope: the boroughs, the London days and the time-of-day
-- window. The one definition of a scope: every query that counts within a scope declares
-- `-- uses: scope` and reads this as the common table expression `scope`.
-- The window is [minute_from, minute_to) minutes after midnight and may wrap past midnight
-- (1080 to 360 is 18:00-06:00); NULLs mean the whole day. A CAD is in the window when the
-- minutes since the window's start are fewer than its length (mod a day).
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, minute_from INTEGER, minute_to INTEGER
SELECT *
FROM cad
WHERE list_contains(CAST($boroughs AS VARCHAR[]), borough)
  AND year BETWEEN year(CAST($date_from AS DATE)) AND year(CAST($date_to AS DATE))
  AND day BETWEEN CAST($date_from AS DATE) AND CAST($date_to AS DATE)
  AND coalesce(
    (hour(created_at) * 60 + minute(created_at) - CAST($minute_from AS INTEGER) + 1440) % 1440
      < (CAST($minute_to AS INTEGER) - CAST($minute_from AS INTEGER) + 1440) % 1440,
    true
  );
