-- golden SQL: case expect_distinct_in_set, dialect snowflake (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at datetime, created_at TIMESTAMP_TZ
-- statement 1
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.currency AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL GROUP BY sales.deals.currency) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
 LIMIT %(param_1)s
-- params: {"param_1": 20}
-- statement 2
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.currency AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (%(currency_1_1)s)) GROUP BY sales.deals.currency) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
 LIMIT %(param_1)s
-- params: {"currency_1_1": "USD", "param_1": 20}
-- results
-- expect_column_distinct_values_to_be_in_set(currency): fail (violation): 3 distinct value(s) of currency outside ['USD']
