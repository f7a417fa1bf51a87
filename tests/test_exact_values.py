"""Exact values: evidence carries a value as stored (a DECIMAL/NUMERIC as its decimal string, a DOUBLE as the
double), and candidates are computed in decimal arithmetic with their provenance, through `sentinel run --json`
on DuckDB and PostgreSQL. The expected values are computed here with `decimal` from the inserted text."""

from __future__ import annotations

import decimal
from decimal import Decimal

import numpy as np
import pytest
from backends import Warehouse, make
from conftest import by_check

from sentinel.checks.common import number

SLIP = "12345678.90"  # a $1,234,567.89 deal typed with one zero too many


def peers(n: int, level: float, seed: int, places: int = 2) -> list[str]:
    """Honest amounts around 10^level as decimal strings with `places` decimals (0.05 decades of spread)."""
    rng = np.random.default_rng(seed)
    whole = np.floor(10 ** (level + rng.normal(0, 0.05, n))).astype("int64")
    cents = rng.integers(0, 10**places, n)
    return [f"{w}.{c:0{places}d}" for w, c in zip(whole.tolist(), cents.tolist(), strict=True)]


def warehouse(kind: str, tmp_path, request) -> Warehouse:
    return make(kind, tmp_path, request.getfixturevalue("pg_schema") if kind == "postgresql" else None)


def load(wh: Warehouse, column_type: str, amounts: list[str], currencies: list[str] | None = None) -> None:
    wh.execute("DROP TABLE IF EXISTS deals")
    wh.execute(f"CREATE TABLE deals (id INTEGER, currency VARCHAR(3), amount {column_type})")
    cur = currencies or ["USD"] * len(amounts)
    # the amounts go in as text, cast by the database: no float on the way in
    wh.execute(
        f"INSERT INTO deals VALUES (:id, :currency, CAST(:amount AS {column_type}))",
        [{"id": i + 1, "currency": c, "amount": a} for i, (a, c) in enumerate(zip(amounts, cur, strict=True))],
    )


STORED = [  # (backend, column type, how the value comes back in evidence)
    ("duckdb", "DECIMAL(18,2)", SLIP),
    ("postgresql", "NUMERIC(18,2)", SLIP),
    ("duckdb", "DOUBLE", float(SLIP)),
    ("postgresql", "DOUBLE PRECISION", float(SLIP)),
]


@pytest.mark.parametrize("kind,column_type,stored", STORED, ids=[f"{k}-{t}" for k, t, _ in STORED])
def test_a_ten_x_slip_gets_the_exact_candidate(project, tmp_path, request, kind, column_type, stored):
    wh = warehouse(kind, tmp_path, request)
    amounts = peers(400, 6.09, seed=1)
    amounts[7] = SLIP
    load(wh, column_type, amounts)
    project.dataset(wh, "- magnitude: {column: amount}")
    code, doc = project.run_json()
    res = by_check(doc)["magnitude(amount)"]
    assert code == 1 and res["status"] == "fail"
    (item,) = res["evidence"]["rows"]["items"]
    assert item["key"] == 8
    # DECIMAL: the string with its stored scale; DOUBLE: the double itself (JSON holds it exactly)
    assert item["value"] == stored and type(item["value"]) is type(stored)
    d = item["diagnosis"]
    assert d["k"] == 1 and d["candidate"] == "1234567.89"  # not 1234570.0
    prov = d["provenance"]
    assert prov["kind"] == "power_of_ten" and prov["k"] == 1 and prov["transform"] == "x / 10^1"
    # what the detector proved: the ratio, its distance from 10^1 (log scale) and the tolerance it is within
    ratio = float(SLIP) / float(res["evidence"]["rows"]["items"][0]["reference"])
    assert prov["ratio"] == pytest.approx(ratio, rel=1e-3)
    assert prov["distance_decades"] == pytest.approx(abs(np.log10(prov["ratio"]) - 1), abs=1e-3)
    assert prov["distance_decades"] <= prov["tolerance_decades"]
    assert f"10^1 (tolerance {prov['tolerance_decades']:.3g}" in prov["proof"]
    # the message shows the exact numbers, grouped
    shown = "12,345,678.90" if isinstance(stored, str) else "12,345,678.9"
    assert f"8: {shown} is" in res["diagnosis"]["message"] and "candidate 1,234,567.89" in res["diagnosis"]["message"]
    assert res["diagnosis"]["k"] == 1  # the only flagged row names k=1


WIDE = "123456789012345678.123456"  # 24 significant digits: a double keeps 15-17


@pytest.mark.parametrize("kind,column_type", [("duckdb", "DECIMAL(38,6)"), ("postgresql", "NUMERIC(38,6)")])
def test_a_value_beyond_float_precision_keeps_every_digit(project, tmp_path, request, kind, column_type):
    wh = warehouse(kind, tmp_path, request)
    amounts = peers(300, 16.09, seed=2, places=6)
    amounts[41] = WIDE
    load(wh, column_type, amounts)
    project.dataset(wh, "- magnitude: {column: amount}")
    code, doc = project.run_json()
    res = by_check(doc)["magnitude(amount)"]
    (item,) = res["evidence"]["rows"]["items"]
    assert code == 1 and item["key"] == 42 and item["value"] == WIDE
    assert item["diagnosis"]["k"] == 1 and item["diagnosis"]["candidate"] == "12345678901234567.8123456"
    assert float(WIDE) / 10 != Decimal("12345678901234567.8123456")  # what a float would have proposed
    assert "123,456,789,012,345,678.123456" in res["diagnosis"]["message"]


def yen_rows(n: int = 3000, shifted: int = 30) -> tuple[list[str], dict[int, str]]:
    """USD amounts; `shifted` of them (ids in the returned dict, with their true USD amount) written in yen:
    x150, exact to the cent, plus one yen amount that 150 does not divide."""
    amounts = peers(n, 4.3, seed=3)
    truth = {}
    for i in range(5, 5 + 10 * shifted, 10):
        truth[i + 1] = amounts[i]
        amounts[i] = str(Decimal(amounts[i]) * 150)
    amounts[5] = "3000001.00"  # 20,000.006666... USD: the quotient does not terminate
    truth[6] = None
    return amounts, truth


@pytest.mark.parametrize("kind,column_type", [("duckdb", "DECIMAL(18,2)"), ("postgresql", "NUMERIC(18,2)")])
def test_configured_fx_rate_gives_exact_candidates_with_provenance(project, tmp_path, request, kind, column_type):
    wh = warehouse(kind, tmp_path, request)
    amounts, truth = yen_rows()
    load(wh, column_type, amounts)
    project.dataset(wh, "- subschema: {value_column: amount, category_column: currency}")
    (project.root / "config.yaml").write_text((project.root / "config.yaml").read_text() + "fx_rates: {JPY: 150.0}\n")
    code, doc = project.run_json()
    res = by_check(doc)["subschema(amount)"]
    (mode,) = res["evidence"]["modes"]
    assert code == 1 and mode["factor"]["label"] == "JPY" and mode["factor"]["source"] == "config fx_rates"
    rows = {r["key"]: r for r in mode["rows"]["items"]}
    assert set(rows) == set(truth)
    for key, usd in truth.items():
        r = rows[key]
        assert r["value"] == amounts[key - 1]  # the stored decimal string
        assert r["provenance"]["kind"] == "fx_rate" and r["provenance"]["currency"] == "JPY"
        assert r["provenance"]["rate"] == "150.0" and r["provenance"]["source"] == "config fx_rates"
        if usd is not None:  # value / 150 exactly: the USD amount the yen were computed from
            assert Decimal(r["candidate"]) == Decimal(usd) and "rounded" not in r["provenance"]
    # 3000001.00 / 150 does not terminate: rounded half-even past any currency's scale, and said so
    odd = rows[6]
    with decimal.localcontext(decimal.Context(prec=30)):
        assert +Decimal(odd["candidate"]) == Decimal("3000001.00") / Decimal("150.0")
    assert len(odd["candidate"].replace(".", "")) >= 34 and "rounded" in odd["provenance"]
    assert "fx_rates" not in res["diagnosis"]["message"]


@pytest.mark.parametrize("kind,column_type", [("duckdb", "DECIMAL(18,2)"), ("postgresql", "NUMERIC(18,2)")])
def test_a_builtin_rate_names_the_currency_but_proposes_no_value(project, tmp_path, request, kind, column_type):
    wh = warehouse(kind, tmp_path, request)
    amounts, truth = yen_rows()
    load(wh, column_type, amounts)
    project.dataset(wh, "- subschema: {value_column: amount, category_column: currency}")
    code, doc = project.run_json()
    res = by_check(doc)["subschema(amount)"]
    (mode,) = res["evidence"]["modes"]
    assert code == 1 and mode["factor"]["label"] == "JPY" and mode["factor"]["source"] == "built-in approximation"
    assert {r["key"] for r in mode["rows"]["items"]} == set(truth)
    assert all("candidate" not in r and "provenance" not in r for r in mode["rows"]["items"])
    assert all(r["value"] == amounts[r["key"] - 1] for r in mode["rows"]["items"])
    assert "likely JPY" in res["diagnosis"]["message"]
    assert "set fx_rates.JPY in config.yaml to get candidate values" in res["diagnosis"]["message"]


def k_case(extra: dict[int, str]) -> list[str]:
    amounts = peers(400, 6.09, seed=4)
    for i, v in extra.items():
        amounts[i] = v
    return amounts


@pytest.mark.parametrize(
    "extra,ks,shared",
    [
        ({7: "12345678.90", 70: "12000000.00"}, {8: 1, 71: 1}, 1),  # both x10: the result says k=1
        ({7: "12345678.90", 70: "1234567890.00"}, {8: 1, 71: 3}, None),  # x10 and x1000 disagree
        ({7: "12345678.90", 70: "39041000.00"}, {8: 1, 71: None}, None),  # x31.6: no k for that row
    ],
)
def test_result_k_only_when_every_flagged_row_shares_it(project, tmp_path, extra, ks, shared):
    wh = make("duckdb", tmp_path)
    load(wh, "DECIMAL(18,2)", k_case(extra))
    project.dataset(wh, "- magnitude: {column: amount}")
    _, doc = project.run_json()
    res = by_check(doc)["magnitude(amount)"]
    items = {i["key"]: i for i in res["evidence"]["rows"]["items"]}
    assert {k: (i.get("diagnosis") or {}).get("k") for k, i in items.items()} == ks
    assert res["diagnosis"].get("k") == shared and (("k" in res["diagnosis"]) == (shared is not None))


def test_number_shows_values_exactly():
    assert number("12345678.90") == "12,345,678.90"
    assert number(12345678.9) == "12,345,678.9" and number(10_000_000.0) == "10,000,000"
    assert number("123456789012345678.123456") == "123,456,789,012,345,678.123456"
    assert number(Decimal("-0.000123")) == "-0.000123" and number(7) == "7"
    assert number("USD") == "USD" and number(float("nan")) == "nan"
