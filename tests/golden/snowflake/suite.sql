-- golden SQL: case suite, dialect snowflake (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at datetime, created_at TIMESTAMP_TZ
-- statement 1
SELECT count(*) AS a0, max(sales.deals.updated_at) AS a1, min(sales.deals.amount) AS a2, max(sales.deals.amount) AS a3, sum(sales.deals.amount) AS a4, avg(CAST(sales.deals.amount AS DOUBLE)) AS a5, count(sales.deals.amount) AS a6, percentile_disc(%(percentile_disc_1)s) WITHIN GROUP (ORDER BY sales.deals.amount) AS a7, percentile_disc(%(percentile_disc_2)s) WITHIN GROUP (ORDER BY sales.deals.amount) AS a8, percentile_disc(%(percentile_disc_3)s) WITHIN GROUP (ORDER BY sales.deals.amount) AS a9, count(sales.deals.owner) AS a10, sum(CASE WHEN (sales.deals.owner IS NULL) THEN %(param_1)s ELSE %(param_2)s END) AS a11, sum(CASE WHEN (sales.deals.amount IS NOT NULL AND NOT (sales.deals.amount >= %(amount_1)s AND sales.deals.amount <= %(amount_2)s)) THEN %(param_3)s ELSE %(param_4)s END) AS a12, count(sales.deals.currency) AS a13, sum(CASE WHEN (sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (%(currency_1_1)s, %(currency_1_2)s))) THEN %(param_5)s ELSE %(param_6)s END) AS a14, count(sales.deals.region) AS a15, sum(CASE WHEN (sales.deals.region IS NOT NULL AND sales.deals.region IN (%(region_1_1)s, %(region_1_2)s)) THEN %(param_7)s ELSE %(param_8)s END) AS a16, count(sales.deals.id) AS a17, count(DISTINCT sales.deals.id) AS a18, sum(CASE WHEN (NOT (sales.deals.list_price IS NULL AND sales.deals.amount IS NULL)) THEN %(param_9)s ELSE %(param_10)s END) AS a19, sum(CASE WHEN (NOT (sales.deals.list_price IS NULL AND sales.deals.amount IS NULL) AND NOT (sales.deals.list_price >= sales.deals.amount OR sales.deals.list_price IS NULL AND sales.deals.amount IS NULL)) THEN %(param_11)s ELSE %(param_12)s END) AS a20, sum(CASE WHEN (NOT (sales.deals.amount IS NULL AND sales.deals.booked IS NULL)) THEN %(param_13)s ELSE %(param_14)s END) AS a21, sum(CASE WHEN (NOT (sales.deals.amount IS NULL AND sales.deals.booked IS NULL) AND NOT (sales.deals.amount = sales.deals.booked AND sales.deals.amount IS NOT NULL AND sales.deals.booked IS NOT NULL)) THEN %(param_15)s ELSE %(param_16)s END) AS a22, min(sales.deals.updated_at) AS a23
FROM sales.deals
-- params: {"percentile_disc_1": 0.25, "percentile_disc_2": 0.5, "percentile_disc_3": 0.9, "param_1": 1, "param_2": 0, "amount_1": 0, "amount_2": 1000000, "param_3": 1, "param_4": 0, "currency_1_1": "USD", "currency_1_2": "EUR", "param_5": 1, "param_6": 0, "region_1_1": "XX", "region_1_2": "", "param_7": 1, "param_8": 0, "param_9": 1, "param_10": 0, "param_11": 1, "param_12": 0, "param_13": 1, "param_14": 0, "param_15": 1, "param_16": 0}
-- statement 2
SELECT sales.deals.amount
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL ORDER BY sales.deals.amount
 LIMIT %(param_1)s OFFSET %(param_2)s
-- params: {"param_1": 2, "param_2": 179}
-- statement 3
SELECT sales.deals.id AS key
FROM sales.deals
WHERE sales.deals.owner IS NULL ORDER BY sales.deals.id
 LIMIT %(param_1)s
-- params: {"param_1": 20}
-- statement 4
SELECT sales.deals.id AS key, sales.deals.amount AS value
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND NOT (sales.deals.amount >= %(amount_1)s AND sales.deals.amount <= %(amount_2)s) ORDER BY sales.deals.id
 LIMIT %(param_1)s
-- params: {"amount_1": 0, "amount_2": 1000000, "param_1": 20}
-- statement 5
SELECT sales.deals.id AS key, sales.deals.currency AS value
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (%(currency_1_1)s, %(currency_1_2)s)) ORDER BY sales.deals.id
 LIMIT %(param_1)s
-- params: {"currency_1_1": "USD", "currency_1_2": "EUR", "param_1": 20}
-- statement 6
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.currency AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (%(currency_1_1)s, %(currency_1_2)s)) GROUP BY sales.deals.currency) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
 LIMIT %(param_1)s
-- params: {"currency_1_1": "USD", "currency_1_2": "EUR", "param_1": 20}
-- statement 7
SELECT sales.deals.id AS key, sales.deals.region AS value
FROM sales.deals
WHERE sales.deals.region IS NOT NULL AND sales.deals.region IN (%(region_1_1)s, %(region_1_2)s) ORDER BY sales.deals.id
 LIMIT %(param_1)s
-- params: {"region_1_1": "XX", "region_1_2": "", "param_1": 20}
-- statement 8
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.region AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.region IS NOT NULL AND sales.deals.region IN (%(region_1_1)s, %(region_1_2)s) GROUP BY sales.deals.region) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
 LIMIT %(param_1)s
-- params: {"region_1_1": "XX", "region_1_2": "", "param_1": 20}
-- statement 9
SELECT count(*) AS count_1
FROM sales.deals
WHERE sales.deals.id IN (SELECT sales.deals.id
FROM sales.deals
WHERE sales.deals.id IS NOT NULL GROUP BY sales.deals.id
HAVING count(*) > %(count_2)s)
-- params: {"count_2": 1}
-- statement 10
SELECT sales.deals.id AS key, sales.deals.id AS value
FROM sales.deals
WHERE sales.deals.id IN (SELECT sales.deals.id
FROM sales.deals
WHERE sales.deals.id IS NOT NULL GROUP BY sales.deals.id
HAVING count(*) > %(count_1)s) ORDER BY sales.deals.id
 LIMIT %(param_1)s
-- params: {"count_1": 1, "param_1": 20}
-- statement 11
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.currency AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL GROUP BY sales.deals.currency) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
 LIMIT %(param_1)s
-- params: {"param_1": 20}
-- statement 12
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.currency AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (%(currency_1_1)s)) GROUP BY sales.deals.currency) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
 LIMIT %(param_1)s
-- params: {"currency_1_1": "USD", "param_1": 20}
-- statement 13
SELECT sales.deals.id, sales.deals.list_price, sales.deals.amount
FROM sales.deals
WHERE NOT (sales.deals.list_price IS NULL AND sales.deals.amount IS NULL) AND NOT (sales.deals.list_price >= sales.deals.amount OR sales.deals.list_price IS NULL AND sales.deals.amount IS NULL) ORDER BY sales.deals.id
 LIMIT %(param_1)s
-- params: {"param_1": 20}
-- statement 14
SELECT sales.deals.id, sales.deals.amount, sales.deals.booked
FROM sales.deals
WHERE NOT (sales.deals.amount IS NULL AND sales.deals.booked IS NULL) AND NOT (sales.deals.amount = sales.deals.booked AND sales.deals.amount IS NOT NULL AND sales.deals.booked IS NOT NULL) ORDER BY sales.deals.id
 LIMIT %(param_1)s
-- params: {"param_1": 20}
-- statement 15
SELECT date_trunc('hour', CAST(sales.deals.updated_at AS datetime)) AS h, count(*) AS n
FROM sales.deals
WHERE CAST(sales.deals.updated_at AS datetime) >= %(param_1)s AND CAST(sales.deals.updated_at AS datetime) < %(param_2)s GROUP BY date_trunc('hour', CAST(sales.deals.updated_at AS datetime))
-- params: {"param_1": "datetime 2026-04-18 00:00:00", "param_2": "datetime 2026-06-15 00:00:00"}
-- results
-- not_empty: pass
-- freshness: pass
-- schema: pass
-- expect_table_row_count_to_be_between: pass
-- expect_table_columns_to_match_set: pass
-- expect_column_to_exist(code): pass
-- expect_column_min_to_be_between(amount): fail (violation): min of amount is -168,080.15, outside [0, inf]
-- expect_column_max_to_be_between(amount): fail (violation): max of amount is 29,010,312, outside [-inf, 10000000]
-- expect_column_sum_to_be_between(amount): pass
-- expect_column_mean_to_be_between(amount): fail (violation): mean of amount is 413,515, outside [-inf, 1000]
-- expect_column_median_to_be_between(amount): fail (violation): median of amount is 92,803, outside [1, 2]
-- expect_column_quantile_values_to_be_between(amount): fail (violation): amount: q0.9 = 181,980.5, outside [0, 100]
-- expect_column_values_to_not_be_null(owner): fail (violation): 1 of 360 rows (0.278%) have no owner; e.g. 7
-- expect_column_values_to_be_between(amount): fail (violation): 8 of 360 rows (2.22%) have amount outside [0, 1000000]; e.g. 41 (29010312.0), 42 (2787289.5), 43 (20756589.0) and 5 more
-- expect_column_values_to_be_in_set(currency): fail (violation): 7 of 360 rows (1.94%) have currency outside ['USD', 'EUR']; e.g. 41 (JPY), 42 (JPY), 43 (JPY) and 4 more
-- expect_column_values_to_not_be_in_set(region): fail (violation): 1 of 360 rows (0.278%) have a forbidden region; e.g. 8 (XX)
-- expect_column_values_to_be_unique(id): fail (violation): 2 of 360 rows share a id with another row
-- expect_column_distinct_values_to_be_in_set(currency): fail (violation): 3 distinct value(s) of currency outside ['USD']
-- expect_column_values_to_match_regex(code): error (unsupported): expect_column_values_to_match_regex is compiled natively on duckdb, postgresql, spark, sqlite only: use engine: auto or gx
-- expect_column_values_to_not_match_regex(code): error (unsupported): expect_column_values_to_not_match_regex is compiled natively on duckdb, postgresql, spark, sqlite only: use engine: auto or gx
-- expect_column_value_lengths_to_be_between(code): error (unsupported): expect_column_value_lengths_to_be_between is compiled natively on duckdb, postgresql, spark, sqlite only: use engine: auto or gx
-- expect_column_value_lengths_to_equal(code): error (unsupported): expect_column_value_lengths_to_equal is compiled natively on duckdb, postgresql, spark, sqlite only: use engine: auto or gx
-- expect_column_pair_values_a_to_be_greater_than_b: fail (violation): 2 of 360 rows (0.556%) have list_price below amount; e.g. 71 (157851.94), 91 (82227.94)
-- expect_column_pair_values_to_be_equal: fail (violation): 9 of 360 rows (2.5%) have amount unequal to booked; e.g. 41 (29010312.0), 42 (2787289.5), 43 (20756589.0) and 6 more
-- volume: pass
