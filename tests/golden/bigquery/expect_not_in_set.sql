-- golden SQL: case expect_not_in_set, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT count(*) AS `a0`, count(`deals`.`region`) AS `a1`, sum(CASE WHEN (`deals`.`region` IS NOT NULL AND `deals`.`region` IN UNNEST(%(region_1:STRING)s)) THEN %(param_1:INT64)s ELSE %(param_2:INT64)s END) AS `a2`
FROM `sales`.`deals`
-- params: {"region_1": ["XX", ""], "param_1": 1, "param_2": 0}
-- statement 2
SELECT `deals`.`id` AS `key`, `deals`.`region` AS `value`
FROM `sales`.`deals`
WHERE `deals`.`region` IS NOT NULL AND `deals`.`region` IN UNNEST(%(region_1:STRING)s) ORDER BY `deals`.`id`
 LIMIT %(param_1:INT64)s
-- params: {"region_1": ["XX", ""], "param_1": 20}
-- statement 3
SELECT `anon_1`.`value`, `anon_1`.`count`, count(*) OVER () AS `distinct`
FROM (SELECT `deals`.`region` AS `value`, count(*) AS `count`
FROM `sales`.`deals`
WHERE `deals`.`region` IS NOT NULL AND `deals`.`region` IN UNNEST(%(region_1:STRING)s) GROUP BY `deals`.`region`) AS `anon_1` ORDER BY `anon_1`.`count` DESC, `anon_1`.`value`
 LIMIT %(param_1:INT64)s
-- params: {"region_1": ["XX", ""], "param_1": 20}
-- results
-- expect_column_values_to_not_be_in_set(region): fail (violation): 1 of 360 rows (0.278%) have a forbidden region; e.g. 8 (XX)
