-- name: daily_totals
-- All CADs per borough and London day, from the daily volume table: the view `daily_total`
-- that summaries grouped by borough alone read (one row per borough-day, summed from its few
-- call-source rows when read: the table keeps no totals files), and what a refresh records of
-- the months it writes (volume_month_counts).
-- params: none
SELECT borough, day, sum(n)::BIGINT AS n
FROM daily_volume
GROUP BY borough, day
