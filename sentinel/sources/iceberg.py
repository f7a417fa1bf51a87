"""`type: iceberg`: a pyiceberg SqlCatalog table (main or a named branch), scanned into Arrow and queried by
an in-memory DuckDB. The scan reads only the current snapshot of the chosen ref."""

from __future__ import annotations

import re

from sqlalchemy.pool import StaticPool

from sentinel.sources.base import SourceError, SqlSource, classify, duckdb_engine


def _location(value: str, cfg, where: str) -> str:
    if value.startswith(("sqlite", "duckdb", "postgresql")):
        return cfg.url(value, where)
    if value.startswith("file://") and not value.startswith("file:///"):
        return "file://" + str((cfg.root / value[len("file://") :]).resolve())
    return value


def catalog_of(name, source_cfg, cfg):  # type: ignore[no-untyped-def]
    """The source's pyiceberg SqlCatalog (the correction target opens the same one)."""
    from pyiceberg.catalog.sql import SqlCatalog

    cat_cfg = source_cfg.catalog
    return SqlCatalog(
        cat_cfg.name,
        uri=_location(cat_cfg.uri, cfg, f"sources.{name}.catalog.uri"),
        warehouse=_location(cat_cfg.warehouse, cfg, f"sources.{name}.catalog.warehouse"),
    )


def open(name, source_cfg, cfg) -> SqlSource:
    try:
        catalog = catalog_of(name, source_cfg, cfg)
    except Exception as exc:
        raise classify(exc) from exc
    engine = duckdb_engine("duckdb:///:memory:", poolclass=StaticPool)
    views: dict[str, str] = {}

    def resolve(table: str) -> tuple[None, str]:
        if table not in views:
            try:
                tbl = catalog.load_table(table)
                ref = source_cfg.branch
                if ref != "main" and ref not in tbl.metadata.refs:
                    raise SourceError("missing_table", f"iceberg table {table} has no branch {ref!r}")
                arrow = tbl.scan().use_ref(ref).to_arrow() if ref != "main" else tbl.scan().to_arrow()
            except SourceError:
                raise
            except Exception as exc:
                raise classify(exc) from exc
            view = "v_" + re.sub(r"\W", "_", table)
            with engine.connect() as conn:
                conn.connection.driver_connection.register(view, arrow)
            views[table] = view
        return None, views[table]

    return SqlSource(name, engine, resolve)
