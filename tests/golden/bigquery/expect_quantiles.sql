-- golden SQL: case expect_quantiles, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT percentile_disc(%(percentile_disc_1:FLOAT64)s) WITHIN GROUP (ORDER BY `deals`.`amount`) AS `a0`, percentile_disc(%(percentile_disc_2:FLOAT64)s) WITHIN GROUP (ORDER BY `deals`.`amount`) AS `a1`, percentile_disc(%(percentile_disc_3:FLOAT64)s) WITHIN GROUP (ORDER BY `deals`.`amount`) AS `a2`
FROM `sales`.`deals`
-- params: {"percentile_disc_1": 0.25, "percentile_disc_2": 0.5, "percentile_disc_3": 0.9}
-- results
-- expect_column_quantile_values_to_be_between(amount): fail (violation): amount: q0.9 = 181,980.5, outside [0, 100]
