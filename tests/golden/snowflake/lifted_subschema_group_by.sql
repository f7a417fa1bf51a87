-- golden SQL: case lifted_subschema_group_by, dialect snowflake (paramstyle pyformat)
-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py
-- run 1
-- describe sales.deals: id INTEGER, owner VARCHAR(50), region VARCHAR(20), currency VARCHAR(3), seats INTEGER, amount DOUBLE, list_price DOUBLE, booked DOUBLE, score DOUBLE, code VARCHAR(20), updated_at datetime, created_at TIMESTAMP_TZ
-- statement 1
SELECT sum(sales.deals.amount) AS a0
FROM sales.deals
-- statement 2
SELECT coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_1)s) AS value, count(*) AS n, count(*) OVER () AS categories
FROM sales.deals GROUP BY coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_1)s)
 LIMIT %(param_1)s
-- params: {"coalesce_1": "(null)", "param_1": 10001}
-- statement 3
SELECT coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) AS g0, coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_2)s) AS g1, count(*) AS group_rows
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != %(amount_1)s GROUP BY coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s), coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_2)s) ORDER BY coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s), coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_2)s)
-- params: {"coalesce_1": "(null)", "coalesce_2": "(null)", "amount_1": 0}
-- statement 4
WITH ss_counts AS
(SELECT ss_known.g0 AS g0, ss_known.g1 AS g1, CAST(ss_known.group_rows AS BIGINT) AS group_rows, CAST(greatest(%(greatest_1)s, %(param_6)s / CAST(%(param_7)s AS BIGINT)) AS FLOAT) AS cap
FROM (VALUES (%(param_8)s, %(param_9)s, %(param_10)s), (%(param_11)s, %(param_12)s, %(param_13)s), (%(param_14)s, %(param_15)s, %(param_16)s), (%(param_17)s, %(param_18)s, %(param_19)s), (%(param_20)s, %(param_21)s, %(param_22)s), (%(param_23)s, %(param_24)s, %(param_25)s), (%(param_26)s, %(param_27)s, %(param_28)s), (%(param_29)s, %(param_30)s, %(param_31)s), (%(param_32)s, %(param_33)s, %(param_34)s), (%(param_35)s, %(param_36)s, %(param_37)s), (%(param_38)s, %(param_39)s, %(param_40)s)) AS ss_known (g0, g1, group_rows)),
ss_sample AS
(SELECT sales.deals.id AS k, sales.deals.amount AS x, %(param_1)s || CAST(length(coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s)) AS VARCHAR) || %(param_2)s || coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) || CAST(length(coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_2)s)) AS VARCHAR) || %(param_3)s || coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_2)s) AS g0, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y, coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_2)s) AS lab, %(param_4)s || CAST(length(coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s)) AS VARCHAR) || %(param_5)s || coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) AS pg, ss_counts.group_rows AS group_rows
FROM sales.deals JOIN ss_counts ON coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_3)s) = ss_counts.g0 AND coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_4)s) = ss_counts.g1
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != %(amount_1)s AND (ss_counts.group_rows <= ss_counts.cap OR CAST(CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), %(hashtextextended_1)s) %% %(hashtextextended_2)s) AS INTEGER) AS FLOAT) / %(param_41)s < ss_counts.cap / CAST(ss_counts.group_rows AS FLOAT))),
ss_resid AS
(SELECT ss_sample.g0 AS g0, ss_sample.group_rows AS group_rows, ss_sample.y AS y
FROM ss_sample),
ss_med AS
(SELECT ss_resid.g0 AS g0, percentile_cont(%(percentile_cont_5)s) WITHIN GROUP (ORDER BY ss_resid.y) AS m, max(ss_resid.group_rows) AS n
FROM ss_resid GROUP BY ss_resid.g0),
ss_dev AS
(SELECT ss_med.g0 AS g0, ss_med.m AS m, ss_med.n AS n, percentile_cont(%(percentile_cont_4)s) WITHIN GROUP (ORDER BY abs(ss_resid.y - ss_med.m)) AS mad
FROM ss_resid JOIN ss_med ON ss_resid.g0 = ss_med.g0 GROUP BY ss_med.g0, ss_med.m, ss_med.n)
 SELECT ss_dev.g0, ss_dev.m, ss_dev.n, ss_dev.mad, percentile_cont(%(percentile_cont_1)s) WITHIN GROUP (ORDER BY ss_resid.y) AS q25, percentile_cont(%(percentile_cont_2)s) WITHIN GROUP (ORDER BY ss_resid.y) AS q50, percentile_cont(%(percentile_cont_3)s) WITHIN GROUP (ORDER BY ss_resid.y) AS q75
FROM ss_resid JOIN ss_dev ON ss_resid.g0 = ss_dev.g0
WHERE abs(ss_resid.y - ss_dev.m) <= greatest(%(mad_1)s * ss_dev.mad, %(greatest_2)s) GROUP BY ss_dev.g0, ss_dev.m, ss_dev.n, ss_dev.mad ORDER BY ss_dev.g0
-- params: {"greatest_1": 2000, "param_6": 200000, "param_7": 11, "param_8": "AMER", "param_9": "EUR", "param_10": 30, "param_11": "AMER", "param_12": "JPY", "param_13": 2, "param_14": "AMER", "param_15": "USD", "param_16": 88, "param_17": "APAC", "param_18": "EUR", "param_19": 28, "param_20": "APAC", "param_21": "JPY", "param_22": 2, "param_23": "APAC", "param_24": "USD", "param_25": 89, "param_26": "EMEA", "param_27": "CHF", "param_28": 1, "param_29": "EMEA", "param_30": "EUR", "param_31": 30, "param_32": "EMEA", "param_33": "JPY", "param_34": 2, "param_35": "EMEA", "param_36": "USD", "param_37": 87, "param_38": "XX", "param_39": "EUR", "param_40": 1, "param_1": "", "coalesce_1": "(null)", "param_2": ":", "coalesce_2": "(null)", "param_3": ":", "param_4": "", "param_5": ":", "coalesce_3": "(null)", "coalesce_4": "(null)", "amount_1": 0, "hashtextextended_1": 0, "hashtextextended_2": 1000003, "param_41": 1000003, "percentile_cont_5": 0.5, "percentile_cont_4": 0.5, "percentile_cont_1": 0.25, "percentile_cont_2": 0.5, "percentile_cont_3": 0.75, "mad_1": 4.4478, "greatest_2": 0.5}
-- statement 5
WITH ss_counts AS
(SELECT ss_known.g0 AS g0, ss_known.g1 AS g1, CAST(ss_known.group_rows AS BIGINT) AS group_rows, CAST(greatest(%(greatest_1)s, %(param_6)s / CAST(%(param_7)s AS BIGINT)) AS FLOAT) AS cap
FROM (VALUES (%(param_8)s, %(param_9)s, %(param_10)s), (%(param_11)s, %(param_12)s, %(param_13)s), (%(param_14)s, %(param_15)s, %(param_16)s), (%(param_17)s, %(param_18)s, %(param_19)s), (%(param_20)s, %(param_21)s, %(param_22)s), (%(param_23)s, %(param_24)s, %(param_25)s), (%(param_26)s, %(param_27)s, %(param_28)s), (%(param_29)s, %(param_30)s, %(param_31)s), (%(param_32)s, %(param_33)s, %(param_34)s), (%(param_35)s, %(param_36)s, %(param_37)s), (%(param_38)s, %(param_39)s, %(param_40)s)) AS ss_known (g0, g1, group_rows)),
ss_sample AS
(SELECT sales.deals.id AS k, sales.deals.amount AS x, %(param_1)s || CAST(length(coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s)) AS VARCHAR) || %(param_2)s || coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) || CAST(length(coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_2)s)) AS VARCHAR) || %(param_3)s || coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_2)s) AS g0, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y, coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_2)s) AS lab, %(param_4)s || CAST(length(coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s)) AS VARCHAR) || %(param_5)s || coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) AS pg, ss_counts.group_rows AS group_rows
FROM sales.deals JOIN ss_counts ON coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_3)s) = ss_counts.g0 AND coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_4)s) = ss_counts.g1
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != %(amount_1)s AND (ss_counts.group_rows <= ss_counts.cap OR CAST(CAST(abs(hashtextextended(CAST(sales.deals.id AS VARCHAR), %(hashtextextended_1)s) %% %(hashtextextended_2)s) AS INTEGER) AS FLOAT) / %(param_41)s < ss_counts.cap / CAST(ss_counts.group_rows AS FLOAT))),
ss_units AS
(SELECT ss_sample.lab AS lab, ss_sample.y - ss_refs.c AS r
FROM ss_sample JOIN (VALUES (%(param_42)s, %(param_43)s), (%(param_44)s, %(param_45)s), (%(param_46)s, %(param_47)s)) AS ss_refs (pg, c) ON ss_sample.pg = ss_refs.pg
WHERE ss_sample.lab IN (%(lab_1_1)s, %(lab_1_2)s, %(lab_1_3)s, %(lab_1_4)s)),
ss_units_med AS
(SELECT ss_units.lab AS lab, percentile_cont(%(percentile_cont_2)s) WITHIN GROUP (ORDER BY ss_units.r) AS o, count(*) AS n
FROM ss_units GROUP BY ss_units.lab)
 SELECT ss_units_med.lab, ss_units_med.o, ss_units_med.n, percentile_cont(%(percentile_cont_1)s) WITHIN GROUP (ORDER BY abs(ss_units.r - ss_units_med.o)) AS mad
FROM ss_units JOIN ss_units_med ON ss_units.lab = ss_units_med.lab GROUP BY ss_units_med.lab, ss_units_med.o, ss_units_med.n ORDER BY ss_units_med.lab
-- params: {"greatest_1": 2000, "param_6": 200000, "param_7": 11, "param_8": "AMER", "param_9": "EUR", "param_10": 30, "param_11": "AMER", "param_12": "JPY", "param_13": 2, "param_14": "AMER", "param_15": "USD", "param_16": 88, "param_17": "APAC", "param_18": "EUR", "param_19": 28, "param_20": "APAC", "param_21": "JPY", "param_22": 2, "param_23": "APAC", "param_24": "USD", "param_25": 89, "param_26": "EMEA", "param_27": "CHF", "param_28": 1, "param_29": "EMEA", "param_30": "EUR", "param_31": 30, "param_32": "EMEA", "param_33": "JPY", "param_34": 2, "param_35": "EMEA", "param_36": "USD", "param_37": 87, "param_38": "XX", "param_39": "EUR", "param_40": 1, "param_1": "", "coalesce_1": "(null)", "param_2": ":", "coalesce_2": "(null)", "param_3": ":", "param_4": "", "param_5": ":", "coalesce_3": "(null)", "coalesce_4": "(null)", "amount_1": 0, "hashtextextended_1": 0, "hashtextextended_2": 1000003, "param_41": 1000003, "param_42": "4:AMER", "param_43": 5.016193599456429, "param_44": "4:APAC", "param_45": 4.917092917670452, "param_46": "4:EMEA", "param_47": 4.979328759197423, "lab_1_1": "USD", "lab_1_2": "CHF", "lab_1_3": "EUR", "lab_1_4": "JPY", "percentile_cont_2": 0.5, "percentile_cont_1": 0.5}
-- statement 6
WITH ss_tails AS
(SELECT ss_rows.k AS k, ss_rows.x AS x, ss_rows.g0 AS g0, ss_stats.pool AS lab, ss_rows.y - ss_stats.m AS d, greatest(%(sigma_1)s * ss_stats.sigma, %(greatest_2)s) AS edge, ss_stats.sigma AS spread
FROM (SELECT sales.deals.id AS k, sales.deals.amount AS x, %(param_5)s || CAST(length(coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s)) AS VARCHAR) || %(param_6)s || coalesce(CAST(sales.deals.region AS VARCHAR), %(coalesce_1)s) || CAST(length(coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_2)s)) AS VARCHAR) || %(param_7)s || coalesce(CAST(sales.deals.currency AS VARCHAR), %(coalesce_2)s) AS g0, log10(abs(CAST(sales.deals.amount AS DOUBLE))) AS y
FROM sales.deals
WHERE sales.deals.amount IS NOT NULL AND sales.deals.amount != %(amount_1)s AND log10(abs(CAST(sales.deals.amount AS DOUBLE))) NOT BETWEEN %(log10_1)s AND %(log10_2)s) AS ss_rows JOIN (VALUES (%(param_8)s, %(param_9)s, %(param_10)s, %(param_11)s), (%(param_12)s, %(param_13)s, %(param_14)s, %(param_15)s), (%(param_16)s, %(param_17)s, %(param_18)s, %(param_19)s), (%(param_20)s, %(param_21)s, %(param_22)s, %(param_23)s), (%(param_24)s, %(param_25)s, %(param_26)s, %(param_27)s), (%(param_28)s, %(param_29)s, %(param_30)s, %(param_31)s)) AS ss_stats (g0, pool, m, sigma) ON ss_rows.g0 = ss_stats.g0)
 SELECT ss_tails.lab, sum(CASE WHEN (ss_tails.d > ss_tails.edge) THEN %(param_1)s ELSE %(param_2)s END) AS up, sum(CASE WHEN (ss_tails.d < -ss_tails.edge) THEN %(param_3)s ELSE %(param_4)s END) AS down, percentile_cont(%(percentile_cont_1)s) WITHIN GROUP (ORDER BY (ss_tails.d - ss_tails.edge) / greatest(ss_tails.spread, %(greatest_1)s)) FILTER (WHERE ss_tails.d > ss_tails.edge) AS up_beyond, percentile_cont(%(percentile_cont_2)s) WITHIN GROUP (ORDER BY (-ss_tails.d - ss_tails.edge) / greatest(ss_tails.spread, %(greatest_1)s)) FILTER (WHERE ss_tails.d < -ss_tails.edge) AS down_beyond
FROM ss_tails GROUP BY ss_tails.lab ORDER BY ss_tails.lab
-- params: {"sigma_1": 3.0, "greatest_2": 0.5, "param_5": "", "coalesce_1": "(null)", "param_6": ":", "coalesce_2": "(null)", "param_7": ":", "amount_1": 0, "log10_1": 4.189093628817001, "log10_2": 6.044386614967627, "param_8": "4:AMER3:EUR", "param_9": "EUR", "param_10": 4.850383497133826, "param_11": 0.4999736995132469, "param_12": "4:AMER3:USD", "param_13": "USD", "param_14": 5.016193599456429, "param_15": 0.39098710819061167, "param_16": "4:APAC3:EUR", "param_17": "EUR", "param_18": 5.116740121892314, "param_19": 0.30921549769177104, "param_20": "4:APAC3:USD", "param_21": "USD", "param_22": 4.917092917670452, "param_23": 0.5006164798941358, "param_24": "4:EMEA3:EUR", "param_25": "EUR", "param_26": 4.9543663436584495, "param_27": 0.4498741435254549, "param_28": "4:EMEA3:USD", "param_29": "USD", "param_30": 4.979328759197423, "param_31": 0.4045227544542407, "param_1": 1, "param_2": 0, "param_3": 1, "param_4": 0, "percentile_cont_1": 0.5, "greatest_1": 1e-12, "percentile_cont_2": 0.5}
-- results
-- subschema(amount): warn (mixed_units): amount mixes currencies: the 6 rows labelled JPY sit 2.36 decades above the USD rows, the JPY/USD factor 150 (the rates of config fx_rates): a sum or mean over amount adds one unit to another; 8 rows in 5 region group(s) of fewer than 20 rows were not judged for a second mode
