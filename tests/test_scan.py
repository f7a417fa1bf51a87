"""The dataset's aggregate scan (sentinel/scan.py): one aggregate the database refuses makes only its own
check `error`; statements are bounded; check_frame runs the same scan, expect_suite included. DuckDB and
PostgreSQL, through `sentinel run --json`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from backends import Warehouse, make
from conftest import by_check

from sentinel.frame import check_frame
from sentinel.sources.base import SqlSource

NOW = dt.datetime(2026, 11, 30, 12, 0)
ROWS = [(i, f"rep{i % 3}", 100.0 + i, "USD" if i % 2 else "EUR", NOW) for i in range(1, 41)]


@pytest.fixture(params=["duckdb", "postgresql"])
def wh(request, tmp_path):
    pg = request.getfixturevalue("pg_schema") if request.param == "postgresql" else None
    w = make(request.param, tmp_path, pg)
    w.deals(ROWS)
    return w


@pytest.fixture
def statements(monkeypatch):
    """Every statement the sources execute, as SQL text (the real execute runs underneath)."""
    seen: list[str] = []
    real = SqlSource.execute

    def spy(self, stmt):
        seen.append(str(stmt.compile(dialect=self.engine.dialect)))
        return real(self, stmt)

    monkeypatch.setattr(SqlSource, "execute", spy)
    return seen


GOOD = """
- not_empty: {}
- expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 0, max_value: 120}}
- expect: {type: expect_column_values_to_not_be_null, kwargs: {column: owner}}
- expect: {type: expect_column_mean_to_be_between, kwargs: {column: amount, min_value: 100, max_value: 200}}
- expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [USD, EUR]}}
"""
# numbers for a text column: DuckDB cannot cast 'USD' to an integer, PostgreSQL has no text = integer
AFTER = """
- freshness: {column: updated_at, max_age: 100000d}
- expect: {type: expect_column_max_to_be_between, kwargs: {column: amount, max_value: 1000}}
- expect: {type: expect_column_values_to_be_unique, kwargs: {column: id}}
"""
BAD = "- expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [1, 2]}, name: bad}"


def test_one_refused_aggregate_errors_only_its_check(project, wh, statements):
    project.dataset(wh, GOOD + BAD + AFTER)
    code, doc = project.run_json()
    res = by_check(doc)
    bad = res.pop("bad")
    assert bad["status"] == "error", bad
    assert bad["diagnosis"]["cause"] != "missing_table"  # the table is there; the expression is refused
    scans = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "WHERE" not in s.upper()]
    assert 3 <= len(scans) <= 12, scans  # split in halves (and one probe): a few statements, not one per check
    # the database's own words
    assert any(w in bad["diagnosis"]["message"] for w in ("Could not convert", "operator does not exist")), bad
    assert {r["status"] for r in res.values()} == {"fail", "pass"}, res
    assert res["not_empty"]["observed"] == 40
    assert res["expect_column_values_to_be_between(amount)"]["observed"]["unexpected_count"] == 20
    assert res["expect_column_mean_to_be_between(amount)"]["observed"] == pytest.approx(120.5)
    assert res["expect_column_max_to_be_between(amount)"]["observed"] == 140
    assert len(res) == 8
    assert code == 1  # a failure found; the error does not hide it


def test_happy_path_is_one_statement(project, wh, statements):
    project.dataset(wh, GOOD)
    code, _ = project.run_json()
    assert code == 1  # amount > 120 fails values_between
    scans = [s for s in statements if "count(*)" in s.lower() and "where" not in s.lower()]
    assert len(scans) == 1, statements


def test_statements_are_bounded_and_shared_expressions_computed_once(project, wh, statements):
    checks = "\n".join(
        f"- expect: {{type: expect_column_values_to_be_between, kwargs: {{column: amount, min_value: 0, "
        f"max_value: {1000 + i}}}}}\n  name: c{i}"
        for i in range(500)
    )
    project.dataset(wh, checks + "\n- not_empty: {}\n- not_empty: {}\n  name: again")
    code, doc = project.run_json()
    assert code == 0 and len(doc["results"]) == 502
    assert {r["status"] for r in doc["results"]} == {"pass"}
    scans = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # 500 distinct CASE sums + count(*) + count(amount) = 502 expressions (the repeated ones once): 3 statements
    assert len(scans) == 3, [s[:80] for s in scans]
    assert max(s.count(" AS a") for s in scans) == 200


def test_check_frame_runs_a_suite_with_isolated_errors(tmp_path):
    suite = {
        "expectations": [
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 10}},
            {"type": "expect_column_max_to_be_between", "kwargs": {"column": "amount", "max_value": 100}},
            {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "nope", "max_value": 1}},
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "currency", "value_set": [1, 2]}},
        ]
    }
    (tmp_path / "suite.json").write_text(json.dumps(suite))
    df = pd.DataFrame({"id": [1, 2, 3], "amount": [5.0, 50.0, 500.0], "currency": ["USD", "EUR", "USD"]})
    results = check_frame(df, "expect_suite", {"path": str(tmp_path / "suite.json")})
    got = {r.check: r for r in results}
    assert [r.status for r in results] == ["pass", "fail", "error", "error"]
    assert got["expect_suite:expect_column_max_to_be_between(amount)"].observed == 500
    assert got["expect_suite:expect_column_mean_to_be_between(nope)"].cause == "missing_column"
    assert "Could not convert" in got["expect_suite:expect_column_values_to_be_in_set(currency)"].diagnosis["message"]
    relative = check_frame(df, "expect_suite", {"path": "suite.json"}, root=tmp_path)  # as in a config folder
    assert [(r.check, r.status) for r in relative] == [(r.check, r.status) for r in results]


@pytest.fixture
def reader(pg_schema, tmp_path):
    """A PostgreSQL login that may read only the columns of `deals` it is granted (`grant`)."""
    make("postgresql", tmp_path, pg_schema).deals(ROWS)
    url, schema, admin = pg_schema
    role = "r_" + uuid.uuid4().hex[:10]
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))

    def grant(*columns: str) -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'GRANT SELECT ({", ".join(columns)}) ON "{schema}".deals TO "{role}"'))

    ro = url.replace("://postgres@", f"://{role}@")
    try:
        yield Warehouse("postgresql", ro, ro), grant
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))


def test_columns_it_may_not_read_error_only_their_checks(project, reader):
    ro, grant = reader
    grant("id", "amount", "updated_at")
    project.dataset(ro, GOOD + AFTER)
    code, doc = project.run_json()
    res = by_check(doc)
    denied = {n for n, r in res.items() if r["status"] == "error"}
    assert denied == {"expect_column_values_to_not_be_null(owner)", "expect_column_values_to_be_in_set(currency)"}
    assert {res[n]["diagnosis"]["cause"] for n in denied} == {"permission"}
    assert res["expect_column_mean_to_be_between(amount)"]["observed"] == pytest.approx(120.5)
    assert res["not_empty"]["observed"] == 40 and code == 1


def test_a_table_it_may_not_read_is_not_split(project, reader, statements):
    ro, _ = reader  # no column granted
    project.dataset(ro, GOOD + AFTER)
    code, doc = project.run_json()
    assert code == 3 and {r["diagnosis"]["cause"] for r in doc["results"]} == {"permission"}
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2  # the scan and one probe


def test_split_scan_gives_the_same_results_with_and_without_speculation(project, tmp_path):
    """The split statements are recorded like any other; the next process's speculative scan replays them
    (the refused ones fail there too, and the runner runs them itself): same results, clean exit."""
    wh = make("duckdb", tmp_path)
    wh.deals(ROWS)
    project.dataset(wh, GOOD + BAD + AFTER)

    def run(**env: str) -> tuple[list, str]:
        proc = subprocess.run(
            [sys.executable, "-m", "sentinel", "run", "--json", "--config", str(project.root / "config.yaml")],
            capture_output=True,
            text=True,
            env={**os.environ, "SENTINEL_PREFETCH_DEBUG": "1", **env},
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr
        doc = json.loads(proc.stdout)
        got = [(r["check"], r["status"], r["observed"], r["diagnosis"]) for r in doc["results"]]
        return [g for g in got if g[0] != "freshness"], proc.stderr  # its age moves with the clock

    first, _ = run()
    second, err = run()
    plain, _ = run(SENTINEL_NO_PREFETCH="1")
    assert first == second == plain
    assert "prefetch: 0 hits" not in err  # the second process did speculate
    assert dict((c, s) for c, s, _, _ in first)["bad"] == "error"


# Flagged rows of several checks (scan.list_flagged) --------------------------------------------------------------

LISTED = """
- expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 0, max_value: 120}}
- expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [USD]}}
- expect: {type: expect_column_values_to_not_be_in_set, kwargs: {column: owner, value_set: [rep0]}}
- expect: {type: expect_column_values_to_not_be_null, kwargs: {column: owner}}
"""
AMOUNT, CURRENCY, OWNER = (
    "expect_column_values_to_be_between(amount)",
    "expect_column_values_to_be_in_set(currency)",
    "expect_column_values_to_not_be_in_set(owner)",
)


def _listings(statements: list[str]) -> list[str]:
    """The statements listing flagged rows (not the scan, not a value count's GROUP BY)."""
    return [s for s in statements if "ORDER BY" in s.upper() and "WHERE" in s.upper() and "GROUP BY" not in s.upper()]


def _rows(doc: dict) -> dict[str, list]:
    return {name: r["evidence"]["rows"]["items"] for name, r in by_check(doc).items() if "rows" in r["evidence"]}


@pytest.fixture(params=["duckdb", "sqlite", "postgresql"])
def wh3(request, tmp_path):
    pg = request.getfixturevalue("pg_schema") if request.param == "postgresql" else None
    w = make(request.param, tmp_path, pg)
    w.deals(ROWS)
    return w


def test_flagged_rows_of_several_checks_are_one_statement_on_a_row_store(project, wh3, statements, monkeypatch):
    """Each check lists exactly the rows its own query lists (all of them, by key, with their values); a row
    store fetches them in one statement, DuckDB (a column store) with one filtered scan each."""
    from sentinel import scan

    project.dataset(wh3, LISTED)
    code, doc = project.run_json()
    assert code == 1
    batched = _listings(statements)
    statements.clear()
    monkeypatch.setattr(scan, "ROW_STORES", frozenset())  # every check's own query
    _, alone = project.run_json()
    assert _rows(doc) == _rows(alone)
    assert len(_listings(statements)) == 3  # the null check passed: nothing to list
    assert len(batched) == (3 if wh3.name == "duckdb" else 1), batched
    rows = _rows(doc)
    assert [r["key"] for r in rows[AMOUNT]] == list(range(21, 41))
    assert rows[AMOUNT][0] == {"key": 21, "value": 121.0}
    assert [r["key"] for r in rows[CURRENCY]] == list(range(2, 41, 2))
    assert {r["value"] for r in rows[CURRENCY]} == {"EUR"}
    assert [r["key"] for r in rows[OWNER]] == list(range(3, 41, 3))
    assert by_check(doc)[CURRENCY]["evidence"]["values"]["items"] == [{"value": "EUR", "count": 20}]


def test_a_listing_over_the_evidence_limit_is_its_own_query(project, wh3, statements):
    """Over the limit a check's own query takes the first `evidence_limit` rows by key; one listing left
    alone is its own query too."""
    project.dataset(wh3, LISTED)
    project.config(f'wh: {{type: sql, url: "{wh3.url}"}}', "evidence_limit: 15\n")
    code, doc = project.run_json()
    assert code == 1
    rows = _rows(doc)
    assert [r["key"] for r in rows[AMOUNT]] == list(range(21, 36))
    assert [r["key"] for r in rows[CURRENCY]] == list(range(2, 31, 2))
    assert [r["key"] for r in rows[OWNER]] == list(range(3, 40, 3))  # 13 rows: within the limit
    assert by_check(doc)[AMOUNT]["evidence"]["rows"]["omitted"] == 5
    assert len(_listings(statements)) == 3, _listings(statements)


def test_a_table_changed_between_the_scan_and_the_listing_is_listed_as_each_check_finds_it(
    project, pg_schema, statements, monkeypatch
):
    """PostgreSQL gives each statement its own snapshot: a row flagged after the scan makes that check's rows
    in the shared statement outnumber its count, so that check runs its own query (as it did before there was
    a shared one); the others keep the shared statement's rows."""
    w = make("postgresql", None, pg_schema)
    w.deals(ROWS)
    project.dataset(w, LISTED)
    _url, schema, engine = pg_schema
    spy = SqlSource.execute

    def late_row(self, stmt):
        if " AS f0" in str(stmt.compile(dialect=self.engine.dialect)):
            with engine.begin() as c:
                c.execute(sa.text(f"INSERT INTO {schema}.deals VALUES (99, 'rep1', 999, 'USD', now())"))
        return spy(self, stmt)

    monkeypatch.setattr(SqlSource, "execute", late_row)
    code, doc = project.run_json()
    assert code == 1
    rows = _rows(doc)
    assert [r["key"] for r in rows[AMOUNT]] == [*range(21, 41), 99]  # its own query, after the insert
    assert by_check(doc)[AMOUNT]["observed"]["unexpected_count"] == 20  # what the scan counted
    assert [r["key"] for r in rows[CURRENCY]] == list(range(2, 41, 2))
    assert [r["key"] for r in rows[OWNER]] == list(range(3, 41, 3))
    assert len(_listings(statements)) == 2, _listings(statements)  # the shared one, then amount's own
