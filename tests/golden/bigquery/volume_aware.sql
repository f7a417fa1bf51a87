-- golden SQL: case volume_aware, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT max(`deals`.`created_at`) AS `a0`, count(*) AS `a1`, min(`deals`.`created_at`) AS `a2`
FROM `sales`.`deals`
-- statement 2
SELECT date_trunc('hour', CAST(`deals`.`created_at` AS DATETIME)) AS `h`, count(*) AS `n`
FROM `sales`.`deals`
WHERE CAST(`deals`.`created_at` AS DATETIME) >= %(param_1:DATETIME)s AND CAST(`deals`.`created_at` AS DATETIME) < %(param_2:DATETIME)s GROUP BY `date_trunc_1`
-- params: {"param_1": "datetime 2026-04-18 00:00:00", "param_2": "datetime 2026-06-15 00:00:00"}
-- results
-- freshness: pass
-- volume: pass
