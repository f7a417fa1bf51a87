-- golden SQL: case expect_median, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT count(`deals`.`amount`) AS `a0`
FROM `sales`.`deals`
-- statement 2
SELECT `deals`.`amount`
FROM `sales`.`deals`
WHERE `deals`.`amount` IS NOT NULL ORDER BY `deals`.`amount`
 LIMIT %(param_1:INT64)s OFFSET %(param_2:INT64)s
-- params: {"param_1": 2, "param_2": 179}
-- results
-- expect_column_median_to_be_between(amount): fail (violation): median of amount is 92,803, outside [1, 2]
