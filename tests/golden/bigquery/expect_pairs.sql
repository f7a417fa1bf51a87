-- golden SQL: case expect_pairs, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT count(*) AS `a0`, sum(CASE WHEN (NOT (`deals`.`list_price` IS NULL AND `deals`.`amount` IS NULL)) THEN %(param_1:INT64)s ELSE %(param_2:INT64)s END) AS `a1`, sum(CASE WHEN (NOT (`deals`.`list_price` IS NULL AND `deals`.`amount` IS NULL) AND NOT (`deals`.`list_price` >= `deals`.`amount` OR `deals`.`list_price` IS NULL AND `deals`.`amount` IS NULL)) THEN %(param_3:INT64)s ELSE %(param_4:INT64)s END) AS `a2`, sum(CASE WHEN (NOT (`deals`.`amount` IS NULL AND `deals`.`booked` IS NULL)) THEN %(param_5:INT64)s ELSE %(param_6:INT64)s END) AS `a3`, sum(CASE WHEN (NOT (`deals`.`amount` IS NULL AND `deals`.`booked` IS NULL) AND NOT (`deals`.`amount` = `deals`.`booked` AND `deals`.`amount` IS NOT NULL AND `deals`.`booked` IS NOT NULL)) THEN %(param_7:INT64)s ELSE %(param_8:INT64)s END) AS `a4`
FROM `sales`.`deals`
-- params: {"param_1": 1, "param_2": 0, "param_3": 1, "param_4": 0, "param_5": 1, "param_6": 0, "param_7": 1, "param_8": 0}
-- statement 2
SELECT `deals`.`id`, `deals`.`list_price`, `deals`.`amount`
FROM `sales`.`deals`
WHERE NOT (`deals`.`list_price` IS NULL AND `deals`.`amount` IS NULL) AND NOT (`deals`.`list_price` >= `deals`.`amount` OR `deals`.`list_price` IS NULL AND `deals`.`amount` IS NULL) ORDER BY `deals`.`id`
 LIMIT %(param_1:INT64)s
-- params: {"param_1": 20}
-- statement 3
SELECT `deals`.`id`, `deals`.`amount`, `deals`.`booked`
FROM `sales`.`deals`
WHERE NOT (`deals`.`amount` IS NULL AND `deals`.`booked` IS NULL) AND NOT (`deals`.`amount` = `deals`.`booked` AND `deals`.`amount` IS NOT NULL AND `deals`.`booked` IS NOT NULL) ORDER BY `deals`.`id`
 LIMIT %(param_1:INT64)s
-- params: {"param_1": 20}
-- results
-- expect_column_pair_values_a_to_be_greater_than_b: fail (violation): 2 of 360 rows (0.556%) have list_price below amount; e.g. 71 (157851.94), 91 (82227.94)
-- expect_column_pair_values_to_be_equal: fail (violation): 9 of 360 rows (2.5%) have amount unequal to booked; e.g. 41 (29010312.0), 42 (2787289.5), 43 (20756589.0) and 6 more
