-- golden SQL: case lifted_subschema_reference, dialect bigquery (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INT64, owner STRING, region STRING, currency STRING, seats INT64, amount FLOAT64, list_price FLOAT64, booked FLOAT64, score FLOAT64, code STRING, updated_at DATETIME, created_at TIMESTAMP
-- statement 1
SELECT sum(`deals`.`amount`) AS `a0`, sum(`deals`.`list_price`) AS `a1`
FROM `sales`.`deals`
-- statement 2
SELECT coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `value`, count(*) AS `n`, count(*) OVER () AS `categories`
FROM `sales`.`deals` GROUP BY `coalesce_2`
 LIMIT %(param_1:INT64)s
-- params: {"coalesce_1": "(null)", "param_1": 10001}
-- statement 3
SELECT coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `g0`, count(*) AS `group_rows`
FROM `sales`.`deals`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND `deals`.`list_price` IS NOT NULL AND `deals`.`list_price` != %(list_price_1:INT64)s GROUP BY `coalesce_2` ORDER BY coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s)
-- params: {"coalesce_1": "(null)", "amount_1": 0, "list_price_1": 0}
-- statement 4
WITH `ss_counts` AS
(SELECT `ss_known`.`g0` AS `g0`, CAST(`ss_known`.`group_rows` AS INT64) AS `group_rows`, CAST(greatest(%(greatest_1:INT64)s, %(param_1:INT64)s / CAST(CAST(%(param_2:INT64)s AS INT64) AS NUMERIC)) AS FLOAT64) AS `cap`
FROM (VALUES (%(param_3:STRING)s, %(param_4:INT64)s), (%(param_5:STRING)s, %(param_6:INT64)s), (%(param_7:STRING)s, %(param_8:INT64)s), (%(param_9:STRING)s, %(param_10:INT64)s)) AS `ss_known` (`g0`, `group_rows`)),
`ss_sample` AS
(SELECT `deals`.`id` AS `k`, `deals`.`amount` AS `x`, coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `g0`, log10(abs(CAST(`deals`.`amount` AS FLOAT64))) - log10(abs(CAST(`deals`.`list_price` AS FLOAT64))) AS `y`, `ss_counts`.`group_rows` AS `group_rows`
FROM `sales`.`deals` JOIN `ss_counts` ON coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_2:STRING)s) = `ss_counts`.`g0`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND `deals`.`list_price` IS NOT NULL AND `deals`.`list_price` != %(list_price_1:INT64)s AND (`ss_counts`.`group_rows` <= `ss_counts`.`cap` OR CAST(CAST(abs(MOD(hashtextextended(CAST(`deals`.`id` AS STRING), %(hashtextextended_1:INT64)s), %(hashtextextended_2:INT64)s)) AS INT64) AS FLOAT64) / CAST(%(param_11:INT64)s AS NUMERIC) < `ss_counts`.`cap` / CAST(CAST(`ss_counts`.`group_rows` AS FLOAT64) AS FLOAT64))),
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
-- params: {"greatest_1": 2000, "param_1": 200000, "param_2": 4, "param_3": "CHF", "param_4": 1, "param_5": "EUR", "param_6": 89, "param_7": "JPY", "param_8": 6, "param_9": "USD", "param_10": 264, "coalesce_1": "(null)", "coalesce_2": "(null)", "amount_1": 0, "list_price_1": 0, "hashtextextended_1": 0, "hashtextextended_2": 1000003, "param_11": 1000003, "percentile_cont_5": 0.5, "percentile_cont_4": 0.5, "percentile_cont_1": 0.25, "percentile_cont_2": 0.5, "percentile_cont_3": 0.75, "mad_1": 4.4478, "greatest_2": 0.5}
-- statement 5
WITH `ss_counts` AS
(SELECT `ss_known`.`g0` AS `g0`, CAST(`ss_known`.`group_rows` AS INT64) AS `group_rows`, CAST(greatest(%(greatest_1:INT64)s, %(param_1:INT64)s / CAST(CAST(%(param_2:INT64)s AS INT64) AS NUMERIC)) AS FLOAT64) AS `cap`
FROM (VALUES (%(param_3:STRING)s, %(param_4:INT64)s), (%(param_5:STRING)s, %(param_6:INT64)s), (%(param_7:STRING)s, %(param_8:INT64)s), (%(param_9:STRING)s, %(param_10:INT64)s)) AS `ss_known` (`g0`, `group_rows`)),
`ss_sample` AS
(SELECT `deals`.`id` AS `k`, `deals`.`amount` AS `x`, coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `g0`, log10(abs(CAST(`deals`.`amount` AS FLOAT64))) - log10(abs(CAST(`deals`.`list_price` AS FLOAT64))) AS `y`, `ss_counts`.`group_rows` AS `group_rows`
FROM `sales`.`deals` JOIN `ss_counts` ON coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_2:STRING)s) = `ss_counts`.`g0`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND `deals`.`list_price` IS NOT NULL AND `deals`.`list_price` != %(list_price_1:INT64)s AND (`ss_counts`.`group_rows` <= `ss_counts`.`cap` OR CAST(CAST(abs(MOD(hashtextextended(CAST(`deals`.`id` AS STRING), %(hashtextextended_1:INT64)s), %(hashtextextended_2:INT64)s)) AS INT64) AS FLOAT64) / CAST(%(param_11:INT64)s AS NUMERIC) < `ss_counts`.`cap` / CAST(CAST(`ss_counts`.`group_rows` AS FLOAT64) AS FLOAT64))),
`ss_units` AS
(SELECT `ss_sample`.`g0` AS `lab`, `ss_sample`.`y` - `ss_refs`.`c` AS `r`
FROM `ss_sample` JOIN (VALUES (%(param_12:STRING)s, %(param_13:FLOAT64)s)) AS `ss_refs` (`pg`, `c`) ON %(param_14:STRING)s = `ss_refs`.`pg`
WHERE `ss_sample`.`g0` IN UNNEST(%(g0_1:STRING)s)),
`ss_units_med` AS
(SELECT `ss_units`.`lab` AS `lab`, percentile_cont(%(percentile_cont_2:FLOAT64)s) WITHIN GROUP (ORDER BY `ss_units`.`r`) AS `o`, count(*) AS `n`
FROM `ss_units` GROUP BY `ss_units`.`lab`)
 SELECT `ss_units_med`.`lab`, `ss_units_med`.`o`, `ss_units_med`.`n`, percentile_cont(%(percentile_cont_1:FLOAT64)s) WITHIN GROUP (ORDER BY abs(`ss_units`.`r` - `ss_units_med`.`o`)) AS `mad`
FROM `ss_units` JOIN `ss_units_med` ON `ss_units`.`lab` = `ss_units_med`.`lab` GROUP BY `ss_units_med`.`lab`, `ss_units_med`.`o`, `ss_units_med`.`n` ORDER BY `ss_units_med`.`lab`
-- params: {"greatest_1": 2000, "param_1": 200000, "param_2": 4, "param_3": "CHF", "param_4": 1, "param_5": "EUR", "param_6": 89, "param_7": "JPY", "param_8": 6, "param_9": "USD", "param_10": 264, "coalesce_1": "(null)", "coalesce_2": "(null)", "amount_1": 0, "list_price_1": 0, "hashtextextended_1": 0, "hashtextextended_2": 1000003, "param_11": 1000003, "param_12": "(all)", "param_13": -0.04139268750297953, "param_14": "(all)", "g0_1": ["USD", "CHF", "EUR", "JPY"], "percentile_cont_2": 0.5, "percentile_cont_1": 0.5}
-- statement 6
WITH `ss_tails` AS
(SELECT `ss_rows`.`k` AS `k`, `ss_rows`.`x` AS `x`, `ss_rows`.`g0` AS `g0`, `ss_stats`.`pool` AS `lab`, `ss_rows`.`y` - `ss_stats`.`m` AS `d`, greatest(%(sigma_1:FLOAT64)s * `ss_stats`.`sigma`, %(greatest_2:FLOAT64)s) AS `edge`, `ss_stats`.`sigma` AS `spread`
FROM (SELECT `deals`.`id` AS `k`, `deals`.`amount` AS `x`, coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `g0`, log10(abs(CAST(`deals`.`amount` AS FLOAT64))) - log10(abs(CAST(`deals`.`list_price` AS FLOAT64))) AS `y`
FROM `sales`.`deals`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND `deals`.`list_price` IS NOT NULL AND `deals`.`list_price` != %(list_price_1:INT64)s AND log10(abs(CAST(`deals`.`amount` AS FLOAT64))) - log10(abs(CAST(`deals`.`list_price` AS FLOAT64))) NOT BETWEEN %(param_5:FLOAT64)s AND %(param_6:FLOAT64)s) AS `ss_rows` JOIN (VALUES (%(param_7:STRING)s, %(param_8:STRING)s, %(param_9:FLOAT64)s, %(param_10:FLOAT64)s), (%(param_11:STRING)s, %(param_12:STRING)s, %(param_13:FLOAT64)s, %(param_14:FLOAT64)s), (%(param_15:STRING)s, %(param_16:STRING)s, %(param_17:FLOAT64)s, %(param_18:FLOAT64)s), (%(param_19:STRING)s, %(param_20:STRING)s, %(param_21:FLOAT64)s, %(param_22:FLOAT64)s)) AS `ss_stats` (`g0`, `pool`, `m`, `sigma`) ON `ss_rows`.`g0` = `ss_stats`.`g0`)
 SELECT `ss_tails`.`lab`, sum(CASE WHEN (`ss_tails`.`d` > `ss_tails`.`edge`) THEN %(param_1:INT64)s ELSE %(param_2:INT64)s END) AS `up`, sum(CASE WHEN (`ss_tails`.`d` < -`ss_tails`.`edge`) THEN %(param_3:INT64)s ELSE %(param_4:INT64)s END) AS `down`, percentile_cont(%(percentile_cont_1:FLOAT64)s) WITHIN GROUP (ORDER BY (`ss_tails`.`d` - `ss_tails`.`edge`) / CAST(greatest(`ss_tails`.`spread`, %(greatest_1:FLOAT64)s) AS NUMERIC)) FILTER (WHERE `ss_tails`.`d` > `ss_tails`.`edge`) AS `up_beyond`, percentile_cont(%(percentile_cont_2:FLOAT64)s) WITHIN GROUP (ORDER BY (-`ss_tails`.`d` - `ss_tails`.`edge`) / CAST(greatest(`ss_tails`.`spread`, %(greatest_1:FLOAT64)s) AS NUMERIC)) FILTER (WHERE `ss_tails`.`d` < -`ss_tails`.`edge`) AS `down_beyond`
FROM `ss_tails` GROUP BY `ss_tails`.`lab` ORDER BY `ss_tails`.`lab`
-- params: {"sigma_1": 3.0, "greatest_2": 0.5, "coalesce_1": "(null)", "amount_1": 0, "list_price_1": 0, "param_5": -0.5413926851582254, "param_6": 0.4586073006173441, "param_7": "CHF", "param_8": "CHF", "param_9": -0.041392699382655884, "param_10": 0.0, "param_11": "EUR", "param_12": "EUR", "param_13": -0.0413926895575889, "param_14": 1.4822613066023393e-08, "param_15": "JPY", "param_16": "JPY", "param_17": -0.04139268515822536, "param_18": 0.0, "param_19": "USD", "param_20": "USD", "param_21": -0.04139268750297953, "param_22": 1.4929166308252916e-08, "param_1": 1, "param_2": 0, "param_3": 1, "param_4": 0, "percentile_cont_1": 0.5, "greatest_1": 1e-12, "percentile_cont_2": 0.5}
-- results
-- subschema(amount): pass
