"""A SqlSource that reports another dialect and records the SQL that dialect would be sent, while DuckDB answers.

tests/test_golden_sql.py runs the real check suite through it: every statement a check hands to
`SqlSource.execute` is compiled by the target dialect (as a driver would receive it: the dialect's own
paramstyle, IN lists expanded, bound values listed beside the text) and recorded, then the same
ClauseElement is executed on DuckDB, so the check goes on to the follow-up statements its results call for.
A statement the target dialect cannot compile is recorded with its error and raises as it would on the real
source (`SqlSource.execute` compiles before it sends).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from sentinel.sources.base import ColumnInfo, SqlSource, _flags, literal_sql

TARGETS = ("trino", "snowflake", "bigquery")


def target_dialect(name: str) -> sa.Dialect:
    """The dialect `create_engine` would build for a `name://` URL (its DB-API's paramstyle included), never
    connected: BigQuery's `create_engine` would look for credentials, so the dialect is made the same way
    without the engine."""
    cls = sa.make_url(f"{name}://").get_dialect()
    return cls(dbapi=cls.import_dbapi())


class CaptureEngine:
    """What SqlSource needs of an engine: the target's dialect (for compiling and for `source.dialect`),
    DuckDB's connections (for answers)."""

    def __init__(self, duck: sa.Engine, dialect: sa.Dialect):
        self.duck, self.dialect = duck, dialect
        # GX validates these dialects on the source's URL; no case reaches it, and if one did it would find no
        # server here (loopback, discard port), never a host elsewhere
        self.url = sa.make_url(f"{dialect.name}://127.0.0.1:9/golden")

    def connect(self) -> sa.Connection:
        return self.duck.connect()

    def dispose(self) -> None:
        self.duck.dispose()


@dataclass
class Transcript:
    """What one dataset's run sent, in order, as the golden file shows it."""

    lines: list[str] = field(default_factory=list)
    statements: int = 0

    def note(self, text: str) -> None:
        self.lines.append(f"-- {text}")

    def statement(self, stmt: sa.Executable, dialect: sa.Dialect) -> None:
        self.statements += 1
        self.note(f"statement {self.statements}")
        try:
            compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        except Exception as exc:
            self.note(f"{type(exc).__name__}: {_first_line(exc)}")
            return
        self.lines += [line.rstrip() for line in str(compiled).strip().splitlines()]
        params = _params(compiled)
        if params:
            self.note(f"params: {params}")
        if literal_sql(stmt, dialect) is None:  # the form sent past MAX_PARAMS bound values
            self.note("no literal form: a value has no literal rendering in this dialect")


class CaptureSource(SqlSource):
    """`source.dialect` is the target's; statements are recorded for it and answered by DuckDB. `describe`
    gives each column's declared SQLAlchemy type as the target dialect spells it, standing in for the
    dialect's reflection (its own catalogue queries, which need a server)."""

    def __init__(self, name: str, duck: sa.Engine, dialect: sa.Dialect, types: dict[str, sa.types.TypeEngine]):
        super().__init__(name, CaptureEngine(duck, dialect))  # type: ignore[arg-type]
        self.types = types
        self.transcript = Transcript()

    def describe(self, table: str) -> dict[str, ColumnInfo]:
        out = {}
        for name, t in self.types.items():
            out[name] = ColumnInfo(name, t.compile(dialect=self.engine.dialect), True, *_flags(t))
        self.transcript.note(f"describe {table}: " + ", ".join(f"{c.name} {c.type}" for c in out.values()))
        return out

    def execute(self, stmt: sa.Executable) -> list[sa.Row]:
        self.transcript.statement(stmt, self.engine.dialect)
        return super().execute(stmt)

    def execute_arrow(self, stmt: sa.Executable) -> Any:
        self.transcript.statement(stmt, self.engine.dialect)
        return super().execute_arrow(stmt)


def _params(compiled: sa.engine.Compiled) -> str:
    """The bound values as the driver gets them: a list in placeholder order for a positional paramstyle,
    else a mapping in the order the names appear in the text."""
    values = compiled.params
    if not values:
        return ""
    if compiled.positiontup is not None:
        return json.dumps([_plain(values[n]) for n in compiled.positiontup])
    text = str(compiled)

    def first(name: str) -> int:  # `%(param_1)s` or BigQuery's `%(param_1:INT64)s`, never inside param_10
        found = [i for i in (text.find(f"({name})"), text.find(f"({name}:")) if i >= 0]
        return min(found, default=len(text))

    names = sorted(values, key=lambda n: (first(n), n))
    return json.dumps({n: _plain(values[n]) for n in names})


def _plain(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, dt.datetime | dt.date | Decimal):
        return f"{type(v).__name__} {v}"
    return v


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
