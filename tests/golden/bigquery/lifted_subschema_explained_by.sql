-- golden SQL: case lifted_subschema_explained_by, dialect bigquery (paramstyle pyformat)
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
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND `deals`.`seats` IS NOT NULL AND `deals`.`seats` != %(seats_1:INT64)s GROUP BY `coalesce_2` ORDER BY coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s)
-- params: {"coalesce_1": "(null)", "amount_1": 0, "seats_1": 0}
-- statement 4
WITH `ss_counts` AS
(SELECT `ss_known`.`g0` AS `g0`, CAST(`ss_known`.`group_rows` AS INT64) AS `group_rows`, CAST(greatest(%(greatest_1:INT64)s, %(param_1:INT64)s / CAST(CAST(%(param_2:INT64)s AS INT64) AS NUMERIC)) AS FLOAT64) AS `cap`
FROM (VALUES (%(param_3:STRING)s, %(param_4:INT64)s), (%(param_5:STRING)s, %(param_6:INT64)s), (%(param_7:STRING)s, %(param_8:INT64)s), (%(param_9:STRING)s, %(param_10:INT64)s)) AS `ss_known` (`g0`, `group_rows`)),
`ss_sample` AS
(SELECT `deals`.`id` AS `k`, `deals`.`amount` AS `x`, coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `g0`, log10(abs(CAST(`deals`.`amount` AS FLOAT64))) AS `y`, log10(abs(CAST(`deals`.`seats` AS FLOAT64))) AS `v0`, `ss_counts`.`group_rows` AS `group_rows`
FROM `sales`.`deals` JOIN `ss_counts` ON coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_2:STRING)s) = `ss_counts`.`g0`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND `deals`.`seats` IS NOT NULL AND `deals`.`seats` != %(seats_1:INT64)s AND (`ss_counts`.`group_rows` <= `ss_counts`.`cap` OR CAST(CAST(abs(MOD(hashtextextended(CAST(`deals`.`id` AS STRING), %(hashtextextended_1:INT64)s), %(hashtextextended_2:INT64)s)) AS INT64) AS FLOAT64) / CAST(%(param_11:INT64)s AS NUMERIC) < `ss_counts`.`cap` / CAST(CAST(`ss_counts`.`group_rows` AS FLOAT64) AS FLOAT64))),
`ss_lines_1_sums` AS
(SELECT `ss_sample`.`g0` AS `g0`, count(*) AS `n`, sum(CAST(`ss_sample`.`y` AS BIGNUMERIC)) AS `sy`, sum(CAST(`ss_sample`.`v0` AS BIGNUMERIC)) AS `s0`, sum(CAST(`ss_sample`.`v0` * `ss_sample`.`y` AS BIGNUMERIC)) AS `s0y`, sum(CAST(`ss_sample`.`v0` * `ss_sample`.`v0` AS BIGNUMERIC)) AS `s0_0`
FROM `ss_sample`
WHERE `ss_sample`.`v0` IS NOT NULL GROUP BY GROUPING SETS((`ss_sample`.`g0`), ()) ORDER BY `ss_sample`.`g0`),
`ss_lines_1_means` AS
(SELECT `ss_lines_1_sums`.`g0` AS `g0`, `ss_lines_1_sums`.`n` AS `n`, `ss_lines_1_sums`.`s0_0` AS `s0_0`, `ss_lines_1_sums`.`s0y` AS `s0y`, CAST(`ss_lines_1_sums`.`s0` AS FLOAT64) / CAST(CAST(nullif(`ss_lines_1_sums`.`n`, %(nullif_6:INT64)s) AS FLOAT64) AS FLOAT64) AS `mv`, CAST(`ss_lines_1_sums`.`sy` AS FLOAT64) / CAST(CAST(nullif(`ss_lines_1_sums`.`n`, %(nullif_6:INT64)s) AS FLOAT64) AS FLOAT64) AS `my`
FROM `ss_lines_1_sums`),
`ss_lines_1_moments` AS
(SELECT `ss_lines_1_means`.`g0` AS `g0`, `ss_lines_1_means`.`n` AS `n`, `ss_lines_1_means`.`mv` AS `mv`, `ss_lines_1_means`.`my` AS `my`, CAST(`ss_lines_1_means`.`s0_0` AS FLOAT64) / CAST(CAST(nullif(`ss_lines_1_means`.`n`, %(nullif_5:INT64)s) AS FLOAT64) AS FLOAT64) - `ss_lines_1_means`.`mv` * `ss_lines_1_means`.`mv` AS `cov`, CAST(`ss_lines_1_means`.`s0y` AS FLOAT64) / CAST(CAST(nullif(`ss_lines_1_means`.`n`, %(nullif_5:INT64)s) AS FLOAT64) AS FLOAT64) - `ss_lines_1_means`.`mv` * `ss_lines_1_means`.`my` AS `cross`
FROM `ss_lines_1_means`),
`ss_lines_1_scaled` AS
(SELECT `ss_lines_1_moments`.`g0` AS `g0`, `ss_lines_1_moments`.`n` AS `n`, `ss_lines_1_moments`.`mv` AS `mv`, `ss_lines_1_moments`.`my` AS `my`, `ss_lines_1_moments`.`cov` AS `cov`, `ss_lines_1_moments`.`cross` AS `cross`, sqrt(greatest(`ss_lines_1_moments`.`cov`, %(greatest_3:FLOAT64)s)) AS `scale`
FROM `ss_lines_1_moments`),
`ss_lines_1_solved` AS
(SELECT `ss_lines_1_scaled`.`g0` AS `g0`, `ss_lines_1_scaled`.`n` AS `n`, `ss_lines_1_scaled`.`mv` AS `mv`, `ss_lines_1_scaled`.`my` AS `my`, CASE WHEN (`ss_lines_1_scaled`.`n` > %(n_4:INT64)s AND `ss_lines_1_scaled`.`scale` >= %(scale_2:FLOAT64)s) THEN ((`ss_lines_1_scaled`.`cross` / CAST(nullif(`ss_lines_1_scaled`.`scale`, %(nullif_4:FLOAT64)s) AS NUMERIC)) / CAST((`ss_lines_1_scaled`.`cov` / CAST((`ss_lines_1_scaled`.`scale` * `ss_lines_1_scaled`.`scale`) AS NUMERIC)) AS FLOAT64)) / CAST(`ss_lines_1_scaled`.`scale` AS NUMERIC) END AS `b`
FROM `ss_lines_1_scaled`),
`ss_lines_1_overall` AS
(SELECT `ss_lines_1_solved`.`n` AS `n`, `ss_lines_1_solved`.`my` - `ss_lines_1_solved`.`b` * `ss_lines_1_solved`.`mv` AS `a`, `ss_lines_1_solved`.`b` AS `b0`
FROM `ss_lines_1_solved`
WHERE `ss_lines_1_solved`.`g0` IS NULL),
`ss_lines_1_lines` AS
(SELECT `ss_lines_1_solved`.`g0` AS `g0`, CASE WHEN (`ss_lines_1_solved`.`b` IS NOT NULL AND `ss_lines_1_solved`.`n` >= %(n_3:INT64)s) THEN `ss_lines_1_solved`.`my` - `ss_lines_1_solved`.`b` * `ss_lines_1_solved`.`mv` ELSE `ss_lines_1_overall`.`a` END AS `a`, CASE WHEN (`ss_lines_1_solved`.`b` IS NOT NULL AND `ss_lines_1_solved`.`n` >= %(n_3:INT64)s) THEN `ss_lines_1_solved`.`b` ELSE `ss_lines_1_overall`.`b0` END AS `b0`, `ss_lines_1_solved`.`b` IS NOT NULL AND `ss_lines_1_solved`.`n` >= %(n_3:INT64)s AS `own`
FROM `ss_lines_1_solved` JOIN `ss_lines_1_overall` ON true
WHERE `ss_lines_1_solved`.`g0` IS NOT NULL),
`ss_lines_1_resid` AS
(SELECT `ss_sample`.`k` AS `k`, `ss_sample`.`x` AS `x`, `ss_sample`.`g0` AS `g0`, `ss_sample`.`y` AS `y`, `ss_sample`.`v0` AS `v0`, `ss_sample`.`group_rows` AS `group_rows`, `ss_sample`.`y` - (`ss_lines_1_lines`.`a` + `ss_lines_1_lines`.`b0` * `ss_sample`.`v0`) AS `e`
FROM `ss_sample` JOIN `ss_lines_1_lines` ON `ss_sample`.`g0` = `ss_lines_1_lines`.`g0`),
`ss_lines_1_spread` AS
(SELECT `ss_lines_1_resid`.`g0` AS `g0`, percentile_cont(%(percentile_cont_4:FLOAT64)s) WITHIN GROUP (ORDER BY abs(`ss_lines_1_resid`.`e`)) AS `mad`
FROM `ss_lines_1_resid` GROUP BY `ss_lines_1_resid`.`g0`),
`ss_lines_1_keep` AS
(SELECT `ss_lines_1_resid`.`k` AS `k`, `ss_lines_1_resid`.`x` AS `x`, `ss_lines_1_resid`.`g0` AS `g0`, `ss_lines_1_resid`.`y` AS `y`, `ss_lines_1_resid`.`v0` AS `v0`, `ss_lines_1_resid`.`group_rows` AS `group_rows`, `ss_lines_1_resid`.`e` AS `e`
FROM `ss_lines_1_resid` JOIN `ss_lines_1_spread` ON `ss_lines_1_resid`.`g0` = `ss_lines_1_spread`.`g0`
WHERE abs(`ss_lines_1_resid`.`e`) <= %(greatest_4:FLOAT64)s * greatest(%(mad_1:FLOAT64)s * `ss_lines_1_spread`.`mad`, %(greatest_5:FLOAT64)s)),
`ss_lines_2_sums` AS
(SELECT `ss_lines_1_keep`.`g0` AS `g0`, count(*) AS `n`, sum(CAST(`ss_lines_1_keep`.`y` AS BIGNUMERIC)) AS `sy`, sum(CAST(`ss_lines_1_keep`.`v0` AS BIGNUMERIC)) AS `s0`, sum(CAST(`ss_lines_1_keep`.`v0` * `ss_lines_1_keep`.`y` AS BIGNUMERIC)) AS `s0y`, sum(CAST(`ss_lines_1_keep`.`v0` * `ss_lines_1_keep`.`v0` AS BIGNUMERIC)) AS `s0_0`
FROM `ss_lines_1_keep`
WHERE `ss_lines_1_keep`.`v0` IS NOT NULL GROUP BY GROUPING SETS((`ss_lines_1_keep`.`g0`), ()) ORDER BY `ss_lines_1_keep`.`g0`),
`ss_lines_2_means` AS
(SELECT `ss_lines_2_sums`.`g0` AS `g0`, `ss_lines_2_sums`.`n` AS `n`, `ss_lines_2_sums`.`s0_0` AS `s0_0`, `ss_lines_2_sums`.`s0y` AS `s0y`, CAST(`ss_lines_2_sums`.`s0` AS FLOAT64) / CAST(CAST(nullif(`ss_lines_2_sums`.`n`, %(nullif_3:INT64)s) AS FLOAT64) AS FLOAT64) AS `mv`, CAST(`ss_lines_2_sums`.`sy` AS FLOAT64) / CAST(CAST(nullif(`ss_lines_2_sums`.`n`, %(nullif_3:INT64)s) AS FLOAT64) AS FLOAT64) AS `my`
FROM `ss_lines_2_sums`),
`ss_lines_2_moments` AS
(SELECT `ss_lines_2_means`.`g0` AS `g0`, `ss_lines_2_means`.`n` AS `n`, `ss_lines_2_means`.`mv` AS `mv`, `ss_lines_2_means`.`my` AS `my`, CAST(`ss_lines_2_means`.`s0_0` AS FLOAT64) / CAST(CAST(nullif(`ss_lines_2_means`.`n`, %(nullif_2:INT64)s) AS FLOAT64) AS FLOAT64) - `ss_lines_2_means`.`mv` * `ss_lines_2_means`.`mv` AS `cov`, CAST(`ss_lines_2_means`.`s0y` AS FLOAT64) / CAST(CAST(nullif(`ss_lines_2_means`.`n`, %(nullif_2:INT64)s) AS FLOAT64) AS FLOAT64) - `ss_lines_2_means`.`mv` * `ss_lines_2_means`.`my` AS `cross`
FROM `ss_lines_2_means`),
`ss_lines_2_scaled` AS
(SELECT `ss_lines_2_moments`.`g0` AS `g0`, `ss_lines_2_moments`.`n` AS `n`, `ss_lines_2_moments`.`mv` AS `mv`, `ss_lines_2_moments`.`my` AS `my`, `ss_lines_2_moments`.`cov` AS `cov`, `ss_lines_2_moments`.`cross` AS `cross`, sqrt(greatest(`ss_lines_2_moments`.`cov`, %(greatest_2:FLOAT64)s)) AS `scale`
FROM `ss_lines_2_moments`),
`ss_lines_2_solved` AS
(SELECT `ss_lines_2_scaled`.`g0` AS `g0`, `ss_lines_2_scaled`.`n` AS `n`, `ss_lines_2_scaled`.`mv` AS `mv`, `ss_lines_2_scaled`.`my` AS `my`, CASE WHEN (`ss_lines_2_scaled`.`n` > %(n_2:INT64)s AND `ss_lines_2_scaled`.`scale` >= %(scale_1:FLOAT64)s) THEN ((`ss_lines_2_scaled`.`cross` / CAST(nullif(`ss_lines_2_scaled`.`scale`, %(nullif_1:FLOAT64)s) AS NUMERIC)) / CAST((`ss_lines_2_scaled`.`cov` / CAST((`ss_lines_2_scaled`.`scale` * `ss_lines_2_scaled`.`scale`) AS NUMERIC)) AS FLOAT64)) / CAST(`ss_lines_2_scaled`.`scale` AS NUMERIC) END AS `b`
FROM `ss_lines_2_scaled`),
`ss_lines_2_overall` AS
(SELECT `ss_lines_2_solved`.`n` AS `n`, `ss_lines_2_solved`.`my` - `ss_lines_2_solved`.`b` * `ss_lines_2_solved`.`mv` AS `a`, `ss_lines_2_solved`.`b` AS `b0`
FROM `ss_lines_2_solved`
WHERE `ss_lines_2_solved`.`g0` IS NULL),
`ss_lines_2_lines` AS
(SELECT `ss_lines_2_solved`.`g0` AS `g0`, CASE WHEN (`ss_lines_2_solved`.`b` IS NOT NULL AND `ss_lines_2_solved`.`n` >= %(n_1:INT64)s) THEN `ss_lines_2_solved`.`my` - `ss_lines_2_solved`.`b` * `ss_lines_2_solved`.`mv` ELSE `ss_lines_2_overall`.`a` END AS `a`, CASE WHEN (`ss_lines_2_solved`.`b` IS NOT NULL AND `ss_lines_2_solved`.`n` >= %(n_1:INT64)s) THEN `ss_lines_2_solved`.`b` ELSE `ss_lines_2_overall`.`b0` END AS `b0`, `ss_lines_2_solved`.`b` IS NOT NULL AND `ss_lines_2_solved`.`n` >= %(n_1:INT64)s AS `own`
FROM `ss_lines_2_solved` JOIN `ss_lines_2_overall` ON true
WHERE `ss_lines_2_solved`.`g0` IS NOT NULL),
`ss_lines` AS
(SELECT `ss_lines_2_lines`.`g0` AS `g0`, `ss_lines_2_lines`.`a` AS `a`, `ss_lines_2_lines`.`b0` AS `b0`, `ss_lines_2_lines`.`own` AS `own`
FROM `ss_lines_2_lines`),
`ss_resid` AS
(SELECT `ss_sample`.`g0` AS `g0`, `ss_sample`.`group_rows` AS `group_rows`, `ss_sample`.`y` - (`ss_lines`.`a` + `ss_lines`.`b0` * `ss_sample`.`v0`) AS `y`
FROM `ss_sample` JOIN `ss_lines` ON `ss_sample`.`g0` = `ss_lines`.`g0`),
`ss_med` AS
(SELECT `ss_resid`.`g0` AS `g0`, percentile_cont(%(percentile_cont_6:FLOAT64)s) WITHIN GROUP (ORDER BY `ss_resid`.`y`) AS `m`, max(`ss_resid`.`group_rows`) AS `n`
FROM `ss_resid` GROUP BY `ss_resid`.`g0`),
`ss_dev` AS
(SELECT `ss_med`.`g0` AS `g0`, `ss_med`.`m` AS `m`, `ss_med`.`n` AS `n`, percentile_cont(%(percentile_cont_5:FLOAT64)s) WITHIN GROUP (ORDER BY abs(`ss_resid`.`y` - `ss_med`.`m`)) AS `mad`
FROM `ss_resid` JOIN `ss_med` ON `ss_resid`.`g0` = `ss_med`.`g0` GROUP BY `ss_med`.`g0`, `ss_med`.`m`, `ss_med`.`n`),
`ss_lines_overall` AS
(SELECT `ss_lines_1_overall`.`n` AS `n1`, `ss_lines_1_overall`.`b0` IS NOT NULL AS `ok1`, `ss_lines_2_overall`.`n` AS `n2`, `ss_lines_2_overall`.`b0` IS NOT NULL AS `ok2`, `ss_lines_2_overall`.`a` AS `oa`, `ss_lines_2_overall`.`b0` AS `ob0`
FROM `ss_lines_1_overall` JOIN `ss_lines_2_overall` ON true)
 SELECT `ss_dev`.`g0`, `ss_dev`.`m`, `ss_dev`.`n`, `ss_dev`.`mad`, percentile_cont(%(percentile_cont_1:FLOAT64)s) WITHIN GROUP (ORDER BY `ss_resid`.`y`) AS `q25`, percentile_cont(%(percentile_cont_2:FLOAT64)s) WITHIN GROUP (ORDER BY `ss_resid`.`y`) AS `q50`, percentile_cont(%(percentile_cont_3:FLOAT64)s) WITHIN GROUP (ORDER BY `ss_resid`.`y`) AS `q75`, `ss_lines`.`a` AS `fit_a`, `ss_lines`.`b0` AS `fit_b0`, `ss_lines_overall`.`n1` AS `fit_n1`, `ss_lines_overall`.`ok1` AS `fit_ok1`, `ss_lines_overall`.`n2` AS `fit_n2`, `ss_lines_overall`.`ok2` AS `fit_ok2`, `ss_lines_overall`.`oa` AS `fit_oa`, `ss_lines_overall`.`ob0` AS `fit_ob0`
FROM `ss_resid` JOIN `ss_dev` ON `ss_resid`.`g0` = `ss_dev`.`g0` LEFT OUTER JOIN `ss_lines` ON `ss_dev`.`g0` = `ss_lines`.`g0` JOIN `ss_lines_overall` ON true
WHERE abs(`ss_resid`.`y` - `ss_dev`.`m`) <= greatest(%(mad_2:FLOAT64)s * `ss_dev`.`mad`, %(greatest_6:FLOAT64)s) GROUP BY `ss_dev`.`g0`, `ss_dev`.`m`, `ss_dev`.`n`, `ss_dev`.`mad`, `fit_a`, `fit_b0`, `fit_n1`, `fit_ok1`, `fit_n2`, `fit_ok2`, `fit_oa`, `fit_ob0` ORDER BY `ss_dev`.`g0`
-- params: {"greatest_1": 2000, "param_1": 200000, "param_2": 4, "param_3": "CHF", "param_4": 1, "param_5": "EUR", "param_6": 89, "param_7": "JPY", "param_8": 6, "param_9": "USD", "param_10": 264, "coalesce_1": "(null)", "coalesce_2": "(null)", "amount_1": 0, "seats_1": 0, "hashtextextended_1": 0, "hashtextextended_2": 1000003, "param_11": 1000003, "nullif_6": 0, "nullif_5": 0, "greatest_3": 0.0, "n_4": 1, "scale_2": 1e-09, "nullif_4": 0.0, "n_3": 20, "percentile_cont_4": 0.5, "greatest_4": 4.0, "mad_1": 1.4826, "greatest_5": 0.01, "nullif_3": 0, "nullif_2": 0, "greatest_2": 0.0, "n_2": 1, "scale_1": 1e-09, "nullif_1": 0.0, "n_1": 20, "percentile_cont_6": 0.5, "percentile_cont_5": 0.5, "percentile_cont_1": 0.25, "percentile_cont_2": 0.5, "percentile_cont_3": 0.75, "mad_2": 4.4478, "greatest_6": 0.5}
-- statement 5
WITH `ss_counts` AS
(SELECT `ss_known`.`g0` AS `g0`, CAST(`ss_known`.`group_rows` AS INT64) AS `group_rows`, CAST(greatest(%(greatest_1:INT64)s, %(param_1:INT64)s / CAST(CAST(%(param_2:INT64)s AS INT64) AS NUMERIC)) AS FLOAT64) AS `cap`
FROM (VALUES (%(param_3:STRING)s, %(param_4:INT64)s), (%(param_5:STRING)s, %(param_6:INT64)s), (%(param_7:STRING)s, %(param_8:INT64)s), (%(param_9:STRING)s, %(param_10:INT64)s)) AS `ss_known` (`g0`, `group_rows`)),
`ss_sample` AS
(SELECT `deals`.`id` AS `k`, `deals`.`amount` AS `x`, coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `g0`, log10(abs(CAST(`deals`.`amount` AS FLOAT64))) AS `y`, log10(abs(CAST(`deals`.`seats` AS FLOAT64))) AS `v0`, `ss_counts`.`group_rows` AS `group_rows`
FROM `sales`.`deals` JOIN `ss_counts` ON coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_2:STRING)s) = `ss_counts`.`g0`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND `deals`.`seats` IS NOT NULL AND `deals`.`seats` != %(seats_1:INT64)s AND (`ss_counts`.`group_rows` <= `ss_counts`.`cap` OR CAST(CAST(abs(MOD(hashtextextended(CAST(`deals`.`id` AS STRING), %(hashtextextended_1:INT64)s), %(hashtextextended_2:INT64)s)) AS INT64) AS FLOAT64) / CAST(%(param_11:INT64)s AS NUMERIC) < `ss_counts`.`cap` / CAST(CAST(`ss_counts`.`group_rows` AS FLOAT64) AS FLOAT64))),
`ss_units` AS
(SELECT `ss_sample`.`g0` AS `lab`, (`ss_sample`.`y` - `ss_refs`.`c`) - `ss_refs`.`b0` * `ss_sample`.`v0` AS `r`
FROM `ss_sample` JOIN (VALUES (%(param_12:STRING)s, %(param_13:FLOAT64)s, %(param_14:FLOAT64)s)) AS `ss_refs` (`pg`, `c`, `b0`) ON %(param_15:STRING)s = `ss_refs`.`pg`
WHERE `ss_sample`.`g0` IN UNNEST(%(g0_1:STRING)s)),
`ss_units_med` AS
(SELECT `ss_units`.`lab` AS `lab`, percentile_cont(%(percentile_cont_2:FLOAT64)s) WITHIN GROUP (ORDER BY `ss_units`.`r`) AS `o`, count(*) AS `n`
FROM `ss_units` GROUP BY `ss_units`.`lab`)
 SELECT `ss_units_med`.`lab`, `ss_units_med`.`o`, `ss_units_med`.`n`, percentile_cont(%(percentile_cont_1:FLOAT64)s) WITHIN GROUP (ORDER BY abs(`ss_units`.`r` - `ss_units_med`.`o`)) AS `mad`
FROM `ss_units` JOIN `ss_units_med` ON `ss_units`.`lab` = `ss_units_med`.`lab` GROUP BY `ss_units_med`.`lab`, `ss_units_med`.`o`, `ss_units_med`.`n` ORDER BY `ss_units_med`.`lab`
-- params: {"greatest_1": 2000, "param_1": 200000, "param_2": 4, "param_3": "CHF", "param_4": 1, "param_5": "EUR", "param_6": 89, "param_7": "JPY", "param_8": 6, "param_9": "USD", "param_10": 264, "coalesce_1": "(null)", "coalesce_2": "(null)", "amount_1": 0, "seats_1": 0, "hashtextextended_1": 0, "hashtextextended_2": 1000003, "param_11": 1000003, "param_12": "(all)", "param_13": 2.9874853897264226, "param_14": 1.003907078580196, "param_15": "(all)", "g0_1": ["USD", "CHF", "EUR", "JPY"], "percentile_cont_2": 0.5, "percentile_cont_1": 0.5}
-- statement 6
SELECT min(`deals`.`seats`) AS `lo0`, max(`deals`.`seats`) AS `hi0`
FROM `sales`.`deals`
-- statement 7
WITH `ss_tails` AS
(SELECT `ss_rows`.`k` AS `k`, `ss_rows`.`x` AS `x`, `ss_rows`.`g0` AS `g0`, `ss_stats`.`pool` AS `lab`, (`ss_rows`.`y` - `ss_stats`.`m`) - (`ss_lines`.`a` + `ss_lines`.`b0` * `ss_rows`.`v0`) AS `d`, greatest(%(sigma_1:FLOAT64)s * `ss_stats`.`sigma`, %(greatest_2:FLOAT64)s) AS `edge`, `ss_stats`.`sigma` AS `spread`
FROM (SELECT `deals`.`id` AS `k`, `deals`.`amount` AS `x`, coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `g0`, log10(abs(CAST(`deals`.`amount` AS FLOAT64))) AS `y`, log10(abs(CAST(`deals`.`seats` AS FLOAT64))) AS `v0`
FROM `sales`.`deals`
WHERE `deals`.`amount` IS NOT NULL AND `deals`.`amount` != %(amount_1:INT64)s AND `deals`.`seats` IS NOT NULL AND `deals`.`seats` != %(seats_1:INT64)s) AS `ss_rows` JOIN (VALUES (%(param_5:STRING)s, %(param_6:STRING)s, %(param_7:FLOAT64)s, %(param_8:FLOAT64)s), (%(param_9:STRING)s, %(param_10:STRING)s, %(param_11:FLOAT64)s, %(param_12:FLOAT64)s), (%(param_13:STRING)s, %(param_14:STRING)s, %(param_15:FLOAT64)s, %(param_16:FLOAT64)s), (%(param_17:STRING)s, %(param_18:STRING)s, %(param_19:FLOAT64)s, %(param_20:FLOAT64)s)) AS `ss_stats` (`g0`, `pool`, `m`, `sigma`) ON `ss_rows`.`g0` = `ss_stats`.`g0` JOIN (VALUES (%(param_21:STRING)s, %(param_22:FLOAT64)s, %(param_23:FLOAT64)s), (%(param_24:STRING)s, %(param_25:FLOAT64)s, %(param_26:FLOAT64)s), (%(param_27:STRING)s, %(param_28:FLOAT64)s, %(param_29:FLOAT64)s), (%(param_30:STRING)s, %(param_31:FLOAT64)s, %(param_32:FLOAT64)s)) AS `ss_lines` (`g0`, `a`, `b0`) ON `ss_rows`.`g0` = `ss_lines`.`g0`
WHERE abs((`ss_rows`.`y` - %(v0_1:FLOAT64)s * `ss_rows`.`v0`) - %(param_33:FLOAT64)s) + %(param_34:FLOAT64)s + %(abs_1:FLOAT64)s * abs(`ss_rows`.`v0`) > %(param_35:FLOAT64)s),
`ss_summary` AS
(SELECT `ss_tails`.`lab` AS `lab`, sum(CASE WHEN (`ss_tails`.`d` > `ss_tails`.`edge`) THEN %(param_1:INT64)s ELSE %(param_2:INT64)s END) AS `up`, sum(CASE WHEN (`ss_tails`.`d` < -`ss_tails`.`edge`) THEN %(param_3:INT64)s ELSE %(param_4:INT64)s END) AS `down`, percentile_cont(%(percentile_cont_1:FLOAT64)s) WITHIN GROUP (ORDER BY (`ss_tails`.`d` - `ss_tails`.`edge`) / CAST(greatest(`ss_tails`.`spread`, %(greatest_1:FLOAT64)s) AS NUMERIC)) FILTER (WHERE `ss_tails`.`d` > `ss_tails`.`edge`) AS `up_beyond`, percentile_cont(%(percentile_cont_2:FLOAT64)s) WITHIN GROUP (ORDER BY (-`ss_tails`.`d` - `ss_tails`.`edge`) / CAST(greatest(`ss_tails`.`spread`, %(greatest_1:FLOAT64)s) AS NUMERIC)) FILTER (WHERE `ss_tails`.`d` < -`ss_tails`.`edge`) AS `down_beyond`
FROM `ss_tails` GROUP BY `ss_tails`.`lab`),
`ss_sides` AS
(SELECT `ss_summary`.`lab` AS `lab`, %(param_36:INT64)s AS `sign`
FROM `ss_summary` JOIN (VALUES (%(param_37:STRING)s, %(param_38:FLOAT64)s, %(param_39:FLOAT64)s), (%(param_40:STRING)s, %(param_41:FLOAT64)s, %(param_42:FLOAT64)s), (%(param_43:STRING)s, %(param_44:FLOAT64)s, %(param_45:FLOAT64)s), (%(param_46:STRING)s, %(param_47:FLOAT64)s, %(param_48:FLOAT64)s)) AS `ss_shape` (`lab`, `n`, `skew`) ON `ss_summary`.`lab` = `ss_shape`.`lab`
WHERE `ss_summary`.`up` - `ss_summary`.`down` >= %(param_49:INT64)s AND `ss_summary`.`up` >= %(greatest_3:INT64)s * greatest(`ss_summary`.`down`, %(greatest_4:INT64)s) AND `ss_summary`.`up_beyond` >= CASE WHEN (%(skew_1:INT64)s * `ss_shape`.`skew` > %(param_50:FLOAT64)s) THEN greatest(%(greatest_5:FLOAT64)s, %(param_51:FLOAT64)s + %(sqrt_1:FLOAT64)s / CAST(sqrt(`ss_summary`.`up`) AS NUMERIC)) WHEN (`ss_summary`.`up` > %(n_1:FLOAT64)s * `ss_shape`.`n`) THEN %(param_52:FLOAT64)s ELSE %(param_53:FLOAT64)s END AND `ss_summary`.`up` <= %(up_1:INT64)s UNION ALL SELECT `ss_summary`.`lab` AS `lab`, %(param_54:INT64)s AS `sign`
FROM `ss_summary` JOIN (VALUES (%(param_55:STRING)s, %(param_56:FLOAT64)s, %(param_57:FLOAT64)s), (%(param_58:STRING)s, %(param_59:FLOAT64)s, %(param_60:FLOAT64)s), (%(param_61:STRING)s, %(param_62:FLOAT64)s, %(param_63:FLOAT64)s), (%(param_64:STRING)s, %(param_65:FLOAT64)s, %(param_66:FLOAT64)s)) AS `ss_shape` (`lab`, `n`, `skew`) ON `ss_summary`.`lab` = `ss_shape`.`lab`
WHERE `ss_summary`.`down` - `ss_summary`.`up` >= %(param_67:INT64)s AND `ss_summary`.`down` >= %(greatest_6:INT64)s * greatest(`ss_summary`.`up`, %(greatest_7:INT64)s) AND `ss_summary`.`down_beyond` >= CASE WHEN (%(skew_2:INT64)s * `ss_shape`.`skew` > %(param_68:FLOAT64)s) THEN greatest(%(greatest_8:FLOAT64)s, %(param_69:FLOAT64)s + %(sqrt_2:FLOAT64)s / CAST(sqrt(`ss_summary`.`down`) AS NUMERIC)) WHEN (`ss_summary`.`down` > %(n_2:FLOAT64)s * `ss_shape`.`n`) THEN %(param_70:FLOAT64)s ELSE %(param_71:FLOAT64)s END AND `ss_summary`.`down` <= %(down_1:INT64)s)
 SELECT `ss_summary`.`lab`, `ss_summary`.`up`, `ss_summary`.`down`, `ss_summary`.`up_beyond`, `ss_summary`.`down_beyond`, `ss_side_rows`.`sign`, `ss_side_rows`.`k`, `ss_side_rows`.`x`, `ss_side_rows`.`g0`, `ss_side_rows`.`d`, `ss_side_rows`.`spread`
FROM `ss_summary` LEFT OUTER JOIN (SELECT `ss_tails`.`lab` AS `lab`, `ss_sides`.`sign` AS `sign`, `ss_tails`.`k` AS `k`, `ss_tails`.`x` AS `x`, `ss_tails`.`g0` AS `g0`, `ss_tails`.`d` AS `d`, `ss_tails`.`spread` AS `spread`
FROM `ss_tails` JOIN `ss_sides` ON `ss_tails`.`lab` = `ss_sides`.`lab` AND `ss_sides`.`sign` * `ss_tails`.`d` > `ss_tails`.`edge`) AS `ss_side_rows` ON `ss_summary`.`lab` = `ss_side_rows`.`lab` ORDER BY `ss_summary`.`lab`, `ss_side_rows`.`sign`, `ss_side_rows`.`k`
-- params: {"sigma_1": 3.0, "greatest_2": 0.5, "coalesce_1": "(null)", "amount_1": 0, "seats_1": 0, "param_5": "CHF", "param_6": "CHF", "param_7": 0.016799931214942276, "param_8": 0.0, "param_9": "EUR", "param_10": "EUR", "param_11": -0.0032907592368092153, "param_12": 0.0751362124612964, "param_13": "JPY", "param_14": "JPY", "param_15": 2.14608500739757, "param_16": 0.049730459012577895, "param_17": "USD", "param_18": "USD", "param_19": -0.0030517449098246274, "param_20": 0.0762270599453426, "param_21": "CHF", "param_22": 2.971256213890831, "param_23": 1.034321928837279, "param_24": "EUR", "param_25": 2.99413549008466, "param_26": 1.0035356652944185, "param_27": "JPY", "param_28": 2.971256213890831, "param_29": 1.034321928837279, "param_30": "USD", "param_31": 2.9905371346362473, "param_32": 1.003907078580196, "v0_1": 1.0189287970658487, "param_33": 4.052413305507412, "param_34": 1e-09, "abs_1": 0.015393131771430202, "param_35": -0.564927915780989, "param_1": 1, "param_2": 0, "param_3": 1, "param_4": 0, "percentile_cont_1": 0.5, "greatest_1": 1e-12, "percentile_cont_2": 0.5, "param_36": 1, "param_37": "CHF", "param_38": 1.0, "param_39": 0.0, "param_40": "EUR", "param_41": 89.0, "param_42": 0.10057458896053158, "param_43": "JPY", "param_44": 6.0, "param_45": -0.09511580770876925, "param_46": "USD", "param_47": 264.0, "param_48": 0.07021466094902573, "param_49": 5, "greatest_3": 3, "greatest_4": 1, "skew_1": 1, "param_50": 0.05, "greatest_5": 1.5, "param_51": 0.97, "sqrt_1": 2.8, "n_1": 0.1, "param_52": 1.5, "param_53": 1.0, "up_1": 50000, "param_54": -1, "param_55": "CHF", "param_56": 1.0, "param_57": 0.0, "param_58": "EUR", "param_59": 89.0, "param_60": 0.10057458896053158, "param_61": "JPY", "param_62": 6.0, "param_63": -0.09511580770876925, "param_64": "USD", "param_65": 264.0, "param_66": 0.07021466094902573, "param_67": 5, "greatest_6": 3, "greatest_7": 1, "skew_2": -1, "param_68": 0.05, "greatest_8": 1.5, "param_69": 0.97, "sqrt_2": 2.8, "n_2": 0.1, "param_70": 1.5, "param_71": 1.0, "down_1": 50000}
-- statement 8
SELECT coalesce(CAST(`deals`.`currency` AS STRING), %(coalesce_1:STRING)s) AS `value`, CAST(`deals`.`updated_at` AS DATETIME) >= %(param_1:DATETIME)s AS `recent`, count(*) AS `n`
FROM `sales`.`deals`
WHERE `deals`.`updated_at` IS NOT NULL GROUP BY `coalesce_2`, `recent`
-- params: {"coalesce_1": "(null)", "param_1": "datetime 2026-06-14 09:30:00"}
-- results
-- subschema(amount): fail (share_shift): share shift: EUR 24.9% -> 16.7%, USD 73.2% -> 83.3%; amount mixes currencies: the 6 rows labelled JPY sit 2.18 decades above the USD rows (on the residual of the fit on seats), the JPY/USD factor 150 (the rates of config fx_rates): a sum or mean over amount adds one unit to another
