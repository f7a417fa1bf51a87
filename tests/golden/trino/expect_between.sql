-- golden SQL: case expect_between, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT count(*) AS a0, count(sales.deals.amount) AS a1, sum(CASE WHEN (sales.deals.amount IS NOT NULL AND NOT (sales.deals.amount >= ? AND sales.deals.amount <= ?)) THEN ? ELSE ? END) AS a2
FROM sales.deals
-- params: [0, 1000000, 1, 0]
-- statement 2
SELECT sales.deals.id AS key, sales.deals.amount AS value
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND NOT (sales.deals.amount >= ? AND sales.deals.amount <= ?) ORDER BY sales.deals.id
LIMIT ?
-- params: [0, 1000000, 20]
-- results
-- expect_column_values_to_be_between(amount): fail (violation): 8 of 360 rows (2.22%) have amount outside [0, 1000000]; e.g. 41 (29010312.0), 42 (2787289.5), 43 (20756589.0) and 5 more
