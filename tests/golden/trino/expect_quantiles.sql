-- golden SQL: case expect_quantiles, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT percentile_disc(?) WITHIN GROUP (ORDER BY sales.deals.amount) AS a0, percentile_disc(?) WITHIN GROUP (ORDER BY sales.deals.amount) AS a1, percentile_disc(?) WITHIN GROUP (ORDER BY sales.deals.amount) AS a2
FROM sales.deals
-- params: [0.25, 0.5, 0.9]
-- results
-- expect_column_quantile_values_to_be_between(amount): fail (violation): amount: q0.9 = 181,980.5, outside [0, 100]
