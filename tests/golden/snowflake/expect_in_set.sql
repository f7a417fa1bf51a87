-- golden SQL: case expect_in_set, dialect snowflake (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at datetime, created_at TIMESTAMP_TZ
-- statement 1
SELECT count(*) AS a0, count(sales.deals.currency) AS a1, sum(CASE WHEN (sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (%(currency_1_1)s, %(currency_1_2)s))) THEN %(param_1)s ELSE %(param_2)s END) AS a2
FROM sales.deals
-- params: {"currency_1_1": "USD", "currency_1_2": "EUR", "param_1": 1, "param_2": 0}
-- statement 2
SELECT sales.deals.id AS key, sales.deals.currency AS value
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (%(currency_1_1)s, %(currency_1_2)s)) ORDER BY sales.deals.id
 LIMIT %(param_1)s
-- params: {"currency_1_1": "USD", "currency_1_2": "EUR", "param_1": 20}
-- statement 3
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.currency AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (%(currency_1_1)s, %(currency_1_2)s)) GROUP BY sales.deals.currency) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
 LIMIT %(param_1)s
-- params: {"currency_1_1": "USD", "currency_1_2": "EUR", "param_1": 20}
-- results
-- expect_column_values_to_be_in_set(currency): fail (violation): 7 of 360 rows (1.94%) have currency outside ['USD', 'EUR']; e.g. 41 (JPY), 42 (JPY), 43 (JPY) and 4 more
