"""A warehouse dataset's `origin:`: what the sheet it comes from holds now (rows, last change, the cells of
each flagged key), read by the real gspread against the fake Sheets/Drive server, only when a check flags
something, never failing the run; and the config rules that keep `origin:`, `header_row:` and `range:` honest.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import duckdb
import pytest
import sqlalchemy as sa
from fakes.salesforce import INSTANCE as SF_INSTANCE
from fakes.salesforce import record_id
from fakes.sheets import FakeSheets
from test_gsheets_source import HEADER, KEY, forecast_rows

from sentinel.config import ConfigError, load_config
from sentinel.origin import read_origin
from sentinel.runner import collect, run_dataset
from sentinel.store import Store, outbox, runs

MODIFIED = "2026-11-30T15:12:00.000Z"


@pytest.fixture
def sheets():
    fake = FakeSheets()
    yield fake
    fake.close()


def warehouse(project, rows: list[list]) -> None:
    """The warehouse copy of the forecast (what the hourly load put there)."""
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute(
        "CREATE OR REPLACE TABLE us_forecast_dec_v1 (id BIGINT, owner VARCHAR, product VARCHAR, amount DOUBLE, "
        "quantity BIGINT, updated_at TIMESTAMP)"
    )
    if rows:
        con.executemany("INSERT INTO us_forecast_dec_v1 VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.close()


def origin_project(project, sheets, monkeypatch, checks: str, origin: str = "") -> tuple:
    info = sheets.service_account()
    monkeypatch.setenv("GOOGLE_SA", json.dumps(info))
    project.config(f"""
        warehouse: {{type: sql, url: "duckdb:///wh.duckdb"}}
        sop:
          type: gsheets
          credentials: ${{GOOGLE_SA}}
          spreadsheet: {KEY}
          api_root: {sheets.url}
        """)
    origin = origin or "{source: sop, worksheet: Forecast_US, range: A1:F200, key: id}"
    items = "\n".join("      " + line for line in checks.strip().splitlines())
    project.write(
        "checks/forecast.yaml",
        f"""datasets:
  - name: us_forecast_dec_v1
    source: warehouse
    table: us_forecast_dec_v1
    key: id
    origin: {origin}
    checks:
{items}
""",
    )
    cfg = load_config(project.root / "config.yaml")
    return cfg, cfg.dataset("us_forecast_dec_v1"), info


def test_read_origin_gives_rows_last_change_and_the_cells_of_each_key(project, sheets, monkeypatch):
    sheets.add(KEY, {"Forecast_US": [HEADER, *forecast_rows()]}, modified_time=MODIFIED, version=812)
    cfg, ds, _ = origin_project(project, sheets, monkeypatch, "- not_empty: {}")
    got = read_origin(cfg, ds, ["6", "39", "77"])
    sheet_id = sheets.files[KEY].tabs[0].sheet_id
    assert got["rows"] == 39 and got["modified_at"] == MODIFIED and got["version"] == "812"
    assert got["cells"] == {"6": "Forecast_US!A7:F7", "39": "Forecast_US!A40:F40"}
    assert got["links"]["6"] == f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid={sheet_id}&range=A7:F7"
    assert got["not_found"] == ["77"]
    assert (got["worksheet"], got["range"], got["spreadsheet"]) == ("Forecast_US", "A1:F200", KEY)
    drive = [s for s in sheets.seen if s.path.startswith("/drive/")]
    assert len(drive) == 1 and drive[0].query["fields"] == ["modifiedTime,version"]
    values = [s for s in sheets.seen if "/values" in s.path]
    assert [v.path for v in values] == [f"/v4/spreadsheets/{KEY}/values/'Forecast_US'!A1:F200"]


def test_petes_empty_table_is_compared_with_his_sheet(project, sheets, monkeypatch, tmp_path):
    """The warehouse table is empty and the run says what the origin tab holds now, and since when."""
    warehouse(project, [])
    sheets.add(KEY, {"Forecast_US": [HEADER]}, modified_time=MODIFIED, version=9)
    cfg, ds, info = origin_project(project, sheets, monkeypatch, "- not_empty: {}")
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        report = run_dataset(cfg, store, ds)
        assert report.results[0].status == "fail"
        assert report.origin["rows"] == 0 and report.origin["modified_at"] == MODIFIED
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one() == 1

        # overwritten down to a blank tab: still an answer (0 rows), not an error
        sheets.files[KEY].tabs[0].values = []
        report = collect(cfg, store, ds)
        assert report.origin["rows"] == 0 and "is empty" in report.origin["empty"]
    finally:
        store.close()
    assert info["private_key"].splitlines()[1] not in json.dumps(report.origin)


def test_flagged_warehouse_rows_are_found_in_the_origin_tab(project, sheets, monkeypatch, tmp_path):
    rows = forecast_rows()
    warehouse(project, rows)
    sheets.add(KEY, {"Forecast_US": [HEADER, *rows]})
    cfg, ds, _ = origin_project(
        project, sheets, monkeypatch, "- magnitude: {column: amount, explained_by: [quantity]}\n- not_empty: {}"
    )
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        report = collect(cfg, store, ds)
    finally:
        store.close()
    flagged = [
        i["key"] for r in report.results if r.kind == "magnitude" for i in r.to_json()["evidence"]["rows"]["items"]
    ]
    assert flagged == [6]
    assert report.origin["cells"] == {"6": "Forecast_US!A7:F7"} and report.origin["not_found"] == []


def test_no_origin_read_when_every_check_passes(project, sheets, monkeypatch, tmp_path):
    warehouse(project, forecast_rows(5, None))
    sheets.add(KEY, {"Forecast_US": [HEADER]})
    cfg, ds, _ = origin_project(project, sheets, monkeypatch, "- not_empty: {}")
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        report = collect(cfg, store, ds)
    finally:
        store.close()
    assert report.status == "pass" and report.origin is None and sheets.seen == []


@pytest.mark.parametrize("broken", ["forbidden", "missing", "no_tab", "bad_key"])
def test_a_failing_origin_read_is_one_line_and_the_run_completes(project, sheets, monkeypatch, tmp_path, broken):
    warehouse(project, [])
    sheets.add(KEY, {"Forecast_US": [HEADER], "Other": [["x"]]})
    cfg, ds, info = origin_project(project, sheets, monkeypatch, "- not_empty: {}")
    expected = {"forbidden": "403", "missing": "404", "no_tab": "no tab 'Forecast_US'", "bad_key": "credentials"}
    if broken == "forbidden":
        sheets.forbidden.add(KEY)
    elif broken == "missing":
        del sheets.files[KEY]
    elif broken == "no_tab":
        sheets.files[KEY].tabs.pop(0)
    else:
        monkeypatch.setenv("GOOGLE_SA", json.dumps({**info, "private_key": "-----BEGIN PRIVATE KEY-----\nnot-a-key"}))
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        report = run_dataset(cfg, store, ds)
        with store.engine.connect() as conn:
            saved = conn.execute(sa.select(runs.c.status)).scalars().all()
    finally:
        store.close()
    assert report.results[0].status == "fail" and saved == ["fail"]
    assert list(report.origin) == ["error"] and "\n" not in report.origin["error"]
    assert expected[broken] in report.origin["error"]
    assert "not-a-key" not in report.origin["error"] and "ya29" not in report.origin["error"]


# --- configuration ------------------------------------------------------------------------------------


def config_errors(project, dataset: str) -> list[str]:
    project.config("""
        warehouse: {type: sql, url: "duckdb:///wh.duckdb"}
        sop: {type: gsheets, credentials: key.json, spreadsheet: 1AbC}
        crm: {type: salesforce, production: {domain: test}}
        """)
    project.write("checks/a.yaml", "datasets:\n" + dataset)
    with pytest.raises(ConfigError) as exc:
        load_config(project.root / "config.yaml")
    return [str(i) for i in exc.value.issues]


CHECKS = "    checks: [{not_empty: {}}]\n"


@pytest.mark.parametrize(
    "lines, expected",
    [
        (
            "    origin: {source: warehouse, worksheet: T}\n",
            "checks/a.yaml:5: datasets[0].origin.source: 'warehouse' is a sql source; an origin is a gsheets "
            "or salesforce source",
        ),
        ("    origin: {source: nowhere}\n", "checks/a.yaml:5: datasets[0].origin.source: unknown source 'nowhere'"),
        (
            "    origin: {source: sop, key: id}\n",
            "checks/a.yaml:5: datasets[0].origin: a gsheets origin needs `worksheet:`",
        ),
        (
            "    origin:\n      source: sop\n      worksheet: T\n      range: T!A1:F9\n",
            "checks/a.yaml:8: datasets[0].origin.range: 'T!A1:F9' is not an A1 range inside the tab",
        ),
        (
            "    origin:\n      source: crm\n      object: Opportunity\n      worksheet: T\n",
            "checks/a.yaml:8: datasets[0].origin.worksheet: applies to gsheets origins only",
        ),
        ("    origin: {source: crm}\n", "checks/a.yaml:5: datasets[0].origin: a salesforce origin needs `object:`"),
        ("    header_row: 3\n", "checks/a.yaml:5: datasets[0].header_row: applies to gsheets sources only"),
        ("    range: A1:F9\n", "checks/a.yaml:5: datasets[0].range: applies to gsheets sources only"),
    ],
)
def test_origin_and_sheet_options_are_located_errors(project, lines, expected):
    found = config_errors(project, "  - name: a\n    source: warehouse\n    table: t\n" + lines + CHECKS)
    assert len(found) == 1 and expected in found[0], found


def test_a_bad_range_and_two_ways_of_reading_one_tab_are_located(project):
    found = config_errors(
        project,
        "  - name: a\n    source: sop\n    table: Forecast_US\n    range: F9:A1\n"
        + CHECKS
        + "  - name: b\n    source: sop\n    table: Forecast_US\n    header_row: 2\n"
        + CHECKS,
    )
    assert any("checks/a.yaml:5: datasets[0].range: 'F9:A1': the range ends above its first row" in f for f in found)
    (clash,) = [f for f in found if "datasets[1]" in f]
    assert (
        "checks/a.yaml:9: datasets[1].table: tab 'Forecast_US' of source 'sop' is also read by dataset 'a' (" in clash
    )
    assert "checks/a.yaml:2) with another header_row/range" in clash


def test_a_sheet_source_signs_in_one_way(project):
    project.config("sop: {type: gsheets, spreadsheet: 1AbC}")
    project.write("checks/a.yaml", "datasets:\n  - {name: a, source: sop, table: T, checks: [{not_empty: {}}]}\n")
    with pytest.raises(ConfigError) as exc:
        load_config(project.root / "config.yaml")
    (issue,) = [str(i) for i in exc.value.issues]
    assert issue.endswith(
        "config.yaml:3: sources.sop: give exactly one of `credentials:` (service-account JSON) or "
        "`token:` (OAuth access token)"
    )


# --- a salesforce origin ------------------------------------------------------------------------------


SF_SECRET = "cc-secret-origin-5b1e"
BAD = (3, 7)  # the warehouse rows whose stage is not a Salesforce stage


@pytest.fixture
def crm():
    """A fake org with 250 generated Opportunities (client-credentials login), records paged by 100."""
    from fakes.salesforce import FakeSalesforce, generated_opportunities

    fake = FakeSalesforce(
        {"Opportunity": generated_opportunities(250, dt.datetime.now(dt.UTC))}, consumer_secret=SF_SECRET, page_size=100
    ).start()
    yield fake
    fake.stop()


def deals_warehouse(project, names: list[str]) -> None:
    """The warehouse copy of the opportunities: `id` the record Id, `name` the Name; BAD rows have a bad stage."""
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute("CREATE OR REPLACE TABLE deals (id VARCHAR, name VARCHAR, stage VARCHAR)")
    rows = [(record_id("006", i), name, "Bogus" if i in BAD else "Prospecting") for i, name in enumerate(names)]
    con.executemany("INSERT INTO deals VALUES (?, ?, ?)", rows)
    con.close()


def sf_origin_project(project, crm, monkeypatch, key: str, origin_key: str) -> tuple:
    monkeypatch.setenv("SF_SECRET", SF_SECRET)
    project.config(
        f"""
        warehouse: {{type: sql, url: "duckdb:///wh.duckdb"}}
        crm:
          type: salesforce
          production:
            domain: acme.my
            consumer_key: {crm.consumer_key}
            consumer_secret: ${{SF_SECRET}}
            api_root: {crm.api_root}
        """,
        'owners:\n  ann: {notify: ["outbox://ann.jsonl"], working_hours: always}\n',
    )
    project.write(
        "checks/deals.yaml",
        f"""datasets:
  - name: deals
    source: warehouse
    table: deals
    key: {key}
    owner: ann
    origin: {{source: crm, object: Opportunity, key: {origin_key}}}
    checks:
      - expect: {{type: expect_column_values_to_be_in_set, kwargs: {{column: stage, value_set: [Prospecting]}}}}
""",
    )
    cfg = load_config(project.root / "config.yaml")
    return cfg, cfg.dataset("deals")


def lightning(record: str) -> str:
    return f"https://{SF_INSTANCE}/lightning/r/Opportunity/{record}/view"


def test_a_salesforce_origin_counts_the_object_and_links_flagged_records_by_id(project, crm, monkeypatch):
    """`key: Id`: the record count by SOQL `SELECT COUNT()`, and each flagged key is a record Id to link."""
    cfg, ds = sf_origin_project(project, crm, monkeypatch, key="id", origin_key="Id")
    flagged = [record_id("006", i) for i in BAD]
    got = read_origin(cfg, ds, flagged)
    assert "error" not in got, got
    assert (got["source"], got["object"], got["rows"]) == ("crm", "Opportunity", 250)
    assert got["instance"] == f"https://{SF_INSTANCE}/"  # what the token endpoint answered
    assert got["records"] == {k: {"record": k, "url": lightning(k)} for k in flagged}
    assert crm.soql == ["SELECT COUNT() FROM Opportunity"]  # the Ids are the records: no other query
    assert crm.counts["query_more"] == 0  # a count is one answer, whatever the object's size


@pytest.mark.parametrize("spelled", ["Name", "name"])
def test_a_salesforce_origin_finds_records_by_another_field(project, crm, monkeypatch, spelled):
    """`key: Name`: the flagged warehouse keys are looked up by a bound SOQL IN; a key the org lacks is named.
    The field may be spelled in any case, as in SOQL."""
    cfg, ds = sf_origin_project(project, crm, monkeypatch, key="name", origin_key=spelled)
    got = read_origin(cfg, ds, ["Deal 3", "Deal 241", "Deal O'Brien"])
    assert "error" not in got, got
    assert got["rows"] == 250
    assert got["records"] == {
        "Deal 3": {"record": record_id("006", 3), "url": lightning(record_id("006", 3))},
        "Deal 241": {"record": record_id("006", 241), "url": lightning(record_id("006", 241))},
    }
    assert got["not_found"] == ["Deal O'Brien"]
    assert (
        crm.soql[1]
        == f"SELECT Id, {spelled} FROM Opportunity WHERE {spelled} IN ('Deal 3','Deal 241','Deal O\\'Brien')"
    )


def test_a_failing_salesforce_origin_is_one_redacted_line(project, crm, monkeypatch):
    cfg, ds = sf_origin_project(project, crm, monkeypatch, key="id", origin_key="Id")
    crm.reject_all = True
    got = read_origin(cfg, ds, [record_id("006", 3)])
    assert list(got) == ["error"] and "INVALID_SESSION_ID" in got["error"] and "\n" not in got["error"]
    assert SF_SECRET not in got["error"]


def test_the_request_for_a_warehouse_table_names_the_object_and_links_the_records(project, crm, monkeypatch, tmp_path):
    """A run that flags rows reads the origin and the owner's request says how many records the object holds
    and links each flagged row to its record, in text and HTML."""
    names = [f"Deal {i}" for i in range(10)]
    deals_warehouse(project, names)
    cfg, ds = sf_origin_project(project, crm, monkeypatch, key="id", origin_key="Id")
    store = Store(cfg.state_url)
    try:
        report = run_dataset(cfg, store, ds)
        with store.engine.connect() as conn:
            (payload,) = conn.execute(sa.select(outbox.c.payload)).scalars().all()
    finally:
        store.close()
    assert report.results[0].status == "fail" and report.origin["rows"] == 250
    msg = payload["message"]
    assert "Comes from: Salesforce (source crm), object Opportunity" in msg["text"]
    assert "Opportunity has 250 records now" in msg["text"]
    hrefs = re.findall(r'href="([^"]*)"', msg["html"])
    for i in BAD:
        record = record_id("006", i)
        assert record in msg["text"]
        assert lightning(record) in hrefs
    assert SF_SECRET not in json.dumps(payload)
