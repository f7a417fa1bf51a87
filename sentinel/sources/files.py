"""`type: files`: Parquet/CSV/JSON files queried in place by an in-memory DuckDB (no load into pandas)."""

from __future__ import annotations

import glob
import re
from pathlib import Path

from sqlalchemy.pool import StaticPool

from sentinel.sources.base import SourceError, SqlSource, duckdb_engine

_READERS = {
    ".parquet": "read_parquet",
    ".pq": "read_parquet",
    ".csv": "read_csv_auto",
    ".tsv": "read_csv_auto",
    ".json": "read_json_auto",
    ".jsonl": "read_json_auto",
}


def _reader(path: str, fmt: str) -> str:
    if fmt == "parquet":
        return "read_parquet"
    if fmt == "csv":
        return "read_csv_auto"
    suffix = Path(path.replace("*", "x")).suffix.lower()
    if suffix not in _READERS:
        raise SourceError("unsupported", f"cannot tell the format of {path!r}; set format: parquet|csv on the source")
    return _READERS[suffix]


def open(name, source_cfg, cfg) -> SqlSource:
    root = (cfg.root / source_cfg.root).resolve()
    engine = duckdb_engine("duckdb:///:memory:", poolclass=StaticPool)
    views: dict[str, str] = {}

    def resolve(table: str) -> tuple[None, str]:
        if table not in views:
            path = str(root / table)
            if not glob.glob(path):
                raise SourceError("missing_table", f"no file matches {path}")
            view = "v_" + re.sub(r"\W", "_", table)
            literal = path.replace("'", "''")
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    f'CREATE OR REPLACE VIEW "{view}" AS '
                    f"SELECT * FROM {_reader(path, source_cfg.format)}('{literal}')"
                )
            views[table] = view
        return None, views[table]

    return SqlSource(name, engine, resolve)
