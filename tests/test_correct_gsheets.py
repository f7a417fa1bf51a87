"""The Google Sheets correction target: the real gspread and google-auth against the fake Sheets/Drive/OAuth
server (tests/fakes/sheets.py). A change-set staged on the staging copy (production never written), measured
there by the dataset's own checks, promoted in one RAW batchUpdate after re-reading production, promoted again
as a no-op, rolled back; stale preconditions, moved rows, hostile text, Drive copy and transient failures."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fakes.sheets import FakeSheets, Formula

from sentinel.checks.exact import shifted
from sentinel.config import load_config
from sentinel.correctors import open_target
from sentinel.correctors.base import Cell, Conflict, ReadBack, TargetError, Where
from sentinel.correctors.gsheets import init_staging
from sentinel.runner import measure

PROD = "1ProdForecastKey"
STAGE = "1StageForecastKey"
TAB = "Forecast_US"
HEADER = ["id", "owner", "product", "amount", "quantity", "updated_at"]
NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
BAD = 6  # id 6 (sheet row 7): amount typed with three extra digits
CHECKS = """
- not_empty: {}
- expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 0, max_value: 100000}}
"""
SHEETS = "https://www.googleapis.com/auth/spreadsheets"
BETWEEN = "expect_column_values_to_be_between(amount)"


def forecast(n: int = 12, bad: int | None = BAD) -> list[list]:
    """Data rows: amount follows quantity (two decimals); row `bad` holds amount x 1000 as an integral number."""
    rows = []
    for i in range(1, n + 1):
        quantity = 10 + (i * 7) % 13
        amount = quantity * 100 + (i % 4) * 0.25 + 0.125
        stamp = (NOW - dt.timedelta(hours=i)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append([i, "pete" if i % 2 else "dana", f"P{i % 4}", amount, quantity, stamp])
    if bad is not None:
        rows[bad - 1][3] = int(rows[bad - 1][3] * 1000)
    return rows


@pytest.fixture
def sheets():
    fake = FakeSheets()
    yield fake
    fake.close()


def setup(project, sheets, monkeypatch, rows=None, staging: str | None = STAGE, token: bool = False, extra=""):
    """Production PROD and a stale staging copy STAGE (made days ago: other values, rows since deleted) in the
    fake, config with source `sop` (service account, or a user token) and dataset `forecast` on TAB."""
    rows = forecast() if rows is None else rows
    sheets.add(PROD, {"Notes": [["x"]], TAB: [HEADER, *rows]})
    if staging == STAGE:
        stale = [list(r) for r in forecast(n=15, bad=None)]
        stale[2][1] = "someone's edit on the copy"
        sheets.add(STAGE, {"Notes": [["x"]], TAB: [HEADER, *stale]}, title="S&OP (staging)")
    if token:
        sheets.static_tokens.add("user-token-1")
        monkeypatch.setenv("GOOGLE_TOKEN", "user-token-1")
        sign_in = "token: ${GOOGLE_TOKEN}"
    else:
        monkeypatch.setenv("GOOGLE_SA", json.dumps(sheets.service_account()))
        sign_in = "credentials: ${GOOGLE_SA}"
    stage_line = f"\n  staging_spreadsheet: {staging}" if staging else ""
    project.config(f"sop:\n  type: gsheets\n  {sign_in}\n  spreadsheet: {PROD}{stage_line}\n  api_root: {sheets.url}\n")
    items = "\n".join("      " + line for line in CHECKS.strip().splitlines())
    project.write(
        "checks/forecast.yaml",
        f"datasets:\n  - name: forecast\n    source: sop\n    table: {TAB}\n    key: id\n{extra}    checks:\n{items}\n",
    )
    cfg = load_config(project.root / "config.yaml")
    ds = cfg.dataset("forecast")
    return cfg, ds, Where(cfg, "sop", ds, TAB, "id")


def amount_fix(sheets, key: int = BAD, row: int | None = None) -> Cell:
    """The planner's cell for `key`: old as the sheet holds it, new = old / 1000 as an exact decimal string."""
    old = sheets.cell(PROD, TAB, f"D{(row or key + 1)}")
    return Cell(key, "amount", old, shifted(old, 3))


def statuses(cfg, ds) -> dict[str, str]:
    return {r.check: r.status for r in measure(cfg, ds, NOW, None)}


def batch_updates(sheets, key: str) -> list[dict]:
    return [json.loads(s.body) for s in sheets.writes(key) if s.path.endswith("values:batchUpdate")]


def test_stage_measure_promote_again_and_rollback(project, sheets, monkeypatch):
    cfg, ds, where = setup(project, sheets, monkeypatch)
    cell = amount_fix(sheets)
    assert cell.old == 1300625 and cell.new == "1300.625"
    prod_before = sheets.dump(PROD)
    assert statuses(cfg, ds)[BETWEEN] == "fail"

    target = open_target(where)
    try:
        handle = target.stage(1, [cell])
        assert handle == {"spreadsheet": STAGE, "tab": TAB, "cells": {"6": {"amount": "D7"}}}
        assert json.loads(json.dumps(handle)) == handle
        # the staging copy mirrors production now (the stale copy's extra rows and edit are gone) plus the fix
        stage_values = sheets.files[STAGE].tabs[1].values
        want = [list(r) for r in sheets.files[PROD].tabs[1].values]
        want[BAD][3] = 1300.625
        assert [[v for v in r if v is not None] for r in stage_values if any(v is not None for v in r)] == want
        assert sheets.dump(PROD) == prod_before and sheets.writes(PROD) == []

        s_cfg, s_ds = target.staged(1, handle)
        assert s_cfg.main.sources["sop"].spreadsheet == STAGE and s_ds.table == TAB
        assert statuses(s_cfg, s_ds) == {"not_empty": "pass", BETWEEN: "pass"}
        assert statuses(cfg, ds)[BETWEEN] == "fail"  # production still flags it

        done = target.promote(1, [cell], handle)
        assert done["written"] == 1 and done["already"] == 0
        assert done["snapshot"] == {"6": {"amount": 1300625}} and done["cells"] == {"6": {"amount": "D7"}}
        assert (
            int(done["version_after"]) == int(done["version_before"]) + 1
            and "no conditional write" in done["precondition"]
        )
        assert sheets.cell(PROD, TAB, "D7") == 1300.625
        (body,) = batch_updates(sheets, PROD)
        assert body["valueInputOption"] == "RAW" and body["data"] == [{"range": f"{TAB}!D7", "values": [[1300.625]]}]
        assert statuses(cfg, ds)[BETWEEN] == "pass"

        again = target.promote(1, [cell], handle)
        assert (again["written"], again["already"]) == (0, 1) and len(batch_updates(sheets, PROD)) == 1

        undone = target.rollback(1, [cell.inverse()], handle)
        assert (undone["written"], undone["already"]) == (1, 0) and undone["snapshot"] == {"6": {"amount": 1300.625}}
        assert sheets.cell(PROD, TAB, "D7") == 1300625
        after = json.loads(sheets.dump(PROD))
        assert after["tabs"] == json.loads(prod_before)["tabs"]
    finally:
        target.close()
    # writes were signed in with write scopes: Sheets, and Drive metadata read-only (never full Drive)
    # (the runner's reads stay read-only scoped)
    scopes = {frozenset(c["scope"].split()) for c in sheets.claims}
    assert scopes == {
        frozenset({SHEETS, "https://www.googleapis.com/auth/drive.metadata.readonly"}),
        frozenset({SHEETS + ".readonly", "https://www.googleapis.com/auth/drive.readonly"}),
    }


def test_a_cell_changed_after_staging_is_a_conflict_and_production_stays_byte_identical(project, sheets, monkeypatch):
    cfg, ds, where = setup(project, sheets, monkeypatch)
    fixes = [amount_fix(sheets), Cell(9, "owner", "pete", "dana")]
    target = open_target(where)
    try:
        handle = target.stage(7, fixes)
        sheets.files[PROD].tabs[1].values[BAD][3] = 1300600  # the owner corrected it differently meanwhile
        sheets.files[PROD].version += 1
        before = sheets.dump(PROD)
        with pytest.raises(Conflict) as err:
            target.promote(7, fixes, handle)
        assert [(c.key, v) for c, v in err.value.found] == [(BAD, 1300600)]
        assert sheets.dump(PROD) == before and batch_updates(sheets, PROD) == []

        del sheets.files[PROD].tabs[1].values[BAD]  # the row is gone altogether
        before = sheets.dump(PROD)
        with pytest.raises(Conflict) as err:
            target.promote(7, fixes, handle)
        assert [(c.key, v) for c, v in err.value.found] == [(BAD, None)]
        assert sheets.dump(PROD) == before and batch_updates(sheets, PROD) == []
    finally:
        target.close()


def test_a_row_moved_between_staging_and_promotion_promotes_the_right_row(project, sheets, monkeypatch):
    cfg, ds, where = setup(project, sheets, monkeypatch)
    cell = amount_fix(sheets)
    target = open_target(where)
    try:
        handle = target.stage(2, [cell])
        assert handle["cells"] == {"6": {"amount": "D7"}}
        values = sheets.files[PROD].tabs[1].values
        values.insert(1, [99, "new", "P9", 1.5, 1, "2026-12-01 00:00:00"])  # Pete inserted a row at the top
        values.sort(key=lambda r: r[0] if isinstance(r[0], int) else -1, reverse=True)  # ... and sorted by id, desc
        values.insert(0, values.pop())  # header back on top
        row = next(i + 1 for i, r in enumerate(values) if r[0] == BAD)
        assert row != 7
        others = {r[0]: r[3] for r in values if r[0] != BAD}
        done = target.promote(2, [cell], handle)
        assert done["written"] == 1 and done["cells"] == {"6": {"amount": f"D{row}"}}
        assert sheets.cell(PROD, TAB, f"D{row}") == 1300.625
        assert {r[0]: r[3] for r in sheets.files[PROD].tabs[1].values if r[0] != BAD} == others
    finally:
        target.close()


HOSTILE = [
    '=IMPORTXML("https://evil.example/x", "//a")',
    "'; DROP TABLE forecast; --",
    'O\'Brien "the quoted" \\ back',
    "00123",
    "+1 555",
    "TRUE",
]


def test_hostile_text_reaches_staging_and_production_byte_exact_as_text(project, sheets, monkeypatch):
    cfg, ds, where = setup(project, sheets, monkeypatch)
    cells = [Cell(i + 1, "owner", sheets.cell(PROD, TAB, f"B{i + 2}"), text) for i, text in enumerate(HOSTILE)]
    target = open_target(where)
    try:
        handle = target.stage(3, cells)
        assert [sheets.cell(STAGE, TAB, f"B{i + 2}") for i in range(len(HOSTILE))] == HOSTILE
        done = target.promote(3, cells, handle)
        assert done["written"] == len(HOSTILE)
        assert [sheets.cell(PROD, TAB, f"B{i + 2}") for i in range(len(HOSTILE))] == HOSTILE
        assert all(type(sheets.cell(PROD, TAB, f"B{i + 2}")) is str for i in range(len(HOSTILE)))
    finally:
        target.close()
    every = [b["valueInputOption"] for k in (PROD, STAGE) for b in batch_updates(sheets, k)]
    assert every and set(every) == {"RAW"}

    # the same text sent USER_ENTERED would not have survived: the fake parses it as the sheet does
    import gspread
    import requests

    from sentinel.sources.gsheets import _Reroute

    session = requests.Session()
    session.headers["Authorization"] = "Bearer user-token-2"
    session.mount("https://", _Reroute(sheets.url))
    sheets.static_tokens.add("user-token-2")
    gc = gspread.Client(auth=None, session=session)
    body = {
        "valueInputOption": "USER_ENTERED",
        "data": [{"range": f"{TAB}!B2:B5", "values": [[t] for t in HOSTILE[:4]]}],
    }
    gc.http_client.values_batch_update(PROD, body)
    parsed = [sheets.cell(PROD, TAB, f"B{i}") for i in range(2, 6)]
    assert parsed == [Formula(HOSTILE[0]), HOSTILE[1][1:], HOSTILE[2], 123]  # a formula, a lost quote, a number


def test_fit_is_the_value_as_the_sheet_stores_it_and_inexact_values_fail_the_read_back(project, sheets, monkeypatch):
    cfg, ds, where = setup(project, sheets, monkeypatch)
    target = open_target(where)
    try:
        assert target.fields() == {
            "id": "BIGINT",
            "owner": "VARCHAR",
            "product": "VARCHAR",
            "amount": "DOUBLE",
            "quantity": "BIGINT",
            "updated_at": "TIMESTAMP",
        }
        fit = target.fit
        assert fit("amount", "1300.625") == 1300.625 and type(fit("amount", "1300.625")) is float
        assert fit("amount", "1000000.00") == 1000000 and type(fit("amount", "1000000.00")) is int
        assert fit("amount", "0.1") == 0.1 and fit("quantity", "17.0") == 17
        assert fit("amount", 2.5) == 2.5 and fit("amount", None) is None
        assert fit("amount", "9007199254740993") == "9007199254740993"  # 2^53 + 1: no double holds it
        assert fit("amount", "12345678901234567.89") == "12345678901234567.89"
        assert fit("owner", 5) == "5" and fit("owner", 5.0) == "5" and fit("owner", "00123") == "00123"
        assert fit("amount", "n/a") == "n/a"  # text meant for a numeric column stays text

        exact = [
            Cell(1, "amount", sheets.cell(PROD, TAB, "D2"), "1234.0625"),
            Cell(2, "quantity", sheets.cell(PROD, TAB, "E3"), "21"),
        ]
        target.stage(4, exact)
        assert sheets.cell(STAGE, TAB, "D2") == 1234.0625 and sheets.cell(STAGE, TAB, "E3") == 21

        inexact = Cell(1, "amount", sheets.cell(PROD, TAB, "D2"), "12345678901234567.89")
        with pytest.raises(ReadBack) as err:
            target.stage(5, [inexact])
        ((cell, got),) = err.value.found
        assert cell == inexact and got == 12345678901234567.89 and "12345678901234567.89" in err.value.message
    finally:
        target.close()


def test_staging_is_idempotent_and_never_touches_production(project, sheets, monkeypatch):
    cfg, ds, where = setup(project, sheets, monkeypatch)
    cells = [amount_fix(sheets), Cell(3, "owner", "pete", "dana")]
    prod = sheets.dump(PROD)
    target = open_target(where)
    try:
        first = target.stage(8, cells)
        tabs = json.loads(sheets.dump(STAGE))["tabs"]
        second = target.stage(8, cells)
        assert first == second and json.loads(sheets.dump(STAGE))["tabs"] == tabs
        target.discard(8, first)
    finally:
        target.close()
    assert sheets.dump(PROD) == prod
    assert sheets.writes(PROD) == [] and len(sheets.writes(STAGE)) == 4  # mirror + cells, twice
    assert all(s.method == "GET" for s in sheets.api_requests() if f"/{PROD}" in s.path)


def test_init_staging_makes_a_drive_copy_and_the_target_stages_on_it(project, sheets, monkeypatch):
    cfg, ds, where = setup(project, sheets, monkeypatch, staging=None, token=True)
    with pytest.raises(TargetError, match="no staging_spreadsheet"):
        open_target(where).stage(1, [amount_fix(sheets)])

    new = init_staging(cfg, "sop", title="Forecast (staging)")
    assert new != PROD and sheets.files[new].title == "Forecast (staging)"
    assert json.loads(sheets.dump(new))["tabs"] == json.loads(sheets.dump(PROD))["tabs"]
    (copy,) = [s for s in sheets.seen if s.path.endswith("/copy")]
    assert copy.path == f"/drive/v3/files/{PROD}/copy" and copy.query["supportsAllDrives"] == ["True"]
    assert json.loads(copy.body) == {
        "name": "Forecast (staging)",
        "mimeType": "application/vnd.google-apps.spreadsheet",
    }
    assert not any("comments" in s.path or "permissions" in s.path for s in sheets.seen)

    cfg2, ds2, where2 = setup_with_staging(project, new)
    target = open_target(where2)
    try:
        handle = target.stage(1, [amount_fix(sheets)])
        assert handle["spreadsheet"] == new and sheets.cell(new, TAB, "D7") == 1300.625
    finally:
        target.close()


def setup_with_staging(project, key: str):
    """The project's config with `staging_spreadsheet: key` added to source `sop`."""
    path = project.root / "config.yaml"
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("spreadsheet:"))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    path.write_text("\n".join([*lines[: at + 1], f"{indent}staging_spreadsheet: {key}", *lines[at + 1 :]]) + "\n")
    cfg = load_config(path)
    ds = cfg.dataset("forecast")
    return cfg, ds, Where(cfg, "sop", ds, TAB, "id")


def test_a_service_account_copies_only_into_a_shared_drive_folder(project, sheets, monkeypatch):
    cfg, ds, where = setup(project, sheets, monkeypatch, staging=None)
    with pytest.raises(TargetError, match="Shared Drive") as err:
        init_staging(cfg, "sop")
    assert not err.value.transient and len(sheets.files) == 1
    new = init_staging(cfg, "sop", folder_id="0AFolderOnSharedDrive")
    (_, copy) = [s for s in sheets.seen if s.path.endswith("/copy")]
    assert json.loads(copy.body)["parents"] == ["0AFolderOnSharedDrive"] and new in sheets.files
    assert "https://www.googleapis.com/auth/drive" in sheets.claims[-1]["scope"].split()


@pytest.mark.parametrize("code, applied", [(503, False), (429, False), (500, True)])
def test_a_failure_during_promotion_is_transient_and_never_half_written(project, sheets, monkeypatch, code, applied):
    cfg, ds, where = setup(project, sheets, monkeypatch)
    cells = [
        amount_fix(sheets),
        Cell(2, "owner", "dana", "pete"),
        Cell(5, "quantity", sheets.cell(PROD, TAB, "E6"), "16"),
    ]
    target = open_target(where)
    try:
        handle = target.stage(9, cells)
        before = json.loads(sheets.dump(PROD))["tabs"]
        sheets.fail_writes.append((code, applied))
        with pytest.raises(TargetError) as err:
            target.promote(9, cells, handle)
        assert err.value.transient and str(code) in err.value.message
        assert "ya29." not in err.value.message and sheets.url not in err.value.message
        held = [sheets.cell(PROD, TAB, a) for a in ("D7", "B3", "E6")]
        if applied:
            assert held == [1300.625, "pete", 16]  # all of it (the response was lost)
        else:
            assert json.loads(sheets.dump(PROD))["tabs"] == before  # none of it
        assert len(batch_updates(sheets, PROD)) == 1

        retry = target.promote(9, cells, handle)  # the driver's retry finishes it
        assert (retry["written"], retry["already"]) == ((0, 3) if applied else (3, 0))
        assert [sheets.cell(PROD, TAB, a) for a in ("D7", "B3", "E6")] == [1300.625, "pete", 16]
    finally:
        target.close()


def test_a_key_in_two_rows_is_refused(project, sheets, monkeypatch):
    rows = forecast()
    rows[8][0] = BAD
    cfg, ds, where = setup(project, sheets, monkeypatch, rows=rows)
    target = open_target(where)
    try:
        with pytest.raises(TargetError, match="key '6' is in rows 7, 10"):
            target.stage(1, [amount_fix(sheets)])
    finally:
        target.close()


def test_header_row_and_range_locate_the_cells(project, sheets, monkeypatch):
    """A tab whose names sit in row 3 and columns B:G (notes around it): the cells are found the same way."""
    rows = forecast()
    values = [["Forecast"], ["(do not edit above row 3)"], ["", *HEADER], *[["left", *r] for r in rows]]
    cfg, ds, where = setup(project, sheets, monkeypatch, rows=[], extra="    header_row: 3\n    range: B1:G\n")
    sheets.files[PROD].tabs[1].values = values
    target = open_target(where)
    try:
        cell = Cell(BAD, "amount", rows[BAD - 1][3], shifted(rows[BAD - 1][3], 3))
        handle = target.stage(1, [cell])
        assert handle["cells"] == {"6": {"amount": "E9"}} and sheets.cell(STAGE, TAB, "E9") == 1300.625
        s_cfg, s_ds = target.staged(1, handle)
        assert statuses(s_cfg, s_ds)[BETWEEN] == "pass"
        assert target.promote(1, [cell], handle)["written"] == 1 and sheets.cell(PROD, TAB, "E9") == 1300.625
    finally:
        target.close()


def test_a_staging_copy_without_the_tab_is_named_and_production_read_back_differences_are_errors(
    project, sheets, monkeypatch
):
    cfg, ds, where = setup(project, sheets, monkeypatch)
    sheets.files[STAGE].tabs[1].title = "Forecast_EU"  # the copy predates the tab
    target = open_target(where)
    try:
        with pytest.raises(TargetError, match=r"has no tab 'Forecast_US' \(tabs: 'Notes', 'Forecast_EU'\)"):
            target.stage(1, [amount_fix(sheets)])
        assert sheets.writes() == []

        # a value no double holds, promoted without staging first (the gateway never does): written, and the
        # read-back says it differs instead of passing a rounded value as exact
        old = sheets.cell(PROD, TAB, "D2")
        with pytest.raises(TargetError, match="read back differently after the write") as err:
            target.promote(1, [Cell(1, "amount", old, "12345678901234567.89")], {})
        assert not err.value.transient and sheets.cell(PROD, TAB, "D2") == 12345678901234567.89
    finally:
        target.close()


def test_read_gives_what_production_holds_per_key(project, sheets, monkeypatch):
    cfg, ds, where = setup(project, sheets, monkeypatch)
    target = open_target(where)
    try:
        got = target.read([BAD, 2, 404], ["amount", "owner"])
    finally:
        target.close()
    assert got == {
        BAD: {"amount": 1300625, "owner": "dana"},
        2: {"amount": sheets.cell(PROD, TAB, "D3"), "owner": "dana"},
    }


def test_staging_init_prints_the_new_key_for_the_config(project, sheets, monkeypatch):
    setup(project, sheets, monkeypatch, staging=None, token=True)
    res = project.cli("staging", "init", "sop", "--title", "Forecast (staging)")
    assert res.exit_code == 0, res.output
    (new,) = [k for k in sheets.files if k not in (PROD,)]
    assert sheets.files[new].title == "Forecast (staging)"
    assert f"staging_spreadsheet: {new}" in res.stdout
    assert project.cli("staging", "init", "nope").exit_code == 2
