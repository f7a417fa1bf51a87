-- golden SQL: case expect_distinct_in_set, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT `anon_1`.`value`, `anon_1`.`count`, count(*) OVER () AS `distinct`
FROM (SELECT `deals`.`currency` AS `value`, count(*) AS `count`
FROM `sales`.`deals`
WHERE `deals`.`currency` IS NOT NULL GROUP BY `deals`.`currency`) AS `anon_1` ORDER BY `anon_1`.`count` DESC, `anon_1`.`value`
 LIMIT %(param_1:INT64)s
-- params: {"param_1": 20}
-- statement 2
SELECT `anon_1`.`value`, `anon_1`.`count`, count(*) OVER () AS `distinct`
FROM (SELECT `deals`.`currency` AS `value`, count(*) AS `count`
FROM `sales`.`deals`
WHERE `deals`.`currency` IS NOT NULL AND (`deals`.`currency` NOT IN UNNEST(%(currency_1:STRING)s)) GROUP BY `deals`.`currency`) AS `anon_1` ORDER BY `anon_1`.`count` DESC, `anon_1`.`value`
 LIMIT %(param_1:INT64)s
-- params: {"currency_1": ["USD"], "param_1": 20}
-- results
-- expect_column_distinct_values_to_be_in_set(currency): fail (violation): 3 distinct value(s) of currency outside ['USD']
