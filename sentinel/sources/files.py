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


def _files(root: Path, table: str) -> list[str]:
    """The real paths `table` names under `root`. Nothing outside it is read: an absolute path, a `..`, or a
    symlink that resolves elsewhere is refused (config validation catches the first two earlier)."""
    if Path(table).is_absolute() or ".." in Path(table).parts:
        raise SourceError("permission", f"{table!r} is outside the source's root folder {root}")
    matches = sorted(glob.glob(str(root / table), recursive=True))
    if not matches:
        raise SourceError("missing_table", f"no file matches {root / table}")
    real = [Path(m).resolve() for m in matches]
    for match, path in zip(matches, real, strict=True):
        if not path.is_relative_to(root):
            shown = Path(match).relative_to(root)
            raise SourceError("permission", f"{shown} resolves outside the source's root folder {root}; not read")
    return [str(p) for p in real]


def open(name, source_cfg, cfg) -> SqlSource:
    root = (cfg.root / source_cfg.root).resolve()
    engine = duckdb_engine("duckdb:///:memory:", poolclass=StaticPool)
    views: dict[str, str] = {}

    def resolve(table: str) -> tuple[None, str]:
        if table not in views:
            files = ", ".join("'" + f.replace("'", "''") + "'" for f in _files(root, table))
            view = "v_" + re.sub(r"\W", "_", table)
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    f'CREATE OR REPLACE VIEW "{view}" AS SELECT * FROM {_reader(table, source_cfg.format)}([{files}])'
                )
            views[table] = view
        return None, views[table]

    return SqlSource(name, engine, resolve)
