-- golden SQL: case expect_in_set, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT count(*) AS a0, count(sales.deals.currency) AS a1, sum(CASE WHEN (sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (?, ?))) THEN ? ELSE ? END) AS a2
FROM sales.deals
-- params: ["USD", "EUR", 1, 0]
-- statement 2
SELECT sales.deals.id AS key, sales.deals.currency AS value
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (?, ?)) ORDER BY sales.deals.id
LIMIT ?
-- params: ["USD", "EUR", 20]
-- statement 3
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.currency AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.currency IS NOT NULL AND (sales.deals.currency NOT IN (?, ?)) GROUP BY sales.deals.currency) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
LIMIT ?
-- params: ["USD", "EUR", 20]
-- results
-- expect_column_values_to_be_in_set(currency): fail (violation): 7 of 360 rows (1.94%) have currency outside ['USD', 'EUR']; e.g. 41 (JPY), 42 (JPY), 43 (JPY) and 4 more
