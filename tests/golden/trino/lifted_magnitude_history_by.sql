-- golden SQL: case lifted_magnitude_history_by, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT sum(sales.deals.amount) AS a0, count(sales.deals.amount) AS a1, sum(CASE WHEN (sales.deals.amount IS NOT NULL AND sales.deals.amount != ?) THEN ? ELSE ? END) AS a2
FROM sales.deals
-- params: [0, 1, 0]
-- statement 2
WITH mag_counts AS
(SELECT count(*) AS group_rows, CAST(greatest(?, ? / CAST(count(*) OVER () AS DECIMAL)) AS REAL) AS cap
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ?),
mag_sample AS
(SELECT sales.deals.id AS k, sales.deals.amount AS x, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y, mag_counts.group_rows AS group_rows
FROM sales.deals JOIN mag_counts ON true
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? AND (mag_counts.group_rows <= mag_counts.cap OR CAST(CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) AS REAL) / CAST(? AS DECIMAL) < mag_counts.cap / CAST(CAST(mag_counts.group_rows AS REAL) AS REAL))),
group_rows AS
(SELECT max(mag_sample.group_rows) AS group_rows
FROM mag_sample),
ref_med AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY mag_sample.y) AS m, count(mag_sample.y) AS n
FROM mag_sample),
ref_groups AS
(SELECT ref_med.m AS m, ref_med.n AS n, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_med.m)) AS mad, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_med.m)) AS d90
FROM mag_sample JOIN ref_med ON true GROUP BY ref_med.m, ref_med.n),
ref_all AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY mag_sample.y) AS m0, count(mag_sample.y) AS n0
FROM mag_sample),
ref_overall AS
(SELECT ref_all.m0 AS m0, ref_all.n0 AS n0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_all.m0)) AS mad0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_all.m0)) AS d90_0
FROM mag_sample JOIN ref_all ON true GROUP BY ref_all.m0, ref_all.n0),
tail AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY abs((mag_sample.y - CASE WHEN (ref_groups.n >= ?) THEN ref_groups.m ELSE ref_overall.m0 END) / CAST(greatest(CASE WHEN (ref_groups.n >= ?) THEN ? * ref_groups.mad ELSE ? * ref_overall.mad0 END, ?) AS DECIMAL))) AS q90, percentile_cont(?) WITHIN GROUP (ORDER BY abs((mag_sample.y - CASE WHEN (ref_groups.n >= ?) THEN ref_groups.m ELSE ref_overall.m0 END) / CAST(greatest(CASE WHEN (ref_groups.n >= ?) THEN ? * ref_groups.mad ELSE ? * ref_overall.mad0 END, ?) AS DECIMAL))) AS q99
FROM mag_sample JOIN ref_groups ON true JOIN ref_overall ON true)
 SELECT group_rows.group_rows, ref_groups.m, ref_groups.n, ref_groups.mad, ref_groups.d90, ref_overall.m0, ref_overall.n0, ref_overall.mad0, ref_overall.d90_0, tail.q90, tail.q99
FROM group_rows LEFT OUTER JOIN ref_groups ON true JOIN ref_overall ON true JOIN tail ON true
-- params: [2000, 200000, 0, 0, 0, 1000003, 1000003, 0.5, 0.5, 0.9, 0.5, 0.5, 0.9, 0.9, 20, 20, 1.4826, 1.4826, 0.01, 0.99, 20, 20, 1.4826, 1.4826, 0.01]
-- statement 3
SELECT scored.k, scored.x, scored.y, scored.ref, scored.s, scored.z, scored.thr, scored.tol, scored.group_n, scored.ref_n, scored.peer, round(scored.y - scored.ref) != ? AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol AS named, count(*) OVER () AS total, sum(CASE WHEN (round(scored.y - scored.ref) != ? AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol) THEN ? ELSE ? END) OVER () AS slips
FROM (SELECT mag_rows.k AS k, mag_rows.x AS x, mag_rows.y AS y, mag_refs.a AS ref, mag_refs.s AS s, (mag_rows.y - mag_refs.a) / CAST(mag_refs.s AS REAL) AS z, mag_refs.thr AS thr, mag_refs.tol AS tol, mag_refs.group_n AS group_n, mag_refs.ref_n AS ref_n, false AS peer
FROM (SELECT sales.deals.id AS k, sales.deals.amount AS x, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ?) AS mag_rows JOIN (VALUES (?, ?, ?, ?, ?, ?)) AS mag_refs (a, s, thr, ref_n, tol, group_n) ON true
WHERE mag_rows.y NOT BETWEEN ? AND ?) AS scored
WHERE abs(scored.z) > scored.thr ORDER BY abs(scored.z) DESC, scored.k
LIMIT ?
-- params: [0, 0, 1, 0, 0, 4.969449079511877, 0.3348994956438487, 9.233368919291376, 360, -1.0, 360, 1.877198485347607, 8.061699673676147, 20]
-- statement 4
SELECT CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) AS b, CAST(sum(hashtextextended(CAST(sales.deals.id AS VARCHAR) || ? || CAST(sales.deals.amount AS VARCHAR), ?)) AS VARCHAR) || ? || CAST(count(*) AS VARCHAR) AS d, count(*) AS n
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? AND sales.deals.id IS NOT NULL GROUP BY CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER)
-- params: [0, 64, "|", 0, ":", 0, 0, 64]
-- statement 5
SELECT sales.deals.id AS k, sales.deals.amount AS x, CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) AS b
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ?
-- params: [0, 64, 0]
-- results
-- magnitude(amount): pass
-- run 2
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT sum(sales.deals.amount) AS a0, count(sales.deals.amount) AS a1, sum(CASE WHEN (sales.deals.amount IS NOT NULL AND sales.deals.amount != ?) THEN ? ELSE ? END) AS a2
FROM sales.deals
-- params: [0, 1, 0]
-- statement 2
WITH mag_counts AS
(SELECT count(*) AS group_rows, CAST(greatest(?, ? / CAST(count(*) OVER () AS DECIMAL)) AS REAL) AS cap
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ?),
mag_sample AS
(SELECT sales.deals.id AS k, sales.deals.amount AS x, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y, mag_counts.group_rows AS group_rows
FROM sales.deals JOIN mag_counts ON true
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? AND (mag_counts.group_rows <= mag_counts.cap OR CAST(CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) AS REAL) / CAST(? AS DECIMAL) < mag_counts.cap / CAST(CAST(mag_counts.group_rows AS REAL) AS REAL))),
group_rows AS
(SELECT max(mag_sample.group_rows) AS group_rows
FROM mag_sample),
ref_med AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY mag_sample.y) AS m, count(mag_sample.y) AS n
FROM mag_sample),
ref_groups AS
(SELECT ref_med.m AS m, ref_med.n AS n, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_med.m)) AS mad, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_med.m)) AS d90
FROM mag_sample JOIN ref_med ON true GROUP BY ref_med.m, ref_med.n),
ref_all AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY mag_sample.y) AS m0, count(mag_sample.y) AS n0
FROM mag_sample),
ref_overall AS
(SELECT ref_all.m0 AS m0, ref_all.n0 AS n0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_all.m0)) AS mad0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_all.m0)) AS d90_0
FROM mag_sample JOIN ref_all ON true GROUP BY ref_all.m0, ref_all.n0),
tail AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY abs((mag_sample.y - CASE WHEN (ref_groups.n >= ?) THEN ref_groups.m ELSE ref_overall.m0 END) / CAST(greatest(CASE WHEN (ref_groups.n >= ?) THEN ? * ref_groups.mad ELSE ? * ref_overall.mad0 END, ?) AS DECIMAL))) AS q90, percentile_cont(?) WITHIN GROUP (ORDER BY abs((mag_sample.y - CASE WHEN (ref_groups.n >= ?) THEN ref_groups.m ELSE ref_overall.m0 END) / CAST(greatest(CASE WHEN (ref_groups.n >= ?) THEN ? * ref_groups.mad ELSE ? * ref_overall.mad0 END, ?) AS DECIMAL))) AS q99
FROM mag_sample JOIN ref_groups ON true JOIN ref_overall ON true)
 SELECT group_rows.group_rows, ref_groups.m, ref_groups.n, ref_groups.mad, ref_groups.d90, ref_overall.m0, ref_overall.n0, ref_overall.mad0, ref_overall.d90_0, tail.q90, tail.q99
FROM group_rows LEFT OUTER JOIN ref_groups ON true JOIN ref_overall ON true JOIN tail ON true
-- params: [2000, 200000, 0, 0, 0, 1000003, 1000003, 0.5, 0.5, 0.9, 0.5, 0.5, 0.9, 0.9, 20, 20, 1.4826, 1.4826, 0.01, 0.99, 20, 20, 1.4826, 1.4826, 0.01]
-- statement 3
SELECT scored.k, scored.x, scored.y, scored.ref, scored.s, scored.z, scored.thr, scored.tol, scored.group_n, scored.ref_n, scored.peer, round(scored.y - scored.ref) != ? AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol AS named, count(*) OVER () AS total, sum(CASE WHEN (round(scored.y - scored.ref) != ? AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol) THEN ? ELSE ? END) OVER () AS slips
FROM (SELECT mag_rows.k AS k, mag_rows.x AS x, mag_rows.y AS y, mag_refs.a AS ref, mag_refs.s AS s, (mag_rows.y - mag_refs.a) / CAST(mag_refs.s AS REAL) AS z, mag_refs.thr AS thr, mag_refs.tol AS tol, mag_refs.group_n AS group_n, mag_refs.ref_n AS ref_n, false AS peer
FROM (SELECT sales.deals.id AS k, sales.deals.amount AS x, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ?) AS mag_rows JOIN (VALUES (?, ?, ?, ?, ?, ?)) AS mag_refs (a, s, thr, ref_n, tol, group_n) ON true
WHERE mag_rows.y NOT BETWEEN ? AND ?) AS scored
WHERE abs(scored.z) > scored.thr ORDER BY abs(scored.z) DESC, scored.k
LIMIT ?
-- params: [0, 0, 1, 0, 0, 4.972414927812666, 0.3322714288719178, 9.479140097501059, 360, -1.0, 360, 1.8227675031388992, 8.122062352486434, 20]
-- statement 4
SELECT CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) AS b, CAST(sum(hashtextextended(CAST(sales.deals.id AS VARCHAR) || ? || CAST(sales.deals.amount AS VARCHAR), ?)) AS VARCHAR) || ? || CAST(count(*) AS VARCHAR) AS d, count(*) AS n
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? AND sales.deals.id IS NOT NULL GROUP BY CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER)
-- params: [0, 64, "|", 0, ":", 0, 0, 64]
-- statement 5
SELECT sales.deals.id AS k, sales.deals.amount AS x, CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) AS b
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? AND CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) IN (?, ?, ?, ?, ?, ?, ?, ?, ?)
-- params: [0, 64, 0, 0, 64, 2, 7, 12, 15, 26, 31, 33, 50, 51]
-- results
-- magnitude(amount): fail (magnitude): 1 of 360 rows off their reference by orders of magnitude; 151: 1,671,944.5 is 10x its reference 167,194 (likely 1 extra digit; candidate 167,194.45)
