"""duckdb_engine's dialect without its two start-up probes.

duckdb_engine opens two throwaway in-memory DuckDB databases in every process: one to list DuckDB's reserved
keywords (for quoting identifiers), one to list its core settings (to tell them from extension settings in
URL options). Each costs about 20 ms, a tenth of a cold `sentinel run` on a small table. Here the keywords
are PostgreSQL's plus DuckDB's own (a static superset: quoting a word that is not reserved is harmless, and
tests/test_sources.py fails when an installed DuckDB reserves a word this list lacks), and a connection with
no options is opened directly; one with URL options, extensions or filesystems goes through duckdb_engine.
"""

from __future__ import annotations

from typing import Any

import duckdb
import duckdb_engine
from sqlalchemy.dialects.postgresql.base import PGIdentifierPreparer

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


class Dialect(duckdb_engine.Dialect):
    preparer = Preparer
    supports_statement_cache = False  # as duckdb_engine's (SQLAlchemy asks every subclass to say)

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        if any(cparams.get(k) for k in ("url_config", "config", "preload_extensions", "register_filesystems")):
            return super().connect(*cargs, **cparams)
        cparams.pop("url_config", None)
        return duckdb_engine.ConnectionWrapper(duckdb.connect(*cargs, **cparams))
