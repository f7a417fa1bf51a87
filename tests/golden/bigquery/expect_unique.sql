-- golden SQL: case expect_unique, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT count(*) AS `a0`, count(`deals`.`id`) AS `a1`, count(DISTINCT `deals`.`id`) AS `a2`
FROM `sales`.`deals`
-- statement 2
SELECT count(*) AS `count_1`
FROM `sales`.`deals`
WHERE `deals`.`id` IN (SELECT `deals`.`id`
FROM `sales`.`deals`
WHERE `deals`.`id` IS NOT NULL GROUP BY `deals`.`id`
HAVING count(*) > %(count_2:INT64)s)
-- params: {"count_2": 1}
-- statement 3
SELECT `deals`.`id` AS `key`, `deals`.`id` AS `value`
FROM `sales`.`deals`
WHERE `deals`.`id` IN (SELECT `deals`.`id`
FROM `sales`.`deals`
WHERE `deals`.`id` IS NOT NULL GROUP BY `deals`.`id`
HAVING count(*) > %(count_1:INT64)s) ORDER BY `deals`.`id`
 LIMIT %(param_1:INT64)s
-- params: {"count_1": 1, "param_1": 20}
-- results
-- expect_column_values_to_be_unique(id): fail (violation): 2 of 360 rows share a id with another row
