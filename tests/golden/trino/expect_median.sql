-- golden SQL: case expect_median, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT count(sales.deals.amount) AS a0
FROM sales.deals
-- statement 2
SELECT sales.deals.amount
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL ORDER BY sales.deals.amount
OFFSET ?
LIMIT ?
-- params: [179, 2]
-- results
-- expect_column_median_to_be_between(amount): fail (violation): median of amount is 92,803, outside [1, 2]
