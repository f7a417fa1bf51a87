-- golden SQL: case expect_aggregates, dialect snowflake (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at datetime, created_at TIMESTAMP_TZ
-- statement 1
SELECT min(sales.deals.amount) AS a0, max(sales.deals.amount) AS a1, sum(sales.deals.amount) AS a2, avg(CAST(sales.deals.amount AS DOUBLE)) AS a3
FROM sales.deals
-- results
-- expect_column_min_to_be_between(amount): fail (violation): min of amount is -168,080.15, outside [0, inf]
-- expect_column_max_to_be_between(amount): fail (violation): max of amount is 29,010,312, outside [-inf, 10000000]
-- expect_column_sum_to_be_between(amount): pass
-- expect_column_mean_to_be_between(amount): fail (violation): mean of amount is 413,515, outside [-inf, 1000]
