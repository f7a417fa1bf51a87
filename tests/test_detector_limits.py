"""Bounds on what the detectors list and track: `evidence_limit` caps subschema's new and shifted categories
and `history_by`'s items (counts stay exact); past `max_categories` subschema reports a high-cardinality
column instead of tracking a share per category."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sqlalchemy as sa
from backends import make
from conftest import by_check

LIMIT = 10


def setup(project, wh, checks: str, table: str = "deals") -> None:
    """A project whose config.yaml sets evidence_limit to LIMIT, with one dataset on `table`."""
    project.dataset(wh, checks, table=table)
    text = (project.root / "config.yaml").read_text()
    (project.root / "config.yaml").write_text(text + f"evidence_limit: {LIMIT}\n")


def load(wh, rows: list[dict]) -> None:
    wh.execute("DROP TABLE IF EXISTS deals")
    wh.execute("CREATE TABLE deals (id INTEGER, currency VARCHAR(20), amount DOUBLE PRECISION)")
    wh.execute("INSERT INTO deals VALUES (:id, :currency, :amount)", rows)


def deals(labels: list[str], seed: int = 1) -> list[dict]:
    rng = np.random.default_rng(seed)
    amount = np.round(10 ** (4 + rng.normal(0, 0.1, len(labels))), 2)
    return [{"id": i + 1, "currency": c, "amount": float(amount[i])} for i, c in enumerate(labels)]


def shares(project) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{project.root / 'state.db'}")
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT metric FROM metrics WHERE metric LIKE '%share:%'")).scalars().all()
    engine.dispose()
    return found


def test_new_and_shifted_categories_are_capped_and_counted(project, tmp_path):
    wh = make("duckdb", tmp_path)
    setup(project, wh, "- subschema: {value_column: amount, category_column: currency, share_change: 0.004}")
    old = [f"c{i:03d}" for i in range(50) for _ in range(40)]  # 50 categories of 2% each
    load(wh, deals(old))
    assert project.run_json()[0] == 0
    # every old category's share moves by 0.5% or more, and 300 new ones arrive with 2 rows each
    now = [f"c{i:03d}" for i in range(50) for _ in range(60 if i < 25 else 12)] + [
        f"new{i:03d}" for i in range(300) for _ in range(2)
    ]
    load(wh, deals(now))
    code, doc = project.run_json()
    res = by_check(doc)["subschema(amount)"]
    assert code == 1 and res["diagnosis"]["cause"] == "new_category"
    new, shifted = res["evidence"]["new_values"], res["evidence"]["shifted"]
    assert (new["count"], len(new["items"]), new["omitted"]) == (300, LIMIT, 290)
    assert new["items"][0] == {"value": "new000", "count": 2}
    assert (shifted["count"], len(shifted["items"]), shifted["omitted"]) == (50, LIMIT, 40)
    assert "and 295 more" in res["diagnosis"]["message"] and "and 45 more" in res["diagnosis"]["message"]
    assert res["observed"]["categories"] == 350


def test_history_by_items_are_capped_and_every_flagged_key_is_held(project, tmp_path):
    """30 deals typed x10 overnight, each an ordinary size among its peers: 10 listed, 30 counted, and all 30
    keep their last good value in the snapshot, so the next day flags all 30 again."""
    wh = make("duckdb", tmp_path)
    rng = np.random.default_rng(3)
    n = 2000
    amount = np.round(10 ** rng.uniform(3, 6, n), 2)
    rows = [{"id": i + 1, "currency": "USD", "amount": float(a)} for i, a in enumerate(amount)]
    setup(project, wh, "- magnitude: {column: amount, history_by: id}")
    load(wh, rows)
    assert project.run_json()[0] == 0
    victims = [i for i in range(n) if 10**3.5 < amount[i] < 10**4.5][:30]
    for i in victims:
        rows[i]["amount"] *= 10
    for day in range(2):
        for i in range(1000 + 400 * day, 1400 + 400 * day):  # and each day, honest updates of +-20%
            if i not in victims:
                rows[i]["amount"] *= 1.2 if i % 2 else 0.8
        load(wh, rows)
        code, doc = project.run_json()
        res = by_check(doc)["magnitude(amount)"]
        assert code == 1, res["expected"]["history"]
        listed = res["evidence"]["rows"]
        assert (listed["count"], len(listed["items"]), listed["omitted"]) == (30, LIMIT, 20)
        assert {i["key"] for i in listed["items"]} <= {v + 1 for v in victims}
        assert all("previous value" in i["baseline"]["kind"] for i in listed["items"])
        assert res["observed"]["flagged"] == 30


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_a_high_cardinality_category_column_warns_once_and_tracks_no_shares(project, backend, request, tmp_path):
    wh = make(backend, tmp_path, request.getfixturevalue("pg_schema") if backend == "postgresql" else None)
    labels = [f"acct-{i:04d}" for i in range(200) for _ in range(10)]  # 200 distinct, past a cap of 50
    load(wh, deals(labels))
    setup(project, wh, "- subschema: {value_column: amount, category_column: currency, max_categories: 50}")
    for _ in range(2):
        code, doc = project.run_json()
        (res,) = doc["results"]
        assert code == 0 and res["status"] == "warn" and res["severity"] == "error", res
        assert res["diagnosis"]["cause"] == "high_cardinality" and res["observed"]["categories"] == 200
        assert "currency has 200 distinct values, more than max_categories (50)" in res["diagnosis"]["message"]
        assert res["evidence"] == {}
    assert shares(project) == []  # no per-category share was stored
    plans = project.root / ".sentinel" / "scan-plans.json"
    assert plans.exists() and "acct-" not in plans.read_text()  # the next run's speculative SQL names none
    # at the cap itself the shares are tracked as before
    setup(project, wh, "- subschema: {value_column: amount, category_column: currency, max_categories: 200}")
    code, doc = project.run_json()
    assert code == 0 and doc["results"][0]["status"] == "pass" and len(shares(project)) == 200


def test_a_unit_shift_is_still_found_in_a_high_cardinality_column(project, tmp_path):
    """The categories are not tracked, but a second mode over the whole column still is."""
    wh = make("duckdb", tmp_path)
    rows = deals([f"acct-{i:04d}" for i in range(300) for _ in range(10)])
    yen = set(range(5, 3000, 100))  # 30 deals in yen
    for r in rows:
        if r["id"] in yen:
            r["amount"] *= 150
    load(wh, rows)
    setup(project, wh, "- subschema: {value_column: amount, category_column: currency, max_categories: 50}")
    code, doc = project.run_json()
    (res,) = doc["results"]
    assert code == 1 and res["status"] == "fail" and res["diagnosis"]["cause"] == "unit_shift"
    (mode,) = res["evidence"]["modes"]
    assert mode["label"] == "(all)" and mode["factor"]["label"] == "JPY" and mode["count"] == 30
    assert {r["key"] for r in mode["rows"]["items"]} == set(sorted(yen)[:LIMIT])
    assert "more than max_categories (50)" in res["diagnosis"]["message"]
    assert json.dumps(res["expected"]).count("max_categories") == 1


def test_the_default_cap_is_ten_thousand_categories(project, tmp_path):
    """An id-like column (12,000 values, one row each) as category_column, with no max_categories given."""
    wh = make("duckdb", tmp_path)
    load(wh, deals([f"id-{i:05d}" for i in range(12_000)]))
    setup(project, wh, "- subschema: {value_column: amount, category_column: currency}")
    code, doc = project.run_json()
    (res,) = doc["results"]
    assert code == 0 and res["status"] == "warn" and res["observed"]["categories"] == 12_000, res
    assert "more than max_categories (10,000)" in res["diagnosis"]["message"] and shares(project) == []
