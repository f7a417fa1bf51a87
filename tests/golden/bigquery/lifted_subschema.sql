-- golden SQL: case lifted_subschema, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT sum(`deals`.`amount`) AS `a0`
FROM `sales`.`deals`
-- statement 2
SELECT coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `value`, count(*) AS `n`, count(*) OVER () AS `categories`
FROM `sales`.`deals` GROUP BY `coalesce_2`
 LIMIT %(param_1:INT64)s
-- params: {"coalesce_1": "(null)", "param_1": 10001}
-- statement 3
SELECT coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `g0`, count(*) AS `group_rows`
FROM `sales`.`deals`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s GROUP BY `coalesce_2` ORDER BY coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s)
-- params: {"coalesce_1": "(null)", "amount_1": 0}
-- statement 4
WITH `ss_counts` AS
(SELECT `ss_known`.`g0` AS `g0`, CAST(`ss_known`.`group_rows` AS INT64) AS `group_rows`, CAST(greatest(%(greatest_1:INT64)s, %(param_1:INT64)s / CAST(CAST(%(param_2:INT64)s AS INT64) AS NUMERIC)) AS FLOAT64) AS `cap`
FROM (VALUES (%(param_3:STRING)s, %(param_4:INT64)s), (%(param_5:STRING)s, %(param_6:INT64)s), (%(param_7:STRING)s, %(param_8:INT64)s), (%(param_9:STRING)s, %(param_10:INT64)s)) AS `ss_known` (`g0`, `group_rows`)),
`ss_sample` AS
(SELECT `deals`.`id` AS `k`, `deals`.`amount` AS `x`, coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `g0`, log10(abs(CAST(`deals`.`amount` AS FLOAT64))) AS `y`, `ss_counts`.`group_rows` AS `group_rows`
FROM `sales`.`deals` JOIN `ss_counts` ON coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_2:STRING)s) = `ss_counts`.`g0`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND (`ss_counts`.`group_rows` <= `ss_counts`.`cap` OR CAST(CAST(abs(MOD(hashtextextended(CAST(`deals`.`id` AS STRING), %(hashtextextended_1:INT64)s), %(hashtextextended_2:INT64)s)) AS INT64) AS FLOAT64) / CAST(%(param_11:INT64)s AS NUMERIC) < `ss_counts`.`cap` / CAST(CAST(`ss_counts`.`group_rows` AS FLOAT64) AS FLOAT64))),
`ss_resid` AS
(SELECT `ss_sample`.`g0` AS `g0`, `ss_sample`.`group_rows` AS `group_rows`, `ss_sample`.`y` AS `y`
FROM `ss_sample`),
`ss_med` AS
(SELECT `ss_resid`.`g0` AS `g0`, percentile_cont(%(percentile_cont_5:FLOAT64)s) WITHIN GROUP (ORDER BY `ss_resid`.`y`) AS `m`, max(`ss_resid`.`group_rows`) AS `n`
FROM `ss_resid` GROUP BY `ss_resid`.`g0`),
`ss_dev` AS
(SELECT `ss_med`.`g0` AS `g0`, `ss_med`.`m` AS `m`, `ss_med`.`n` AS `n`, percentile_cont(%(percentile_cont_4:FLOAT64)s) WITHIN GROUP (ORDER BY abs(`ss_resid`.`y` - `ss_med`.`m`)) AS `mad`
FROM `ss_resid` JOIN `ss_med` ON `ss_resid`.`g0` = `ss_med`.`g0` GROUP BY `ss_med`.`g0`, `ss_med`.`m`, `ss_med`.`n`)
 SELECT `ss_dev`.`g0`, `ss_dev`.`m`, `ss_dev`.`n`, `ss_dev`.`mad`, percentile_cont(%(percentile_cont_1:FLOAT64)s) WITHIN GROUP (ORDER BY `ss_resid`.`y`) AS `q25`, percentile_cont(%(percentile_cont_2:FLOAT64)s) WITHIN GROUP (ORDER BY `ss_resid`.`y`) AS `q50`, percentile_cont(%(percentile_cont_3:FLOAT64)s) WITHIN GROUP (ORDER BY `ss_resid`.`y`) AS `q75`
FROM `ss_resid` JOIN `ss_dev` ON `ss_resid`.`g0` = `ss_dev`.`g0`
WHERE abs(`ss_resid`.`y` - `ss_dev`.`m`) <= greatest(%(mad_1:FLOAT64)s * `ss_dev`.`mad`, %(greatest_2:FLOAT64)s) GROUP BY `ss_dev`.`g0`, `ss_dev`.`m`, `ss_dev`.`n`, `ss_dev`.`mad` ORDER BY `ss_dev`.`g0`
-- params: {"greatest_1": 2000, "param_1": 200000, "param_2": 4, "param_3": "CHF", "param_4": 1, "param_5": "EUR", "param_6": 89, "param_7": "JPY", "param_8": 6, "param_9": "USD", "param_10": 264, "coalesce_1": "(null)", "coalesce_2": "(null)", "amount_1": 0, "hashtextextended_1": 0, "hashtextextended_2": 1000003, "param_11": 1000003, "percentile_cont_5": 0.5, "percentile_cont_4": 0.5, "percentile_cont_1": 0.25, "percentile_cont_2": 0.5, "percentile_cont_3": 0.75, "mad_1": 4.4478, "greatest_2": 0.5}
-- statement 5
WITH `ss_counts` AS
(SELECT `ss_known`.`g0` AS `g0`, CAST(`ss_known`.`group_rows` AS INT64) AS `group_rows`, CAST(greatest(%(greatest_1:INT64)s, %(param_1:INT64)s / CAST(CAST(%(param_2:INT64)s AS INT64) AS NUMERIC)) AS FLOAT64) AS `cap`
FROM (VALUES (%(param_3:STRING)s, %(param_4:INT64)s), (%(param_5:STRING)s, %(param_6:INT64)s), (%(param_7:STRING)s, %(param_8:INT64)s), (%(param_9:STRING)s, %(param_10:INT64)s)) AS `ss_known` (`g0`, `group_rows`)),
`ss_sample` AS
(SELECT `deals`.`id` AS `k`, `deals`.`amount` AS `x`, coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `g0`, log10(abs(CAST(`deals`.`amount` AS FLOAT64))) AS `y`, `ss_counts`.`group_rows` AS `group_rows`
FROM `sales`.`deals` JOIN `ss_counts` ON coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_2:STRING)s) = `ss_counts`.`g0`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND (`ss_counts`.`group_rows` <= `ss_counts`.`cap` OR CAST(CAST(abs(MOD(hashtextextended(CAST(`deals`.`id` AS STRING), %(hashtextextended_1:INT64)s), %(hashtextextended_2:INT64)s)) AS INT64) AS FLOAT64) / CAST(%(param_11:INT64)s AS NUMERIC) < `ss_counts`.`cap` / CAST(CAST(`ss_counts`.`group_rows` AS FLOAT64) AS FLOAT64))),
`ss_units` AS
(SELECT `ss_sample`.`g0` AS `lab`, `ss_sample`.`y` - `ss_refs`.`c` AS `r`
FROM `ss_sample` JOIN (VALUES (%(param_12:STRING)s, %(param_13:FLOAT64)s)) AS `ss_refs` (`pg`, `c`) ON %(param_14:STRING)s = `ss_refs`.`pg`
WHERE `ss_sample`.`g0` IN UNNEST(%(g0_1:STRING)s)),
`ss_units_med` AS
(SELECT `ss_units`.`lab` AS `lab`, percentile_cont(%(percentile_cont_2:FLOAT64)s) WITHIN GROUP (ORDER BY `ss_units`.`r`) AS `o`, count(*) AS `n`
FROM `ss_units` GROUP BY `ss_units`.`lab`)
 SELECT `ss_units_med`.`lab`, `ss_units_med`.`o`, `ss_units_med`.`n`, percentile_cont(%(percentile_cont_1:FLOAT64)s) WITHIN GROUP (ORDER BY abs(`ss_units`.`r` - `ss_units_med`.`o`)) AS `mad`
FROM `ss_units` JOIN `ss_units_med` ON `ss_units`.`lab` = `ss_units_med`.`lab` GROUP BY `ss_units_med`.`lab`, `ss_units_med`.`o`, `ss_units_med`.`n` ORDER BY `ss_units_med`.`lab`
-- params: {"greatest_1": 2000, "param_1": 200000, "param_2": 4, "param_3": "CHF", "param_4": 1, "param_5": "EUR", "param_6": 89, "param_7": "JPY", "param_8": 6, "param_9": "USD", "param_10": 264, "coalesce_1": "(null)", "coalesce_2": "(null)", "amount_1": 0, "hashtextextended_1": 0, "hashtextextended_2": 1000003, "param_11": 1000003, "param_12": "(all)", "param_13": 4.967561190359445, "param_14": "(all)", "g0_1": ["USD", "CHF", "EUR", "JPY"], "percentile_cont_2": 0.5, "percentile_cont_1": 0.5}
-- statement 6
WITH `ss_tails` AS
(SELECT `ss_rows`.`k` AS `k`, `ss_rows`.`x` AS `x`, `ss_rows`.`g0` AS `g0`, `ss_stats`.`pool` AS `lab`, `ss_rows`.`y` - `ss_stats`.`m` AS `d`, greatest(%(sigma_1:FLOAT64)s * `ss_stats`.`sigma`, %(greatest_2:FLOAT64)s) AS `edge`, `ss_stats`.`sigma` AS `spread`
FROM (SELECT `deals`.`id` AS `k`, `deals`.`amount` AS `x`, coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `g0`, log10(abs(CAST(`deals`.`amount` AS FLOAT64))) AS `y`
FROM `sales`.`deals`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND log10(abs(CAST(`deals`.`amount` AS FLOAT64))) NOT BETWEEN %(log10_1:FLOAT64)s AND %(log10_2:FLOAT64)s) AS `ss_rows` JOIN (VALUES (%(param_5:STRING)s, %(param_6:STRING)s, %(param_7:FLOAT64)s, %(param_8:FLOAT64)s), (%(param_9:STRING)s, %(param_10:STRING)s, %(param_11:FLOAT64)s, %(param_12:FLOAT64)s), (%(param_13:STRING)s, %(param_14:STRING)s, %(param_15:FLOAT64)s, %(param_16:FLOAT64)s), (%(param_17:STRING)s, %(param_18:STRING)s, %(param_19:FLOAT64)s, %(param_20:FLOAT64)s)) AS `ss_stats` (`g0`, `pool`, `m`, `sigma`) ON `ss_rows`.`g0` = `ss_stats`.`g0`),
`ss_summary` AS
(SELECT `ss_tails`.`lab` AS `lab`, sum(CASE WHEN (`ss_tails`.`d` > `ss_tails`.`edge`) THEN %(param_1:INT64)s ELSE %(param_2:INT64)s END) AS `up`, sum(CASE WHEN (`ss_tails`.`d` < -`ss_tails`.`edge`) THEN %(param_3:INT64)s ELSE %(param_4:INT64)s END) AS `down`, percentile_cont(%(percentile_cont_1:FLOAT64)s) WITHIN GROUP (ORDER BY (`ss_tails`.`d` - `ss_tails`.`edge`) / CAST(greatest(`ss_tails`.`spread`, %(greatest_1:FLOAT64)s) AS NUMERIC)) FILTER (WHERE `ss_tails`.`d` > `ss_tails`.`edge`) AS `up_beyond`, percentile_cont(%(percentile_cont_2:FLOAT64)s) WITHIN GROUP (ORDER BY (-`ss_tails`.`d` - `ss_tails`.`edge`) / CAST(greatest(`ss_tails`.`spread`, %(greatest_1:FLOAT64)s) AS NUMERIC)) FILTER (WHERE `ss_tails`.`d` < -`ss_tails`.`edge`) AS `down_beyond`
FROM `ss_tails` GROUP BY `ss_tails`.`lab`),
`ss_sides` AS
(SELECT `ss_summary`.`lab` AS `lab`, %(param_21:INT64)s AS `sign`
FROM `ss_summary` JOIN (VALUES (%(param_22:STRING)s, %(param_23:FLOAT64)s, %(param_24:FLOAT64)s), (%(param_25:STRING)s, %(param_26:FLOAT64)s, %(param_27:FLOAT64)s), (%(param_28:STRING)s, %(param_29:FLOAT64)s, %(param_30:FLOAT64)s), (%(param_31:STRING)s, %(param_32:FLOAT64)s, %(param_33:FLOAT64)s)) AS `ss_shape` (`lab`, `n`, `skew`) ON `ss_summary`.`lab` = `ss_shape`.`lab`
WHERE `ss_summary`.`up` - `ss_summary`.`down` >= %(param_34:INT64)s AND `ss_summary`.`up` >= %(greatest_3:INT64)s * greatest(`ss_summary`.`down`, %(greatest_4:INT64)s) AND `ss_summary`.`up_beyond` >= CASE WHEN (%(skew_1:INT64)s * `ss_shape`.`skew` > %(param_35:FLOAT64)s) THEN greatest(%(greatest_5:FLOAT64)s, %(param_36:FLOAT64)s + %(sqrt_1:FLOAT64)s / CAST(sqrt(`ss_summary`.`up`) AS NUMERIC)) WHEN (`ss_summary`.`up` > %(n_1:FLOAT64)s * `ss_shape`.`n`) THEN %(param_37:FLOAT64)s ELSE %(param_38:FLOAT64)s END AND `ss_summary`.`up` <= %(up_1:INT64)s UNION ALL SELECT `ss_summary`.`lab` AS `lab`, %(param_39:INT64)s AS `sign`
FROM `ss_summary` JOIN (VALUES (%(param_40:STRING)s, %(param_41:FLOAT64)s, %(param_42:FLOAT64)s), (%(param_43:STRING)s, %(param_44:FLOAT64)s, %(param_45:FLOAT64)s), (%(param_46:STRING)s, %(param_47:FLOAT64)s, %(param_48:FLOAT64)s), (%(param_49:STRING)s, %(param_50:FLOAT64)s, %(param_51:FLOAT64)s)) AS `ss_shape` (`lab`, `n`, `skew`) ON `ss_summary`.`lab` = `ss_shape`.`lab`
WHERE `ss_summary`.`down` - `ss_summary`.`up` >= %(param_52:INT64)s AND `ss_summary`.`down` >= %(greatest_6:INT64)s * greatest(`ss_summary`.`up`, %(greatest_7:INT64)s) AND `ss_summary`.`down_beyond` >= CASE WHEN (%(skew_2:INT64)s * `ss_shape`.`skew` > %(param_53:FLOAT64)s) THEN greatest(%(greatest_8:FLOAT64)s, %(param_54:FLOAT64)s + %(sqrt_2:FLOAT64)s / CAST(sqrt(`ss_summary`.`down`) AS NUMERIC)) WHEN (`ss_summary`.`down` > %(n_2:FLOAT64)s * `ss_shape`.`n`) THEN %(param_55:FLOAT64)s ELSE %(param_56:FLOAT64)s END AND `ss_summary`.`down` <= %(down_1:INT64)s)
 SELECT `ss_summary`.`lab`, `ss_summary`.`up`, `ss_summary`.`down`, `ss_summary`.`up_beyond`, `ss_summary`.`down_beyond`, `ss_side_rows`.`sign`, `ss_side_rows`.`k`, `ss_side_rows`.`x`, `ss_side_rows`.`g0`, `ss_side_rows`.`d`, `ss_side_rows`.`spread`
FROM `ss_summary` LEFT OUTER JOIN (SELECT `ss_tails`.`lab` AS `lab`, `ss_sides`.`sign` AS `sign`, `ss_tails`.`k` AS `k`, `ss_tails`.`x` AS `x`, `ss_tails`.`g0` AS `g0`, `ss_tails`.`d` AS `d`, `ss_tails`.`spread` AS `spread`
FROM `ss_tails` JOIN `ss_sides` ON `ss_tails`.`lab` = `ss_sides`.`lab` AND `ss_sides`.`sign` * `ss_tails`.`d` > `ss_tails`.`edge`) AS `ss_side_rows` ON `ss_summary`.`lab` = `ss_side_rows`.`lab` ORDER BY `ss_summary`.`lab`, `ss_side_rows`.`sign`, `ss_side_rows`.`k`
-- params: {"sigma_1": 3.0, "greatest_2": 0.5, "coalesce_1": "(null)", "amount_1": 0, "log10_1": 6.816008158476959, "log10_2": 5.64232672668555, "param_5": "CHF", "param_6": "CHF", "param_7": 5.14232672668555, "param_8": 0.0, "param_9": "EUR", "param_10": "EUR", "param_11": 4.951574033143424, "param_12": 0.34731486797733274, "param_13": "JPY", "param_14": "JPY", "param_15": 7.324422801077505, "param_16": 0.16947154753351534, "param_17": "USD", "param_18": "USD", "param_19": 4.967561190359445, "param_20": 0.3332950942931186, "param_1": 1, "param_2": 0, "param_3": 1, "param_4": 0, "percentile_cont_1": 0.5, "greatest_1": 1e-12, "percentile_cont_2": 0.5, "param_21": 1, "param_22": "CHF", "param_23": 1.0, "param_24": 0.0, "param_25": "EUR", "param_26": 89.0, "param_27": 0.06078192776300333, "param_28": "JPY", "param_29": 6.0, "param_30": 0.7026403790991904, "param_31": "USD", "param_32": 264.0, "param_33": -0.12776256119939103, "param_34": 5, "greatest_3": 3, "greatest_4": 1, "skew_1": 1, "param_35": 0.05, "greatest_5": 1.5, "param_36": 0.97, "sqrt_1": 2.8, "n_1": 0.1, "param_37": 1.5, "param_38": 1.0, "up_1": 50000, "param_39": -1, "param_40": "CHF", "param_41": 1.0, "param_42": 0.0, "param_43": "EUR", "param_44": 89.0, "param_45": 0.06078192776300333, "param_46": "JPY", "param_47": 6.0, "param_48": 0.7026403790991904, "param_49": "USD", "param_50": 264.0, "param_51": -0.12776256119939103, "param_52": 5, "greatest_6": 3, "greatest_7": 1, "skew_2": -1, "param_53": 0.05, "greatest_8": 1.5, "param_54": 0.97, "sqrt_2": 2.8, "n_2": 0.1, "param_55": 1.5, "param_56": 1.0, "down_1": 50000}
-- results
-- subschema(amount): warn (mixed_units): amount mixes currencies: the 6 rows labelled JPY sit 2.36 decades above the USD rows, the JPY/USD factor 150 (the rates of config fx_rates): a sum or mean over amount adds one unit to another
