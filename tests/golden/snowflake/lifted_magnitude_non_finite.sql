-- golden SQL: case lifted_magnitude_non_finite, dialect snowflake (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at datetime, created_at TIMESTAMP_TZ
-- statement 1
SELECT sum(sales.deals.score) AS a0, count(sales.deals.score) AS a1, sum(CASE WHEN (sales.deals.score IS NOT NULL AND sales.deals.score != %(score_1)s) THEN %(param_1)s ELSE %(param_2)s END) AS a2
FROM sales.deals
-- params: {"score_1": 0, "param_1": 1, "param_2": 0}
-- statement 2
SELECT sum(CASE WHEN (sales.deals.score = CAST('NaN' AS DOUBLE)) THEN %(param_1)s ELSE %(param_2)s END) AS nan, sum(CASE WHEN (sales.deals.score IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE))) THEN %(param_3)s ELSE %(param_4)s END) AS infinite, sum(CASE WHEN ((sales.deals.score NOT IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE)))) THEN sales.deals.score END) AS sum, count(CASE WHEN ((sales.deals.score NOT IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE)))) THEN sales.deals.score END) AS count
FROM sales.deals
-- params: {"param_1": 1, "param_2": 0, "param_3": 1, "param_4": 0}
-- statement 3
WITH mag_counts AS
(SELECT coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_2)s) AS g0, count(*) AS group_rows, CAST(greatest(%(greatest_1)s, %(param_1)s / count(*) OVER ()) AS FLOAT) AS cap
FROM sales.deals
WHERE sales.deals.score IS NOT NULL AND sales.deals.score != %(score_1)s AND (sales.deals.score NOT IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE))) GROUP BY coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_2)s)),
mag_sample AS
(SELECT sales.deals.id AS k, sales.deals.score AS x, log10(abs(CAST(sales.deals.score AS DOUBLE))) AS y, coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) AS g0, mag_counts.group_rows AS group_rows
FROM sales.deals JOIN mag_counts ON coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_2)s) = mag_counts.g0
WHERE sales.deals.score IS NOT NULL AND sales.deals.score != %(score_1)s AND (sales.deals.score NOT IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE))) AND (mag_counts.group_rows <= mag_counts.cap OR CAST(CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), %(hashtextextended_1)s) %% %(hashtextextended_2)s) AS INTEGER) AS FLOAT) / %(param_2)s < mag_counts.cap / CAST(mag_counts.group_rows AS FLOAT))),
group_rows AS
(SELECT mag_sample.g0 AS g0, max(mag_sample.group_rows) AS group_rows
FROM mag_sample GROUP BY mag_sample.g0),
ref_med AS
(SELECT mag_sample.g0 AS g0, percentile_cont(%(percentile_cont_3)s) WITHIN GROUP (ORDER BY mag_sample.y) AS m, count(mag_sample.y) AS n
FROM mag_sample GROUP BY mag_sample.g0),
ref_groups AS
(SELECT ref_med.g0 AS g0, ref_med.m AS m, ref_med.n AS n, percentile_cont(%(percentile_cont_1)s) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_med.m)) AS mad, percentile_cont(%(percentile_cont_2)s) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_med.m)) AS d90
FROM mag_sample JOIN ref_med ON mag_sample.g0 = ref_med.g0 GROUP BY ref_med.g0, ref_med.m, ref_med.n),
ref_all AS
(SELECT percentile_cont(%(percentile_cont_6)s) WITHIN GROUP (ORDER BY mag_sample.y) AS m0, count(mag_sample.y) AS n0
FROM mag_sample),
ref_overall AS
(SELECT ref_all.m0 AS m0, ref_all.n0 AS n0, percentile_cont(%(percentile_cont_4)s) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_all.m0)) AS mad0, percentile_cont(%(percentile_cont_5)s) WITHIN GROUP (ORDER BY abs(mag_sample.y - ref_all.m0)) AS d90_0
FROM mag_sample JOIN ref_all ON true GROUP BY ref_all.m0, ref_all.n0),
tail AS
(SELECT percentile_cont(%(percentile_cont_7)s) WITHIN GROUP (ORDER BY abs((mag_sample.y - CASE WHEN (ref_groups.n >= %(n_1)s) THEN ref_groups.m ELSE ref_overall.m0 END) / greatest(CASE WHEN (ref_groups.n >= %(n_1)s) THEN %(mad_1)s * ref_groups.mad ELSE %(mad0_1)s * ref_overall.mad0 END, %(greatest_2)s))) AS q90, percentile_cont(%(percentile_cont_8)s) WITHIN GROUP (ORDER BY abs((mag_sample.y - CASE WHEN (ref_groups.n >= %(n_1)s) THEN ref_groups.m ELSE ref_overall.m0 END) / greatest(CASE WHEN (ref_groups.n >= %(n_1)s) THEN %(mad_1)s * ref_groups.mad ELSE %(mad0_1)s * ref_overall.mad0 END, %(greatest_2)s))) AS q99
FROM mag_sample JOIN ref_groups ON mag_sample.g0 = ref_groups.g0 JOIN ref_overall ON true)
 SELECT group_rows.g0, group_rows.group_rows, ref_groups.m, ref_groups.n, ref_groups.mad, ref_groups.d90, ref_overall.m0, ref_overall.n0, ref_overall.mad0, ref_overall.d90_0, tail.q90, tail.q99
FROM group_rows LEFT OUTER JOIN ref_groups ON group_rows.g0 = ref_groups.g0 JOIN ref_overall ON true JOIN tail ON true ORDER BY group_rows.g0
-- params: {"coalesce_2": "(null)", "greatest_1": 2000, "param_1": 200000, "score_1": 0, "coalesce_1": "(null)", "hashtextextended_1": 0, "hashtextextended_2": 1000003, "param_2": 1000003, "percentile_cont_3": 0.5, "percentile_cont_1": 0.5, "percentile_cont_2": 0.9, "percentile_cont_6": 0.5, "percentile_cont_4": 0.5, "percentile_cont_5": 0.9, "percentile_cont_7": 0.9, "n_1": 20, "mad_1": 1.4826, "mad0_1": 1.4826, "greatest_2": 0.01, "percentile_cont_8": 0.99}
-- statement 4
SELECT scored.k, scored.x, scored.y, scored.ref, scored.s, scored.z, scored.thr, scored.tol, scored.group_n, scored.ref_n, scored.peer, scored.g0, round(scored.y - scored.ref) != %(round_1)s AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol AS named, count(*) OVER () AS total, sum(CASE WHEN (round(scored.y - scored.ref) != %(round_1)s AND abs((scored.y - scored.ref) - round(scored.y - scored.ref)) <= scored.tol) THEN %(param_1)s ELSE %(param_2)s END) OVER () AS slips
FROM (SELECT mag_rows.k AS k, mag_rows.x AS x, mag_rows.y AS y, mag_refs.a AS ref, mag_refs.s AS s, (mag_rows.y - mag_refs.a) / mag_refs.s AS z, mag_refs.thr AS thr, mag_refs.tol AS tol, mag_refs.group_n AS group_n, mag_refs.ref_n AS ref_n, false AS peer, mag_rows.g0 AS g0
FROM (SELECT sales.deals.id AS k, sales.deals.score AS x, log10(abs(CAST(sales.deals.score AS DOUBLE))) AS y, coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) AS g0
FROM sales.deals
WHERE sales.deals.score IS NOT NULL AND sales.deals.score != %(score_1)s AND (sales.deals.score NOT IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE)))) AS mag_rows JOIN (VALUES (%(param_3)s, %(param_4)s, %(param_5)s, %(param_6)s, %(param_7)s, %(param_8)s, %(param_9)s), (%(param_10)s, %(param_11)s, %(param_12)s, %(param_13)s, %(param_14)s, %(param_15)s, %(param_16)s), (%(param_17)s, %(param_18)s, %(param_19)s, %(param_20)s, %(param_21)s, %(param_22)s, %(param_23)s), (%(param_24)s, %(param_25)s, %(param_26)s, %(param_27)s, %(param_28)s, %(param_29)s, %(param_30)s)) AS mag_refs (g0, a, s, thr, ref_n, tol, group_n) ON mag_rows.g0 = mag_refs.g0
WHERE mag_rows.y NOT BETWEEN %(y_1)s AND %(y_2)s) AS scored
WHERE abs(scored.z) > scored.thr ORDER BY abs(scored.z) DESC, scored.k
 LIMIT %(param_31)s
-- params: {"round_1": 0, "param_1": 1, "param_2": 0, "coalesce_1": "(null)", "score_1": 0, "param_3": "AMER", "param_4": 2.9919655190851033, "param_5": 0.07922377461806088, "param_6": 4.758445202218449, "param_7": 119, "param_8": 0.198059, "param_9": 119, "param_10": "APAC", "param_11": 2.9995785299064956, "param_12": 0.07262501793126823, "param_13": 4.758445202218449, "param_14": 119, "param_15": 0.181563, "param_16": 119, "param_17": "EMEA", "param_18": 2.9960298284110767, "param_19": 0.07413689954322156, "param_20": 4.758445202218449, "param_21": 119, "param_22": 0.185342, "param_23": 119, "param_24": "XX", "param_25": 2.9957140352400566, "param_26": 0.07476351239873767, "param_27": 4.3562951625729385, "param_28": 358, "param_29": 0.186909, "param_30": 0, "y_1": 2.670022107840474, "y_2": 3.3214059626396395, "param_31": 20}
-- results
-- magnitude(score): pass: 1 NaN and 1 infinite values of score left out
