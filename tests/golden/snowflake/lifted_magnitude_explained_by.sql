-- golden SQL: case lifted_magnitude_explained_by, dialect snowflake (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at datetime, created_at TIMESTAMP_TZ
-- statement 1
SELECT sum(sales.deals.amount) AS a0, count(sales.deals.amount) AS a1, sum(CASE WHEN (sales.deals.amount IS NOT NULL AND sales.deals.amount != %(amount_1)s) THEN %(param_1)s ELSE %(param_2)s END) AS a2
FROM sales.deals
-- params: {"amount_1": 0, "param_1": 1, "param_2": 0}
-- statement 2
SELECT coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) AS g0, count(*) AS group_rows
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != %(amount_1)s GROUP BY coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) ORDER BY coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s)
-- params: {"coalesce_1": "(null)", "amount_1": 0}
-- statement 3
SELECT min(sales.deals.seats) AS lo0, max(sales.deals.seats) AS hi0
FROM sales.deals
-- statement 4
WITH mag_counts AS
(SELECT mag_known.g0 AS g0, CAST(mag_known.group_rows AS BIGINT) AS group_rows, CAST(greatest(%(greatest_1)s, %(param_1)s / CAST(%(param_2)s AS BIGINT)) AS FLOAT) AS cap
FROM (VALUES (%(param_3)s, %(param_4)s), (%(param_5)s, %(param_6)s), (%(param_7)s, %(param_8)s), (%(param_9)s, %(param_10)s)) AS mag_known (g0, group_rows)),
mag_sample AS
(SELECT sales.deals.id AS k, sales.deals.amount AS x, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y, coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) AS g0, log10(abs(CAST(nullif(sales.deals.seats, %(nullif_1)s) AS DOUBLE))) AS v0, mag_counts.group_rows AS group_rows
FROM sales.deals JOIN mag_counts ON coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_2)s) = mag_counts.g0
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != %(amount_1)s AND (mag_counts.group_rows <= mag_counts.cap OR CAST(CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), %(hashtextextended_1)s) %% %(hashtextextended_2)s) AS INTEGER) AS FLOAT) / %(param_11)s < mag_counts.cap / CAST(mag_counts.group_rows AS FLOAT))),
mag_lines_1_sums AS
(SELECT mag_sample.g0 AS g0, count(*) AS n, sum(CAST(mag_sample.y AS NUMERIC(38, 12))) AS sy, sum(CAST(mag_sample.v0 AS NUMERIC(38, 12))) AS s0, sum(CAST(mag_sample.v0 * mag_sample.y AS NUMERIC(38, 12))) AS s0y, sum(CAST(mag_sample.v0 * mag_sample.v0 AS NUMERIC(38, 12))) AS s0_0
FROM mag_sample
WHERE mag_sample.v0 IS NOT NULL GROUP BY GROUPING SETS((mag_sample.g0), ()) ORDER BY mag_sample.g0),
mag_lines_1_means AS
(SELECT mag_lines_1_sums.g0 AS g0, mag_lines_1_sums.n AS n, mag_lines_1_sums.s0_0 AS s0_0, mag_lines_1_sums.s0y AS s0y, CAST(mag_lines_1_sums.s0 AS DOUBLE) / CAST(nullif(mag_lines_1_sums.n, %(nullif_7)s) AS DOUBLE) AS mv, CAST(mag_lines_1_sums.sy AS DOUBLE) / CAST(nullif(mag_lines_1_sums.n, %(nullif_7)s) AS DOUBLE) AS my
FROM mag_lines_1_sums),
mag_lines_1_moments AS
(SELECT mag_lines_1_means.g0 AS g0, mag_lines_1_means.n AS n, mag_lines_1_means.mv AS mv, mag_lines_1_means.my AS my, CAST(mag_lines_1_means.s0_0 AS DOUBLE) / CAST(nullif(mag_lines_1_means.n, %(nullif_6)s) AS DOUBLE) - mag_lines_1_means.mv * mag_lines_1_means.mv AS cov, CAST(mag_lines_1_means.s0y AS DOUBLE) / CAST(nullif(mag_lines_1_means.n, %(nullif_6)s) AS DOUBLE) - mag_lines_1_means.mv * mag_lines_1_means.my AS cross
FROM mag_lines_1_means),
mag_lines_1_scaled AS
(SELECT mag_lines_1_moments.g0 AS g0, mag_lines_1_moments.n AS n, mag_lines_1_moments.mv AS mv, mag_lines_1_moments.my AS my, mag_lines_1_moments.cov AS cov, mag_lines_1_moments.cross AS cross, sqrt(greatest(mag_lines_1_moments.cov, %(greatest_3)s)) AS scale
FROM mag_lines_1_moments),
mag_lines_1_solved AS
(SELECT mag_lines_1_scaled.g0 AS g0, mag_lines_1_scaled.n AS n, mag_lines_1_scaled.mv AS mv, mag_lines_1_scaled.my AS my, CASE WHEN (mag_lines_1_scaled.n > %(n_4)s AND mag_lines_1_scaled.scale >= %(scale_2)s) THEN ((mag_lines_1_scaled.cross / nullif(mag_lines_1_scaled.scale, %(nullif_5)s)) / (mag_lines_1_scaled.cov / (mag_lines_1_scaled.scale * mag_lines_1_scaled.scale))) / mag_lines_1_scaled.scale END AS b
FROM mag_lines_1_scaled),
mag_lines_1_overall AS
(SELECT mag_lines_1_solved.n AS n, mag_lines_1_solved.my - mag_lines_1_solved.b * mag_lines_1_solved.mv AS a, mag_lines_1_solved.b AS b0
FROM mag_lines_1_solved
WHERE mag_lines_1_solved.g0 IS NULL),
mag_lines_1_lines AS
(SELECT mag_lines_1_solved.g0 AS g0, CASE WHEN (mag_lines_1_solved.b IS NOT NULL AND mag_lines_1_solved.n >= %(n_3)s) THEN mag_lines_1_solved.my - mag_lines_1_solved.b * mag_lines_1_solved.mv ELSE mag_lines_1_overall.a END AS a, CASE WHEN (mag_lines_1_solved.b IS NOT NULL AND mag_lines_1_solved.n >= %(n_3)s) THEN mag_lines_1_solved.b ELSE mag_lines_1_overall.b0 END AS b0, mag_lines_1_solved.b IS NOT NULL AND mag_lines_1_solved.n >= %(n_3)s AS own
FROM mag_lines_1_solved JOIN mag_lines_1_overall ON true
WHERE mag_lines_1_solved.g0 IS NOT NULL),
mag_lines_1_resid AS
(SELECT mag_sample.k AS k, mag_sample.x AS x, mag_sample.y AS y, mag_sample.g0 AS g0, mag_sample.v0 AS v0, mag_sample.group_rows AS group_rows, mag_sample.y - (mag_lines_1_lines.a + mag_lines_1_lines.b0 * mag_sample.v0) AS e
FROM mag_sample JOIN mag_lines_1_lines ON mag_sample.g0 = mag_lines_1_lines.g0),
mag_lines_1_spread AS
(SELECT mag_lines_1_resid.g0 AS g0, percentile_cont(%(percentile_cont_1)s) WITHIN GROUP (ORDER BY abs(mag_lines_1_resid.e)) AS mad
FROM mag_lines_1_resid GROUP BY mag_lines_1_resid.g0),
mag_lines_1_keep AS
(SELECT mag_lines_1_resid.k AS k, mag_lines_1_resid.x AS x, mag_lines_1_resid.y AS y, mag_lines_1_resid.g0 AS g0, mag_lines_1_resid.v0 AS v0, mag_lines_1_resid.group_rows AS group_rows, mag_lines_1_resid.e AS e
FROM mag_lines_1_resid JOIN mag_lines_1_spread ON mag_lines_1_resid.g0 = mag_lines_1_spread.g0
WHERE abs(mag_lines_1_resid.e) <= %(greatest_4)s * greatest(%(mad_1)s * mag_lines_1_spread.mad, %(greatest_5)s)),
mag_lines_2_sums AS
(SELECT mag_lines_1_keep.g0 AS g0, count(*) AS n, sum(CAST(mag_lines_1_keep.y AS NUMERIC(38, 12))) AS sy, sum(CAST(mag_lines_1_keep.v0 AS NUMERIC(38, 12))) AS s0, sum(CAST(mag_lines_1_keep.v0 * mag_lines_1_keep.y AS NUMERIC(38, 12))) AS s0y, sum(CAST(mag_lines_1_keep.v0 * mag_lines_1_keep.v0 AS NUMERIC(38, 12))) AS s0_0
FROM mag_lines_1_keep
WHERE mag_lines_1_keep.v0 IS NOT NULL GROUP BY GROUPING SETS((mag_lines_1_keep.g0), ()) ORDER BY mag_lines_1_keep.g0),
mag_lines_2_means AS
(SELECT mag_lines_2_sums.g0 AS g0, mag_lines_2_sums.n AS n, mag_lines_2_sums.s0_0 AS s0_0, mag_lines_2_sums.s0y AS s0y, CAST(mag_lines_2_sums.s0 AS DOUBLE) / CAST(nullif(mag_lines_2_sums.n, %(nullif_4)s) AS DOUBLE) AS mv, CAST(mag_lines_2_sums.sy AS DOUBLE) / CAST(nullif(mag_lines_2_sums.n, %(nullif_4)s) AS DOUBLE) AS my
FROM mag_lines_2_sums),
mag_lines_2_moments AS
(SELECT mag_lines_2_means.g0 AS g0, mag_lines_2_means.n AS n, mag_lines_2_means.mv AS mv, mag_lines_2_means.my AS my, CAST(mag_lines_2_means.s0_0 AS DOUBLE) / CAST(nullif(mag_lines_2_means.n, %(nullif_3)s) AS DOUBLE) - mag_lines_2_means.mv * mag_lines_2_means.mv AS cov, CAST(mag_lines_2_means.s0y AS DOUBLE) / CAST(nullif(mag_lines_2_means.n, %(nullif_3)s) AS DOUBLE) - mag_lines_2_means.mv * mag_lines_2_means.my AS cross
FROM mag_lines_2_means),
mag_lines_2_scaled AS
(SELECT mag_lines_2_moments.g0 AS g0, mag_lines_2_moments.n AS n, mag_lines_2_moments.mv AS mv, mag_lines_2_moments.my AS my, mag_lines_2_moments.cov AS cov, mag_lines_2_moments.cross AS cross, sqrt(greatest(mag_lines_2_moments.cov, %(greatest_2)s)) AS scale
FROM mag_lines_2_moments),
mag_lines_2_solved AS
(SELECT mag_lines_2_scaled.g0 AS g0, mag_lines_2_scaled.n AS n, mag_lines_2_scaled.mv AS mv, mag_lines_2_scaled.my AS my, CASE WHEN (mag_lines_2_scaled.n > %(n_2)s AND mag_lines_2_scaled.scale >= %(scale_1)s) THEN ((mag_lines_2_scaled.cross / nullif(mag_lines_2_scaled.scale, %(nullif_2)s)) / (mag_lines_2_scaled.cov / (mag_lines_2_scaled.scale * mag_lines_2_scaled.scale))) / mag_lines_2_scaled.scale END AS b
FROM mag_lines_2_scaled),
mag_lines_2_overall AS
(SELECT mag_lines_2_solved.n AS n, mag_lines_2_solved.my - mag_lines_2_solved.b * mag_lines_2_solved.mv AS a, mag_lines_2_solved.b AS b0
FROM mag_lines_2_solved
WHERE mag_lines_2_solved.g0 IS NULL),
mag_lines_2_lines AS
(SELECT mag_lines_2_solved.g0 AS g0, CASE WHEN (mag_lines_2_solved.b IS NOT NULL AND mag_lines_2_solved.n >= %(n_1)s) THEN mag_lines_2_solved.my - mag_lines_2_solved.b * mag_lines_2_solved.mv ELSE mag_lines_2_overall.a END AS a, CASE WHEN (mag_lines_2_solved.b IS NOT NULL AND mag_lines_2_solved.n >= %(n_1)s) THEN mag_lines_2_solved.b ELSE mag_lines_2_overall.b0 END AS b0, mag_lines_2_solved.b IS NOT NULL AND mag_lines_2_solved.n >= %(n_1)s AS own
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
(SELECT resid.g0 AS g0, percentile_cont(%(percentile_cont_4)s) WITHIN GROUP (ORDER BY resid.e) AS m, count(resid.e) AS n
FROM resid GROUP BY resid.g0),
ref_groups AS
(SELECT ref_med.g0 AS g0, ref_med.m AS m, ref_med.n AS n, percentile_cont(%(percentile_cont_2)s) WITHIN GROUP (ORDER BY abs(resid.e - ref_med.m)) AS mad, percentile_cont(%(percentile_cont_3)s) WITHIN GROUP (ORDER BY abs(resid.e - ref_med.m)) AS d90
FROM resid JOIN ref_med ON resid.g0 = ref_med.g0 GROUP BY ref_med.g0, ref_med.m, ref_med.n),
ref_all AS
(SELECT percentile_cont(%(percentile_cont_7)s) WITHIN GROUP (ORDER BY resid.e) AS m0, count(resid.e) AS n0
FROM resid),
ref_overall AS
(SELECT ref_all.m0 AS m0, ref_all.n0 AS n0, percentile_cont(%(percentile_cont_5)s) WITHIN GROUP (ORDER BY abs(resid.e - ref_all.m0)) AS mad0, percentile_cont(%(percentile_cont_6)s) WITHIN GROUP (ORDER BY abs(resid.e - ref_all.m0)) AS d90_0
FROM resid JOIN ref_all ON true GROUP BY ref_all.m0, ref_all.n0),
tail AS
(SELECT percentile_cont(%(percentile_cont_8)s) WITHIN GROUP (ORDER BY abs((resid.e - CASE WHEN (ref_groups.n >= %(n_5)s) THEN ref_groups.m ELSE ref_overall.m0 END) / greatest(CASE WHEN (ref_groups.n >= %(n_5)s) THEN %(mad_2)s * ref_groups.mad ELSE %(mad0_1)s * ref_overall.mad0 END, %(greatest_6)s))) AS q90, percentile_cont(%(percentile_cont_9)s) WITHIN GROUP (ORDER BY abs((resid.e - CASE WHEN (ref_groups.n >= %(n_5)s) THEN ref_groups.m ELSE ref_overall.m0 END) / greatest(CASE WHEN (ref_groups.n >= %(n_5)s) THEN %(mad_2)s * ref_groups.mad ELSE %(mad0_1)s * ref_overall.mad0 END, %(greatest_6)s))) AS q99
FROM resid JOIN ref_groups ON resid.g0 = ref_groups.g0 JOIN ref_overall ON true),
peer_med AS
(SELECT resid.g0 AS g0, percentile_cont(%(percentile_cont_12)s) WITHIN GROUP (ORDER BY resid.y) AS m, count(resid.y) AS n
FROM resid GROUP BY resid.g0),
peer_groups AS
(SELECT peer_med.g0 AS g0, peer_med.m AS m, peer_med.n AS n, percentile_cont(%(percentile_cont_10)s) WITHIN GROUP (ORDER BY abs(resid.y - peer_med.m)) AS mad, percentile_cont(%(percentile_cont_11)s) WITHIN GROUP (ORDER BY abs(resid.y - peer_med.m)) AS d90
FROM resid JOIN peer_med ON resid.g0 = peer_med.g0 GROUP BY peer_med.g0, peer_med.m, peer_med.n),
peer_all AS
(SELECT percentile_cont(%(percentile_cont_15)s) WITHIN GROUP (ORDER BY resid.y) AS m0, count(resid.y) AS n0
FROM resid),
peer_overall AS
(SELECT peer_all.m0 AS m0, peer_all.n0 AS n0, percentile_cont(%(percentile_cont_13)s) WITHIN GROUP (ORDER BY abs(resid.y - peer_all.m0)) AS mad0, percentile_cont(%(percentile_cont_14)s) WITHIN GROUP (ORDER BY abs(resid.y - peer_all.m0)) AS d90_0
FROM resid JOIN peer_all ON true GROUP BY peer_all.m0, peer_all.n0),
mag_lines_overall AS
(SELECT mag_lines_1_overall.n AS n1, mag_lines_1_overall.b0 IS NOT NULL AS ok1, mag_lines_2_overall.n AS n2, mag_lines_2_overall.b0 IS NOT NULL AS ok2, mag_lines_2_overall.a AS oa, mag_lines_2_overall.b0 AS ob0
FROM mag_lines_1_overall JOIN mag_lines_2_overall ON true)
 SELECT group_rows.g0, group_rows.group_rows, ref_groups.m, ref_groups.n, ref_groups.mad, ref_groups.d90, ref_overall.m0, ref_overall.n0, ref_overall.mad0, ref_overall.d90_0, tail.q90, tail.q99, peer_groups.m AS peer_m, peer_groups.n AS peer_n, peer_groups.mad AS peer_mad, peer_groups.d90 AS peer_d90, peer_overall.m0 AS peer_m0, peer_overall.n0 AS peer_n0, peer_overall.mad0 AS peer_mad0, peer_overall.d90_0 AS peer_d90_0, mag_lines.a AS fit_a, mag_lines.b0 AS fit_b0, mag_lines_overall.n1 AS fit_n1, mag_lines_overall.ok1 AS fit_ok1, mag_lines_overall.n2 AS fit_n2, mag_lines_overall.ok2 AS fit_ok2, mag_lines_overall.oa AS fit_oa, mag_lines_overall.ob0 AS fit_ob0
FROM group_rows LEFT OUTER JOIN ref_groups ON group_rows.g0 = ref_groups.g0 JOIN ref_overall ON true JOIN tail ON true JOIN peer_groups ON group_rows.g0 = peer_groups.g0 JOIN peer_overall ON true LEFT OUTER JOIN mag_lines ON group_rows.g0 = mag_lines.g0 JOIN mag_lines_overall ON true ORDER BY group_rows.g0
-- params: {"greatest_1": 2000, "param_1": 200000, "param_2": 4, "param_3": "AMER", "param_4": 120, "param_5": "APAC", "param_6": 119, "param_7": "EMEA", "param_8": 120, "param_9": "XX", "param_10": 1, "coalesce_1": "(null)", "nullif_1": 0, "coalesce_2": "(null)", "amount_1": 0, "hashtextextended_1": 0, "hashtextextended_2": 1000003, "param_11": 1000003, "nullif_7": 0, "nullif_6": 0, "greatest_3": 0.0, "n_4": 1, "scale_2": 1e-09, "nullif_5": 0.0, "n_3": 20, "percentile_cont_1": 0.5, "greatest_4": 4.0, "mad_1": 1.4826, "greatest_5": 0.01, "nullif_4": 0, "nullif_3": 0, "greatest_2": 0.0, "n_2": 1, "scale_1": 1e-09, "nullif_2": 0.0, "n_1": 20, "percentile_cont_4": 0.5, "percentile_cont_2": 0.5, "percentile_cont_3": 0.9, "percentile_cont_7": 0.5, "percentile_cont_5": 0.5, "percentile_cont_6": 0.9, "percentile_cont_8": 0.9, "n_5": 20, "mad_2": 1.4826, "mad0_1": 1.4826, "greatest_6": 0.01, "percentile_cont_9": 0.99, "percentile_cont_12": 0.5, "percentile_cont_10": 0.5, "percentile_cont_11": 0.9, "percentile_cont_15": 0.5, "percentile_cont_13": 0.5, "percentile_cont_14": 0.9}
-- statement 5
SELECT scored.k, scored.x, scored.y, scored.ref, scored.s, scored.z, scored.thr, scored.tol, scored.group_n, scored.ref_n, scored.peer, scored.g0, round(scored.y - scored.ref) != %(round_1)s AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol AS named, count(*) OVER () AS total, sum(CASE WHEN (round(scored.y - scored.ref) != %(round_1)s AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol) THEN %(param_1)s ELSE %(param_2)s END) OVER () AS slips
FROM (SELECT mag_rows.k AS k, mag_rows.x AS x, mag_rows.y AS y, CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_a ELSE mag_refs.a + mag_refs.b0 * mag_rows.v0 END AS ref, CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_s ELSE mag_refs.s END AS s, (mag_rows.y - CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_a ELSE mag_refs.a + mag_refs.b0 * mag_rows.v0 END) / CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_s ELSE mag_refs.s END AS z, CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_thr ELSE mag_refs.thr END AS thr, CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_tol ELSE mag_refs.tol END AS tol, mag_refs.group_n AS group_n, CASE WHEN (mag_rows.v0 IS NULL) THEN mag_refs.peer_ref_n ELSE mag_refs.ref_n END AS ref_n, mag_rows.v0 IS NULL AS peer, mag_rows.g0 AS g0
FROM (SELECT sales.deals.id AS k, sales.deals.amount AS x, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y, coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) AS g0, log10(abs(CAST(nullif(sales.deals.seats, %(nullif_1)s) AS DOUBLE))) AS v0
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != %(amount_1)s AND ((sales.deals.seats IS NULL OR sales.deals.seats = %(seats_1)s) AND (abs(CAST(sales.deals.amount AS DOUBLE)) < %(param_3)s OR abs(CAST(sales.deals.amount AS DOUBLE)) > %(param_4)s) OR abs(CAST(sales.deals.amount AS DOUBLE)) > %(param_5)s * abs(CAST(sales.deals.seats AS DOUBLE)) OR abs(CAST(sales.deals.amount AS DOUBLE)) < %(param_6)s * abs(CAST(sales.deals.seats AS DOUBLE)))) AS mag_rows JOIN (VALUES (%(param_7)s, %(param_8)s, %(param_9)s, %(param_10)s, %(param_11)s, %(param_12)s, %(param_13)s, %(param_14)s, %(param_15)s, %(param_16)s, %(param_17)s, %(param_18)s, %(param_19)s), (%(param_20)s, %(param_21)s, %(param_22)s, %(param_23)s, %(param_24)s, %(param_25)s, %(param_26)s, %(param_27)s, %(param_28)s, %(param_29)s, %(param_30)s, %(param_31)s, %(param_32)s), (%(param_33)s, %(param_34)s, %(param_35)s, %(param_36)s, %(param_37)s, %(param_38)s, %(param_39)s, %(param_40)s, %(param_41)s, %(param_42)s, %(param_43)s, %(param_44)s, %(param_45)s), (%(param_46)s, %(param_47)s, %(param_48)s, %(param_49)s, %(param_50)s, %(param_51)s, %(param_52)s, %(param_53)s, %(param_54)s, %(param_55)s, %(param_56)s, %(param_57)s, %(param_58)s)) AS mag_refs (g0, a, b0, s, thr, ref_n, tol, peer_a, peer_s, peer_thr, peer_ref_n, peer_tol, group_n) ON mag_rows.g0 = mag_refs.g0
WHERE mag_rows.v0 IS NULL AND mag_rows.y NOT BETWEEN %(y_1)s AND %(y_2)s OR abs((mag_rows.y - %(v0_1)s * mag_rows.v0) - %(param_59)s) + %(param_60)s + %(abs_1)s * abs(mag_rows.v0) > %(param_61)s) AS scored
WHERE abs(scored.z) > scored.thr ORDER BY abs(scored.z) DESC, scored.k
 LIMIT %(param_62)s
-- params: {"round_1": 0, "param_1": 1, "param_2": 0, "coalesce_1": "(null)", "nullif_1": 0, "amount_1": 0, "seats_1": 0, "param_3": 630.4823608920362, "param_4": 15307985.30501997, "param_5": 3288.73613021011, "param_6": 297.1733819898364, "param_7": "AMER", "param_8": 2.9710690761660588, "param_9": 1.0140131773501668, "param_10": 0.08449803326740389, "param_11": 7.609919126472627, "param_12": 120, "param_13": 0.211245, "param_14": 4.946001352009194, "param_15": 0.363817179300546, "param_16": 7.609919126472627, "param_17": 120, "param_18": -1.0, "param_19": 120, "param_20": "APAC", "param_21": 3.011013069425365, "param_22": 0.9940893019473426, "param_23": 0.07537899764488584, "param_24": 7.616265893585385, "param_25": 119, "param_26": 0.188447, "param_27": 4.967400393979852, "param_28": 0.346787633778087, "param_29": 7.616265893585385, "param_30": 119, "param_31": -1.0, "param_32": 119, "param_33": "EMEA", "param_34": 2.991184708364374, "param_35": 1.002946628693004, "param_36": 0.07509232326860346, "param_37": 7.609919126472627, "param_38": 120, "param_39": 0.187731, "param_40": 4.992295488700422, "param_41": 0.2881269186319628, "param_42": 7.609919126472627, "param_43": 120, "param_44": -1.0, "param_45": 120, "param_46": "XX", "param_47": 2.9903584561824768, "param_48": 1.00401036288929, "param_49": 0.07884950395001752, "param_50": 6.970155362708759, "param_51": 360, "param_52": 0.197124, "param_53": 4.969449079511877, "param_54": 0.3348994956438487, "param_55": 6.970155362708759, "param_56": 360, "param_57": -1.0, "param_58": 0, "y_1": 2.7996729397514257, "y_2": 7.1849180376494175, "v0_1": 1.0040512396487546, "param_59": 2.9903584561824768, "param_60": 1e-09, "abs_1": 0.009961937701412127, "param_61": 0.5495932928041403, "param_62": 20}
-- results
-- magnitude(amount): fail (magnitude): 7 of 360 rows off their reference by orders of magnitude (4 near a power of ten, 3 unusual); 45: 25,996,039.5 is 144x its reference 180,101 (likely 2 extra digits; candidate 259,960.395); 44: 21,462,960 is 147x its reference 146,393 (likely 2 extra digits; candidate 214,629.6); 46: 13,112,236.5 is 120x its reference 108,905 (likely 2 extra digits; candidate 131,122.365)
