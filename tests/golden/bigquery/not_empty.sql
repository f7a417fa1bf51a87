-- golden SQL: case not_empty, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT count(*) AS `a0`
FROM `sales`.`deals`
-- results
-- not_empty: pass
