-- name: volume_month_counts
-- What a refresh records of the months it writes, from their CADs per borough-day (the view
-- `month_totals`, from daily_totals): per month (yyyymm) and store partition (borough, year),
-- the CADs, the latest London day, and how many of them are on days the refresh recounted
-- (those in `refresh_days`: borough, year, lo, hi; at most one row per partition). A few
-- hundred rows where the Python loop over the borough-days took 0.1 s at 10 years.
-- params: none
SELECT
    year(t.day) * 100 + month(t.day) AS month,
    t.borough,
    year(t.day) AS year,
    sum(t.n)::BIGINT AS n,
    max(t.day) AS last_day,
    sum(CASE WHEN r.borough IS NULL THEN 0 ELSE t.n END)::BIGINT AS counted
FROM month_totals AS t
LEFT JOIN refresh_days AS r
    ON r.borough = t.borough
    AND r.year = year(t.day)
    AND t.day BETWEEN r.lo AND r.hi
GROUP BY ALL
