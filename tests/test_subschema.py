"""`subschema`: JPY/KRW amounts or x100 units hidden under an unchanged label, named with their factor;
new and re-weighted categories against the previous run; ratio drift against a reference column."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from frames import contracts, run_check, with_and_without_raw_test
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel.checks.subschema import name_offset


def amounts(n=4000, sigma=0.35, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "currency": ["USD"] * n,
            "amount": np.round(10 ** (4.3 + rng.normal(0, sigma, n)), 2),
        }
    )


def shift(df: pd.DataFrame, share: float, factor: float, seed=4) -> set[int]:
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(df), max(1, round(share * len(df))), replace=False)
    df.loc[rows, "amount"] = df.loc[rows, "amount"] * factor
    return set((rows + 1).tolist())


@pytest.mark.parametrize(
    "offset,label",
    [(2.176, "JPY"), (2.0, "x10^2"), (3.146, "KRW"), (-2.176, "USD labelled JPY"), (2.6, None)],
)
def test_offsets_are_named(offset, label):
    named = name_offset(offset, {})
    assert (named["label"] if named else None) == label
    assert named is None or named["alternatives"] == []


def test_factors_closer_than_the_tolerance_are_both_named():
    named = name_offset(1.0, {})  # SEK (10.5 per USD) is 0.02 decades from x10
    assert named["label"] == "x10^1" and named["alternatives"] == ["SEK"]


def test_a_noisy_offset_lists_the_alternatives():
    named = name_offset(2.05, {}, se=0.07)
    assert named["label"] == "x10^2" and "JPY" in named["alternatives"]


@pytest.mark.parametrize("sigma", [0.08, 0.35])
@pytest.mark.parametrize(
    "share,factor,label",
    [
        (0.01, 150.0, "JPY"),
        (0.005, 150.0, "JPY"),
        (0.02, 1400.0, "KRW"),
        (0.01, 100.0, "x10^2"),
        (0.03, 0.001, "/10^3"),
    ],
)
def test_a_small_share_of_shifted_rows_is_caught_and_named(share, factor, label, sigma):
    df = amounts(sigma=sigma)
    truth = shift(df, share, factor)
    res = run_check(df, "subschema", {"value_column": "amount", "category_column": "currency"})
    assert res.status == "fail" and res.diagnosis["cause"] == "unit_shift"
    (mode,) = res.evidence["modes"]
    named = mode["factor"]
    assert mode["label"] == "USD"
    if sigma < 0.1:  # a tight main mode names the factor (x100 and INR, 0.08 decades apart, may both show)
        assert named["label"] == label
    # a wide one (0.35 decades) cannot place 20-60 rows to a tenth of a decade: detection only
    flagged = {r["key"] for r in mode["rows"]["items"]}
    # on a wide main mode a few honest rows sit as far out as the shifted ones; a tight one separates them
    extra = max(2, 0.1 * len(truth)) if sigma < 0.1 else max(3, 0.2 * len(truth))
    assert len(flagged & truth) >= 0.9 * len(truth) and len(flagged - truth) <= extra
    some = mode["rows"]["items"][0]
    if named["kind"] == "power of ten":  # x / 10^k, exactly, from the stored double's digits
        assert Decimal(some["candidate"]) == Decimal(repr(some["value"])).scaleb(-named["k"])
        assert some["provenance"]["kind"] == "power_of_ten" and some["provenance"]["k"] == named["k"]
    else:  # no fx_rates given: a built-in rate names the currency, and produces no value to write
        assert "candidate" not in some and "provenance" not in some
        assert f"set fx_rates.{named['currency']} in config.yaml" in res.diagnosis["message"]


def test_fx_rates_from_config_override_the_builtin_ones():
    assert (name_offset(np.log10(118.0), {}) or {}).get("label") != "JPY"
    assert name_offset(np.log10(118.0), {"JPY": 118.0})["label"] == "JPY"


def test_a_shift_into_another_labels_range_is_still_caught():
    # honest JPY deals sit where yen-shifted USD rows land: the tail scan skips only rows in no label's tail
    usd, jpy = amounts(4000, sigma=0.1), amounts(1000, sigma=0.1, seed=5)
    jpy["id"] += 4000
    jpy["currency"] = "JPY"
    jpy["amount"] *= 150
    truth = shift(usd, 0.01, 150.0)
    res = run_check(
        pd.concat([usd, jpy], ignore_index=True), "subschema", {"value_column": "amount", "category_column": "currency"}
    )
    (mode,) = res.evidence["modes"]
    assert mode["label"] == "USD" and mode["factor"]["label"] == "JPY"
    assert {r["key"] for r in mode["rows"]["items"]} == truth


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6), sigma=st.floats(0.05, 0.6), n=st.integers(50, 5000), heavy=st.booleans())
def test_clean_data_raises_nothing(seed, sigma, n, heavy):
    rng = np.random.default_rng(seed)
    noise = rng.standard_t(6, n) * sigma * 0.8 if heavy else rng.normal(0, sigma, n)
    df = pd.DataFrame({"id": np.arange(n), "amount": 10 ** (3 + noise)})
    res = run_check(df, "subschema", {"value_column": "amount"})
    assert res.status == "pass", res.evidence


@pytest.mark.parametrize("alpha", [1.2, 2.0, 3.0])
@pytest.mark.parametrize("n", [500, 5000, 50000])
def test_one_sided_honest_tails_raise_nothing(alpha, n):
    """Pareto amounts: on the log scale the body leans up and the upper tail is exponential, so its rows
    beyond the edge are many and one-sided; they thin out from the edge and are not a second mode."""
    rng = np.random.default_rng(int(alpha * 10) + n)
    df = pd.DataFrame({"id": np.arange(n), "amount": np.round((rng.pareto(alpha, n) + 1) * 1000, 2)})
    res = run_check(df, "subschema", {"value_column": "amount"})
    assert res.status == "pass", res.evidence


@pytest.mark.parametrize("factor,label", [(84.0, "INR"), (100.0, "x10^2")])
def test_a_shift_just_past_a_wide_symmetric_body(factor, label):
    """0.45 decades of honest spread; 1% of rows x84 or x100 land 4.3 sigmas up, only a sigma past the tail
    edge: with a symmetric body nothing honest puts 40 rows there."""
    df = amounts(sigma=0.45, seed=12)
    truth = shift(df, 0.01, factor, seed=13)
    res = run_check(df, "subschema", {"value_column": "amount", "category_column": "currency"})
    (mode,) = res.evidence["modes"]
    flagged = {r["key"] for r in mode["rows"]["items"]}
    assert len(flagged & truth) >= 0.8 * len(truth) and len(flagged - truth) <= 5
    assert label in [mode["factor"]["label"], *mode["factor"]["alternatives"]]


def test_ratio_drift_against_a_reference_column():
    df = amounts(2000)
    rng = np.random.default_rng(9)
    df["usd_value"] = df["amount"] * (1 + rng.normal(0, 0.01, len(df)))
    truth = shift(df, 0.01, 150.0)  # local amounts in JPY, the USD reference unchanged
    res = run_check(df, "subschema", {"value_column": "amount", "reference_column": "usd_value"})
    (mode,) = res.evidence["modes"]
    assert mode["factor"]["label"] == "JPY" and {r["key"] for r in mode["rows"]["items"]} == truth


def test_new_and_reweighted_categories_and_backends(project, wh):
    from conftest import by_check

    df = amounts(3000)
    df["currency"] = np.where(np.arange(3000) % 5 == 0, "EUR", "USD")
    wh.execute("DROP TABLE IF EXISTS deals")
    wh.execute("CREATE TABLE deals (id INTEGER, currency VARCHAR(5), amount DOUBLE PRECISION)")
    wh.execute("INSERT INTO deals VALUES (:id, :currency, :amount)", df.to_dict("records"))
    project.dataset(
        wh,
        """
        - subschema: {value_column: amount, category_column: currency}
        """,
    )
    code, doc = project.run_json()
    res = by_check(doc)["subschema(amount)"]
    if wh.name == "sqlite":
        assert code == 3 and res["diagnosis"]["cause"] == "unsupported"
        return
    assert code == 0, res  # the first run learns the shares
    df.loc[:29, "currency"] = "CHF"  # 1% of deals arrive in a new currency
    df.loc[2000:, "amount"] = df.loc[2000:, "amount"] * 1.0
    df.loc[df.index[df.currency == "USD"][:40], "amount"] *= 150  # and JPY amounts hide under USD
    wh.execute("DELETE FROM deals")
    wh.execute("INSERT INTO deals VALUES (:id, :currency, :amount)", df.to_dict("records"))
    code, doc = project.run_json()
    res = by_check(doc)["subschema(amount)"]
    assert code == 1 and res["diagnosis"]["cause"] == "unit_shift"
    assert res["evidence"]["new_values"] == {"count": 1, "items": [{"value": "CHF", "count": 30}], "omitted": 0}
    (mode,) = res["evidence"]["modes"]
    assert mode["label"] == "USD" and mode["factor"]["label"] == "JPY" and mode["count"] >= 38
    assert "likely JPY" in res["diagnosis"]["message"] and "new currency value(s): CHF" in res["diagnosis"]["message"]


def test_explained_by_finds_a_shift_hidden_in_a_wide_column():
    """Amounts follow seats over three decades (with a volume discount, so no fixed ratio): by value alone 1% of
    rows in cents sit inside the honest spread; the residual of the fit on seats separates them."""
    rng = np.random.default_rng(8)
    n = 4000
    seats = np.round(10 ** rng.normal(1.5, 0.7, n)) + 1
    amount = np.round(2500 * seats**0.85 * (1 + rng.normal(0, 0.04, n)), 2)
    df = pd.DataFrame({"id": np.arange(1, n + 1), "currency": "USD", "amount": amount, "seats": seats})
    truth = shift(df, 0.01, 100.0)
    alone = run_check(df, "subschema", {"value_column": "amount", "category_column": "currency"})
    caught_alone = {r["key"] for m in alone.evidence.get("modes", []) for r in m["rows"]["items"]} & truth
    res = run_check(
        df, "subschema", {"value_column": "amount", "category_column": "currency", "explained_by": ["seats"]}
    )
    (mode,) = res.evidence["modes"]
    flagged = {r["key"] for r in mode["rows"]["items"]}
    assert flagged == truth and mode["factor"]["label"] == "x10^2"
    assert len(caught_alone) < 0.9 * len(truth)  # what the fit adds


def test_the_raw_test_before_the_logarithms_changes_no_result(monkeypatch):
    """The tail scans drop rows inside every band with comparisons on the raw columns before taking their
    logarithms (fit.beyond_every_line): on amount ~ qty^0.97 (integer qty) with 1% of rows in cents and a few
    negative amounts, the mode, its rows and its factor are those found without that test."""
    rng = np.random.default_rng(31)
    n = 5000
    qty = rng.integers(1, 300, n)
    amount = np.round(40 * qty**0.97 * 10 ** rng.normal(0, 0.05, n) * rng.choice([1, -1], n, p=[0.95, 0.05]), 2)
    df = pd.DataFrame({"id": np.arange(1, n + 1), "currency": "USD", "amount": amount, "qty": qty})
    truth = shift(df, 0.01, 100.0)
    params = {"value_column": "amount", "category_column": "currency", "explained_by": ["qty"]}
    res, without, applied = with_and_without_raw_test(monkeypatch, df, "subschema", params)
    assert applied and all(applied)
    (mode,) = res.evidence["modes"]
    assert {r["key"] for r in mode["rows"]["items"]} == truth and mode["factor"]["label"] == "x10^2"
    assert (res.status, res.observed, res.evidence) == (without.status, without.observed, without.evidence)


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_explained_by_two_columns(project, backend, request, tmp_path):
    """Amount = seats x years x a list price: with seats alone the years spread the residual over 0.7 decades,
    where 1% of rows in tenths of the unit hide; the fit on both separates them, on each backend."""
    from backends import make
    from conftest import by_check

    df = contracts(3000, seed=9).drop(columns="region").assign(currency="USD")
    truth = shift(df, 0.01, 10.0)
    wh = make(backend, tmp_path, request.getfixturevalue("pg_schema") if backend == "postgresql" else None)
    wh.execute("DROP TABLE IF EXISTS deals")
    wh.execute(
        "CREATE TABLE deals (id INTEGER, currency VARCHAR(3), amount DOUBLE PRECISION, seats DOUBLE PRECISION,"
        " years DOUBLE PRECISION)"
    )
    wh.execute("INSERT INTO deals VALUES (:id, :currency, :amount, :seats, :years)", df.to_dict("records"))
    project.dataset(
        wh,
        """
        - subschema: {value_column: amount, category_column: currency, explained_by: [seats], name: one}
        - subschema: {value_column: amount, category_column: currency, explained_by: [seats, years], name: two}
        """,
    )
    _, doc = project.run_json()
    res = by_check(doc)
    one = {r["key"] for m in res["one"]["evidence"].get("modes", []) for r in m["rows"]["items"]}
    (mode,) = res["two"]["evidence"]["modes"]
    assert {r["key"] for r in mode["rows"]["items"]} == truth and mode["factor"]["label"] == "x10^1"
    assert len(one & truth) < 0.5 * len(truth)


def test_reference_column_and_explained_by_are_exclusive(project, tmp_path):
    from backends import make

    project.dataset(
        make("duckdb", tmp_path), "- subschema: {value_column: amount, reference_column: list, explained_by: [seats]}"
    )
    res = project.cli("validate")
    assert res.exit_code == 2 and "checks/deals.yaml:7: datasets[0].checks[0].subschema" in res.output
    assert "not both" in res.output


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_day_one_reference_from_timestamps_and_acceptance_by_resolve(project, backend, request, tmp_path):
    """No earlier run: the rows before the detection period are the reference. A new currency stays flagged
    run after run (a flagged run's shares are not learnt) until the incident is resolved, which accepts it."""
    import datetime as dt

    from backends import make
    from conftest import by_check

    wh = make(backend, tmp_path, request.getfixturevalue("pg_schema") if backend == "postgresql" else None)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    df = amounts(2000)
    df["currency"] = np.where(np.arange(2000) % 4 == 0, "EUR", "USD")
    df["updated_at"] = [now - dt.timedelta(hours=int(h)) for h in np.arange(2000) % 240]  # ten days
    recent = df.index[df.updated_at > now - dt.timedelta(hours=20)]
    df.loc[recent[:25], "currency"] = "CHF"  # today, 25 deals arrive in a currency never seen before
    wh.execute("DROP TABLE IF EXISTS deals")
    wh.execute("CREATE TABLE deals (id INTEGER, currency VARCHAR(5), amount DOUBLE PRECISION, updated_at TIMESTAMP)")
    wh.execute("INSERT INTO deals VALUES (:id, :currency, :amount, :updated_at)", df.to_dict("records"))
    project.dataset(
        wh,
        """
        - subschema: {value_column: amount, category_column: currency, timestamp_column: updated_at}
        """,
    )
    for _ in range(2):
        code, doc = project.run_json()
        res = by_check(doc)["subschema(amount)"]
        assert code == 1 and res["evidence"]["new_values"]["items"] == [{"value": "CHF", "count": 25}], res
    incident = doc["incidents"][0]["id"]
    assert project.cli("resolve", str(incident), "--note", "we sell in Switzerland now").exit_code == 0
    code, doc = project.run_json()
    assert code == 0, by_check(doc)["subschema(amount)"]


def test_a_mode_gets_candidate_values_only_at_an_exact_configured_factor():
    from sentinel.checks.subschema import candidate, provenance

    # USD amounts under a JPY label sit 2.18 decades below: with the rate configured, x * rate, exactly
    named = name_offset(-np.log10(150.0), {"JPY": 150.0})
    assert named["label"] == "USD labelled JPY" and (named["rate"], named["source"]) == ("150.0", "config fx_rates")
    prov = provenance(named, 30, "below")
    assert prov["kind"] == "fx_rate" and prov["transform"] == "x * rate" and "30 rows sit 2.176" in prov["proof"]
    assert candidate("100.01", prov) == ("15001.5", prov)
    # the same offset at the built-in rate names JPY and proposes nothing
    builtin = name_offset(-np.log10(150.0), {})
    assert builtin["source"] == "built-in approximation" and provenance(builtin, 30, "below") is None
    # x / 10^k for any k, from the value's own digits (a float by its shortest repr)
    tenth = provenance(name_offset(-1.0, {}), 30, "below")
    assert (tenth["kind"], tenth["k"]) == ("power_of_ten", -1) and candidate(0.1, tenth)[0] == "1"
    assert candidate("123456789012345678.123456", provenance(name_offset(3.0, {}), 30, "above"))[0] == (
        "123456789012345.678123456"
    )


def test_a_few_honest_tail_rows_of_a_leaning_body_are_no_mode():
    """295 Pareto amounts (alpha 3): 5 honest rows past the tail's edge had a median 1.5 sigmas beyond it, by
    chance (the median of 5 rows strays by about 0.6 sigma), and were named 'likely BRL'. A mode of k rows
    over a leaning body must clear an honest tail's median excess by two of its standard errors."""
    rng = np.random.default_rng(0)
    rng.integers(0, 1, 295), rng.uniform(0, 3, 1)  # the draws of the property test that found it
    df = pd.DataFrame({"id": np.arange(295), "amount": np.round(100 * (rng.pareto(3.0, 295) + 1), 2)})
    res = run_check(df, "subschema", {"value_column": "amount"})
    assert res.status == "pass", res.diagnosis


@pytest.mark.parametrize("backend", ["duckdb", "postgresql", "spark"])
def test_a_modes_percentiles_in_python_are_the_databases(backend, request):
    """A likely mode's rows come back with the tail scan and its `cut` and `mid` are then computed in Python:
    they must be the database's percentile_disc and percentile_cont with the fraction as the dialect gets it
    (pasted as a literal; on Spark a bound DOUBLE, as Sentinel's statements bind it), to the last bit (DuckDB
    floors on the DECIMAL literal exactly; its interpolation is one fused rounding)."""
    import random

    from sentinel.checks import sqlstats

    sql = "SELECT percentile_disc({cut}) WITHIN GROUP (ORDER BY v), percentile_cont({mid}) WITHIN GROUP (ORDER BY v) "
    if backend == "spark":
        import pyarrow as pa

        from sentinel.sources import spark_dbapi

        conn = spark_dbapi.connect(request.getfixturevalue("spark_server").url)
        request.addfinalizer(conn.close)

        def ask(vals: list[float], cut: float, mid: float) -> tuple:
            conn.session.createDataFrame(pa.table({"v": pa.array(vals, pa.float64())})).createOrReplaceTempView("t")
            bound = sql.format(cut=":cut", mid=":mid") + "FROM t"
            return tuple(conn.cursor().execute(bound, {"cut": cut, "mid": mid}).fetchone())
    elif backend == "duckdb":
        import duckdb

        con = duckdb.connect()

        def ask(vals: list[float], cut: float, mid: float) -> tuple:
            con.execute("CREATE OR REPLACE TABLE t AS SELECT unnest(?::DOUBLE[]) AS v", [vals])
            return con.execute(sql.format(cut=repr(cut), mid=repr(mid)) + "FROM t").fetchone()
    else:
        engine = request.getfixturevalue("pg_schema")[2]

        def ask(vals: list[float], cut: float, mid: float) -> tuple:
            pasted = sql.format(cut=repr(cut), mid=repr(mid)) + "FROM unnest(%(v)s::float8[]) AS t(v)"
            with engine.connect() as conn:
                return tuple(conn.exec_driver_sql(pasted, {"v": vals}).one())

    rnd = random.Random(23)
    for _ in range(150):
        n = rnd.choice([1, 2, 3, 7, 97, 1000, 1997, 30011])
        other = min(n, rnd.randint(0, max(n // 3, 1)) if rnd.random() < 0.7 else rnd.randint(0, 3))
        vals = [rnd.uniform(0.5, 3) * rnd.choice([1, 1e-3, 30]) for _ in range(n)]
        q_cut, q_mid = other / n, (other + (n - other) / 2) / n
        ordered = sorted(vals)
        got = (sqlstats.percentile_disc(backend, ordered, q_cut), sqlstats.percentile_cont(backend, ordered, q_mid))
        assert ask(vals, q_cut, q_mid) == got, (n, other)


@pytest.mark.parametrize("explained", [False, True])
def test_a_mode_fetched_with_the_tail_scan_is_the_mode_read_again(monkeypatch, explained):
    """With FETCH_MAX at 0 every mode is read again by its own statement (the path of a side too big to
    fetch): the modes, their rows, offsets and factors are the same as from the rows the tail scan fetched,
    here with honest rows in the opposite tail (so `cut` leaves some out) and two shifted labels."""
    from sentinel.checks import subschema

    rng = np.random.default_rng(41)
    n = 6000
    qty = rng.integers(1, 200, n) if explained else rng.integers(10, 12, n)  # a narrow qty: the value alone
    noise = rng.standard_t(4, n) * 0.08  # heavy tails on both sides: the opposite tail is not empty
    amount = np.round(30 * qty * 10**noise, 2)
    currency = rng.choice(["USD", "EUR"], n, p=[0.7, 0.3])
    df = pd.DataFrame({"id": np.arange(1, n + 1), "currency": currency, "amount": amount, "qty": qty})
    truth = shift(df, 0.01, 100.0)
    params = {"value_column": "amount", "category_column": "currency"}
    if explained:
        params["explained_by"] = ["qty"]
    calls, real = [], subschema._mode_rows
    monkeypatch.setattr(subschema, "_mode_rows", lambda *a, **k: calls.append(1) or real(*a, **k))
    fetched = run_check(df, "subschema", params)
    assert len(calls) == 2  # both modes from the fetched rows
    monkeypatch.setattr(subschema, "FETCH_MAX", 0)
    again = run_check(df, "subschema", params)
    assert len(calls) == 2  # ... and none here
    modes = fetched.evidence["modes"]
    assert {m["label"] for m in modes} == {"USD", "EUR"} and any(m["honest_tail"] for m in modes)
    assert {r["key"] for m in modes for r in m["rows"]["items"]} <= truth
    assert (fetched.status, fetched.observed, fetched.evidence) == (again.status, again.observed, again.evidence)


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
def test_the_mixed_currency_offsets_from_the_reference_statement_are_the_second_statements(
    backend, request, project, monkeypatch
):
    """ONE_PASS: the reference statement also computes each currency label's offset from the main
    label's median (its own CTE), instead of a second statement on that median as a literal, and the category
    counts also count each label's rows that take part (instead of `counted`'s scan). Both ways give the same
    result, field by field, here with yen rows priced in yen (mixed units found), euro rows at the dollar
    level (judged, not mixed), a shifted mode and rows that take no part (amount NULL or 0), run through the
    CLI on DuckDB and on Spark."""
    import pyarrow as pa
    from conftest import by_check

    from sentinel.checks import subschema

    rng = np.random.default_rng(5)
    n = 4000
    currency = rng.choice(["USD", "EUR", "JPY"], n, p=[0.8, 0.15, 0.05])
    amount = np.round(1000 * 10 ** rng.normal(0, 0.1, n) * np.where(currency == "JPY", 150.0, 1.0), 2)
    amount[(currency == "USD") & (np.arange(n) % 97 == 0)] *= 100  # a second mode two decades up
    amount[np.arange(n) % 53 == 0] = 0.0
    amount = pa.array(amount, mask=np.arange(n) % 61 == 0)  # NULLs
    data = pa.table({"id": pa.array(np.arange(1, n + 1), pa.int64()), "currency": currency, "amount": amount})
    checks = "- subschema: {value_column: amount, category_column: currency}"
    from backends import deals_table

    deals_table(backend, data, checks, project, request)
    separate, real, real_counted = [], subschema._mixed_units, subschema.counted
    monkeypatch.setattr(subschema, "_mixed_units", lambda *a, **k: separate.append("units") or real(*a, **k))
    monkeypatch.setattr(subschema, "counted", lambda *a, **k: separate.append("counted") or real_counted(*a, **k))
    results = {}
    for one_pass in (False, True):
        monkeypatch.setattr(subschema, "ONE_PASS", (backend,) if one_pass else ())
        code, doc = project.run_json()
        results[one_pass] = by_check(doc)["subschema(amount)"]
        assert separate == ["counted", "units"]  # the two statements ran once: without ONE_PASS
    res = results[True]
    assert [m["label"] for m in res["evidence"]["mixed_units"]] == ["JPY"], res
    assert [(m["label"], m["side"]) for m in res["evidence"]["modes"]] == [("USD", "above")], res
    for field in ("status", "observed", "expected", "evidence", "diagnosis"):
        assert results[False][field] == results[True][field], field
