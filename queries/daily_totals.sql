-- name: daily_totals
-- All CADs per borough and London day, from the daily volume table: the view `daily_total`
-- that summaries grouped by borough alone read (a few rows per borough-day, not every
-- call source x grading x tag set combination).
-- params: none
SELECT borough, day, sum(n)::BIGINT AS n
FROM daily_volume
GROUP BY borough, day
