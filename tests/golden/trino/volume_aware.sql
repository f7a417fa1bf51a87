-- golden SQL: case volume_aware, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT max(sales.deals.created_at) AS a0, count(*) AS a1, min(sales.deals.created_at) AS a2
FROM sales.deals
-- statement 2
SELECT date_trunc('hour', timezone('UTC', sales.deals.created_at)) AS h, count(*) AS n
FROM sales.deals
WHERE timezone('UTC', sales.deals.created_at) >= ? AND timezone('UTC', sales.deals.created_at) < ? GROUP BY date_trunc('hour', timezone('UTC', sales.deals.created_at))
-- params: ["datetime 2026-04-18 00:00:00", "datetime 2026-06-15 00:00:00"]
-- results
-- freshness: pass
-- volume: pass
