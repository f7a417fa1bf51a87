-- golden SQL: case expect_not_null, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT count(*) AS `a0`, count(`deals`.`owner`) AS `a1`, sum(CASE WHEN (`deals`.`owner` IS NULL) THEN %(param_1:INT64)s ELSE %(param_2:INT64)s END) AS `a2`
FROM `sales`.`deals`
-- params: {"param_1": 1, "param_2": 0}
-- statement 2
SELECT `deals`.`id` AS `key`
FROM `sales`.`deals`
WHERE `deals`.`owner` IS NULL ORDER BY `deals`.`id`
 LIMIT %(param_1:INT64)s
-- params: {"param_1": 20}
-- results
-- expect_column_values_to_not_be_null(owner): fail (violation): 1 of 360 rows (0.278%) have no owner; e.g. 7
