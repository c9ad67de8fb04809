-- name: scope
-- The CADs in one request item's scope: the boroughs, the days and the time-of-day window.
-- The one definition of a scope: every query that counts within a scope declares
-- `-- uses: scope` and reads this as the common table expression `scope`.
-- The window is [minute_from, minute_to) minutes after midnight (minute_to up to 1440);
-- NULLs mean the whole day. A window whose end is not after its start runs overnight: the
-- window of day D is from its start on D to its end on D+1, so 22:00-04:00 on the days
-- date_from..date_to reads the evenings of those days and the mornings after them; day_to is
-- the last calendar day read (date_to, or the day after it for an overnight window).
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, day_to DATE, minute_from INTEGER, minute_to INTEGER
SELECT *
FROM cad
WHERE list_contains(CAST($boroughs AS VARCHAR[]), borough)
  AND year BETWEEN year(CAST($date_from AS DATE)) AND year(CAST($day_to AS DATE))
  AND day BETWEEN CAST($date_from AS DATE) AND CAST($day_to AS DATE)
  AND (
    CAST($minute_from AS INTEGER) IS NULL
    -- A window within the day.
    OR (
      CAST($minute_from AS INTEGER) < CAST($minute_to AS INTEGER)
      AND day <= CAST($date_to AS DATE)
      AND hour(created_at) * 60 + minute(created_at) >= CAST($minute_from AS INTEGER)
      AND hour(created_at) * 60 + minute(created_at) < CAST($minute_to AS INTEGER)
    )
    -- An overnight window: the evening of a day in range, or the morning after one.
    OR (
      CAST($minute_from AS INTEGER) >= CAST($minute_to AS INTEGER)
      AND (
        (
          day <= CAST($date_to AS DATE)
          AND hour(created_at) * 60 + minute(created_at) >= CAST($minute_from AS INTEGER)
        )
        OR (
          day > CAST($date_from AS DATE)
          AND hour(created_at) * 60 + minute(created_at) < CAST($minute_to AS INTEGER)
        )
      )
    )
  );
