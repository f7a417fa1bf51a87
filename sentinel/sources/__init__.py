"""Where data lives. Every source is opened as a `SqlSource`: the checks only ever run aggregate SQL,
fetch rows by key and describe columns, so files (Parquet/CSV) and Iceberg tables are exposed through an
in-memory DuckDB and everything else through its own SQLAlchemy dialect.

A new source type is one module with an `open(name, config, cfg, engines) -> SqlSource` function, registered
in `OPENERS` below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sentinel.sources.base import ColumnInfo, SourceError, SqlSource

if TYPE_CHECKING:
    from sentinel.config import Config


def _open_sql(name, source_cfg, cfg, engines=None):
    from sentinel.sources import sql

    return sql.open(name, source_cfg, cfg, engines)


def _open_files(name, source_cfg, cfg, engines=None):
    from sentinel.sources import files

    return files.open(name, source_cfg, cfg)


def _open_iceberg(name, source_cfg, cfg, engines=None):
    from sentinel.sources import iceberg

    return iceberg.open(name, source_cfg, cfg)


def _open_gsheets(name, source_cfg, cfg, engines=None):
    from sentinel.sources import gsheets

    return gsheets.open(name, source_cfg, cfg, engines)


def _open_salesforce(name, source_cfg, cfg, engines=None):
    from sentinel.sources import salesforce

    return salesforce.open(name, source_cfg, cfg, engines)


def _open_spark(name, source_cfg, cfg, engines=None):
    from sentinel.sources import spark

    return spark.open(name, source_cfg, cfg, engines)


OPENERS: dict[str, Callable[..., SqlSource]] = {
    "sql": _open_sql,
    "files": _open_files,
    "iceberg": _open_iceberg,
    "gsheets": _open_gsheets,
    "salesforce": _open_salesforce,
    "spark": _open_spark,
}


def open_source(name: str, cfg: Config, engines: dict | None = None) -> SqlSource:
    """`engines`: a long-lived process's cache of engines to reuse between runs (sources that can)."""
    source_cfg = cfg.main.sources[name]
    return OPENERS[source_cfg.type](name, source_cfg, cfg, engines)


__all__ = ["ColumnInfo", "SourceError", "SqlSource", "open_source"]
