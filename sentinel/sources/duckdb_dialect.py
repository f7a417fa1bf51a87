"""duckdb_engine's dialect without its three start-up probes.

duckdb_engine opens three throwaway in-memory DuckDB databases in every process: one to list DuckDB's
reserved keywords (for quoting identifiers), one to list its core settings (to tell them from extension
settings in URL options), and one at import, in its Dialect's class body, to learn whether DuckDB has
`COMMENT ON`. Each costs about 20 ms, a tenth of a fresh `sentinel run` on a small table. Here the keywords
are PostgreSQL's plus DuckDB's own (a static superset: quoting a word that is not reserved is harmless, and
tests/test_duckdb_dialect.py fails when an installed DuckDB reserves a word this list lacks); a connection
with no options is opened directly (one with URL options, extensions or filesystems goes through
duckdb_engine); and the comment probe is answered from DuckDB's version (`COMMENT ON` came with 0.10.0,
duckdb#10372; the test runs the real probe against the answer).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
from sqlalchemy.dialects.postgresql.base import PGIdentifierPreparer


def _import_duckdb_engine() -> ModuleType:
    """duckdb_engine, imported with its `_supports` module loaded first and `has_comment_support` answered
    from the DuckDB version, so the import opens no database. Once imported (here or by anything else in the
    process) it is the module as it is."""
    if "duckdb_engine" in sys.modules:
        return sys.modules["duckdb_engine"]
    spec = importlib.util.find_spec("duckdb_engine")
    supports_spec = importlib.util.spec_from_file_location(
        "duckdb_engine._supports", Path(spec.submodule_search_locations[0]) / "_supports.py"
    )
    supports = importlib.util.module_from_spec(supports_spec)
    supports_spec.loader.exec_module(supports)
    comments = supports.duckdb_version >= supports.Version("0.10.0")
    supports.has_comment_support = lambda: comments
    sys.modules["duckdb_engine._supports"] = supports
    try:
        import duckdb_engine
    except BaseException:
        sys.modules.pop("duckdb_engine._supports", None)
        raise
    duckdb_engine._supports = supports
    return duckdb_engine


duckdb_engine = _import_duckdb_engine()

# select keyword_name from duckdb_keywords() where keyword_category = 'reserved', minus PostgreSQL's
DUCKDB_RESERVED = frozenset(
    {
        "describe",
        "lambda",
        "lateral",
        "pivot",
        "pivot_longer",
        "pivot_wider",
        "qualify",
        "show",
        "summarize",
        "unpivot",
    }
)


class Preparer(duckdb_engine.DuckDBIdentifierPreparer):
    def __init__(self, dialect: Any, **kwargs: Any) -> None:
        PGIdentifierPreparer.__init__(self, dialect, **kwargs)  # not duckdb_engine's: it opens a database to ask
        self.reserved_words = self.reserved_words | DUCKDB_RESERVED


class _Plain(duckdb_engine.ConnectionWrapper):
    """A connection opened with no URL options, extensions or filesystems: its schema is DuckDB's default."""


class Dialect(duckdb_engine.Dialect):
    preparer = Preparer
    supports_statement_cache = False  # as duckdb_engine's (SQLAlchemy asks every subclass to say)

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        if any(cparams.get(k) for k in ("url_config", "config", "preload_extensions", "register_filesystems")):
            return super().connect(*cargs, **cparams)
        cparams.pop("url_config", None)
        return _Plain(duckdb.connect(*cargs, **cparams))

    def _get_default_schema_name(self, connection: Any) -> Any:
        """`main` on a plain connection without asking (`select current_schema()` on every new engine: one more
        statement in each run, as a run opens its DuckDB file afresh); any other connection is asked."""
        if isinstance(connection.connection.dbapi_connection, _Plain):
            return "main"
        return super()._get_default_schema_name(connection)
