"""`type: spark` on a real Spark Connect server (tests/spark_server.py): every check kind that runs there,
driven through `sentinel run --json`, and the bad inputs: a missing table, a text column given to a numeric
check, an unreachable server, a session that dies mid-run."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import textwrap
import threading
import time

import pyarrow as pa
import pytest
import sqlalchemy as sa
from conftest import by_check

NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def deals(n=50, *, age=dt.timedelta(hours=1)) -> pa.Table:
    ids = list(range(1, n + 1))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "owner": [f"rep{i % 5}" for i in ids],
            "amount": [1000.0 + i * 10 for i in ids],
            "currency": [("USD", "EUR")[i % 2] for i in ids],
            "updated_at": pa.array([NOW - age - dt.timedelta(minutes=i) for i in ids], pa.timestamp("us")),
        }
    )


def setup(project, server, schema: str, checks: str, table: str = "deals") -> None:
    project.config(f'lake: {{type: spark, url: "{server.url}"}}')
    project.write(
        f"checks/{table}.yaml",
        f"datasets:\n  - name: {table}\n    source: lake\n    table: {schema}.{table}\n    key: id\n    checks:\n"
        + "".join(f"      {line}\n" for line in checks.strip().splitlines()),
    )


BASIC = """
- not_empty: {}
- freshness: {column: updated_at, max_age: 26h}
- schema: {}
"""


def test_not_empty_freshness_schema_pass_on_a_clean_table(project, spark_schema):
    server, schema = spark_schema
    server.load(f"{schema}.deals", deals())
    setup(project, server, schema, BASIC)
    code, doc = project.run_json()
    res = by_check(doc)
    assert code == 0, doc
    assert {r["status"] for r in doc["results"]} == {"pass"}, doc
    assert res["not_empty"]["observed"] == 50
    latest = dt.datetime.fromisoformat(res["freshness"]["observed"]["latest"])
    assert latest == (NOW - dt.timedelta(hours=1, minutes=1)).replace(tzinfo=dt.UTC)


EXPECTS = """
- expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 0, max_value: 5000000}}
- expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [USD, EUR]}}
- expect: {type: expect_column_values_to_be_unique, kwargs: {column: id}}
- expect: {type: expect_column_median_to_be_between, kwargs: {column: amount, min_value: 0, max_value: 1200}}
- expect: {type: expect_column_values_to_match_regex, kwargs: {column: owner, regex: "^rep[0-9]$"}}
"""


def test_expectations_name_failing_rows_with_exact_evidence(project, spark_schema):
    server, schema = spark_schema
    data = deals(60).to_pylist()
    data[4]["amount"] = 10_000_000.0  # fat finger
    data[7].update(owner="rep 7'\\", currency="JPY", amount=-5.0)
    data[11].update(id=8, currency="KRW")  # duplicated id 8
    server.load(f"{schema}.deals", pa.Table.from_pylist(data, deals(1).schema))
    setup(project, server, schema, EXPECTS)
    code, doc = project.run_json()
    res = by_check(doc)
    assert code == 1, doc
    between = res["expect_column_values_to_be_between(amount)"]
    assert between["evidence"]["rows"]["items"] == [{"key": 5, "value": 10_000_000.0}, {"key": 8, "value": -5.0}]
    in_set = res["expect_column_values_to_be_in_set(currency)"]
    assert in_set["evidence"]["values"]["items"] == [{"value": "JPY", "count": 1}, {"value": "KRW", "count": 1}]
    assert res["expect_column_values_to_be_unique(id)"]["observed"]["unexpected_count"] == 2
    assert res["expect_column_median_to_be_between(amount)"]["observed"] == pytest.approx(1315.0)  # statistics.median
    assert res["expect_column_median_to_be_between(amount)"]["status"] == "fail"
    regex = res["expect_column_values_to_match_regex(owner)"]
    assert regex["evidence"]["rows"]["items"] == [{"key": 8, "value": "rep 7'\\"}]


def test_missing_table_is_an_error_with_its_cause(project, spark_schema):
    server, schema = spark_schema
    setup(project, server, schema, BASIC + EXPECTS, table="nowhere")
    code, doc = project.run_json()
    assert code == 3, doc
    assert {r["status"] for r in doc["results"]} == {"error"}
    assert {r["diagnosis"]["cause"] for r in doc["results"]} == {"missing_table"}
    assert doc["incidents"] == []


def test_text_column_given_to_numeric_checks(project, spark_schema):
    server, schema = spark_schema
    server.load(f"{schema}.deals", deals(5))
    checks = """
    - expect: {type: expect_column_values_to_be_between, kwargs: {column: currency, min_value: 0}}
    - expect: {type: expect_column_mean_to_be_between, kwargs: {column: owner, min_value: 0}}
    - volume: {timestamp_column: owner}
    - expect: {type: expect_column_values_to_be_between, kwargs: {column: missing_col, min_value: 0}}
    - not_empty: {}
    """
    setup(project, server, schema, textwrap.dedent(checks))
    code, doc = project.run_json()
    res = by_check(doc)
    wrong = res["expect_column_values_to_be_between(currency)"]
    assert wrong["status"] == "error" and "not numeric" in wrong["diagnosis"]["message"], wrong
    assert res["expect_column_mean_to_be_between(owner)"]["status"] == "error"
    assert res["volume"]["status"] == "error" and res["volume"]["diagnosis"]["cause"] == "wrong_type", res["volume"]
    assert res["expect_column_values_to_be_between(missing_col)"]["diagnosis"]["cause"] == "missing_column"
    assert res["not_empty"]["status"] == "pass"  # the other checks are still measured


def test_unreachable_server_is_an_error_at_once(project):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    project.config(f'lake: {{type: spark, url: "sc://127.0.0.1:{port}", connect_timeout: 2s}}')
    project.write(
        "checks/deals.yaml",
        "datasets:\n  - name: deals\n    source: lake\n    table: deals\n    checks:\n      - not_empty: {}\n",
    )
    began = time.monotonic()
    code, doc = project.run_json()
    assert code == 3
    assert [r["diagnosis"]["cause"] for r in doc["results"]] == ["unreachable"]
    assert time.monotonic() - began < 60  # not the Spark client's default ten minutes of retries


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 in front of the Spark Connect server that drops every connection, and stops
    listening, once the client sends `marker`: to Sentinel the server is gone in the middle of its run."""

    def __init__(self, port: int, marker: bytes):
        self.target, self.marker = port, marker
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.cut.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.socks += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, watch: bool) -> None:
        try:
            while data := src.recv(65536):
                if watch and self.marker in data:
                    self.close()
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()

    def close(self) -> None:
        self.cut.set()
        for s in [self.listener, *self.socks]:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()


def test_server_gone_mid_run_is_an_error_and_the_run_is_kept(project, spark_schema):
    server, schema = spark_schema
    server.load(f"{schema}.deals", deals())
    port = int(server.url.rsplit(":", 1)[1])
    proxy = CuttableProxy(port, b"date_trunc")  # volume's own statement, after the dataset's scan
    try:
        project.config(f'lake: {{type: spark, url: "sc://127.0.0.1:{proxy.port}", connect_timeout: 2s}}')
        project.write(
            "checks/deals.yaml",
            f"datasets:\n  - name: deals\n    source: lake\n    table: {schema}.deals\n    key: id\n    checks:\n"
            "      - not_empty: {}\n      - freshness: {column: updated_at, max_age: 26h}\n"
            "      - volume: {timestamp_column: updated_at}\n",
        )
        code, doc = project.run_json()
    finally:
        proxy.close()
    assert proxy.cut.is_set()
    res = by_check(doc)
    assert res["not_empty"]["status"] == "pass" and res["freshness"]["status"] == "pass", doc
    assert res["volume"]["status"] == "error", res["volume"]
    assert res["volume"]["diagnosis"]["cause"] == "unreachable", res["volume"]
    assert code == 3
    # nothing lost: the run and each of its results are in the store
    engine = sa.create_engine(f"sqlite:///{project.root / 'state.db'}")
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT check_name, status FROM results")).all())
    engine.dispose()
    assert stored == {"not_empty": "pass", "freshness": "pass", "volume": "error"}


HOSTILE = ["it's", "back\\slash", "\\'", "50%_off", "new\nline", "tab\t", "日本", "👍", ":name", "`tick`", "$1", "\\"]


def test_hostile_values_survive_as_bound_parameters_and_as_literal_sql(project, spark_server):
    from sentinel.config import load_config
    from sentinel.sources import open_source
    from sentinel.sources.base import literal_sql

    project.config(f'lake: {{type: spark, url: "{spark_server.url}"}}')
    project.write(
        "checks/t.yaml", "datasets:\n  - name: t\n    source: lake\n    table: t\n    checks:\n      - not_empty: {}\n"
    )
    source = open_source("lake", load_config(project.root / "config.yaml"))
    try:
        stmt = sa.select(*[sa.literal(v, sa.String).label(f"v{i}") for i, v in enumerate(HOSTILE)])
        assert list(source.execute(stmt)[0]) == HOSTILE  # bound: spark.sql(args=...)
        assert list(source._run(literal_sql(stmt, source.engine.dialect))[0]) == HOSTILE  # rendered literals
    finally:
        source.close()


def test_gx_long_tail_runs_on_a_spark_dataframe_and_says_what_it_cannot(project, spark_schema):
    server, schema = spark_schema
    server.load(f"{schema}.deals", deals(20))
    checks = """
    - expect: {type: expect_column_proportion_of_unique_values_to_be_between, kwargs: {column: owner, min_value: 0.5}}
    - expect:
        type: expect_column_values_to_be_in_set
        kwargs: {column: currency, value_set: [USD], row_condition: 'id>10', condition_parser: spark}
    - expect: {type: expect_column_values_to_match_like_pattern, kwargs: {column: owner, like_pattern: "rep%"}}
    """
    setup(project, server, schema, textwrap.dedent(checks))
    _, doc = project.run_json()
    res = by_check(doc)
    unique = res["expect_column_proportion_of_unique_values_to_be_between(owner)"]
    assert unique["status"] == "fail" and unique["observed"] == pytest.approx(5 / 20)
    in_set = res["expect_column_values_to_be_in_set(currency)"]
    assert in_set["observed"]["unexpected_count"] == 5  # EUR on the odd ids 11..19
    assert [r["key"] for r in in_set["evidence"]["rows"]["items"]] == [11, 13, 15, 17, 19]
    like = res["expect_column_values_to_match_like_pattern(owner)"]
    assert like["status"] == "error" and "SparkDFExecutionEngine" in like["diagnosis"]["message"], like


TWICE = """WITH t AS (SELECT owner, amount FROM {table} WHERE amount > 1100)
SELECT a.owner, a.n, b.top FROM (SELECT owner, count(*) AS n FROM t GROUP BY owner) AS a
JOIN (SELECT owner, max(amount) AS top FROM t GROUP BY owner) AS b ON a.owner = b.owner ORDER BY a.owner"""


def optimized(cur, sql: str) -> str:
    plan = cur.execute("EXPLAIN EXTENDED " + sql).fetchall()[0][0]
    return plan.split("== Optimized Logical Plan ==")[1].split("== Physical Plan ==")[0]


def test_a_cte_named_twice_is_planned_as_its_own_shuffle_with_the_same_rows(spark_schema):
    """Sentinel's sessions plan a CTE as its own shuffle (one exchange, which Spark's exchange reuse then runs
    once for both references) instead of inlining it at each reference, Spark's default, which scans the
    table once per reference; the rows are the same, and `inlined` (the way back for a statement Spark's
    planner fails otherwise) restores Spark's default and then the session's rules."""
    from sentinel.sources import spark_dbapi

    server, schema = spark_schema
    server.load(f"{schema}.deals", deals())
    conn = spark_dbapi.connect(server.url)
    try:
        cur, sql = conn.cursor(), TWICE.format(table=f"{schema}.deals")
        rules = conn.session.conf.get(spark_dbapi.EXCLUDED_RULES)
        assert spark_dbapi.INLINE_CTE in rules.split(",")
        assert "RepartitionByExpression" in optimized(cur, sql)  # the CTE's own shuffle, at each reference
        kept = cur.execute(sql).fetchall()
        inlined = conn.inlined(lambda: (optimized(cur, sql), cur.execute(sql).fetchall()))
        assert "RepartitionByExpression" not in inlined[0]  # Spark's default: the CTE's scan at each reference
        assert kept == inlined[1] and [r[1] for r in kept] == [8] * 5  # amounts > 1100: ids 11..50
        assert conn.session.conf.get(spark_dbapi.EXCLUDED_RULES) == rules  # back after `inlined`
    finally:
        conn.close()


def test_a_cursor_hands_over_its_arrow_result_from_where_the_rows_stopped(spark_server):
    """The driver's cursor turns its Arrow result into tuples only when rows are asked for, and
    `fetchall_arrow` (databricks-sql-connector's name, which SqlSource.execute_arrow looks for) gives the
    rows not yet fetched; a closed cursor, or one with no statement, has none to give."""
    from sentinel.sources import spark_dbapi

    conn = spark_dbapi.connect(spark_server.url)
    try:
        cur = conn.cursor()
        with pytest.raises(spark_dbapi.Error, match="no statement"):
            cur.fetchall_arrow()
        cur.execute("SELECT id, CAST(id * 1.5 AS DOUBLE) AS y FROM range(5) ORDER BY id")
        assert cur.rowcount == 5 and [d[0] for d in cur.description] == ["id", "y"]
        assert cur.fetchone() == (0, 0.0) and cur.fetchmany(2) == [(1, 1.5), (2, 3.0)]
        rest = cur.fetchall_arrow()
        assert rest.column_names == ["id", "y"] and rest.to_pylist() == [{"id": 3, "y": 4.5}, {"id": 4, "y": 6.0}]
        assert cur.fetchall() == [] and cur.fetchall_arrow().num_rows == 0
        cur.execute("SELECT 'a' AS g")
        assert cur.fetchall_arrow().to_pylist() == [{"g": "a"}] and cur.fetchone() is None  # nothing turned twice
        cur.close()
        with pytest.raises(spark_dbapi.Error):
            cur.fetchall_arrow()
    finally:
        conn.close()


def test_rules_the_server_excludes_stay_excluded(spark_server):
    """keep_ctes adds InlineCTE to the session's excluded optimizer rules; it never drops the ones set before."""
    from pyspark.sql import SparkSession

    from sentinel.sources import spark_dbapi

    other = "org.apache.spark.sql.catalyst.optimizer.ConstantFolding"
    session = SparkSession.builder.remote(spark_server.url).create()
    try:
        session.conf.set(spark_dbapi.EXCLUDED_RULES, other)
        assert spark_dbapi.keep_ctes(session) == other
        assert session.conf.get(spark_dbapi.EXCLUDED_RULES).split(",") == [other, spark_dbapi.INLINE_CTE]
        assert spark_dbapi.keep_ctes(session) == f"{other},{spark_dbapi.INLINE_CTE}"  # once only
        assert session.conf.get(spark_dbapi.EXCLUDED_RULES).split(",") == [other, spark_dbapi.INLINE_CTE]
    finally:
        session.stop()


def test_several_quantiles_of_one_expression_are_the_numbers_of_a_percentile_cont_each(spark_schema):
    """sqlstats.quantiles: on Spark one percentile(expr, array(...)) for several quantiles of the same expression
    (one map of the values instead of one per quantile), the same numbers, to the last bit, as a
    percentile_cont per quantile; per group, with ties, over a derived expression."""
    import random

    from sentinel.checks.sqlstats import quantiles
    from sentinel.sources.spark import engine_for

    server, schema = spark_schema
    rnd = random.Random(3)
    n = 3000
    server.load(
        f"{schema}.t",
        pa.table(
            {
                "g": [f"g{i % 7}" for i in range(n)],
                "y": [round(rnd.gauss(3, 1), rnd.choice([1, 6, 12])) for _ in range(n)],
            }
        ),
    )
    t = sa.table("t", sa.column("g", sa.String), sa.column("y", sa.Double), schema=schema)
    e = sa.func.abs(t.c.y - 3.1)
    qs = [0.25, 0.5, 0.9, 0.99]
    engine = engine_for(server.url)
    try:
        with engine.connect() as conn:
            one = sa.select(t.c.g, *quantiles("spark", e, qs)).group_by(t.c.g).order_by(t.c.g)
            apart = sa.select(t.c.g, *quantiles("duckdb", e, qs)).group_by(t.c.g).order_by(t.c.g)
            assert "percentile(" in str(one.compile(engine)) and "percentile_cont" not in str(one.compile(engine))
            got, want = conn.execute(one).all(), conn.execute(apart).all()
    finally:
        engine.dispose()
    assert len(got) == 7 and got == want
