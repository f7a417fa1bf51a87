-- golden SQL: case expect_pairs, dialect snowflake (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at datetime, created_at TIMESTAMP_TZ
-- statement 1
SELECT count(*) AS a0, sum(CASE WHEN (NOT (sales.deals.list_price IS NULL AND sales.deals.amount IS NULL)) THEN %(param_1)s ELSE %(param_2)s END) AS a1, sum(CASE WHEN (NOT (sales.deals.list_price IS NULL AND sales.deals.amount IS NULL) AND NOT (sales.deals.list_price >= sales.deals.amount OR sales.deals.list_price IS NULL AND sales.deals.amount IS NULL)) THEN %(param_3)s ELSE %(param_4)s END) AS a2, sum(CASE WHEN (NOT (sales.deals.amount IS NULL AND sales.deals.booked IS NULL)) THEN %(param_5)s ELSE %(param_6)s END) AS a3, sum(CASE WHEN (NOT (sales.deals.amount IS NULL AND sales.deals.booked IS NULL) AND NOT (sales.deals.amount = sales.deals.booked AND sales.deals.amount IS NOT NULL AND sales.deals.booked IS NOT NULL)) THEN %(param_7)s ELSE %(param_8)s END) AS a4
FROM sales.deals
-- params: {"param_1": 1, "param_2": 0, "param_3": 1, "param_4": 0, "param_5": 1, "param_6": 0, "param_7": 1, "param_8": 0}
-- statement 2
SELECT sales.deals.id, sales.deals.list_price, sales.deals.amount
FROM sales.deals
WHERE NOT (sales.deals.list_price IS NULL AND sales.deals.amount IS NULL) AND NOT (sales.deals.list_price >= sales.deals.amount OR sales.deals.list_price IS NULL AND sales.deals.amount IS NULL) ORDER BY sales.deals.id
 LIMIT %(param_1)s
-- params: {"param_1": 20}
-- statement 3
SELECT sales.deals.id, sales.deals.amount, sales.deals.booked
FROM sales.deals
WHERE NOT (sales.deals.amount IS NULL AND sales.deals.booked IS NULL) AND NOT (sales.deals.amount = sales.deals.booked AND sales.deals.amount IS NOT NULL AND sales.deals.booked IS NOT NULL) ORDER BY sales.deals.id
 LIMIT %(param_1)s
-- params: {"param_1": 20}
-- results
-- expect_column_pair_values_a_to_be_greater_than_b: fail (violation): 2 of 360 rows (0.556%) have list_price below amount; e.g. 71 (157851.94), 91 (82227.94)
-- expect_column_pair_values_to_be_equal: fail (violation): 9 of 360 rows (2.5%) have amount unequal to booked; e.g. 41 (29010312.0), 42 (2787289.5), 43 (20756589.0) and 6 more
