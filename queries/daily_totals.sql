-- name: daily_totals
-- All CADs per borough and London day, from the daily volume table: the view `daily_total`
-- that summaries grouped by borough alone read (one row per borough-day, not one per call
-- source), and what a refresh writes beside each month of the table.
-- params: none
SELECT borough, day, sum(n)::BIGINT AS n
FROM daily_volume
GROUP BY borough, day
ORDER BY day, borough
