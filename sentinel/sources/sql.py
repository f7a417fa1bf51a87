"""`type: sql`: any SQLAlchemy URL. File databases open read-only where the driver allows it, so a check
never takes the write lock an ELT job needs."""

from __future__ import annotations

import sqlalchemy as sa

from sentinel import prefetch
from sentinel.sources.base import SqlSource, classify


def open(name, source_cfg, cfg) -> SqlSource:
    url = sa.make_url(cfg.url(source_cfg.url, f"sources.{name}.url"))
    kwargs: dict = {"pool_pre_ping": False}
    timeout = int(source_cfg.connect_timeout.total_seconds())
    backend = url.get_backend_name()
    if backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": timeout}
    elif backend == "duckdb" and url.database not in (None, "", ":memory:"):
        # no progress bar: DuckDB draws one on the terminal for long queries, which would corrupt --json
        kwargs["connect_args"] = {"read_only": True, "config": {"enable_progress_bar": False}}
    elif backend == "sqlite":
        kwargs["connect_args"] = {"timeout": timeout}
    if backend == "duckdb":  # skip SQLAlchemy's entry-point scan of every installed distribution
        from sqlalchemy.dialects import registry

        registry.register("duckdb", "duckdb_engine", "Dialect")
    try:
        engine = sa.create_engine(url, **kwargs)
    except Exception as exc:  # unknown dialect, missing driver
        raise classify(exc) from exc
    speculate = source_cfg.url if backend in prefetch.DIALECTS else None
    return SqlSource(name, engine, speculation_key=speculate)
