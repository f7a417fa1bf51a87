-- golden SQL: constructs kept away from snowflake, each compiled alone
-- regex search (SQLAlchemy's regexp_match, the non-DuckDB, non-PostgreSQL branch)
-- statement 1
SELECT REGEXP_LIKE(sales.deals.code, %(param_1)s) AS v
FROM sales.deals
-- params: {"param_1": "^D-[0-9]+$"}
-- regex, PostgreSQL's operator
-- statement 2
SELECT sales.deals.code ~ %(param_1)s AS v
FROM sales.deals
-- params: {"param_1": "^D-[0-9]+$"}
-- regex, DuckDB's function
-- statement 3
SELECT regexp_matches(sales.deals.code, %(param_1)s) AS v
FROM sales.deals
-- params: {"param_1": "^D-[0-9]+$"}
-- length in code points
-- statement 4
SELECT length(sales.deals.code) AS v
FROM sales.deals
-- median, PostgreSQL's ordered-set aggregate
-- statement 5
SELECT percentile_cont(%(percentile_cont_1)s) WITHIN GROUP (ORDER BY sales.deals.amount) AS v
FROM sales.deals
-- params: {"percentile_cont_1": 0.5}
-- median, DuckDB's aggregate
-- statement 6
SELECT median(sales.deals.amount) AS v
FROM sales.deals
-- finite timestamp test
-- statement 7
SELECT isfinite(min(sales.deals.updated_at)) AS v
FROM sales.deals
-- UTC of an aware timestamp
-- statement 8
SELECT timezone(%(timezone_1)s, sales.deals.created_at) AS v
FROM sales.deals
-- params: {"timezone_1": "UTC"}
