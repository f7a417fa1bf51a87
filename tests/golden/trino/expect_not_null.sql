-- golden SQL: case expect_not_null, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT count(*) AS a0, count(sales.deals.owner) AS a1, sum(CASE WHEN (sales.deals.owner IS NULL) THEN ? ELSE ? END) AS a2
FROM sales.deals
-- params: [1, 0]
-- statement 2
SELECT sales.deals.id AS key
FROM sales.deals
WHERE sales.deals.owner IS NULL ORDER BY sales.deals.id
LIMIT ?
-- params: [20]
-- results
-- expect_column_values_to_not_be_null(owner): fail (violation): 1 of 360 rows (0.278%) have no owner; e.g. 7
