-- golden SQL: case expect_unique, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT count(*) AS a0, count(sales.deals.id) AS a1, count(DISTINCT sales.deals.id) AS a2
FROM sales.deals
-- statement 2
SELECT count(*) AS count_1
FROM sales.deals
WHERE sales.deals.id IN (SELECT sales.deals.id
FROM sales.deals
WHERE sales.deals.id IS NOT NULL GROUP BY sales.deals.id
HAVING count(*) > ?)
-- params: [1]
-- statement 3
SELECT sales.deals.id AS key, sales.deals.id AS value
FROM sales.deals
WHERE sales.deals.id IN (SELECT sales.deals.id
FROM sales.deals
WHERE sales.deals.id IS NOT NULL GROUP BY sales.deals.id
HAVING count(*) > ?) ORDER BY sales.deals.id
LIMIT ?
-- params: [1, 20]
-- results
-- expect_column_values_to_be_unique(id): fail (violation): 2 of 360 rows share a id with another row
