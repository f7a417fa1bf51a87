-- golden SQL: case suite, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT count(*) AS a0, max(sales.deals.updated_at) AS a1, min(sales.deals.amount) AS a2, max(sales.deals.amount) AS a3, sum(sales.deals.amount) AS a4, avg(CAST(sales.deals.amount AS DOUBLE)) AS a5, count(sales.deals.amount) AS a6, percentile_disc(?) WITHIN GROUP (ORDER BY sales.deals.amount) AS a7, percentile_disc(?) WITHIN GROUP (ORDER BY sales.deals.amount) AS a8, percentile_disc(?) WITHIN GROUP (ORDER BY sales.deals.amount) AS a9, count(sales.deals.owner) AS a10, sum(CASE WHEN (sales.deals.owner IS NULL) THEN ? ELSE ? END) AS a11, sum(CASE WHEN (sales.deals.amount IS NOT NULL AND NOT (sales.deals.amount >= ? AND sales.deals.amount <= ?)) THEN ? ELSE ? END) AS a12, count(sales.deals.currency) AS a13, sum(CASE WHEN (sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (?, ?))) THEN ? ELSE ? END) AS a14, count(sales.deals.region) AS a15, sum(CASE WHEN (sales.deals.region IS NOT NULL AND sales.deals.region IN (?, ?)) THEN ? ELSE ? END) AS a16, count(sales.deals.id) AS a17, count(DISTINCT sales.deals.id) AS a18, sum(CASE WHEN (NOT (sales.deals.list_price IS NULL AND sales.deals.amount IS NULL)) THEN ? ELSE ? END) AS a19, sum(CASE WHEN (NOT (sales.deals.list_price IS NULL AND sales.deals.amount IS NULL) AND NOT (sales.deals.list_price >= sales.deals.amount OR sales.deals.list_price IS NULL AND sales.deals.amount IS NULL)) THEN ? ELSE ? END) AS a20, sum(CASE WHEN (NOT (sales.deals.amount IS NULL AND sales.deals.booked IS NULL)) THEN ? ELSE ? END) AS a21, sum(CASE WHEN (NOT (sales.deals.amount IS NULL AND sales.deals.booked IS NULL) AND NOT (sales.deals.amount = sales.deals.booked AND sales.deals.amount IS NOT NULL AND sales.deals.booked IS NOT NULL)) THEN ? ELSE ? END) AS a22, min(sales.deals.updated_at) AS a23
FROM sales.deals
-- params: [0.25, 0.5, 0.9, 1, 0, 0, 1000000, 1, 0, "USD", "EUR", 1, 0, "XX", "", 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]
-- statement 2
SELECT sales.deals.amount
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL ORDER BY sales.deals.amount
OFFSET ?
LIMIT ?
-- params: [179, 2]
-- statement 3
SELECT sales.deals.id AS key
FROM sales.deals
WHERE sales.deals.owner IS NULL ORDER BY sales.deals.id
LIMIT ?
-- params: [20]
-- statement 4
SELECT sales.deals.id AS key, sales.deals.amount AS value
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND NOT (sales.deals.amount >= ? AND sales.deals.amount <= ?) ORDER BY sales.deals.id
LIMIT ?
-- params: [0, 1000000, 20]
-- statement 5
SELECT sales.deals.id AS key, sales.deals.currency AS value
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (?, ?)) ORDER BY sales.deals.id
LIMIT ?
-- params: ["USD", "EUR", 20]
-- statement 6
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.currency AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (?, ?)) GROUP BY sales.deals.currency) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
LIMIT ?
-- params: ["USD", "EUR", 20]
-- statement 7
SELECT sales.deals.id AS key, sales.deals.region AS value
FROM sales.deals
WHERE sales.deals.region IS NOT NULL AND sales.deals.region IN (?, ?) ORDER BY sales.deals.id
LIMIT ?
-- params: ["XX", "", 20]
-- statement 8
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.region AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.region IS NOT NULL AND sales.deals.region IN (?, ?) GROUP BY sales.deals.region) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
LIMIT ?
-- params: ["XX", "", 20]
-- statement 9
SELECT count(*) AS count_1
FROM sales.deals
WHERE sales.deals.id IN (SELECT sales.deals.id
FROM sales.deals
WHERE sales.deals.id IS NOT NULL GROUP BY sales.deals.id
HAVING count(*) > ?)
-- params: [1]
-- statement 10
SELECT sales.deals.id AS key, sales.deals.id AS value
FROM sales.deals
WHERE sales.deals.id IN (SELECT sales.deals.id
FROM sales.deals
WHERE sales.deals.id IS NOT NULL GROUP BY sales.deals.id
HAVING count(*) > ?) ORDER BY sales.deals.id
LIMIT ?
-- params: [1, 20]
-- statement 11
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.currency AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL GROUP BY sales.deals.currency) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
LIMIT ?
-- params: [20]
-- statement 12
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.currency AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (?)) GROUP BY sales.deals.currency) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
LIMIT ?
-- params: ["USD", 20]
-- statement 13
SELECT sales.deals.id, sales.deals.list_price, sales.deals.amount
FROM sales.deals
WHERE NOT (sales.deals.list_price IS NULL AND sales.deals.amount IS NULL) AND NOT (sales.deals.list_price >= sales.deals.amount OR sales.deals.list_price IS NULL AND sales.deals.amount IS NULL) ORDER BY sales.deals.id
LIMIT ?
-- params: [20]
-- statement 14
SELECT sales.deals.id, sales.deals.amount, sales.deals.booked
FROM sales.deals
WHERE NOT (sales.deals.amount IS NULL AND sales.deals.booked IS NULL) AND NOT (sales.deals.amount = sales.deals.booked AND sales.deals.amount IS NOT NULL AND sales.deals.booked IS NOT NULL) ORDER BY sales.deals.id
LIMIT ?
-- params: [20]
-- statement 15
SELECT date_trunc('hour', CAST(sales.deals.updated_at AS TIMESTAMP)) AS h, count(*) AS n
FROM sales.deals
WHERE CAST(sales.deals.updated_at AS TIMESTAMP) >= ? AND CAST(sales.deals.updated_at AS TIMESTAMP) < ? GROUP BY date_trunc('hour', CAST(sales.deals.updated_at AS TIMESTAMP))
-- params: ["datetime 2026-04-18 00:00:00", "datetime 2026-06-15 00:00:00"]
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
