"""A run's evidence is encoded once for its results row and its incident's `last_result` (the incident holds the
results row's text as it is), and flagged rows that are already plain JSON are not copied: what the store holds
is strict JSON that decodes to exactly the result document, whatever the values (floats, NaN, DECIMALs, text,
dates)."""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from decimal import Decimal

from sentinel.results import JsonList, JsonText, json_items, jsonable
from sentinel.store import dumps

CHECKS = """
- expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 0, max_value: 100}}
- expect: {type: expect_column_values_to_be_between, kwargs: {column: price, min_value: 0, max_value: 100}}
- expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [USD]}}
- expect: {type: expect_column_values_to_be_in_set, kwargs: {column: day, value_set: ['2026-01-01']}}
- expect: {type: expect_column_values_to_not_be_null, kwargs: {column: note}}
"""


def _table(project) -> None:
    import duckdb

    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute(
        "CREATE TABLE deals AS SELECT i AS id, CASE WHEN i % 7 = 0 THEN 1000.5 WHEN i = 3 THEN 'NaN'::DOUBLE "
        "ELSE i END AS amount, CAST(i * 10.25 AS DECIMAL(12, 2)) AS price, "
        "CASE WHEN i % 5 = 0 THEN 'EUR' WHEN i % 11 = 0 THEN 'Ü\"\\\\' ELSE 'USD' END AS currency, "
        "DATE '2026-01-01' + CAST(i % 3 AS INTEGER) AS day, CASE WHEN i % 4 = 0 THEN NULL ELSE 'n' END AS note "
        "FROM range(1, 41) AS r(i)"
    )
    con.close()


def _strict(text: str):
    def refuse(name):
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_the_store_holds_each_result_exactly_encoded_once(project):
    _table(project)
    project.duckdb(CHECKS)
    for _ in range(2):  # the first run opens the incidents, the second updates them
        code, doc = project.run_json()
        assert code == 1
    by_check = {r["check"]: r for r in doc["results"]}
    db = sqlite3.connect(project.root / "state.db")
    run_id = db.execute("SELECT max(id) FROM runs").fetchone()[0]
    stored = dict(db.execute("SELECT check_name, evidence FROM results WHERE run_id = ?", (run_id,)).fetchall())
    last = dict(db.execute("SELECT check_name, last_result FROM incidents WHERE state = 'open'").fetchall())
    assert set(stored) == set(by_check) and set(last) == set(by_check)
    for name, r in by_check.items():
        assert r["status"] == "fail" and r["evidence"]["rows"]["items"], name
        assert _strict(stored[name]) == r["evidence"], name
        assert _strict(last[name]) == {"status": r["status"], **r}, name
        assert f'"evidence": {stored[name]}' in last[name], name  # the same text, not encoded again
    amounts = by_check["expect_column_values_to_be_between(amount)"]["evidence"]["rows"]["items"]
    assert amounts[:2] == [{"key": 3, "value": None}, {"key": 7, "value": 1000.5}]  # DuckDB's NaN is above all
    prices = by_check["expect_column_values_to_be_between(price)"]["evidence"]["rows"]["items"]
    assert prices[0] == {"key": 10, "value": "102.50"}  # a DECIMAL as its exact string


def test_plain_rows_are_kept_and_anything_else_is_converted():
    keys = [1, 2, 3]
    for values in (["EUR", "JPY", None], [1.5, 2.0, -3.25], [True, 7, "x"]):
        items = json_items([{"key": k, "value": v} for k, v in zip(keys, values, strict=True)], keys, values)
        assert type(items) is JsonList and jsonable({"items": items})["items"] is items
    for values in ([1.5, math.nan, 2.0], [1.5, None, 2.0], [Decimal("1.5"), 2, 3], [dt.date(2026, 1, 1)] * 3):
        items = json_items([{"key": k, "value": v} for k, v in zip(keys, values, strict=True)], keys, values)
        assert type(items) is list
        assert json.dumps(jsonable(items), allow_nan=False)  # converted: strict JSON
    items = json_items([{"key": k} for k in keys], keys)
    items[1]["origin"] = {"at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}  # gained a key since: converted again
    out = jsonable(items)
    assert out is not items and out[1]["origin"] == {"at": "2026-01-01T00:00:00+00:00"}


def test_encoded_values_are_written_as_json_dumps_writes_the_document():
    """store.dumps splices an encoded value into the document's text as it is."""
    evidence = {"rows": {"count": 2, "items": [{"key": 'a\u00e9"\\', "value": 1e300}, {"key": 2, "value": None}]}}
    doc = {"status": "fail", "check": "c\u2028", "evidence": evidence, "diagnosis": None}
    text = JsonText(json.dumps(evidence))
    assert dumps(text) == json.dumps(evidence)
    assert dumps({**doc, "evidence": text}) == json.dumps(doc)
    assert dumps({}) == "{}" and dumps([text]) == json.dumps([str(text)])  # only top-level values are taken as is


def test_a_connection_of_another_engine_is_given_the_document(tmp_path):
    """Only a Store's engine writes encoded text as it is: on another, json.dumps would store it as a string."""
    import sqlalchemy as sa

    from sentinel import incidents
    from sentinel.results import CheckResult
    from sentinel.store import Store, writes_text

    url = f"sqlite:///{tmp_path}/s.db"
    store = Store(url)
    evidence = {"rows": {"count": 1, "items": [{"key": 1, "value": "EUR"}], "omitted": 0}}
    found = CheckResult("d", "c", "expect", "fail", "error", evidence=evidence, cause="violation")
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    plain = sa.create_engine(url)
    with plain.begin() as conn:
        assert not writes_text(conn)
        incidents.apply(conn, 1, [found], now)
    plain.dispose()
    with store.engine.connect() as conn:
        assert writes_text(conn)
    text = sqlite3.connect(tmp_path / "s.db").execute("SELECT last_result FROM incidents").fetchone()[0]
    assert text == json.dumps({"status": "fail", **found.to_json()}) and json.loads(text)["evidence"] == evidence


def test_encode_decodes_to_the_document_and_falls_back_where_orjson_refuses():
    from sentinel.results import encode

    doc = {"rows": {"items": [{"key": 'a\u00e9"\\\u2028', "value": 1e300}, {"key": 2, "value": 0.1 + 0.2}]}, "n": None}
    assert _strict(encode(doc)) == doc and encode(doc) != json.dumps(doc)  # orjson's compact text
    for odd in ({"key": 2**70}, {"key": "\ud800"}):  # beyond 64 bits; a lone surrogate
        assert encode(odd) == json.dumps(odd) and json.loads(encode(odd)) == odd
