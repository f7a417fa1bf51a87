"""Sentinel's DuckDB dialect (sources/duckdb_dialect.py): duckdb_engine's, minus its start-up probes."""

from __future__ import annotations

import duckdb
import pytest
import sqlalchemy as sa
from backends import Warehouse
from conftest import by_check

from sentinel.sources.base import duckdb_engine


def test_every_word_the_installed_duckdb_reserves_is_quoted():
    reserved = {
        k
        for (k,) in duckdb.connect()
        .execute("SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'")
        .fetchall()
    }
    prep = duckdb_engine("duckdb:///:memory:").dialect.identifier_preparer
    assert reserved <= prep.reserved_words, sorted(reserved - prep.reserved_words)
    assert prep.quote("qualify") == '"qualify"' and prep.quote("amount") == "amount"


@pytest.mark.parametrize("options", ["", "?threads=1"])
def test_checks_on_columns_named_by_duckdb_keywords(project, options):
    """A URL with options goes through duckdb_engine's own connect (which routes them); one without is
    opened directly. Either way, columns named like DuckDB-only keywords are quoted and measured."""
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute(
        'CREATE TABLE deals AS SELECT range AS id, range * 10.0 AS "pivot", '
        "CASE WHEN range = 3 THEN 'JPY' ELSE 'USD' END AS \"qualify\" FROM range(1, 51)"
    )
    con.close()
    project.dataset(
        Warehouse("duckdb", f"duckdb:///wh.duckdb{options}", ""),
        """
        - expect: {type: expect_column_values_to_be_between, kwargs: {column: pivot, min_value: 0, max_value: 400}}
        - expect: {type: expect_column_values_to_be_in_set, kwargs: {column: qualify, value_set: [USD]}}
        """,
    )
    code, doc = project.run_json()
    checks = by_check(doc)
    between = checks["expect_column_values_to_be_between(pivot)"]
    assert between["status"] == "fail" and between["evidence"]["rows"]["count"] == 10  # 410 .. 500
    in_set = checks["expect_column_values_to_be_in_set(qualify)"]
    assert in_set["status"] == "fail" and in_set["evidence"]["rows"]["items"] == [{"key": 3, "value": "JPY"}]
    assert code == 1


def test_url_options_reach_duckdb(tmp_path):
    engine = duckdb_engine(f"duckdb:///{tmp_path / 'x.duckdb'}?threads=1")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT current_setting('threads')")).scalar() == 1
    engine.dispose()


def test_a_table_name_with_colons_and_percents_is_described_as_written(project):
    """DESCRIBE goes to DuckDB as it is: `sa.text()` took `:2026` in a quoted table name for a parameter."""
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute("""CREATE TABLE "sales:2026 %q\\:x" AS SELECT range AS id, range * 1.0 AS amount FROM range(1, 11)""")
    con.close()
    project.config('wh: {type: sql, url: "duckdb:///wh.duckdb"}')
    project.write(
        "checks/sales.yaml",
        """
        datasets:
          - name: sales
            source: wh
            table: 'sales:2026 %q\\:x'
            key: id
            checks:
              - not_empty: {}
              - expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, max_value: 8}}
        """,
    )
    code, doc = project.run_json()
    checks = by_check(doc)
    assert checks["not_empty"]["status"] == "pass", checks["not_empty"]
    between = checks["expect_column_values_to_be_between(amount)"]
    # amount is DECIMAL (range * 1.0): evidence carries its values as stored, decimal strings
    assert between["evidence"]["rows"]["items"] == [{"key": 9, "value": "9.0"}, {"key": 10, "value": "10.0"}]
    assert code == 1


def test_the_comment_probe_answer_is_the_real_probes():
    """duckdb_engine probes `COMMENT ON` in a throwaway database at import; Sentinel answers it from the DuckDB
    version instead. The real probe, run here, must agree with the answer the dialect carries."""
    from sentinel.sources.duckdb_dialect import Dialect

    try:
        with duckdb.connect(":memory:") as con:
            con.execute("CREATE TABLE t (i INTEGER)")
            con.execute("COMMENT ON TABLE t IS 'test'")
        real = True
    except duckdb.ParserException:
        real = False
    assert Dialect.supports_comments is real


def test_importing_the_dialect_opens_no_database():
    """In a fresh interpreter: importing Sentinel's dialect (and with it duckdb_engine) connects to nothing."""
    import subprocess
    import sys

    probe = (
        "import duckdb\n"
        "opened = []\n"
        "real = duckdb.connect\n"
        "duckdb.connect = lambda *a, **k: opened.append(a) or real(*a, **k)\n"
        "import sentinel.sources.duckdb_dialect as d\n"
        "import duckdb_engine\n"
        "assert duckdb_engine._supports.has_comment_support() is d.Dialect.supports_comments\n"
        "print(len(opened))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


@pytest.mark.parametrize("options", ["", "?threads=1"])
def test_the_default_schema_is_duckdbs_own_and_asked_only_of_a_connection_with_options(tmp_path, options):
    """A plain connection's schema is DuckDB's default, `main`, known without a statement; a connection with
    URL options (through duckdb_engine's connect) is asked, as before. Either way the name is what DuckDB says."""
    engine = duckdb_engine(f"duckdb:///{tmp_path / 'x.duckdb'}{options}")
    conn = engine.connect()
    actual = conn.exec_driver_sql("select current_schema()").scalar()
    assert engine.dialect.default_schema_name == actual == "main"
    conn.connection.dbapi_connection.close()  # from here DuckDB refuses any statement on it
    if options:
        with pytest.raises(sa.exc.OperationalError, match="select current_schema"):
            engine.dialect._get_default_schema_name(conn)
    else:
        assert engine.dialect._get_default_schema_name(conn) == "main"
    conn.invalidate()
    engine.dispose()
