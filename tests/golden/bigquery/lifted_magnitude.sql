-- golden SQL: case lifted_magnitude, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT sum(`deals`.`amount`) AS `a0`, count(`deals`.`amount`) AS `a1`, sum(CASE WHEN (`deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s) THEN %(param_1:INT64)s ELSE %(param_2:INT64)s END) AS `a2`
FROM `sales`.`deals`
-- params: {"amount_1": 0, "param_1": 1, "param_2": 0}
-- statement 2
WITH `mag_counts` AS
(SELECT count(*) AS `group_rows`, CAST(greatest(%(greatest_1:INT64)s, %(param_1:INT64)s / CAST(count(*) OVER () AS NUMERIC)) AS FLOAT64) AS `cap`
FROM `sales`.`deals`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s),
`mag_sample` AS
(SELECT `deals`.`id` AS `k`, `deals`.`amount` AS `x`, log10(abs(CAST(`deals`.`amount` AS FLOAT64))) AS `y`, `mag_counts`.`group_rows` AS `group_rows`
FROM `sales`.`deals` JOIN `mag_counts` ON true
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND (`mag_counts`.`group_rows` <= `mag_counts`.`cap` OR CAST(CAST(abs(MOD(hashtextextended(CAST(`deals`.`id` AS STRING), %(hashtextextended_1:INT64)s), %(hashtextextended_2:INT64)s)) AS INT64) AS FLOAT64) / CAST(%(param_2:INT64)s AS NUMERIC) < `mag_counts`.`cap` / CAST(CAST(`mag_counts`.`group_rows` AS FLOAT64) AS FLOAT64))),
`group_rows` AS
(SELECT max(`mag_sample`.`group_rows`) AS `group_rows`
FROM `mag_sample`),
`ref_med` AS
(SELECT percentile_cont(%(percentile_cont_3:FLOAT64)s) WITHIN GROUP (ORDER BY `mag_sample`.`y`) AS `m`, count(`mag_sample`.`y`) AS `n`
FROM `mag_sample`),
`ref_groups` AS
(SELECT `ref_med`.`m` AS `m`, `ref_med`.`n` AS `n`, percentile_cont(%(percentile_cont_1:FLOAT64)s) WITHIN GROUP (ORDER BY abs(`mag_sample`.`y` - `ref_med`.`m`)) AS `mad`, percentile_cont(%(percentile_cont_2:FLOAT64)s) WITHIN GROUP (ORDER BY abs(`mag_sample`.`y` - `ref_med`.`m`)) AS `d90`
FROM `mag_sample` JOIN `ref_med` ON true GROUP BY `ref_med`.`m`, `ref_med`.`n`),
`ref_all` AS
(SELECT percentile_cont(%(percentile_cont_6:FLOAT64)s) WITHIN GROUP (ORDER BY `mag_sample`.`y`) AS `m0`, count(`mag_sample`.`y`) AS `n0`
FROM `mag_sample`),
`ref_overall` AS
(SELECT `ref_all`.`m0` AS `m0`, `ref_all`.`n0` AS `n0`, percentile_cont(%(percentile_cont_4:FLOAT64)s) WITHIN GROUP (ORDER BY abs(`mag_sample`.`y` - `ref_all`.`m0`)) AS `mad0`, percentile_cont(%(percentile_cont_5:FLOAT64)s) WITHIN GROUP (ORDER BY abs(`mag_sample`.`y` - `ref_all`.`m0`)) AS `d90_0`
FROM `mag_sample` JOIN `ref_all` ON true GROUP BY `ref_all`.`m0`, `ref_all`.`n0`),
`tail` AS
(SELECT percentile_cont(%(percentile_cont_7:FLOAT64)s) WITHIN GROUP (ORDER BY abs((`mag_sample`.`y` - CASE WHEN (`ref_groups`.`n` >= %(n_1:INT64)s) THEN `ref_groups`.`m` ELSE `ref_overall`.`m0` END) / CAST(greatest(CASE WHEN (`ref_groups`.`n` >= %(n_1:INT64)s) THEN %(mad_1:FLOAT64)s * `ref_groups`.`mad` ELSE %(mad0_1:FLOAT64)s * `ref_overall`.`mad0` END, %(greatest_2:FLOAT64)s) AS NUMERIC))) AS `q90`, percentile_cont(%(percentile_cont_8:FLOAT64)s) WITHIN GROUP (ORDER BY abs((`mag_sample`.`y` - CASE WHEN (`ref_groups`.`n` >= %(n_1:INT64)s) THEN `ref_groups`.`m` ELSE `ref_overall`.`m0` END) / CAST(greatest(CASE WHEN (`ref_groups`.`n` >= %(n_1:INT64)s) THEN %(mad_1:FLOAT64)s * `ref_groups`.`mad` ELSE %(mad0_1:FLOAT64)s * `ref_overall`.`mad0` END, %(greatest_2:FLOAT64)s) AS NUMERIC))) AS `q99`
FROM `mag_sample` JOIN `ref_groups` ON true JOIN `ref_overall` ON true)
 SELECT `group_rows`.`group_rows`, `ref_groups`.`m`, `ref_groups`.`n`, `ref_groups`.`mad`, `ref_groups`.`d90`, `ref_overall`.`m0`, `ref_overall`.`n0`, `ref_overall`.`mad0`, `ref_overall`.`d90_0`, `tail`.`q90`, `tail`.`q99`
FROM `group_rows` LEFT OUTER JOIN `ref_groups` ON true JOIN `ref_overall` ON true JOIN `tail` ON true
-- params: {"greatest_1": 2000, "param_1": 200000, "amount_1": 0, "hashtextextended_1": 0, "hashtextextended_2": 1000003, "param_2": 1000003, "percentile_cont_3": 0.5, "percentile_cont_1": 0.5, "percentile_cont_2": 0.9, "percentile_cont_6": 0.5, "percentile_cont_4": 0.5, "percentile_cont_5": 0.9, "percentile_cont_7": 0.9, "n_1": 20, "mad_1": 1.4826, "mad0_1": 1.4826, "greatest_2": 0.01, "percentile_cont_8": 0.99}
-- statement 3
SELECT `scored`.`k`, `scored`.`x`, `scored`.`y`, `scored`.`ref`, `scored`.`s`, `scored`.`z`, `scored`.`thr`, `scored`.`tol`, `scored`.`group_n`, `scored`.`ref_n`, `scored`.`peer`, round(`scored`.`y` - `scored`.`ref`) != %(round_1:INT64)s AND abs((`scored`.`y` - `scored`.`ref`) - round(`scored`.`y` - `scored`.`ref`)) <= `scored`.`tol` AS `named`, count(*) OVER () AS `total`, sum(CASE WHEN (round(`scored`.`y` - `scored`.`ref`) != %(round_1:INT64)s AND abs((`scored`.`y` - `scored`.`ref`) - round(`scored`.`y` - `scored`.`ref`)) <= `scored`.`tol`) THEN %(param_1:INT64)s ELSE %(param_2:INT64)s END) OVER () AS `slips`
FROM (SELECT `mag_rows`.`k` AS `k`, `mag_rows`.`x` AS `x`, `mag_rows`.`y` AS `y`, `mag_refs`.`a` AS `ref`, `mag_refs`.`s` AS `s`, (`mag_rows`.`y` - `mag_refs`.`a`) / CAST(`mag_refs`.`s` AS FLOAT64) AS `z`, `mag_refs`.`thr` AS `thr`, `mag_refs`.`tol` AS `tol`, `mag_refs`.`group_n` AS `group_n`, `mag_refs`.`ref_n` AS `ref_n`, false AS `peer`
FROM (SELECT `deals`.`id` AS `k`, `deals`.`amount` AS `x`, log10(abs(CAST(`deals`.`amount` AS FLOAT64))) AS `y`
FROM `sales`.`deals`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s) AS `mag_rows` JOIN (VALUES (%(param_3:FLOAT64)s, %(param_4:FLOAT64)s, %(param_5:FLOAT64)s, %(param_6:INT64)s, %(param_7:FLOAT64)s, %(param_8:INT64)s)) AS `mag_refs` (`a`, `s`, `thr`, `ref_n`, `tol`, `group_n`) ON true
WHERE `mag_rows`.`y` NOT BETWEEN %(y_1:FLOAT64)s AND %(y_2:FLOAT64)s) AS `scored`
WHERE abs(`scored`.`z`) > `scored`.`thr` ORDER BY abs(`scored`.`z`) DESC, `scored`.`k`
 LIMIT %(param_9:INT64)s
-- params: {"round_1": 0, "param_1": 1, "param_2": 0, "amount_1": 0, "param_3": 4.969449079511877, "param_4": 0.3348994956438487, "param_5": 9.233368919291376, "param_6": 360, "param_7": -1.0, "param_8": 360, "y_1": 1.877198485347607, "y_2": 8.061699673676147, "param_9": 20}
-- results
-- magnitude(amount): pass
