"""`subschema` on two real shapes, on DuckDB and PostgreSQL: a column mixing currencies under honest labels,
reported on the first run (`mixed_units`); and unit shifts among products at different list prices, judged
within each product (`group_by`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from backends import make
from conftest import by_check
from frames import run_check
from hypothesis import given, settings
from hypothesis import strategies as st

BACKENDS = ["duckdb", "postgresql"]


def warehouse(backend, request, tmp_path):
    return make(backend, tmp_path, request.getfixturevalue("pg_schema") if backend == "postgresql" else None)


def load(wh, df: pd.DataFrame, table: str = "deals") -> None:
    types = {"id": "INTEGER", "product": "VARCHAR(40)", "currency": "VARCHAR(5)"}
    cols = ", ".join(f"{c} {types.get(c, 'DOUBLE PRECISION')}" for c in df.columns)
    wh.execute(f"DROP TABLE IF EXISTS {table}")
    wh.execute(f"CREATE TABLE {table} ({cols})")
    names = ", ".join(f":{c}" for c in df.columns)
    wh.execute(f"INSERT INTO {table} VALUES ({names})", df.to_dict("records"))


def configure(project, wh, checks: str, extra: str = "") -> None:
    project.dataset(wh, checks)
    project.config(f'wh: {{type: sql, url: "{wh.url}"}}', extra)


# --- mixed currencies on day one ----------------------------------------------------------------------------


def deals(n=4000, foreign: dict[str, tuple[float, float]] | None = None, seed=21) -> pd.DataFrame:
    """Amounts that follow seats (a list price per seat, 4% discounts). `foreign`: currency -> (share of rows,
    the factor their amounts sit at: the rate when priced in that currency, 1 when priced in dollars)."""
    rng = np.random.default_rng(seed)
    seats = np.round(10 ** rng.normal(1.3, 0.45, n)) + 1
    amount = 2000 * seats * (1 + rng.normal(0, 0.04, n))
    currency = np.array(["USD"] * n, dtype=object)
    u = rng.random(n)
    low = 0.0
    for code, (share, factor) in (foreign or {}).items():
        rows = (u >= low) & (u < low + share)
        currency[rows] = code
        amount[rows] *= factor
        low += share
    return pd.DataFrame(
        {"id": np.arange(1, n + 1), "currency": currency, "amount": np.round(amount, 2), "seats": seats}
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_currency_priced_in_its_own_unit_is_reported_on_the_first_run(project, backend, request, tmp_path):
    """2% of deals labelled JPY and priced in yen beside USD ones: every row is labelled, yet a sum over the
    column adds yen to dollars. No history and no timestamp: the first run reports it, and so does the next
    (a property of the data, not a change); by value, on a fit's residual, and at a configured rate."""
    wh = warehouse(backend, request, tmp_path)
    df = deals(foreign={"JPY": (0.02, 150.0)})
    jpy = int((df.currency == "JPY").sum())
    load(wh, df)
    configure(
        project,
        wh,
        """
        - subschema: {value_column: amount, category_column: currency, name: alone}
        - subschema: {value_column: amount, category_column: currency, explained_by: [seats], name: fit}
        - subschema: {value_column: amount, category_column: currency, name: strict, mixed_units_severity: error}
        """,
    )
    for _ in range(2):
        code, doc = project.run_json()
        res = by_check(doc)
        assert code == 1  # `strict` fails; the others warn
        for name in ("alone", "fit", "strict"):
            r = res[name]
            assert r["status"] == ("fail" if name == "strict" else "warn"), r
            assert r["diagnosis"]["cause"] == "mixed_units" and "modes" not in r["evidence"]
            (m,) = r["evidence"]["mixed_units"]
            assert (m["label"], m["main"], m["count"], m["of"]) == ("JPY", "USD", jpy, len(df))
            assert m["factor"] == 150.0 and m["source"] == "built-in approximation"
            assert m["distance"] <= m["tolerance"]
            assert f"the {jpy:,} rows labelled JPY" in r["diagnosis"]["message"]
            assert "set fx_rates.JPY in config.yaml" in r["diagnosis"]["message"]
        assert "residual of the fit on seats" in res["fit"]["diagnosis"]["message"]
    # the books' rate from config.yaml is the one named
    project.config(f'wh: {{type: sql, url: "{wh.url}"}}', "fx_rates: {JPY: 148.5}\n")
    _, doc = project.run_json()
    (m,) = by_check(doc)["alone"]["evidence"]["mixed_units"]
    assert (m["factor"], m["rate"], m["source"]) == (148.5, "148.5", "config fx_rates")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_main_label_is_the_one_with_most_rows(project, backend, request, tmp_path):
    """A Japanese book: 90% yen, 10% USD priced in dollars. The column's main unit is yen; the dollar rows
    are the ones mixed in, at 1/150."""
    wh = warehouse(backend, request, tmp_path)
    df = deals(seed=5)
    dollars = np.random.default_rng(6).random(len(df)) < 0.1
    df["currency"] = np.where(dollars, "USD", "JPY")
    df.loc[~dollars, "amount"] = np.round(df.loc[~dollars, "amount"] * 150)
    load(wh, df)
    configure(project, wh, "- subschema: {value_column: amount, category_column: currency}")
    code, doc = project.run_json()
    (m,) = by_check(doc)["subschema(amount)"]["evidence"]["mixed_units"]
    assert code == 0  # a warning
    assert (m["label"], m["main"], m["count"]) == ("USD", "JPY", int(dollars.sum())) and m["factor"] == 0.006667


@pytest.mark.parametrize("backend", BACKENDS)
def test_controls_of_mixed_currencies_raise_nothing(project, backend, request, tmp_path):
    """All USD; EUR priced in euros at 0.92 (not distinguishable from 1: never called mixed by noise); EUR and
    GBP amounts already in dollars; and a label that is no currency code: no warning, no failure."""
    wh = warehouse(backend, request, tmp_path)
    frames = {
        "usd": deals(seed=31),
        "eur": deals(foreign={"EUR": (0.2, 0.92)}, seed=32),
        "converted": deals(foreign={"EUR": (0.15, 1.0), "GBP": (0.05, 1.0), "JPY": (0.02, 1.0)}, seed=33),
        "stores": deals(foreign={"ACME": (0.05, 150.0)}, seed=34),
    }
    project.config(f'wh: {{type: sql, url: "{wh.url}"}}')
    for name, df in frames.items():
        load(wh, df, name)
        project.write(
            f"checks/{name}.yaml",
            f"""
            datasets:
              - name: {name}
                source: wh
                table: {name}
                key: id
                checks:
                  - subschema: {{value_column: amount, category_column: currency, name: alone}}
                  - subschema: {{value_column: amount, category_column: currency, explained_by: [seats], name: fit}}
            """,
        )
    code, doc = project.run_json()
    assert code == 0
    assert [(r["dataset"], r["check"], r["status"]) for r in doc["results"] if r["status"] != "pass"] == []
    assert len(doc["results"]) == 2 * len(frames)


# --- peer groups -----------------------------------------------------------------------------------------------

# hostile product names: separators, quotes and non-ASCII, to show the peer groups' key keeps them apart
PRICES = {"Basic": 40.0, "Pro: 2:x'; --": 40 * 10**0.825, "Énterprise": 40 * 10**1.65}


def products(n=4000, shifted=20, seed=41, small: int = 0) -> tuple[pd.DataFrame, set[int]]:
    """Three products at list prices 1.65 decades apart; amount = price x qty (3% noise). `shifted` USD rows
    hold yen amounts (x150); `small` rows of a fourth product, too few to judge, sit 2 decades above."""
    rng = np.random.default_rng(seed)
    product = rng.choice(list(PRICES), n, p=[0.5, 0.35, 0.15]).astype(object)
    qty = np.round(10 ** rng.normal(1.0, 0.3, n)) + 1
    price = np.array([PRICES[p] for p in product])
    if small:
        product[:small] = "Startup"
        price[:small] = 4000 * 10**2
    amount = np.round(price * qty * 10 ** rng.normal(0, 0.03, n), 2)
    rows = rng.choice(np.arange(small, n), shifted, replace=False) if shifted else np.array([], dtype=int)
    amount[rows] = np.round(amount[rows] * 150)
    df = pd.DataFrame(
        {"id": np.arange(1, n + 1), "product": product, "currency": "USD", "qty": qty, "list": price * qty}
    )
    df["amount"] = amount
    return df, {int(r) + 1 for r in rows}


PEER_CHECKS = """
- subschema: {value_column: amount, category_column: currency, name: alone}
- subschema: {value_column: amount, category_column: currency, explained_by: [qty], name: fit}
- subschema: {value_column: amount, category_column: currency, reference_column: list, name: ratio}
- subschema: {value_column: amount, category_column: currency, group_by: [product], name: peers}
- subschema: {value_column: amount, category_column: currency, group_by: [product], explained_by: [qty], name: peer_fit}
"""


def flagged(res: dict) -> set:
    return {r["key"] for m in res["evidence"].get("modes", []) for r in m["rows"]["items"]}


@pytest.mark.parametrize("backend", BACKENDS)
def test_yen_rows_among_products_at_different_prices_are_found_within_each_product(project, backend, request, tmp_path):
    """By value the products' 1.65 decades hide the yen rows; one fit on qty for all products leaves the price
    levels in its residual. Judged from each product's own mode (and its own line on qty), all 20 show as one
    mode, named JPY; only the ratio to the list price found them before."""
    wh = warehouse(backend, request, tmp_path)
    df, truth = products()
    load(wh, df)
    configure(project, wh, PEER_CHECKS)
    _, doc = project.run_json()
    res = by_check(doc)
    assert len(flagged(res["alone"]) & truth) < 0.5 * len(truth)
    assert flagged(res["fit"]) != truth  # what the peers add: before, only the ratio found them
    assert flagged(res["ratio"]) == truth
    for name in ("peers", "peer_fit"):
        (mode,) = res[name]["evidence"]["modes"]
        assert res[name]["status"] == "fail" and res[name]["diagnosis"]["cause"] == "unit_shift"
        assert (mode["label"], mode["side"], mode["count"]) == ("USD", "above", len(truth))
        assert flagged(res[name]) == truth
        product = dict(zip(df.id, df["product"], strict=True))
        assert all(r["group"] == {"product": product[r["key"]]} for r in mode["rows"]["items"])
        assert "above their product peers" in res[name]["diagnosis"]["message"]
    factor = res["peer_fit"]["evidence"]["modes"][0]["factor"]
    assert factor["label"] == "JPY" and factor["alternatives"] == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_controls_of_peer_groups_and_small_groups(project, backend, request, tmp_path):
    """The same products with no yen rows, and a fourth product of 12 rows two decades above the rest: no
    failure; the small group is skipped and said so, not judged against the others (a false mode)."""
    wh = warehouse(backend, request, tmp_path)
    df, _ = products(shifted=0, seed=42, small=12)
    load(wh, df)
    configure(project, wh, PEER_CHECKS)
    _, doc = project.run_json()
    res = by_check(doc)
    for name in ("peers", "peer_fit", "ratio"):
        assert res[name]["status"] == "pass", res[name]
    for name in ("peers", "peer_fit"):
        assert "12 rows in 1 product group(s) of fewer than 20 rows" in res[name]["diagnosis"]["message"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_currencies_within_peer_groups(project, backend, request, tmp_path):
    """JPY deals priced in yen among three products: each label's offset is taken from the USD mode of the
    row's own product, so the products' spread does not blur the factor."""
    wh = warehouse(backend, request, tmp_path)
    df, _ = products(shifted=0, seed=43)
    yen = np.random.default_rng(44).random(len(df)) < 0.03
    df.loc[yen, "currency"] = "JPY"
    df.loc[yen, "amount"] = np.round(df.loc[yen, "amount"] * 150)
    load(wh, df)
    configure(
        project,
        wh,
        "- subschema: {value_column: amount, category_column: currency, group_by: [product], explained_by: [qty]}",
    )
    code, doc = project.run_json()
    res = by_check(doc)["subschema(amount)"]
    assert code == 0 and res["status"] == "warn" and res["diagnosis"]["cause"] == "mixed_units"
    (m,) = res["evidence"]["mixed_units"]
    assert (m["label"], m["count"], m["factor"]) == ("JPY", int(yen.sum()), 150.0)
    assert m["distance"] <= 0.05


def test_group_by_is_validated(project, tmp_path):
    project.dataset(
        make("duckdb", tmp_path), "- subschema: {value_column: amount, category_column: currency, group_by: [currency]}"
    )
    res = project.cli("validate")
    assert res.exit_code == 2 and "datasets[0].checks[0].subschema" in res.output
    assert "neither value_column nor category_column" in res.output


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    groups=st.integers(1, 150),
    n=st.integers(200, 6000),
    sigma=st.floats(0.05, 0.6),
    heavy=st.booleans(),
)
def test_clean_peer_groups_raise_nothing(seed, groups, n, sigma, heavy):
    """Peer groups at price levels up to three decades apart, lognormal or heavy-tailed within each, many of
    them small: no second mode, whatever the groups' sizes (one-sided Pareto tails: the test below)."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    level = rng.uniform(0, 3, groups)[g]
    noise = rng.standard_t(6, n) * sigma * 0.8 if heavy else rng.normal(0, sigma, n)
    df = pd.DataFrame({"id": np.arange(n), "g": g.astype(str), "amount": np.round(10 ** (2 + level + noise), 2)})
    res = run_check(df, "subschema", {"value_column": "amount", "group_by": ["g"]})
    assert res.status == "pass", res.diagnosis


def test_small_peer_groups_with_narrow_spreads_make_no_mode():
    """Pareto amounts (alpha 1.2) in 12 peer groups of about 40 rows: a few groups' spreads come out narrow;
    their honest tail rows, pooled, made a mode 'likely SEK' of 26 rows. Each group's sigma is widened by the
    uncertainty of a MAD from its rows, and a leaning body's few-row mode must clear the stray of its median."""
    rng = np.random.default_rng(524)
    g = rng.integers(0, 12, 500)
    level = 10 ** rng.uniform(0, 2, 12)[g]
    df = pd.DataFrame(
        {"id": np.arange(500), "g": g.astype(str), "amount": np.round((rng.pareto(1.2, 500) + 1) * 1000 * level, 2)}
    )
    res = run_check(df, "subschema", {"value_column": "amount", "group_by": ["g"]})
    assert res.status == "pass", res.diagnosis
