-- name: volume_counts_days
-- Daily volumes exactly as volume_counts (same groups), but only of the London days an
-- incremental refresh recounts: for each store partition listed in the registered table
-- `refresh_days` (borough VARCHAR, year SMALLINT, lo DATE, hi DATE), the days in [lo, hi].
-- day_from and day_to are the smallest lo and largest hi, so the Parquet scan drops other days
-- (and row groups) before the per-partition join.
-- params: day_from DATE, day_to DATE
SELECT c.borough, c.day, c.call_source, count(*)::BIGINT AS n
FROM refresh_days AS r
JOIN cad AS c
    ON c.borough = r.borough
    AND c.year = r.year
    AND c.day BETWEEN r.lo AND r.hi
WHERE c.day BETWEEN $day_from AND $day_to
GROUP BY ALL
