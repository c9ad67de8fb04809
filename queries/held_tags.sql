-- name: held_tags
-- The distinct tags the CADs of the boroughs carry in the years of [date_from, date_to]: whole
-- store partitions (borough x year), not only the days asked about. Upper-cased, as tags are
-- matched (schema.canonical_label; a store written before that rule may hold 'ume'). A request
-- naming a tag none of them carries is warned of, with this list (costplan/planner/held.py).
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE
SELECT DISTINCT upper(tag) AS tag
FROM (
  SELECT unnest(tags) AS tag
  FROM cad
  WHERE list_contains(CAST($boroughs AS VARCHAR[]), borough)
    AND year BETWEEN year(CAST($date_from AS DATE)) AND year(CAST($date_to AS DATE))
) AS carried
WHERE tag IS NOT NULL
ORDER BY tag;
