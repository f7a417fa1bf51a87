"""The Spark dialect without a server: what it compiles Sentinel's Core into (the fixes for open-source Spark 4's
ANSI mode and grammar), how `type: spark` URLs become engines (Spark Connect, a Databricks SQL warehouse with
its token from the environment) and the located config errors. The statements' results on a real Spark are
tests/test_spark_source.py's and tests/test_spark_differential.py's."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

pytest.importorskip("databricks.sqlalchemy", reason="needs the spark extra (pip install -e '.[spark]')")

from sentinel.config import ConfigError, load_config  # noqa: E402
from sentinel.sources import open_source  # noqa: E402
from sentinel.sources.base import literal_sql  # noqa: E402
from sentinel.sources.spark_dialect import SparkDialect, spark_type  # noqa: E402

T = sa.table("t", sa.column("x", sa.Float), sa.column("s", sa.String), sa.column("ts", sa.DateTime), schema="sc")


def sql(stmt) -> str:
    return " ".join(str(stmt.compile(dialect=SparkDialect(), compile_kwargs={"render_postcompile": True})).split())


def test_ansi_mode_and_grammar_fixes():
    assert sql(sa.select(T.c.x / sa.func.count())) == "SELECT try_divide(sc.t.x, count(*)) AS anon_1 FROM sc.t"
    assert "sc.t.s RLIKE :`s_1`" in sql(sa.select(T.c.s).where(T.c.s.regexp_match("^a")))
    assert "NOT (sc.t.s RLIKE :`s_1`)" in sql(sa.select(T.c.s).where(~T.c.s.regexp_match("^a")))
    assert "CAST(date_trunc(:`date_trunc_2`, sc.t.ts) AS TIMESTAMP_NTZ)" in sql(
        sa.select(sa.func.date_trunc("hour", T.c.ts))
    )
    assert "CAST(sc.t.ts AS TIMESTAMP_NTZ)" in sql(sa.select(sa.func.timezone("UTC", T.c.ts)))
    with pytest.raises(sa.exc.CompileError, match="only 'UTC'"):
        sql(sa.select(sa.func.timezone("Europe/Paris", T.c.ts)))
    assert "(min(sc.t.ts) = min(sc.t.ts))" in sql(sa.select(sa.func.isfinite(sa.func.min(T.c.ts))))


def test_types_are_spelt_as_spark_names_them():
    cast = sql(sa.select(sa.cast(T.c.x, sa.String), sa.cast(T.c.s, sa.Float), sa.cast(T.c.x, sa.Numeric(38, 0))))
    assert "CAST(sc.t.x AS STRING)" in cast and "CAST(sc.t.s AS DOUBLE)" in cast and "DECIMAL(38, 0)" in cast
    assert "AS TIMESTAMP_NTZ" in sql(sa.select(sa.cast(T.c.s, sa.DateTime())))
    assert "AS TIMESTAMP)" in sql(sa.select(sa.cast(T.c.s, sa.DateTime(timezone=True))))
    assert spark_type("timestamp").get_col_spec() == "TIMESTAMP WITH LOCAL TIME ZONE"  # an instant: tz-aware
    assert spark_type("decimal(10,2)").get_col_spec() == "DECIMAL(10,2)"


def test_exact_percentiles_and_in_lists_stay_as_written():
    q = sql(sa.select(sa.func.percentile_cont(0.5).within_group(T.c.x)).where(T.c.s.in_(["a", "b"])))
    assert "percentile_cont(:`percentile_cont_2`) WITHIN GROUP (ORDER BY sc.t.x)" in q
    assert "IN (:`s_1_1`, :`s_1_2`)" in q


def test_hostile_identifiers_and_literals_are_quoted():
    hostile = sa.table("we`ird", sa.column("a b`c"))
    assert sql(sa.select(hostile.c["a b`c"])) == "SELECT `we``ird`.`a b``c` FROM `we``ird`"
    text = literal_sql(sa.select(sa.literal("it's a \\ back'slash\\")), SparkDialect())
    assert "'it\\'s a \\\\ back\\'slash\\\\'" in text


def config(project, url: str) -> None:
    project.config(f'lake: {{type: spark, url: "{url}"}}')
    project.write(
        "checks/t.yaml",
        "datasets:\n  - name: t\n    source: lake\n    table: sc.t\n    checks:\n      - not_empty: {}\n",
    )


def test_spark_connect_url_opens_an_engine_without_connecting(project):
    config(project, "sc://spark.internal:15002/;use_ssl=true")
    source = open_source("lake", load_config(project.root / "config.yaml"))
    assert source.dialect == "spark" and source.engine.dialect.driver == "connect"
    _args, kwargs = source.engine.dialect.create_connect_args(source.engine.url)
    assert kwargs["url"] == "sc://spark.internal:15002"  # connect_args (the whole sc:// URL) override this
    assert source.table("sc.t").schema == "sc"
    source.close()


def test_databricks_warehouse_url_takes_its_token_from_the_environment(project, monkeypatch):
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi/x+y@z")
    config(project, "databricks://token:${DATABRICKS_TOKEN}@adb-1.azuredatabricks.net?http_path=/sql/1.0/warehouses/w1")
    source = open_source("lake", load_config(project.root / "config.yaml"))
    assert source.dialect == "spark" and source.engine.dialect.driver == "databricks"
    _args, kwargs = source.engine.dialect.create_connect_args(source.engine.url)
    assert kwargs["server_hostname"] == "adb-1.azuredatabricks.net"
    assert kwargs["http_path"] == "/sql/1.0/warehouses/w1"
    assert kwargs["access_token"] == "dapi/x+y@z"  # percent-encoded in the URL, decoded for the driver
    assert kwargs["session_configuration"] == {"spark.sql.session.timeZone": "UTC"}
    assert "dapi" not in repr(source.engine.url)
    source.close()


def test_databricks_url_port_reaches_the_connector(project, monkeypatch):
    """databricks-sqlalchemy drops the URL's port (the connector then dials 443 whatever the URL says)."""
    monkeypatch.setenv("DATABRICKS_TOKEN", "t")
    config(project, "databricks://token:${DATABRICKS_TOKEN}@127.0.0.1:8443?http_path=/sql/1.0/warehouses/w1")
    source = open_source("lake", load_config(project.root / "config.yaml"))
    _args, kwargs = source.engine.dialect.create_connect_args(source.engine.url)
    assert kwargs["_port"] == 8443 and kwargs["server_hostname"] == "127.0.0.1"
    source.close()
    config(project, "databricks://token:${DATABRICKS_TOKEN}@adb-1.azuredatabricks.net?http_path=/sql/1.0/warehouses/w1")
    source = open_source("lake", load_config(project.root / "config.yaml"))
    _args, kwargs = source.engine.dialect.create_connect_args(source.engine.url)
    assert "_port" not in kwargs  # the connector's default, 443
    source.close()


def test_a_url_that_is_not_spark_is_a_located_error(project):
    config(project, "postgresql://db/x")
    with pytest.raises(ConfigError) as exc:
        load_config(project.root / "config.yaml")
    (issue,) = exc.value.issues
    assert "config.yaml:3: sources.lake.url" in str(issue) and "(sc://host:15002)" in str(issue), str(issue)


def test_naive_datetimes_are_bound_as_utc():
    from sentinel.sources.spark_dbapi import bound

    assert bound({"a": dt.datetime(2026, 1, 1, 5)}) == {"a": dt.datetime(2026, 1, 1, 5, tzinfo=dt.UTC)}
    aware = dt.datetime(2026, 1, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert bound({"a": aware, "b": "x"}) == {"a": aware, "b": "x"}
