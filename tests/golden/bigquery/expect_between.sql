-- golden SQL: case expect_between, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT count(*) AS `a0`, count(`deals`.`amount`) AS `a1`, sum(CASE WHEN (`deals`.`amount` IS NOT NULL AND NOT (`deals`.`amount` >= %(amount_1:INT64)s AND `deals`.`amount` <= %(amount_2:INT64)s)) THEN %(param_1:INT64)s ELSE %(param_2:INT64)s END) AS `a2`
FROM `sales`.`deals`
-- params: {"amount_1": 0, "amount_2": 1000000, "param_1": 1, "param_2": 0}
-- statement 2
SELECT `deals`.`id` AS `key`, `deals`.`amount` AS `value`
FROM `sales`.`deals`
WHERE `deals`.`amount` IS NOT NULL AND NOT (`deals`.`amount` >= %(amount_1:INT64)s AND `deals`.`amount` <= %(amount_2:INT64)s) ORDER BY `deals`.`id`
 LIMIT %(param_1:INT64)s
-- params: {"amount_1": 0, "amount_2": 1000000, "param_1": 20}
-- results
-- expect_column_values_to_be_between(amount): fail (violation): 8 of 360 rows (2.22%) have amount outside [0, 1000000]; e.g. 41 (29010312.0), 42 (2787289.5), 43 (20756589.0) and 5 more
