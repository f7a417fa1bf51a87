-- golden SQL: case expect_in_set, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT count(*) AS `a0`, count(`deals`.`currency`) AS `a1`, sum(CASE WHEN (`deals`.`currency` IS NOT NULL AND (`deals`.`currency` NOT IN UNNEST(%(currency_1:STRING)s))) THEN %(param_1:INT64)s ELSE %(param_2:INT64)s END) AS `a2`
FROM `sales`.`deals`
-- params: {"currency_1": ["USD", "EUR"], "param_1": 1, "param_2": 0}
-- statement 2
SELECT `deals`.`id` AS `key`, `deals`.`currency` AS `value`
FROM `sales`.`deals`
WHERE `deals`.`currency` IS NOT NULL AND (`deals`.`currency` NOT IN UNNEST(%(currency_1:STRING)s)) ORDER BY `deals`.`id`
 LIMIT %(param_1:INT64)s
-- params: {"currency_1": ["USD", "EUR"], "param_1": 20}
-- statement 3
SELECT `anon_1`.`value`, `anon_1`.`count`, count(*) OVER () AS `distinct`
FROM (SELECT `deals`.`currency` AS `value`, count(*) AS `count`
FROM `sales`.`deals`
WHERE `deals`.`currency` IS NOT NULL AND (`deals`.`currency` NOT IN UNNEST(%(currency_1:STRING)s)) GROUP BY `deals`.`currency`) AS `anon_1` ORDER BY `anon_1`.`count` DESC, `anon_1`.`value`
 LIMIT %(param_1:INT64)s
-- params: {"currency_1": ["USD", "EUR"], "param_1": 20}
-- results
-- expect_column_values_to_be_in_set(currency): fail (violation): 7 of 360 rows (1.94%) have currency outside ['USD', 'EUR']; e.g. 41 (JPY), 42 (JPY), 43 (JPY) and 4 more
