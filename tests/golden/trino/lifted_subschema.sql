-- golden SQL: case lifted_subschema, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT sum(sales.deals.amount) AS a0
FROM sales.deals
-- statement 2
SELECT coalesce(CAST(sales.deals.currency AS VARCHAR), ?) AS value, count(*) AS n, count(*) OVER () AS categories
FROM sales.deals GROUP BY coalesce(CAST(sales.deals.currency AS VARCHAR), ?)
LIMIT ?
-- params: ["(null)", "(null)", 10001]
-- statement 3
SELECT coalesce(CAST(sales.deals.currency AS VARCHAR), ?) AS g0, count(*) AS group_rows
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? GROUP BY coalesce(CAST(sales.deals.currency AS VARCHAR), ?) ORDER BY coalesce(CAST(sales.deals.currency AS VARCHAR), ?)
-- params: ["(null)", 0, "(null)", "(null)"]
-- statement 4
WITH ss_counts AS
(SELECT ss_known.g0 AS g0, CAST(ss_known.group_rows AS BIGINT) AS group_rows, CAST(greatest(?, ? / CAST(CAST(? AS BIGINT) AS DECIMAL)) AS REAL) AS cap
FROM (VALUES (?, ?), (?, ?), (?, ?), (?, ?)) AS ss_known (g0, group_rows)),
ss_sample AS
(SELECT sales.deals.id AS k, sales.deals.amount AS x, coalesce(CAST(sales.deals.currency AS VARCHAR), ?) AS g0, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y, ss_counts.group_rows AS group_rows
FROM sales.deals JOIN ss_counts ON coalesce(CAST(sales.deals.currency AS VARCHAR), ?) = ss_counts.g0
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? AND (ss_counts.group_rows <= ss_counts.cap OR CAST(CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) AS REAL) / CAST(? AS DECIMAL) < ss_counts.cap / CAST(CAST(ss_counts.group_rows AS REAL) AS REAL))),
ss_resid AS
(SELECT ss_sample.g0 AS g0, ss_sample.group_rows AS group_rows, ss_sample.y AS y
FROM ss_sample),
ss_med AS
(SELECT ss_resid.g0 AS g0, percentile_cont(?) WITHIN GROUP (ORDER BY ss_resid.y) AS m, max(ss_resid.group_rows) AS n
FROM ss_resid GROUP BY ss_resid.g0),
ss_dev AS
(SELECT ss_med.g0 AS g0, ss_med.m AS m, ss_med.n AS n, percentile_cont(?) WITHIN GROUP (ORDER BY abs(ss_resid.y - ss_med.m)) AS mad
FROM ss_resid JOIN ss_med ON ss_resid.g0 = ss_med.g0 GROUP BY ss_med.g0, ss_med.m, ss_med.n)
 SELECT ss_dev.g0, ss_dev.m, ss_dev.n, ss_dev.mad, percentile_cont(?) WITHIN GROUP (ORDER BY ss_resid.y) AS q25, percentile_cont(?) WITHIN GROUP (ORDER BY ss_resid.y) AS q50, percentile_cont(?) WITHIN GROUP (ORDER BY ss_resid.y) AS q75
FROM ss_resid JOIN ss_dev ON ss_resid.g0 = ss_dev.g0
WHERE abs(ss_resid.y - ss_dev.m) <= greatest(? * ss_dev.mad, ?) GROUP BY ss_dev.g0, ss_dev.m, ss_dev.n, ss_dev.mad ORDER BY ss_dev.g0
-- params: [2000, 200000, 4, "CHF", 1, "EUR", 89, "JPY", 6, "USD", 264, "(null)", "(null)", 0, 0, 1000003, 1000003, 0.5, 0.5, 0.25, 0.5, 0.75, 4.4478, 0.5]
-- statement 5
WITH ss_counts AS
(SELECT ss_known.g0 AS g0, CAST(ss_known.group_rows AS BIGINT) AS group_rows, CAST(greatest(?, ? / CAST(CAST(? AS BIGINT) AS DECIMAL)) AS REAL) AS cap
FROM (VALUES (?, ?), (?, ?), (?, ?), (?, ?)) AS ss_known (g0, group_rows)),
ss_sample AS
(SELECT sales.deals.id AS k, sales.deals.amount AS x, coalesce(CAST(sales.deals.currency AS VARCHAR), ?) AS g0, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y, ss_counts.group_rows AS group_rows
FROM sales.deals JOIN ss_counts ON coalesce(CAST(sales.deals.currency AS VARCHAR), ?) = ss_counts.g0
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? AND (ss_counts.group_rows <= ss_counts.cap OR CAST(CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) AS REAL) / CAST(? AS DECIMAL) < ss_counts.cap / CAST(CAST(ss_counts.group_rows AS REAL) AS REAL))),
ss_units AS
(SELECT ss_sample.g0 AS lab, ss_sample.y - ss_refs.c AS r
FROM ss_sample JOIN (VALUES (?, ?)) AS ss_refs (pg, c) ON ? = ss_refs.pg
WHERE ss_sample.g0 IN (?, ?, ?, ?)),
ss_units_med AS
(SELECT ss_units.lab AS lab, percentile_cont(?) WITHIN GROUP (ORDER BY ss_units.r) AS o, count(*) AS n
FROM ss_units GROUP BY ss_units.lab)
 SELECT ss_units_med.lab, ss_units_med.o, ss_units_med.n, percentile_cont(?) WITHIN GROUP (ORDER BY abs(ss_units.r - ss_units_med.o)) AS mad
FROM ss_units JOIN ss_units_med ON ss_units.lab = ss_units_med.lab GROUP BY ss_units_med.lab, ss_units_med.o, ss_units_med.n ORDER BY ss_units_med.lab
-- params: [2000, 200000, 4, "CHF", 1, "EUR", 89, "JPY", 6, "USD", 264, "(null)", "(null)", 0, 0, 1000003, 1000003, "(all)", 4.967561190359445, "(all)", "USD", "CHF", "EUR", "JPY", 0.5, 0.5]
-- statement 6
WITH ss_tails AS
(SELECT ss_rows.k AS k, ss_rows.x AS x, ss_rows.g0 AS g0, ss_stats.pool AS lab, ss_rows.y - ss_stats.m AS d, greatest(? * ss_stats.sigma, ?) AS edge, ss_stats.sigma AS spread
FROM (SELECT sales.deals.id AS k, sales.deals.amount AS x, coalesce(CAST(sales.deals.currency AS VARCHAR), ?) AS g0, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? AND log10(abs(CAST(sales.deals.amount AS DOUBLE))) NOT BETWEEN ? AND ?) AS ss_rows JOIN (VALUES (?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?)) AS ss_stats (g0, pool, m, sigma) ON ss_rows.g0 = ss_stats.g0),
ss_summary AS
(SELECT ss_tails.lab AS lab, sum(CASE WHEN (ss_tails.d > ss_tails.edge) THEN ? ELSE ? END) AS up, sum(CASE WHEN (ss_tails.d < -ss_tails.edge) THEN ? ELSE ? END) AS down, percentile_cont(?) WITHIN GROUP (ORDER BY (ss_tails.d - ss_tails.edge) / CAST(greatest(ss_tails.spread, ?) AS DECIMAL)) FILTER (WHERE ss_tails.d > ss_tails.edge) AS up_beyond, percentile_cont(?) WITHIN GROUP (ORDER BY (-ss_tails.d - ss_tails.edge) / CAST(greatest(ss_tails.spread, ?) AS DECIMAL)) FILTER (WHERE ss_tails.d < -ss_tails.edge) AS down_beyond
FROM ss_tails GROUP BY ss_tails.lab),
ss_sides AS
(SELECT ss_summary.lab AS lab, ? AS sign
FROM ss_summary JOIN (VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?)) AS ss_shape (lab, n, skew) ON ss_summary.lab = ss_shape.lab
WHERE ss_summary.up - ss_summary.down >= ? AND ss_summary.up >= ? * greatest(ss_summary.down, ?) AND ss_summary.up_beyond >= CASE WHEN (? * ss_shape.skew > ?) THEN greatest(?, ? + ? / CAST(sqrt(ss_summary.up) AS DECIMAL)) WHEN (ss_summary.up > ? * ss_shape.n) THEN ? ELSE ? END AND ss_summary.up <= ? UNION ALL SELECT ss_summary.lab AS lab, ? AS sign
FROM ss_summary JOIN (VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?)) AS ss_shape (lab, n, skew) ON ss_summary.lab = ss_shape.lab
WHERE ss_summary.down - ss_summary.up >= ? AND ss_summary.down >= ? * greatest(ss_summary.up, ?) AND ss_summary.down_beyond >= CASE WHEN (? * ss_shape.skew > ?) THEN greatest(?, ? + ? / CAST(sqrt(ss_summary.down) AS DECIMAL)) WHEN (ss_summary.down > ? * ss_shape.n) THEN ? ELSE ? END AND ss_summary.down <= ?)
 SELECT ss_summary.lab, ss_summary.up, ss_summary.down, ss_summary.up_beyond, ss_summary.down_beyond, ss_side_rows.sign, ss_side_rows.k, ss_side_rows.x, ss_side_rows.g0, ss_side_rows.d, ss_side_rows.spread
FROM ss_summary LEFT OUTER JOIN (SELECT ss_tails.lab AS lab, ss_sides.sign AS sign, ss_tails.k AS k, ss_tails.x AS x, ss_tails.g0 AS g0, ss_tails.d AS d, ss_tails.spread AS spread
FROM ss_tails JOIN ss_sides ON ss_tails.lab = ss_sides.lab AND ss_sides.sign * ss_tails.d > ss_tails.edge) AS ss_side_rows ON ss_summary.lab = ss_side_rows.lab ORDER BY ss_summary.lab, ss_side_rows.sign, ss_side_rows.k
-- params: [3.0, 0.5, "(null)", 0, 6.816008158476959, 5.64232672668555, "CHF", "CHF", 5.14232672668555, 0.0, "EUR", "EUR", 4.951574033143424, 0.34731486797733274, "JPY", "JPY", 7.324422801077505, 0.16947154753351534, "USD", "USD", 4.967561190359445, 0.3332950942931186, 1, 0, 1, 0, 0.5, 1e-12, 0.5, 1e-12, 1, "CHF", 1.0, 0.0, "EUR", 89.0, 0.06078192776300333, "JPY", 6.0, 0.7026403790991904, "USD", 264.0, -0.12776256119939103, 5, 3, 1, 1, 0.05, 1.5, 0.97, 2.8, 0.1, 1.5, 1.0, 50000, -1, "CHF", 1.0, 0.0, "EUR", 89.0, 0.06078192776300333, "JPY", 6.0, 0.7026403790991904, "USD", 264.0, -0.12776256119939103, 5, 3, 1, -1, 0.05, 1.5, 0.97, 2.8, 0.1, 1.5, 1.0, 50000]
-- results
-- subschema(amount): warn (mixed_units): amount mixes currencies: the 6 rows labelled JPY sit 2.36 decades above the USD rows, the JPY/USD factor 150 (the rates of config fx_rates): a sum or mean over amount adds one unit to another
