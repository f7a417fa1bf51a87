-- golden SQL: case expect_between, dialect snowflake (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at datetime, created_at TIMESTAMP_TZ
-- statement 1
SELECT count(*) AS a0, count(sales.deals.amount) AS a1, sum(CASE WHEN (sales.deals.amount IS NOT NULL AND NOT (sales.deals.amount >= %(amount_1)s AND sales.deals.amount <= %(amount_2)s)) THEN %(param_1)s ELSE %(param_2)s END) AS a2
FROM sales.deals
-- params: {"amount_1": 0, "amount_2": 1000000, "param_1": 1, "param_2": 0}
-- statement 2
SELECT sales.deals.id AS key, sales.deals.amount AS value
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND NOT (sales.deals.amount >= %(amount_1)s AND sales.deals.amount <= %(amount_2)s) ORDER BY sales.deals.id
 LIMIT %(param_1)s
-- params: {"amount_1": 0, "amount_2": 1000000, "param_1": 20}
-- results
-- expect_column_values_to_be_between(amount): fail (violation): 8 of 360 rows (2.22%) have amount outside [0, 1000000]; e.g. 41 (29010312.0), 42 (2787289.5), 43 (20756589.0) and 5 more
