-- name: tag_held
-- One row if any CAD of the boroughs in the years of [date_from, date_to] carries the tag
-- (matched upper-cased, as tags are; schema.canonical_label), no row if none does: whole
-- store partitions (borough x year), as queries/held_tags.sql lists their tags. The scan stops
-- at the first CAD carrying it, so a tag in use costs a few row groups, not the partitions'
-- every tag list (costplan/planner/held.py reads the whole list only for a tag none carries).
-- params: boroughs VARCHAR[], date_from DATE, date_to DATE, tag VARCHAR
SELECT 1 AS held
FROM cad
WHERE list_contains(CAST($boroughs AS VARCHAR[]), borough)
  AND year BETWEEN year(CAST($date_from AS DATE)) AND year(CAST($date_to AS DATE))
  AND list_contains(list_transform(tags, lambda t: upper(t)), CAST($tag AS VARCHAR))
LIMIT 1;
