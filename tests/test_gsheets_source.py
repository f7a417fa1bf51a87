"""`type: gsheets`: the real gspread and google-auth against a fake Sheets/Drive/OAuth server on 127.0.0.1
(tests/fakes/sheets.py). Every check kind runs on a tab; evidence rows can be named by their cells."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading

import pytest
import sqlalchemy as sa
from conftest import by_check
from fakes.sheets import FakeSheets

from sentinel.config import load_config
from sentinel.sources import open_source
from sentinel.store import Store, incidents, results

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
KEY = "1AbCforecastKey"
HEADER = ["id", "owner", "product", "amount", "quantity", "updated_at"]


def forecast_rows(n: int = 39, bad_id: int | None = 6) -> list[list]:
    """Pete's forecast: amount follows quantity, one row (id 6, sheet row 7) typed with three extra digits."""
    rows = []
    for i in range(1, n + 1):
        quantity = 10 + (i * 7) % 13
        amount = round(quantity * 101.5 + (i % 5) * 3.25, 2)
        if i == bad_id:
            amount *= 1000
        stamp = (NOW - dt.timedelta(hours=i)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append([i, "pete" if i % 2 else "dana", f"P{i % 4}", amount, quantity, stamp])
    return rows


@pytest.fixture
def sheets():
    fake = FakeSheets()
    yield fake
    fake.close()


def sheet_project(project, sheets, monkeypatch, checks: str, table: str = "Forecast_US", extra: str = "") -> dict:
    """config.yaml with the fake as source `sop` (service-account key from ${GOOGLE_SA}) and one dataset."""
    info = sheets.service_account()
    monkeypatch.setenv("GOOGLE_SA", json.dumps(info))
    project.config(f"""
        sop:
          type: gsheets
          credentials: ${{GOOGLE_SA}}
          spreadsheet: {KEY}
          api_root: {sheets.url}
        """)
    items = "\n".join("      " + line for line in checks.strip().splitlines())
    project.write(
        "checks/forecast.yaml",
        f"datasets:\n  - name: forecast\n    source: sop\n    table: {json.dumps(table)}\n    key: id\n{extra}"
        f"    checks:\n{items}\n",
    )
    return info


ONE_CHECK = "datasets:\n  - {name: f, source: sop, table: Forecast_US, checks: [{not_empty: {}}]}\n"
ALL_KINDS = """
- not_empty: {}
- freshness: {column: updated_at, max_age: 3d}
- volume: {timestamp_column: updated_at, bucket: hour}
- magnitude: {column: amount, explained_by: [quantity]}
- subschema: {value_column: amount, category_column: product}
- schema: {}
- expect: {type: expect_column_values_to_not_be_null, kwargs: {column: id}}
- expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 0, max_value: 100000}}
"""


def test_every_check_kind_runs_on_a_tab_read_with_a_service_account(project, sheets, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    sheets.add(KEY, {"Notes": [["x"]], "Forecast_US": [HEADER, *forecast_rows()]})
    info = sheet_project(project, sheets, monkeypatch, ALL_KINDS)
    code, doc = project.run_json()
    res = by_check(doc)
    assert {r["status"] for r in doc["results"]} <= {"pass", "fail", "warn"}, doc["results"]
    assert res["not_empty"]["observed"] == 39 and res["not_empty"]["status"] == "pass"
    assert res["freshness"]["status"] == "pass"
    assert res["expect_column_values_to_not_be_null(id)"]["status"] == "pass"
    assert res["schema"]["status"] == "pass"
    flagged = [i["key"] for i in res["magnitude(amount)"]["evidence"]["rows"]["items"]]
    assert flagged == [6]
    between = res["expect_column_values_to_be_between(amount)"]
    assert [i["key"] for i in between["evidence"]["rows"]["items"]] == [6] and code == 1

    # signed in with the service account's own JWT (verified by the fake), read-only scopes, one values get
    assert [c["iss"] for c in sheets.claims] == [info["client_email"]]
    assert set(sheets.claims[0]["scope"].split()) == {
        "https://www.googleapis.com/auth/spreadsheets.readonly",
        "https://www.googleapis.com/auth/drive.readonly",
    }
    gets = [s for s in sheets.seen if "/values" in s.path]
    assert len(gets) == 1 and gets[0].path == f"/v4/spreadsheets/{KEY}/values/'Forecast_US'"
    assert gets[0].query["valueRenderOption"] == ["UNFORMATTED_VALUE"]
    # no secret anywhere: not the key, not the token the fake issued
    text = json.dumps(doc) + caplog.text
    assert info["private_key"].splitlines()[1] not in text and "ya29." not in text


def test_flagged_rows_are_named_by_their_cells_and_a_link(project, sheets, monkeypatch):
    """The run's evidence rows carry their cells and link (annotated after the checks ran), in the JSON a run
    prints, the stored result and the incident a request is composed from; and the source names them alike."""
    sheets.add(KEY, {"Forecast_US": [HEADER, *forecast_rows()]})
    sheet_project(project, sheets, monkeypatch, "- magnitude: {column: amount, explained_by: [quantity]}")
    sheet_id = sheets.files[KEY].tabs[0].sheet_id
    expected = {
        "cells": "Forecast_US!A7:F7",  # id 6 is the 6th data row under the header in row 1
        "url": f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid={sheet_id}&range=A7:F7",
    }
    _, doc = project.run_json()
    (item,) = doc["results"][0]["evidence"]["rows"]["items"]
    assert item["key"] == 6 and item["origin"] == expected
    cfg = load_config(project.root / "config.yaml")
    store = Store(cfg.state_url)
    try:
        with store.engine.connect() as conn:
            (saved,) = conn.execute(sa.select(results.c.evidence).where(results.c.kind == "magnitude")).scalars()
            (incident,) = conn.execute(sa.select(incidents.c.last_result)).scalars()
    finally:
        store.close()
    assert [i["origin"] for i in saved["rows"]["items"]] == [expected]
    assert [i["origin"] for i in incident["evidence"]["rows"]["items"]] == [expected]

    source = open_source("sop", cfg)
    try:
        source.describe("Forecast_US")
        named = source.origin_of("Forecast_US", "id", ["6"])
    finally:
        source.close()
    assert named == {"6": expected}


def test_petes_overwritten_tab_with_a_header_and_no_rows_fails_not_empty(project, sheets, monkeypatch):
    sheets.add(KEY, {"Forecast_US": [HEADER]})
    sheet_project(project, sheets, monkeypatch, "- not_empty: {}\n- schema: {}")
    code, doc = project.run_json()
    res = by_check(doc)
    assert res["not_empty"]["status"] == "fail" and res["not_empty"]["observed"] == 0
    assert res["schema"]["status"] == "pass"  # the columns are there, typed as text
    assert code == 1


@pytest.mark.parametrize(
    "values, message",
    [
        ([], "is empty: no header row"),
        ([[], ["", ""], [1, 2]], "the header row (row 1) is empty"),
    ],
)
def test_a_tab_without_a_header_row_is_an_error_never_an_empty_table(project, sheets, monkeypatch, values, message):
    sheets.add(KEY, {"Forecast_US": values})
    sheet_project(project, sheets, monkeypatch, "- not_empty: {}")
    code, doc = project.run_json()
    (r,) = doc["results"]
    assert r["status"] == "error" and r["diagnosis"]["cause"] == "no_header"
    assert message in json.dumps(r)
    assert code == 3


def test_blank_and_repeated_column_names_are_named_by_cell(project, sheets, monkeypatch):
    sheets.add(KEY, {"Forecast_US": [["id", "Amount", "", "amount"], [1, 2, 3, 4, "stray"]]})
    sheet_project(project, sheets, monkeypatch, "- not_empty: {}")
    code, doc = project.run_json()
    (r,) = doc["results"]
    assert r["status"] == "error" and r["diagnosis"]["cause"] == "bad_header"
    text = r["diagnosis"]["message"] if "message" in r["diagnosis"] else json.dumps(r)
    assert "C1 is blank" in text and "D1 repeats 'amount' (as B1)" in text
    assert "E1 is blank but its column holds data" in text and code == 3


def test_header_row_and_range_are_respected(project, sheets, monkeypatch):
    tab = "Bob's plan"
    values = [
        ["Forecast for December", "", "", "", "junk"],
        ["(do not edit above row 3)"],
        ["note", "id", "amount", "product", "junk"],
        ["left", 1, 10, "a", "x"],
        ["", "", "", ""],  # a blank row inside the range is skipped
        ["left", 2, 20, "b", 99],
        ["left", 3, 30, "c"],
        ["left", 4, 40, "d"],  # below the range
    ]
    sheets.add(KEY, {tab: values})
    in_set = "- expect: {type: expect_column_values_to_be_in_set, kwargs: {column: product, value_set: [a, c]}}"
    checks = f"- not_empty: {{}}\n- schema: {{}}\n{in_set}"
    sheet_project(project, sheets, monkeypatch, checks, table=tab, extra="    range: B3:D7\n")
    _, doc = project.run_json()
    res = by_check(doc)
    assert res["not_empty"]["observed"] == 3
    (flagged,) = res["expect_column_values_to_be_in_set(product)"]["evidence"]["rows"]["items"]
    assert flagged["key"] == 2 and flagged["origin"]["cells"] == "'Bob''s plan'!B6:D6"  # the tab's row, not the read's
    assert flagged["origin"]["url"].endswith("&range=B6:D6")
    cfg = load_config(project.root / "config.yaml")
    source = open_source("sop", cfg)
    try:
        cols = source.describe(tab)
        named = source.origin_of(tab, "id", ["2", "4"])
        rows = source.execute(_select_all(source, tab, cols))
    finally:
        source.close()
    assert list(cols) == ["id", "amount", "product"] and cols["id"].numeric
    assert [tuple(r) for r in rows] == [(1, 10, "a"), (2, 20, "b"), (3, 30, "c")]
    assert named == {"2": {"cells": "'Bob''s plan'!B6:D6", "url": named["2"]["url"]}}
    assert named["2"]["url"].endswith("&range=B6:D6")
    asked = [s.path for s in sheets.seen if "/values" in s.path]
    assert asked == [f"/v4/spreadsheets/{KEY}/values/'Bob''s plan'!B3:D7"] * 2  # one read per opened source

    # header_row counts from the first row read: the tab's row 3 here
    sheet_project(project, sheets, monkeypatch, "- not_empty: {}", table=tab, extra="    header_row: 3\n")
    _, doc = project.run_json()
    assert doc["results"][0]["observed"] == 4  # rows 4, 6, 7 and 8; the blank row 5 is not data


def _select_all(source, table, cols):
    import sqlalchemy as sa

    t = source.table(table)
    return sa.select(*[sa.column(c) for c in cols]).select_from(t).order_by(sa.column("id"))


def test_cells_keep_what_the_sheet_holds(project, sheets, monkeypatch):
    """Numbers as the sheet holds them, text as typed ("00123" is never numericised), ISO dates as timestamps,
    a mixed column as text, empty cells NULL."""
    sheets.add(
        KEY,
        {
            "Forecast_US": [
                ["id", "code", "amount", "big", "when", "day", "mixed", "flag", "sparse"],
                [1, "00123", 12345678.9, 9007199254740993, "2026-11-30 09:12:00", "2026-11-30", 5, True, ""],
                [2, "042", 0.1, 2, "2026-11-30T10:00:00", "2026-12-01", "n/a", False, None],
                [3, "", 7, 3, "", "", 1.5, "", "x"],
            ]
        },
    )
    sheet_project(project, sheets, monkeypatch, "- not_empty: {}")
    cfg = load_config(project.root / "config.yaml")
    source = open_source("sop", cfg)
    try:
        cols = source.describe("Forecast_US")
        rows = source.execute(_select_all(source, "Forecast_US", cols))
    finally:
        source.close()
    types = {c: info.type for c, info in cols.items()}
    assert types == {
        "id": "BIGINT",
        "code": "VARCHAR",
        "amount": "DOUBLE",
        "big": "BIGINT",
        "when": "TIMESTAMP",
        "day": "DATE",
        "mixed": "VARCHAR",
        "flag": "BOOLEAN",
        "sparse": "VARCHAR",
    }
    assert [tuple(r) for r in rows] == [
        (1, "00123", 12345678.9, 2**53 + 1, dt.datetime(2026, 11, 30, 9, 12), dt.date(2026, 11, 30), "5", True, None),
        (2, "042", 0.1, 2, dt.datetime(2026, 11, 30, 10), dt.date(2026, 12, 1), "n/a", False, None),
        (3, None, 7.0, 3, None, None, "1.5", None, "x"),
    ]


HOSTILE = [
    'O\'Brien "quoted"',
    "100% of 'x'",
    "line1\nline2\r\n\tend",
    "'; DROP TABLE sheet_0; --",
    "back\\slash \\' :name ${HOME} {{ 7*7 }}",
    "<script>alert(1)</script>",
    "naïve ünïcödé 🙂 \u202e",
    "   ",
]


def test_hostile_cell_values_and_names_reach_duckdb_byte_exact(project, sheets, monkeypatch):
    name = 'note "x"; --'
    sheets.add(KEY, {"Forecast_US": [["id", name], *[[i, v] for i, v in enumerate(HOSTILE, 1)]]})
    sheet_project(project, sheets, monkeypatch, "- not_empty: {}")
    cfg = load_config(project.root / "config.yaml")
    source = open_source("sop", cfg)
    try:
        cols = source.describe("Forecast_US")
        rows = source.execute(_select_all(source, "Forecast_US", cols))
    finally:
        source.close()
    assert list(cols) == ["id", name]
    assert [r[1] for r in rows] == HOSTILE


def test_a_missing_tab_or_spreadsheet_is_missing_table_and_403_is_permission(project, sheets, monkeypatch):
    sheets.add(KEY, {"Forecast_US": [HEADER]})
    sheet_project(project, sheets, monkeypatch, "- not_empty: {}", table="Forecast_EU")
    code, doc = project.run_json()
    (r,) = doc["results"]
    assert (r["status"], r["diagnosis"]["cause"], code) == ("error", "missing_table", 3)
    assert "no tab 'Forecast_EU' (tabs: 'Forecast_US')" in json.dumps(r)

    del sheets.files[KEY]
    code, doc = project.run_json()
    (r,) = doc["results"]
    assert (r["status"], r["diagnosis"]["cause"], code) == ("error", "missing_table", 3)
    assert "404" in json.dumps(r)

    sheets.add(KEY, {"Forecast_EU": [HEADER]})
    sheets.forbidden.add(KEY)
    code, doc = project.run_json()
    (r,) = doc["results"]
    assert (r["status"], r["diagnosis"]["cause"], code) == ("error", "permission", 3)
    assert "403" in json.dumps(r) and "ya29" not in json.dumps(r)


def test_an_oauth_token_from_env_signs_in_without_a_token_request(project, sheets, monkeypatch):
    sheets.add(KEY, {"Forecast_US": [HEADER, *forecast_rows(3, None)]})
    sheets.static_tokens.add("ya29.user-token-from-env")
    monkeypatch.setenv("GOOGLE_TOKEN", "ya29.user-token-from-env")
    project.config(f"sop: {{type: gsheets, token: '${{GOOGLE_TOKEN}}', spreadsheet: {KEY}, api_root: '{sheets.url}'}}")
    project.write("checks/f.yaml", ONE_CHECK)
    code, doc = project.run_json()
    assert doc["results"][0]["observed"] == 3 and code == 0
    assert sheets.count("POST", "/token") == 0
    assert {s.headers["authorization"] for s in sheets.api_requests()} == {"Bearer ya29.user-token-from-env"}

    monkeypatch.setenv("GOOGLE_TOKEN", "ya29.expired-token-value")
    code, doc = project.run_json()
    (r,) = doc["results"]
    assert (r["diagnosis"]["cause"], code) == ("permission", 3)
    assert "expired-token-value" not in json.dumps(doc)


def test_a_key_that_is_not_json_or_a_file_is_a_clear_error(project, sheets, monkeypatch):
    sheets.add(KEY, {"Forecast_US": [HEADER]})
    sheet_project(project, sheets, monkeypatch, "- not_empty: {}")
    monkeypatch.setenv("GOOGLE_SA", '{"type": "service_account", "private_key": "-----BEGIN secret-material')
    code, doc = project.run_json()
    (r,) = doc["results"]
    assert r["status"] == "error" and "sources.sop.credentials: not a service-account JSON key" in json.dumps(r)
    assert "secret-material" not in json.dumps(doc) and code in (2, 3)
    assert not sheets.seen


def test_a_sheet_that_does_not_answer_is_a_timeout_not_a_hang(project, sheets, monkeypatch):
    sheets.add(KEY, {"Forecast_US": [HEADER]})
    monkeypatch.setenv("GOOGLE_TOKEN", "ya29.user-token-from-env")
    sheets.static_tokens.add("ya29.user-token-from-env")
    project.config(
        f"sop: {{type: gsheets, token: '${{GOOGLE_TOKEN}}', spreadsheet: {KEY}, api_root: '{sheets.url}', timeout: 1}}"
    )
    project.write("checks/f.yaml", ONE_CHECK)
    sheets.stall = threading.Event()
    try:
        code, doc = project.run_json()
    finally:
        sheets.stall.set()
    (r,) = doc["results"]
    assert (r["status"], r["diagnosis"]["cause"], code) == ("error", "timeout", 3)
