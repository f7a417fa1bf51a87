-- golden SQL: case volume_aware, dialect snowflake (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at datetime, created_at TIMESTAMP_TZ
-- statement 1
SELECT max(sales.deals.created_at) AS a0, count(*) AS a1, min(sales.deals.created_at) AS a2
FROM sales.deals
-- statement 2
SELECT date_trunc('hour', CAST(sales.deals.created_at AS datetime)) AS h, count(*) AS n
FROM sales.deals
WHERE CAST(sales.deals.created_at AS datetime) >= %(param_1)s AND CAST(sales.deals.created_at AS datetime) < %(param_2)s GROUP BY date_trunc('hour', CAST(sales.deals.created_at AS datetime))
-- params: {"param_1": "datetime 2026-04-18 00:00:00", "param_2": "datetime 2026-06-15 00:00:00"}
-- results
-- freshness: pass
-- volume: pass
