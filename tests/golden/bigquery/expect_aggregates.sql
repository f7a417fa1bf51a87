-- golden SQL: case expect_aggregates, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT min(`deals`.`amount`) AS `a0`, max(`deals`.`amount`) AS `a1`, sum(`deals`.`amount`) AS `a2`, avg(CAST(`deals`.`amount` AS FLOAT64)) AS `a3`
FROM `sales`.`deals`
-- results
-- expect_column_min_to_be_between(amount): fail (violation): min of amount is -168,080.15, outside [0, inf]
-- expect_column_max_to_be_between(amount): fail (violation): max of amount is 29,010,312, outside [-inf, 10000000]
-- expect_column_sum_to_be_between(amount): pass
-- expect_column_mean_to_be_between(amount): fail (violation): mean of amount is 413,515, outside [-inf, 1000]
