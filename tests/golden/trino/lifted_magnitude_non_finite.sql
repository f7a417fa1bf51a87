-- golden SQL: case lifted_magnitude_non_finite, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT sum(sales.deals.score) AS a0, count(sales.deals.score) AS a1, sum(CASE WHEN (sales.deals.score IS NOT NULL AND sales.deals.score != ?) THEN ? ELSE ? END) AS a2
FROM sales.deals
-- params: [0, 1, 0]
-- statement 2
SELECT sum(CASE WHEN (sales.deals.score = CAST('NaN' AS DOUBLE)) THEN ? ELSE ? END) AS nan, sum(CASE WHEN (sales.deals.score IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE))) THEN ? ELSE ? END) AS infinite, sum(CASE WHEN ((sales.deals.score NOT IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE)))) THEN sales.deals.score END) AS sum, count(CASE WHEN ((sales.deals.score NOT IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE)))) THEN sales.deals.score END) AS count
FROM sales.deals
-- params: [1, 0, 1, 0]
-- statement 3
WITH mag_counts AS
(SELECT coalesce(CAST(sales.deals.region AS VARCHAR), ?) AS g0, count(*) AS group_rows, CAST(greatest(?, ? / CAST(count(*) OVER () AS DECIMAL)) AS REAL) AS cap
FROM sales.deals
WHERE sales.deals.score IS NOT NULL AND sales.deals.score != ? AND (sales.deals.score NOT IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE))) GROUP BY coalesce(CAST(sales.deals.region AS VARCHAR), ?)),
mag_sample AS
(SELECT sales.deals.id AS k, sales.deals.score AS x, log10(abs(CAST(sales.deals.score AS DOUBLE))) AS y, coalesce(CAST(sales.deals.region AS VARCHAR), ?) AS g0, mag_counts.group_rows AS group_rows
FROM sales.deals JOIN mag_counts ON coalesce(CAST(sales.deals.region AS VARCHAR), ?) = mag_counts.g0
WHERE sales.deals.score IS NOT NULL AND sales.deals.score != ? AND (sales.deals.score NOT IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE))) AND (mag_counts.group_rows <= mag_counts.cap OR CAST(CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) AS REAL) / CAST(? AS DECIMAL) < mag_counts.cap / CAST(CAST(mag_counts.group_rows AS REAL) AS REAL))),
group_rows AS
(SELECT mag_sample.g0 AS g0, max(mag_sample.group_rows) AS group_rows
FROM mag_sample GROUP BY mag_sample.g0),
ref_med AS
(SELECT mag_sample.g0 AS g0, percentile_cont(?) WITHIN GROUP (ORDER BY mag_sample.y) AS m, count(mag_sample.y) AS n
FROM mag_sample GROUP BY mag_sample.g0),
ref_groups AS
(SELECT ref_med.g0 AS g0, ref_med.m AS m, ref_med.n AS n, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_med.m)) AS mad, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_med.m)) AS d90
FROM mag_sample JOIN ref_med ON mag_sample.g0 = ref_med.g0 GROUP BY ref_med.g0, ref_med.m, ref_med.n),
ref_all AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY mag_sample.y) AS m0, count(mag_sample.y) AS n0
FROM mag_sample),
ref_overall AS
(SELECT ref_all.m0 AS m0, ref_all.n0 AS n0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_all.m0)) AS mad0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_all.m0)) AS d90_0
FROM mag_sample JOIN ref_all ON true GROUP BY ref_all.m0, ref_all.n0),
tail AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY abs((mag_sample.y - CASE WHEN (ref_groups.n >= ?) THEN ref_groups.m ELSE ref_overall.m0 END) / CAST(greatest(CASE WHEN (ref_groups.n >= ?) THEN ? * ref_groups.mad ELSE ? * ref_overall.mad0 END, ?) AS DECIMAL))) AS q90, percentile_cont(?) WITHIN GROUP (ORDER BY abs((mag_sample.y - CASE WHEN (ref_groups.n >= ?) THEN ref_groups.m ELSE ref_overall.m0 END) / CAST(greatest(CASE WHEN (ref_groups.n >= ?) THEN ? * ref_groups.mad ELSE ? * ref_overall.mad0 END, ?) AS DECIMAL))) AS q99
FROM mag_sample JOIN ref_groups ON mag_sample.g0 = ref_groups.g0 JOIN ref_overall ON true)
 SELECT group_rows.g0, group_rows.group_rows, ref_groups.m, ref_groups.n, ref_groups.mad, ref_groups.d90, ref_overall.m0, ref_overall.n0, ref_overall.mad0, ref_overall.d90_0, tail.q90, tail.q99
FROM group_rows LEFT OUTER JOIN ref_groups ON group_rows.g0 = ref_groups.g0 JOIN ref_overall ON true JOIN tail ON true ORDER BY group_rows.g0
-- params: ["(null)", 2000, 200000, 0, "(null)", "(null)", "(null)", 0, 0, 1000003, 1000003, 0.5, 0.5, 0.9, 0.5, 0.5, 0.9, 0.9, 20, 20, 1.4826, 1.4826, 0.01, 0.99, 20, 20, 1.4826, 1.4826, 0.01]
-- statement 4
SELECT scored.k, scored.x, scored.y, scored.ref, scored.s, scored.z, scored.thr, scored.tol, scored.group_n, scored.ref_n, scored.peer, scored.g0, round(scored.y - scored.ref) != ? AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol AS named, count(*) OVER () AS total, sum(CASE WHEN (round(scored.y - scored.ref) != ? AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol) THEN ? ELSE ? END) OVER () AS slips
FROM (SELECT mag_rows.k AS k, mag_rows.x AS x, mag_rows.y AS y, mag_refs.a AS ref, mag_refs.s AS s, (mag_rows.y - mag_refs.a) / CAST(mag_refs.s AS REAL) AS z, mag_refs.thr AS thr, mag_refs.tol AS tol, mag_refs.group_n AS group_n, mag_refs.ref_n AS ref_n, false AS peer, mag_rows.g0 AS g0
FROM (SELECT sales.deals.id AS k, sales.deals.score AS x, log10(abs(CAST(sales.deals.score AS DOUBLE))) AS y, coalesce(CAST(sales.deals.region AS VARCHAR), ?) AS g0
FROM sales.deals
WHERE sales.deals.score IS NOT NULL AND sales.deals.score != ? AND (sales.deals.score NOT IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE)))) AS mag_rows JOIN (VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)) AS mag_refs (g0, a, s, thr, ref_n, tol, group_n) ON mag_rows.g0 = mag_refs.g0
WHERE mag_rows.y NOT BETWEEN ? AND ?) AS scored
WHERE abs(scored.z) > scored.thr ORDER BY abs(scored.z) DESC, scored.k
LIMIT ?
-- params: [0, 0, 1, 0, "(null)", 0, "AMER", 2.9919655190851033, 0.07922377461806088, 4.758445202218449, 119, 0.198059, 119, "APAC", 2.9995785299064956, 0.07262501793126823, 4.758445202218449, 119, 0.181563, 119, "EMEA", 2.9960298284110767, 0.07413689954322156, 4.758445202218449, 119, 0.185342, 119, "XX", 2.9957140352400566, 0.07476351239873767, 4.3562951625729385, 358, 0.186909, 0, 2.670022107840474, 3.3214059626396395, 20]
-- results
-- magnitude(score): pass: 1 NaN and 1 infinite values of score left out
