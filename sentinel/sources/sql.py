"""`type: sql`: any SQLAlchemy URL. File databases open read-only where the driver allows it, so a check
never takes the write lock an ELT job needs."""

from __future__ import annotations

import sqlalchemy as sa

from sentinel import prefetch
from sentinel.sources.base import SourceError, SqlSource, classify, duckdb_engine


def open(name, source_cfg, cfg, engines: dict[str, sa.Engine] | None = None) -> SqlSource:
    """`engines`, when given, keeps engines (and server databases' connection pools) between runs, as the
    daemon does. File databases are never kept open: an open DuckDB file, even read-only, blocks its writer."""
    try:
        url = sa.make_url(cfg.url(source_cfg.url, f"sources.{name}.url"))
    except (ValueError, sa.exc.ArgumentError):  # the message would quote the URL: name the key instead
        raise SourceError("config", f"sources.{name}.url: not a valid SQLAlchemy URL") from None
    kwargs: dict = {"pool_pre_ping": False}
    timeout = int(source_cfg.connect_timeout.total_seconds())
    backend = url.get_backend_name()
    if backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": timeout}
    elif backend == "duckdb" and url.database not in (None, "", ":memory:"):
        kwargs["connect_args"] = {"read_only": True}
    elif backend == "sqlite":
        kwargs["connect_args"] = {"timeout": timeout}
    # A DuckDB engine is kept too, with no pool: each run opens the file and closes it when done, and the
    # engine's dialect set-up (its first connect) is paid once (about 1 ms of each warm run on a small table).
    shared = engines is not None and backend != "sqlite"
    if shared and backend == "duckdb":
        kwargs["poolclass"] = sa.pool.NullPool
    key = url.render_as_string(hide_password=False)
    try:
        if shared and key in engines:
            engine = engines[key]
        else:
            engine = duckdb_engine(url, **kwargs) if backend == "duckdb" else sa.create_engine(url, **kwargs)
            if shared:
                engines[key] = engine
    except Exception as exc:  # unknown dialect, missing driver
        raise classify(exc) from exc
    speculate = source_cfg.url if backend in prefetch.DIALECTS else None
    return SqlSource(name, engine, speculation_key=speculate, shared=shared)
