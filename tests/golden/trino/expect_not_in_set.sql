-- golden SQL: case expect_not_in_set, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT count(*) AS a0, count(sales.deals.region) AS a1, sum(CASE WHEN (sales.deals.region IS NOT NULL AND sales.deals.region IN (?, ?)) THEN ? ELSE ? END) AS a2
FROM sales.deals
-- params: ["XX", "", 1, 0]
-- statement 2
SELECT sales.deals.id AS key, sales.deals.region AS value
FROM sales.deals
WHERE sales.deals.region IS NOT NULL AND sales.deals.region IN (?, ?) ORDER BY sales.deals.id
LIMIT ?
-- params: ["XX", "", 20]
-- statement 3
SELECT anon_1.value, anon_1.count, count(*) OVER () AS "distinct"
FROM (SELECT sales.deals.region AS value, count(*) AS count
FROM sales.deals
WHERE sales.deals.region IS NOT NULL AND sales.deals.region IN (?, ?) GROUP BY sales.deals.region) AS anon_1 ORDER BY anon_1.count DESC, anon_1.value
LIMIT ?
-- params: ["XX", "", 20]
-- results
-- expect_column_values_to_not_be_in_set(region): fail (violation): 1 of 360 rows (0.278%) have a forbidden region; e.g. 8 (XX)
