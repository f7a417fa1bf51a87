"""`type: spark`: Spark SQL over Spark Connect (`url: sc://host:15002`). Statements are compiled by the Spark
dialect (spark_dialect.py) and run in a Spark Connect session (spark_dbapi.py); results come back as Arrow.
A Databricks SQL warehouse (`url: databricks://token:${DATABRICKS_TOKEN}@HOST?http_path=/sql/1.0/warehouses/ID`)
gets the same dialect over databricks-sql-connector.

A dataset's `table` is `name` or `schema.name` in the session's current catalog (`catalog.schema.name` works
as Spark resolves it). Engines are kept between runs in a daemon, as for server databases."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa

from sentinel.sources.base import SourceError, SqlSource, classify


def engine_for(sc_url: str, timeout: float = 10.0) -> sa.Engine:
    """An engine on the Spark Connect server `sc_url`; no connection is made until a statement runs."""
    from sentinel.sources import spark_dialect

    spark_dialect.register()
    parts = urlsplit(sc_url)
    url = sa.URL.create("spark+connect", host=parts.hostname, port=parts.port)
    return sa.create_engine(url, connect_args={"url": sc_url, "timeout": timeout}, pool_pre_ping=False)


def databricks_engine(url: str, timeout: float = 10.0) -> sa.Engine:
    """An engine on a Databricks SQL warehouse: `databricks://token:TOKEN@HOST?http_path=...` (databricks-
    sqlalchemy's URL form), compiled by the Spark dialect.

    The connector's defaults are cut for a daemon: it retries a refused connection for up to 15 minutes (the
    daemon retries an unreachable source itself), and its telemetry would fetch feature flags from the host
    and post usage events: Sentinel sends the warehouse its statements and nothing else."""
    from sentinel.sources import spark_dialect

    spark_dialect.register()
    parsed = sa.make_url(url).set(drivername="spark+databricks")
    connect_args = {
        "_socket_timeout": timeout,
        "_retry_stop_after_attempts_count": 2,
        "_retry_stop_after_attempts_duration": max(timeout, 1.0),
        "enable_telemetry": False,
    }
    return sa.create_engine(parsed, connect_args=connect_args, pool_pre_ping=False)


def open(name, source_cfg, cfg, engines: dict[str, sa.Engine] | None = None) -> SqlSource:
    where = f"sources.{name}.url"
    sc_url = cfg.url(source_cfg.url, where)
    if sc_url.startswith("databricks://"):
        return _open(
            name, sc_url, lambda: databricks_engine(sc_url, source_cfg.connect_timeout.total_seconds()), engines
        )
    parts = urlsplit(sc_url)
    try:
        parts.port  # noqa: B018 - raises on a non-numeric port
    except ValueError:
        raise SourceError("config", f"{where}: the port must be a number (sc://host:15002)") from None
    if parts.scheme != "sc" or not parts.hostname:
        raise SourceError("config", f"{where}: a Spark Connect URL looks like sc://host:15002")
    timeout = source_cfg.connect_timeout.total_seconds()
    return _open(name, sc_url, lambda: engine_for(sc_url, timeout), engines)


def _open(name: str, key: str, make, engines: dict[str, sa.Engine] | None) -> SqlSource:
    shared = engines is not None
    try:
        if shared and key in engines:
            engine = engines[key]
        else:
            engine = make()
            if shared:
                engines[key] = engine
    except ImportError as exc:
        raise SourceError(
            "unsupported",
            f"type: spark needs the spark extra (pip install 'dq-sentinel[spark]'): {exc.name} is not installed",
        ) from exc
    except Exception as exc:
        raise classify(exc) from exc
    return SqlSource(name, engine, shared=shared)
