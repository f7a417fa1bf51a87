-- golden SQL: case volume, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT count(*) AS a0, min(sales.deals.updated_at) AS a1
FROM sales.deals
-- statement 2
SELECT date_trunc('hour', CAST(sales.deals.updated_at AS TIMESTAMP)) AS h, count(*) AS n
FROM sales.deals
WHERE CAST(sales.deals.updated_at AS TIMESTAMP) >= ? AND CAST(sales.deals.updated_at AS TIMESTAMP) < ? GROUP BY date_trunc('hour', CAST(sales.deals.updated_at AS TIMESTAMP))
-- params: ["datetime 2026-04-18 00:00:00", "datetime 2026-06-15 00:00:00"]
-- results
-- volume: pass
