-- name: volume_month_merge
-- The months of the daily volume table a refresh rewrites: the previous rows of those months
-- (the view `volume_old`) except those of the recounted London days of each recounted store
-- partition (the table `refresh_days`: borough, year, lo, hi), plus the fresh counts of those
-- days (the table `volume_new`, from volume_counts or volume_counts_days).
-- params: none
SELECT o.borough, o.day, o.call_source, o.n
FROM volume_old AS o
WHERE NOT EXISTS (
    SELECT 1
    FROM refresh_days AS r
    WHERE r.borough = o.borough
      AND r.year = year(o.day)
      AND o.day BETWEEN r.lo AND r.hi
)
UNION ALL
SELECT c.borough, c.day, c.call_source, c.n
FROM volume_new AS c
