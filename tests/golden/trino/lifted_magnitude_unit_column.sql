-- golden SQL: case lifted_magnitude_unit_column, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT sum(sales.deals.amount) AS a0, count(sales.deals.amount) AS a1, sum(CASE WHEN (sales.deals.amount IS NOT NULL AND sales.deals.amount != ?) THEN ? ELSE ? END) AS a2, sum(CASE WHEN (coalesce(CAST(sales.deals.currency AS VARCHAR), ?) = ?) THEN ? ELSE ? END) AS a3, sum(CASE WHEN (coalesce(CAST(sales.deals.currency AS VARCHAR), ?) = ?) THEN ? ELSE ? END) AS a4
FROM sales.deals
-- params: [0, 1, 0, "(null)", "EUR", 1, 0, "(null)", "JPY", 1, 0]
-- statement 2
WITH mag_counts AS
(SELECT coalesce(CAST(sales.deals.owner AS VARCHAR), ?) AS g0, coalesce(CAST(CASE WHEN (coalesce(CAST(sales.deals.currency AS VARCHAR), ?) IN (?, ?)) THEN ? ELSE coalesce(CAST(sales.deals.currency AS VARCHAR), ?) END AS VARCHAR), ?) AS g1, count(*) AS group_rows, CAST(greatest(?, ? / CAST(count(*) OVER () AS DECIMAL)) AS REAL) AS cap
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? GROUP BY coalesce(CAST(sales.deals.owner AS VARCHAR), ?), coalesce(CAST(CASE WHEN (coalesce(CAST(sales.deals.currency AS VARCHAR), ?) IN (?, ?)) THEN ? ELSE coalesce(CAST(sales.deals.currency AS VARCHAR), ?) END AS VARCHAR), ?)),
mag_sample AS
(SELECT sales.deals.id AS k, sales.deals.amount AS x, log10(abs(CAST(sales.deals.amount AS DOUBLE))) - CASE WHEN (coalesce(CAST(sales.deals.currency AS VARCHAR), ?) = ?) THEN ? WHEN (coalesce(CAST(sales.deals.currency AS VARCHAR), ?) = ?) THEN ? ELSE ? END AS y, coalesce(CAST(sales.deals.owner AS VARCHAR), ?) AS g0, coalesce(CAST(CASE WHEN (coalesce(CAST(sales.deals.currency AS VARCHAR), ?) IN (?, ?)) THEN ? ELSE coalesce(CAST(sales.deals.currency AS VARCHAR), ?) END AS VARCHAR), ?) AS g1, mag_counts.group_rows AS group_rows
FROM sales.deals JOIN mag_counts ON coalesce(CAST(sales.deals.owner AS VARCHAR), ?) = mag_counts.g0 AND coalesce(CAST(CASE WHEN (coalesce(CAST(sales.deals.currency AS VARCHAR), ?) IN (?, ?)) THEN ? ELSE coalesce(CAST(sales.deals.currency AS VARCHAR), ?) END AS VARCHAR), ?) = mag_counts.g1
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? AND (mag_counts.group_rows <= mag_counts.cap OR CAST(CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) AS REAL) / CAST(? AS DECIMAL) < mag_counts.cap / CAST(CAST(mag_counts.group_rows AS REAL) AS REAL))),
group_rows AS
(SELECT mag_sample.g0 AS g0, mag_sample.g1 AS g1, max(mag_sample.group_rows) AS group_rows
FROM mag_sample GROUP BY mag_sample.g0, mag_sample.g1),
ref_med AS
(SELECT mag_sample.g0 AS g0, mag_sample.g1 AS g1, percentile_cont(?) WITHIN GROUP (ORDER BY mag_sample.y) AS m, count(mag_sample.y) AS n
FROM mag_sample GROUP BY mag_sample.g0, mag_sample.g1),
ref_groups AS
(SELECT ref_med.g0 AS g0, ref_med.g1 AS g1, ref_med.m AS m, ref_med.n AS n, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_med.m)) AS mad, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_med.m)) AS d90
FROM mag_sample JOIN ref_med ON mag_sample.g0 = ref_med.g0 AND mag_sample.g1 = ref_med.g1 GROUP BY ref_med.g0, ref_med.g1, ref_med.m, ref_med.n),
ref_all AS
(SELECT mag_sample.g1 AS g1, percentile_cont(?) WITHIN GROUP (ORDER BY mag_sample.y) AS m0, count(mag_sample.y) AS n0
FROM mag_sample GROUP BY mag_sample.g1),
ref_overall AS
(SELECT ref_all.g1 AS g1, ref_all.m0 AS m0, ref_all.n0 AS n0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_all.m0)) AS mad0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_all.m0)) AS d90_0
FROM mag_sample JOIN ref_all ON mag_sample.g1 = ref_all.g1 GROUP BY ref_all.g1, ref_all.m0, ref_all.n0),
tail AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY abs((mag_sample.y - CASE WHEN (ref_groups.n >= ?) THEN ref_groups.m ELSE ref_overall.m0 END) / CAST(greatest(CASE WHEN (ref_groups.n >= ?) THEN ? * ref_groups.mad ELSE ? * ref_overall.mad0 END, ?) AS DECIMAL))) AS q90, percentile_cont(?) WITHIN GROUP (ORDER BY abs((mag_sample.y - CASE WHEN (ref_groups.n >= ?) THEN ref_groups.m ELSE ref_overall.m0 END) / CAST(greatest(CASE WHEN (ref_groups.n >= ?) THEN ? * ref_groups.mad ELSE ? * ref_overall.mad0 END, ?) AS DECIMAL))) AS q99
FROM mag_sample JOIN ref_groups ON mag_sample.g0 = ref_groups.g0 AND mag_sample.g1 = ref_groups.g1 JOIN ref_overall ON mag_sample.g1 = ref_overall.g1)
 SELECT group_rows.g0, group_rows.g1, group_rows.group_rows, ref_groups.m, ref_groups.n, ref_groups.mad, ref_groups.d90, ref_overall.m0, ref_overall.n0, ref_overall.mad0, ref_overall.d90_0, tail.q90, tail.q99
FROM group_rows LEFT OUTER JOIN ref_groups ON group_rows.g0 = ref_groups.g0 AND group_rows.g1 = ref_groups.g1 JOIN ref_overall ON group_rows.g1 = ref_overall.g1 JOIN tail ON true ORDER BY group_rows.g0, group_rows.g1
-- params: ["(null)", "(null)", "EUR", "JPY", "USD", "(null)", "(null)", 2000, 200000, 0, "(null)", "(null)", "EUR", "JPY", "USD", "(null)", "(null)", "(null)", "EUR", -0.045757490560675115, "(null)", "JPY", 2.1760912590556813, 0.0, "(null)", "(null)", "EUR", "JPY", "USD", "(null)", "(null)", "(null)", "(null)", "EUR", "JPY", "USD", "(null)", "(null)", 0, 0, 1000003, 1000003, 0.5, 0.5, 0.9, 0.5, 0.5, 0.9, 0.9, 20, 20, 1.4826, 1.4826, 0.01, 0.99, 20, 20, 1.4826, 1.4826, 0.01]
-- statement 3
SELECT scored.k, scored.x, scored.y, scored.ref, scored.s, scored.z, scored.thr, scored.tol, scored.group_n, scored.ref_n, scored.peer, scored.g0, scored.g1, scored.u, round(scored.y - scored.ref) != ? AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol AS named, count(*) OVER () AS total, sum(CASE WHEN (round(scored.y - scored.ref) != ? AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol) THEN ? ELSE ? END) OVER () AS slips
FROM (SELECT mag_rows.k AS k, mag_rows.x AS x, mag_rows.y AS y, mag_refs.a AS ref, mag_refs.s AS s, (mag_rows.y - mag_refs.a) / CAST(mag_refs.s AS REAL) AS z, mag_refs.thr AS thr, mag_refs.tol AS tol, mag_refs.group_n AS group_n, mag_refs.ref_n AS ref_n, false AS peer, mag_rows.g0 AS g0, mag_rows.g1 AS g1, mag_rows.u AS u
FROM (SELECT sales.deals.id AS k, sales.deals.amount AS x, log10(abs(CAST(sales.deals.amount AS DOUBLE))) - CASE WHEN (coalesce(CAST(sales.deals.currency AS VARCHAR), ?) = ?) THEN ? WHEN (coalesce(CAST(sales.deals.currency AS VARCHAR), ?) = ?) THEN ? ELSE ? END AS y, coalesce(CAST(sales.deals.owner AS VARCHAR), ?) AS g0, coalesce(CAST(CASE WHEN (coalesce(CAST(sales.deals.currency AS VARCHAR), ?) IN (?, ?)) THEN ? ELSE coalesce(CAST(sales.deals.currency AS VARCHAR), ?) END AS VARCHAR), ?) AS g1, coalesce(CAST(sales.deals.currency AS VARCHAR), ?) AS u
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ?) AS mag_rows JOIN (VALUES (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?)) AS mag_refs (g0, g1, a, s, thr, ref_n, tol, group_n) ON mag_rows.g0 = mag_refs.g0 AND mag_rows.g1 = mag_refs.g1
WHERE mag_rows.y NOT BETWEEN ? AND ?) AS scored
WHERE abs(scored.z) > scored.thr ORDER BY abs(scored.z) DESC, scored.k
LIMIT ?
-- params: [0, 0, 1, 0, "(null)", "EUR", -0.045757490560675115, "(null)", "JPY", 2.1760912590556813, 0.0, "(null)", "(null)", "EUR", "JPY", "USD", "(null)", "(null)", "(null)", 0, "(null)", "USD", 4.971176172284715, 0.3368979606693659, 10.01056595601164, 359, -1.0, 0, "rep0", "USD", 4.962333617304921, 0.3484607001934363, 11.8278246130882, 60, -1.0, 60, "rep1", "USD", 5.0628247828440545, 0.2328093495443837, 11.853765437920329, 59, -1.0, 59, "rep2", "USD", 5.03966771797962, 0.3019005225208807, 11.8278246130882, 60, -1.0, 60, "rep3", "CHF", 5.14232672668555, 0.01, 32.56447589258541, 1, 0.05, 0, "rep3", "USD", 5.009688120663217, 0.27980014600339925, 11.853765437920329, 59, -1.0, 59, "rep4", "USD", 4.906779310404545, 0.4163129068191539, 11.8278246130882, 60, -1.0, 60, "rep5", "USD", 4.936135608310206, 0.39301049604443095, 11.8278246130882, 60, -1.0, 60, 4.8166819677596955, 5.467971485611404, 20]
-- results
-- magnitude(amount): pass
