-- golden SQL: case lifted_magnitude_explained_by, dialect trino (paramstyle qmark)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at TIMESTAMP, created_at TIMESTAMP WITH TIME ZONE
-- statement 1
SELECT sum(sales.deals.amount) AS a0, count(sales.deals.amount) AS a1, sum(CASE WHEN (sales.deals.amount IS NOT NULL AND sales.deals.amount != ?) THEN ? ELSE ? END) AS a2
FROM sales.deals
-- params: [0, 1, 0]
-- statement 2
SELECT coalesce(CAST(sales.deals.region AS VARCHAR), ?) AS g0, count(*) AS group_rows
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? GROUP BY coalesce(CAST(sales.deals.region AS VARCHAR), ?) ORDER BY coalesce(CAST(sales.deals.region AS VARCHAR), ?)
-- params: ["(null)", 0, "(null)", "(null)"]
-- statement 3
SELECT min(sales.deals.seats) AS lo0, max(sales.deals.seats) AS hi0
FROM sales.deals
-- statement 4
WITH mag_counts AS
(SELECT mag_known.g0 AS g0, CAST(mag_known.group_rows AS BIGINT) AS group_rows, CAST(greatest(?, ? / CAST(CAST(? AS BIGINT) AS DECIMAL)) AS REAL) AS cap
FROM (VALUES (?, ?), (?, ?), (?, ?), (?, ?)) AS mag_known (g0, group_rows)),
mag_sample AS
(SELECT sales.deals.id AS k, sales.deals.amount AS x, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y, coalesce(CAST(sales.deals.region AS VARCHAR), ?) AS g0, log10(abs(CAST(nullif(sales.deals.seats, ?) AS DOUBLE))) AS v0, mag_counts.group_rows AS group_rows
FROM sales.deals JOIN mag_counts ON coalesce(CAST(sales.deals.region AS VARCHAR), ?) = mag_counts.g0
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? AND (mag_counts.group_rows <= mag_counts.cap OR CAST(CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), ?) % ?) AS INTEGER) AS REAL) / CAST(? AS DECIMAL) < mag_counts.cap / CAST(CAST(mag_counts.group_rows AS REAL) AS REAL))),
mag_lines_1_sums AS
(SELECT mag_sample.g0 AS g0, count(*) AS n, sum(CAST(mag_sample.y AS DECIMAL(38, 12))) AS sy, sum(CAST(mag_sample.v0 AS DECIMAL(38, 12))) AS s0, sum(CAST(mag_sample.v0 * mag_sample.y AS DECIMAL(38, 12))) AS s0y, sum(CAST(mag_sample.v0 * mag_sample.v0 AS DECIMAL(38, 12))) AS s0_0
FROM mag_sample
WHERE mag_sample.v0 IS NOT NULL GROUP BY GROUPING SETS((mag_sample.g0), ()) ORDER BY mag_sample.g0),
mag_lines_1_means AS
(SELECT mag_lines_1_sums.g0 AS g0, mag_lines_1_sums.n AS n, mag_lines_1_sums.s0_0 AS s0_0, mag_lines_1_sums.s0y AS s0y, CAST(mag_lines_1_sums.s0 AS DOUBLE) / CAST(CAST(nullif(mag_lines_1_sums.n, ?) AS DOUBLE) AS DOUBLE) AS mv, CAST(mag_lines_1_sums.sy AS DOUBLE) / CAST(CAST(nullif(mag_lines_1_sums.n, ?) AS DOUBLE) AS DOUBLE) AS my
FROM mag_lines_1_sums),
mag_lines_1_moments AS
(SELECT mag_lines_1_means.g0 AS g0, mag_lines_1_means.n AS n, mag_lines_1_means.mv AS mv, mag_lines_1_means.my AS my, CAST(mag_lines_1_means.s0_0 AS DOUBLE) / CAST(CAST(nullif(mag_lines_1_means.n, ?) AS DOUBLE) AS DOUBLE) - mag_lines_1_means.mv * mag_lines_1_means.mv AS cov, CAST(mag_lines_1_means.s0y AS DOUBLE) / CAST(CAST(nullif(mag_lines_1_means.n, ?) AS DOUBLE) AS DOUBLE) - mag_lines_1_means.mv * mag_lines_1_means.my AS "cross"
FROM mag_lines_1_means),
mag_lines_1_scaled AS
(SELECT mag_lines_1_moments.g0 AS g0, mag_lines_1_moments.n AS n, mag_lines_1_moments.mv AS mv, mag_lines_1_moments.my AS my, mag_lines_1_moments.cov AS cov, mag_lines_1_moments."cross" AS "cross", sqrt(greatest(mag_lines_1_moments.cov, ?)) AS scale
FROM mag_lines_1_moments),
mag_lines_1_solved AS
(SELECT mag_lines_1_scaled.g0 AS g0, mag_lines_1_scaled.n AS n, mag_lines_1_scaled.mv AS mv, mag_lines_1_scaled.my AS my, CASE WHEN (mag_lines_1_scaled.n > ? AND mag_lines_1_scaled.scale >= ?) THEN ((mag_lines_1_scaled."cross" / CAST(nullif(mag_lines_1_scaled.scale, ?) AS DECIMAL)) / CAST((mag_lines_1_scaled.cov / CAST((mag_lines_1_scaled.scale * mag_lines_1_scaled.scale) AS DECIMAL)) AS DOUBLE)) / CAST(mag_lines_1_scaled.scale AS DECIMAL) END AS b
FROM mag_lines_1_scaled),
mag_lines_1_overall AS
(SELECT mag_lines_1_solved.n AS n, mag_lines_1_solved.my - mag_lines_1_solved.b * mag_lines_1_solved.mv AS a, mag_lines_1_solved.b AS b0
FROM mag_lines_1_solved
WHERE mag_lines_1_solved.g0 IS NULL),
mag_lines_1_lines AS
(SELECT mag_lines_1_solved.g0 AS g0, CASE WHEN (mag_lines_1_solved.b IS NOT NULL AND mag_lines_1_solved.n >= ?) THEN mag_lines_1_solved.my - mag_lines_1_solved.b * mag_lines_1_solved.mv ELSE mag_lines_1_overall.a END AS a, CASE WHEN (mag_lines_1_solved.b IS NOT NULL AND mag_lines_1_solved.n >= ?) THEN mag_lines_1_solved.b ELSE mag_lines_1_overall.b0 END AS b0, mag_lines_1_solved.b IS NOT NULL AND mag_lines_1_solved.n >= ? AS own
FROM mag_lines_1_solved JOIN mag_lines_1_overall ON true
WHERE mag_lines_1_solved.g0 IS NOT NULL),
mag_lines_1_resid AS
(SELECT mag_sample.k AS k, mag_sample.x AS x, mag_sample.y AS y, mag_sample.g0 AS g0, mag_sample.v0 AS v0, mag_sample.group_rows AS group_rows, mag_sample.y - (mag_lines_1_lines.a + mag_lines_1_lines.b0 * mag_sample.v0) AS e
FROM mag_sample JOIN mag_lines_1_lines ON mag_sample.g0 = mag_lines_1_lines.g0),
mag_lines_1_spread AS
(SELECT mag_lines_1_resid.g0 AS g0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(mag_lines_1_resid.e)) AS mad
FROM mag_lines_1_resid GROUP BY mag_lines_1_resid.g0),
mag_lines_1_keep AS
(SELECT mag_lines_1_resid.k AS k, mag_lines_1_resid.x AS x, mag_lines_1_resid.y AS y, mag_lines_1_resid.g0 AS g0, mag_lines_1_resid.v0 AS v0, mag_lines_1_resid.group_rows AS group_rows, mag_lines_1_resid.e AS e
FROM mag_lines_1_resid JOIN mag_lines_1_spread ON mag_lines_1_resid.g0 = mag_lines_1_spread.g0
WHERE abs(mag_lines_1_resid.e) <= ? * greatest(? * mag_lines_1_spread.mad, ?)),
mag_lines_2_sums AS
(SELECT mag_lines_1_keep.g0 AS g0, count(*) AS n, sum(CAST(mag_lines_1_keep.y AS DECIMAL(38, 12))) AS sy, sum(CAST(mag_lines_1_keep.v0 AS DECIMAL(38, 12))) AS s0, sum(CAST(mag_lines_1_keep.v0 * mag_lines_1_keep.y AS DECIMAL(38, 12))) AS s0y, sum(CAST(mag_lines_1_keep.v0 * mag_lines_1_keep.v0 AS DECIMAL(38, 12))) AS s0_0
FROM mag_lines_1_keep
WHERE mag_lines_1_keep.v0 IS NOT NULL GROUP BY GROUPING SETS((mag_lines_1_keep.g0), ()) ORDER BY mag_lines_1_keep.g0),
mag_lines_2_means AS
(SELECT mag_lines_2_sums.g0 AS g0, mag_lines_2_sums.n AS n, mag_lines_2_sums.s0_0 AS s0_0, mag_lines_2_sums.s0y AS s0y, CAST(mag_lines_2_sums.s0 AS DOUBLE) / CAST(CAST(nullif(mag_lines_2_sums.n, ?) AS DOUBLE) AS DOUBLE) AS mv, CAST(mag_lines_2_sums.sy AS DOUBLE) / CAST(CAST(nullif(mag_lines_2_sums.n, ?) AS DOUBLE) AS DOUBLE) AS my
FROM mag_lines_2_sums),
mag_lines_2_moments AS
(SELECT mag_lines_2_means.g0 AS g0, mag_lines_2_means.n AS n, mag_lines_2_means.mv AS mv, mag_lines_2_means.my AS my, CAST(mag_lines_2_means.s0_0 AS DOUBLE) / CAST(CAST(nullif(mag_lines_2_means.n, ?) AS DOUBLE) AS DOUBLE) - mag_lines_2_means.mv * mag_lines_2_means.mv AS cov, CAST(mag_lines_2_means.s0y AS DOUBLE) / CAST(CAST(nullif(mag_lines_2_means.n, ?) AS DOUBLE) AS DOUBLE) - mag_lines_2_means.mv * mag_lines_2_means.my AS "cross"
FROM mag_lines_2_means),
mag_lines_2_scaled AS
(SELECT mag_lines_2_moments.g0 AS g0, mag_lines_2_moments.n AS n, mag_lines_2_moments.mv AS mv, mag_lines_2_moments.my AS my, mag_lines_2_moments.cov AS cov, mag_lines_2_moments."cross" AS "cross", sqrt(greatest(mag_lines_2_moments.cov, ?)) AS scale
FROM mag_lines_2_moments),
mag_lines_2_solved AS
(SELECT mag_lines_2_scaled.g0 AS g0, mag_lines_2_scaled.n AS n, mag_lines_2_scaled.mv AS mv, mag_lines_2_scaled.my AS my, CASE WHEN (mag_lines_2_scaled.n > ? AND mag_lines_2_scaled.scale >= ?) THEN ((mag_lines_2_scaled."cross" / CAST(nullif(mag_lines_2_scaled.scale, ?) AS DECIMAL)) / CAST((mag_lines_2_scaled.cov / CAST((mag_lines_2_scaled.scale * mag_lines_2_scaled.scale) AS DECIMAL)) AS DOUBLE)) / CAST(mag_lines_2_scaled.scale AS DECIMAL) END AS b
FROM mag_lines_2_scaled),
mag_lines_2_overall AS
(SELECT mag_lines_2_solved.n AS n, mag_lines_2_solved.my - mag_lines_2_solved.b * mag_lines_2_solved.mv AS a, mag_lines_2_solved.b AS b0
FROM mag_lines_2_solved
WHERE mag_lines_2_solved.g0 IS NULL),
mag_lines_2_lines AS
(SELECT mag_lines_2_solved.g0 AS g0, CASE WHEN (mag_lines_2_solved.b IS NOT NULL AND mag_lines_2_solved.n >= ?) THEN mag_lines_2_solved.my - mag_lines_2_solved.b * mag_lines_2_solved.mv ELSE mag_lines_2_overall.a END AS a, CASE WHEN (mag_lines_2_solved.b IS NOT NULL AND mag_lines_2_solved.n >= ?) THEN mag_lines_2_solved.b ELSE mag_lines_2_overall.b0 END AS b0, mag_lines_2_solved.b IS NOT NULL AND mag_lines_2_solved.n >= ? AS own
FROM mag_lines_2_solved JOIN mag_lines_2_overall ON true
WHERE mag_lines_2_solved.g0 IS NOT NULL),
mag_lines AS
(SELECT mag_lines_2_lines.g0 AS g0, mag_lines_2_lines.a AS a, mag_lines_2_lines.b0 AS b0, mag_lines_2_lines.own AS own
FROM mag_lines_2_lines),
resid AS
(SELECT mag_sample.k AS k, mag_sample.x AS x, mag_sample.y AS y, mag_sample.g0 AS g0, mag_sample.v0 AS v0, mag_sample.group_rows AS group_rows, mag_sample.y - (mag_lines.a + mag_lines.b0 * mag_sample.v0) AS e
FROM mag_sample LEFT OUTER JOIN mag_lines ON mag_sample.g0 = mag_lines.g0),
group_rows AS
(SELECT resid.g0 AS g0, max(resid.group_rows) AS group_rows
FROM resid GROUP BY resid.g0),
ref_med AS
(SELECT resid.g0 AS g0, percentile_cont(?) WITHIN GROUP (ORDER BY resid.e) AS m, count(resid.e) AS n
FROM resid GROUP BY resid.g0),
ref_groups AS
(SELECT ref_med.g0 AS g0, ref_med.m AS m, ref_med.n AS n, percentile_cont(?) WITHIN GROUP (ORDER BY abs(resid.e - ref_med.m)) AS mad, percentile_cont(?) WITHIN GROUP (ORDER BY abs(resid.e - ref_med.m)) AS d90
FROM resid JOIN ref_med ON resid.g0 = ref_med.g0 GROUP BY ref_med.g0, ref_med.m, ref_med.n),
ref_all AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY resid.e) AS m0, count(resid.e) AS n0
FROM resid),
ref_overall AS
(SELECT ref_all.m0 AS m0, ref_all.n0 AS n0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(resid.e - ref_all.m0)) AS mad0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(resid.e - ref_all.m0)) AS d90_0
FROM resid JOIN ref_all ON true GROUP BY ref_all.m0, ref_all.n0),
tail AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY abs((resid.e - CASE WHEN (ref_groups.n >= ?) THEN ref_groups.m ELSE ref_overall.m0 END) / CAST(greatest(CASE WHEN (ref_groups.n >= ?) THEN ? * ref_groups.mad ELSE ? * ref_overall.mad0 END, ?) AS DECIMAL))) AS q90, percentile_cont(?) WITHIN GROUP (ORDER BY abs((resid.e - CASE WHEN (ref_groups.n >= ?) THEN ref_groups.m ELSE ref_overall.m0 END) / CAST(greatest(CASE WHEN (ref_groups.n >= ?) THEN ? * ref_groups.mad ELSE ? * ref_overall.mad0 END, ?) AS DECIMAL))) AS q99
FROM resid JOIN ref_groups ON resid.g0 = ref_groups.g0 JOIN ref_overall ON true),
peer_med AS
(SELECT resid.g0 AS g0, percentile_cont(?) WITHIN GROUP (ORDER BY resid.y) AS m, count(resid.y) AS n
FROM resid GROUP BY resid.g0),
peer_groups AS
(SELECT peer_med.g0 AS g0, peer_med.m AS m, peer_med.n AS n, percentile_cont(?) WITHIN GROUP (ORDER BY abs(resid.y - peer_med.m)) AS mad, percentile_cont(?) WITHIN GROUP (ORDER BY abs(resid.y - peer_med.m)) AS d90
FROM resid JOIN peer_med ON resid.g0 = peer_med.g0 GROUP BY peer_med.g0, peer_med.m, peer_med.n),
peer_all AS
(SELECT percentile_cont(?) WITHIN GROUP (ORDER BY resid.y) AS m0, count(resid.y) AS n0
FROM resid),
peer_overall AS
(SELECT peer_all.m0 AS m0, peer_all.n0 AS n0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(resid.y - peer_all.m0)) AS mad0, percentile_cont(?) WITHIN GROUP (ORDER BY abs(resid.y - peer_all.m0)) AS d90_0
FROM resid JOIN peer_all ON true GROUP BY peer_all.m0, peer_all.n0),
mag_lines_overall AS
(SELECT mag_lines_1_overall.n AS n1, mag_lines_1_overall.b0 IS NOT NULL AS ok1, mag_lines_2_overall.n AS n2, mag_lines_2_overall.b0 IS NOT NULL AS ok2, mag_lines_2_overall.a AS oa, mag_lines_2_overall.b0 AS ob0
FROM mag_lines_1_overall JOIN mag_lines_2_overall ON true)
 SELECT group_rows.g0, group_rows.group_rows, ref_groups.m, ref_groups.n, ref_groups.mad, ref_groups.d90, ref_overall.m0, ref_overall.n0, ref_overall.mad0, ref_overall.d90_0, tail.q90, tail.q99, peer_groups.m AS peer_m, peer_groups.n AS peer_n, peer_groups.mad AS peer_mad, peer_groups.d90 AS peer_d90, peer_overall.m0 AS peer_m0, peer_overall.n0 AS peer_n0, peer_overall.mad0 AS peer_mad0, peer_overall.d90_0 AS peer_d90_0, mag_lines.a AS fit_a, mag_lines.b0 AS fit_b0, mag_lines_overall.n1 AS fit_n1, mag_lines_overall.ok1 AS fit_ok1, mag_lines_overall.n2 AS fit_n2, mag_lines_overall.ok2 AS fit_ok2, mag_lines_overall.oa AS fit_oa, mag_lines_overall.ob0 AS fit_ob0
FROM group_rows LEFT OUTER JOIN ref_groups ON group_rows.g0 = ref_groups.g0 JOIN ref_overall ON true JOIN tail ON true JOIN peer_groups ON group_rows.g0 = peer_groups.g0 JOIN peer_overall ON true LEFT OUTER JOIN mag_lines ON group_rows.g0 = mag_lines.g0 JOIN mag_lines_overall ON true ORDER BY group_rows.g0
-- params: [2000, 200000, 4, "AMER", 120, "APAC", 119, "EMEA", 120, "XX", 1, "(null)", 0, "(null)", 0, 0, 1000003, 1000003, 0, 0, 0, 0, 0.0, 1, 1e-09, 0.0, 20, 20, 20, 0.5, 4.0, 1.4826, 0.01, 0, 0, 0, 0, 0.0, 1, 1e-09, 0.0, 20, 20, 20, 0.5, 0.5, 0.9, 0.5, 0.5, 0.9, 0.9, 20, 20, 1.4826, 1.4826, 0.01, 0.99, 20, 20, 1.4826, 1.4826, 0.01, 0.5, 0.5, 0.9, 0.5, 0.5, 0.9]
-- statement 5
SELECT scored.k, scored.x, scored.y, scored.ref, scored.s, scored.z, scored.thr, scored.tol, scored.group_n, scored.ref_n, scored.peer, scored.g0, round(scored.y - scored.ref) != ? AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol AS named, count(*) OVER () AS total, sum(CASE WHEN (round(scored.y - scored.ref) != ? AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol) THEN ? ELSE ? END) OVER () AS slips
FROM (SELECT mag_rows.k AS k, mag_rows.x AS x, mag_rows.y AS y, CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_a ELSE mag_refs.a + mag_refs.b0 * mag_rows.v0 END AS ref, CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_s ELSE mag_refs.s END AS s, (mag_rows.y - CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_a ELSE mag_refs.a + mag_refs.b0 * mag_rows.v0 END) / CAST(CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_s ELSE mag_refs.s END AS REAL) AS z, CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_thr ELSE mag_refs.thr END AS thr, CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_tol ELSE mag_refs.tol END AS tol, mag_refs.group_n AS group_n, CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_ref_n ELSE mag_refs.ref_n END AS ref_n, mag_rows.v0 IS NULL AS peer, mag_rows.g0 AS g0
FROM (SELECT sales.deals.id AS k, sales.deals.amount AS x, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y, coalesce(CAST(sales.deals.region AS VARCHAR), ?) AS g0, log10(abs(CAST(nullif(sales.deals.seats, ?) AS DOUBLE))) AS v0
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != ? AND ((sales.deals.seats IS NULL OR sales.deals.seats = ?) AND (abs(CAST(sales.deals.amount AS DOUBLE)) < ? OR abs(CAST(sales.deals.amount AS DOUBLE)) > ?) OR abs(CAST(sales.deals.amount AS DOUBLE)) > ? * abs(CAST(sales.deals.seats AS DOUBLE)) OR abs(CAST(sales.deals.amount AS DOUBLE)) < ? * abs(CAST(sales.deals.seats AS DOUBLE)))) AS mag_rows JOIN (VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)) AS mag_refs (g0, a, b0, s, thr, ref_n, tol, peer_a, peer_s, peer_thr, peer_ref_n, peer_tol, group_n) ON mag_rows.g0 = mag_refs.g0
WHERE mag_rows.v0 IS NULL AND mag_rows.y NOT BETWEEN ? AND ? OR abs((mag_rows.y - ? * mag_rows.v0) - ?) + ? + ? * abs(mag_rows.v0) > ?) AS scored
WHERE abs(scored.z) > scored.thr ORDER BY abs(scored.z) DESC, scored.k
LIMIT ?
-- params: [0, 0, 1, 0, "(null)", 0, 0, 0, 630.4823608920362, 15307985.30501997, 3288.73613021011, 297.1733819898364, "AMER", 2.9710690761660588, 1.0140131773501668, 0.08449803326740389, 7.609919126472627, 120, 0.211245, 4.946001352009194, 0.363817179300546, 7.609919126472627, 120, -1.0, 120, "APAC", 3.011013069425365, 0.9940893019473426, 0.07537899764488584, 7.616265893585385, 119, 0.188447, 4.967400393979852, 0.346787633778087, 7.616265893585385, 119, -1.0, 119, "EMEA", 2.991184708364374, 1.002946628693004, 0.07509232326860346, 7.609919126472627, 120, 0.187731, 4.992295488700422, 0.2881269186319628, 7.609919126472627, 120, -1.0, 120, "XX", 2.9903584561824768, 1.00401036288929, 0.07884950395001752, 6.970155362708759, 360, 0.197124, 4.969449079511877, 0.3348994956438487, 6.970155362708759, 360, -1.0, 0, 2.7996729397514257, 7.1849180376494175, 1.0040512396487546, 2.9903584561824768, 1e-09, 0.009961937701412127, 0.5495932928041403, 20]
-- results
-- magnitude(amount): fail (magnitude): 7 of 360 rows off their reference by orders of magnitude (4 near a power of ten, 3 unusual); 45: 25,996,039.5 is 144x its reference 180,101 (likely 2 extra digits; candidate 259,960.395); 44: 21,462,960 is 147x its reference 146,393 (likely 2 extra digits; candidate 214,629.6); 46: 13,112,236.5 is 120x its reference 108,905 (likely 2 extra digits; candidate 131,122.365)
