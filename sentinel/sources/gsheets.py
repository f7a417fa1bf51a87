"""`type: gsheets`: a worksheet (tab) of a Google spreadsheet, read through gspread with one values get,
typed column by column into one Arrow table and queried by an in-memory DuckDB, so every check kind runs on
it unchanged. A sheet holds at most 10M cells, so one read is bounded.

Cells are read unformatted (numbers as the sheet holds them, text as typed: "00123" stays text) with dates as
the sheet displays them. A column is numeric only when every non-empty cell is a number, a timestamp when
every non-empty cell reads as an ISO 8601 date/time, boolean when every one is TRUE/FALSE, else text. Empty
cells are NULL and entirely blank rows are skipped. The source remembers the sheet row of every data row,
so evidence can name the cells where a fix belongs (`origin_of`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import pyarrow as pa
import requests
from sqlalchemy.pool import StaticPool

from sentinel.envsubst import MissingEnv, expand_env, redact
from sentinel.sources import a1
from sentinel.sources.base import SourceError, SqlSource, classify, duckdb_engine

if TYPE_CHECKING:
    import gspread

    from sentinel.config import Config, GSheetsSourceConfig

SHEET_URL = "https://docs.google.com/spreadsheets/d/{id}/edit"
READ_PARAMS = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "FORMATTED_STRING"}


# --- the client ------------------------------------------------------------------------------------------


class _Reroute(requests.adapters.HTTPAdapter):
    """Sends every request to `root` (keeping path and query): `api_root:` for a gateway or a test fake."""

    def __init__(self, root: str):
        super().__init__()
        self.root = root.rstrip("/")

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def, override]
        parts = urlsplit(request.url)
        request.url = self.root + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


class _BoundedSession(requests.Session):
    """A session whose requests never wait longer than `timeout` (google-auth's token request asks 120 s)."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        asked = kwargs.get("timeout")
        bounded = isinstance(asked, int | float) and asked < self.timeout
        kwargs["timeout"] = asked if bounded else self.timeout
        return super().request(*args, **kwargs)


def _service_account_info(value: str, root: Path, where: str) -> dict:
    """The key as a dict: the JSON itself (typically from ${ENV}) or a file path relative to the config."""
    text = expand_env(value, where).strip()
    if not text.startswith("{"):
        path = Path(text) if Path(text).is_absolute() else root / text
        try:
            text = path.read_text()
        except OSError as exc:
            message = f"{where}: cannot read the service-account key file {path}: {exc.strerror}"
            raise SourceError("config", redact(message)) from None
    try:
        info = json.loads(text)
    except ValueError:
        raise SourceError("config", f"{where}: not a service-account JSON key (the JSON does not parse)") from None
    if not isinstance(info, dict):
        raise SourceError("config", f"{where}: not a service-account JSON key (expected an object)")
    return info


def client(name: str, source_cfg: GSheetsSourceConfig, root: Path, scopes: list[str] | None = None) -> gspread.Client:
    """A gspread client for the source: secrets expanded now, requests bounded by `timeout:`. Read-only
    scopes unless the caller asks for others (the correction target's writes, a Drive copy); an OAuth
    `token:` carries whatever scopes it was granted."""
    import gspread
    from google.auth.transport.requests import AuthorizedSession, Request

    timeout = source_cfg.timeout.total_seconds()
    token_session = _BoundedSession(timeout)
    if source_cfg.token is not None:
        from google.oauth2.credentials import Credentials

        creds: Any = Credentials(token=expand_env(source_cfg.token, f"sources.{name}.token"))
    else:
        from google.oauth2 import service_account

        where = f"sources.{name}.credentials"
        info = _service_account_info(source_cfg.credentials or "", root, where)
        try:
            creds = service_account.Credentials.from_service_account_info(
                info, scopes=scopes or gspread.auth.READONLY_SCOPES
            )
        except (ValueError, KeyError) as exc:
            raise SourceError("config", redact(f"{where}: not a usable service-account key: {exc}")) from None
    session = AuthorizedSession(creds, auth_request=Request(token_session), refresh_timeout=timeout)
    if source_cfg.api_root:
        for s in (session, token_session):
            s.mount("https://", _Reroute(source_cfg.api_root))
    gc = gspread.Client(auth=None, session=session)
    gc.set_timeout(timeout)
    return gc


def spreadsheet_id(name: str, source_cfg: GSheetsSourceConfig) -> str:
    value = expand_env(source_cfg.spreadsheet, f"sources.{name}.spreadsheet").strip()
    if value.startswith("https://"):
        from gspread.utils import extract_id_from_url

        return extract_id_from_url(value)
    return value


def failure(exc: BaseException, what: str) -> SourceError:
    """An API or transport error as a SourceError with a cause class and one redacted line."""
    import google.auth.exceptions as gauth
    from gspread.exceptions import APIError

    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, MissingEnv):
        return SourceError("config", str(exc))
    if isinstance(exc, APIError):
        code, status = exc.code, exc.error.get("status", "")
        message = str(exc.error.get("message", "")).strip().splitlines()
        line = redact(f"{what}: Google API {code} {status}: {message[0] if message else ''}".rstrip(": "))
        if code == 404:
            return SourceError("missing_table", line)
        if code in (401, 403):
            return SourceError("permission", line)
        if code == 429 or code >= 500:
            return SourceError("unreachable", line)
        return SourceError("other", line)
    if isinstance(exc, gauth.RefreshError):
        first = (str(exc.args[0]) if exc.args else type(exc).__name__).splitlines()[0]
        return SourceError("permission", redact(f"{what}: Google sign-in refused: {first}"))
    if isinstance(exc, requests.Timeout):
        return SourceError("timeout", redact(f"{what}: Google API timed out"))
    if isinstance(exc, requests.ConnectionError | gauth.TransportError):
        return SourceError("unreachable", redact(f"{what}: cannot reach the Google API: {type(exc).__name__}"))
    found = classify(exc)
    return SourceError(found.cause, f"{what}: {found.message}")


# --- reading a tab ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tab:
    """A tab's values as read: the header's names and each non-blank data row with its sheet row number."""

    spreadsheet: str
    title: str
    sheet_id: int
    first_col: int
    header: list[str]
    rows: list[tuple[int, list[Any]]]

    @property
    def last_col(self) -> int:
        return self.first_col + len(self.header) - 1

    def cells(self, row: int) -> str:
        """`Forecast_US!A7:F7`: the cells of one sheet row under the header."""
        return f"{a1.quote_tab(self.title)}!{a1.row_cells(row, self.first_col, self.last_col)}"

    def url(self, row: int | None = None) -> str:
        base = SHEET_URL.format(id=quote(self.spreadsheet, safe="")) + f"#gid={self.sheet_id}"
        return base if row is None else base + "&range=" + a1.row_cells(row, self.first_col, self.last_col)


def sheet_id_of(gc: gspread.Client, spreadsheet: str, title: str) -> int:
    """The tab's sheetId (for links); SourceError(missing_table) naming the tabs there are when absent."""
    meta = gc.http_client.fetch_sheet_metadata(spreadsheet, params={"fields": "sheets.properties(sheetId,title)"})
    titles = {s["properties"]["title"]: s["properties"].get("sheetId", 0) for s in meta.get("sheets", [])}
    if title not in titles:
        known = ", ".join(repr(t) for t in titles) or "none"
        raise SourceError("missing_table", f"spreadsheet {spreadsheet} has no tab {title!r} (tabs: {known})")
    return int(titles[title])


def read_tab(gc: gspread.Client, spreadsheet: str, title: str, cell_range: str | None, header_row: int = 1) -> Tab:
    """One metadata get and one values get. `header_row` counts from the first row read (the tab's row 1, or
    the range's first row). A missing or empty header row, or a blank or repeated column name, is an error
    naming the cells: a sheet without names must never pass as an empty table."""
    sheet_id = sheet_id_of(gc, spreadsheet, title)
    asked = f"'{title.replace(chr(39), chr(39) * 2)}'" + (f"!{cell_range}" if cell_range else "")
    got = gc.http_client.values_get(spreadsheet, asked, params=dict(READ_PARAMS))
    start = a1.range_start(got.get("range") or asked)
    values: list[list[Any]] = got.get("values") or []
    place = f"tab {title!r}"
    at = header_row - 1
    header_cells = values[at] if at < len(values) else []
    header_sheet_row = start.row + at
    if not any(_present(v) for v in header_cells):
        if not any(any(_present(v) for v in r) for r in values):
            raise SourceError("no_header", f"{place} is empty: no header row of column names (row {header_sheet_row})")
        raise SourceError(
            "no_header", f"{place}: the header row (row {header_sheet_row}) is empty; put the column names there"
        )
    data = values[at + 1 :]
    width = max([len(header_cells)] + [len(_trim(r)) for r in data])
    header = _header(header_cells, width, header_sheet_row, start.col, title)
    rows = []
    for i, raw in enumerate(data):
        cells = [v if _present(v) else None for v in raw[:width]]
        if any(v is not None for v in cells):
            rows.append((header_sheet_row + 1 + i, cells + [None] * (width - len(cells))))
    return Tab(spreadsheet, title, sheet_id, start.col, header, rows)


def _present(v: Any) -> bool:
    return v is not None and not (isinstance(v, str) and v == "")


def _trim(row: list[Any]) -> list[Any]:
    n = len(row)
    while n and not _present(row[n - 1]):
        n -= 1
    return row[:n]


def _header(cells: list[Any], width: int, row: int, first_col: int, title: str) -> list[str]:
    names = [_text(v) if _present(v) else "" for v in cells] + [""] * (width - len(cells))
    problems, seen = [], {}
    for i, n in enumerate(names):
        cell = f"{a1.column_letters(first_col + i)}{row}"
        if not n.strip():
            problems.append(f"{cell} is blank" + (" but its column holds data" if i >= len(_trim(cells)) else ""))
            continue
        folded = n.casefold()  # DuckDB names are case-insensitive: Amount and amount would clash
        if folded in seen:
            problems.append(f"{cell} repeats {n!r} (as {seen[folded]})")
        seen.setdefault(folded, cell)
    if problems:
        found = "; ".join(problems)
        raise SourceError("bad_header", f"tab {title!r}, header row {row}: {found}; every column needs a distinct name")
    return names


# --- typing columns --------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    return str(v)


def _column(values: list[Any]) -> pa.Array:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.array(values, pa.bool_())
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        if all(isinstance(v, int) and -(2**63) <= v < 2**63 for v in present):
            return pa.array(values, pa.int64())
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if present and all(isinstance(v, str) for v in present):
        temporal = _temporal(values)
        if temporal is not None:
            return temporal
    return pa.array([None if v is None else _text(v) for v in values], pa.string())


def _temporal(values: list[Any]) -> pa.Array | None:
    """Dates or timestamps when every non-empty cell reads as ISO 8601 (all with an offset, or none)."""
    if all(v is None or _ISO_DATE.match(v) for v in values):
        try:
            return pa.array([None if v is None else dt.date.fromisoformat(v) for v in values], pa.date32())
        except ValueError:
            return None
    try:
        parsed = [None if v is None else dt.datetime.fromisoformat(v) for v in values]
    except ValueError:
        return None
    zones = {p.tzinfo is not None for p in parsed if p is not None}
    if zones == {True}:
        return pa.array([None if p is None else p.astimezone(dt.UTC) for p in parsed], pa.timestamp("us", tz="UTC"))
    if zones == {False}:
        return pa.array(parsed, pa.timestamp("us"))
    return None


def to_arrow(tab: Tab) -> pa.Table:
    columns = list(zip(*(cells for _, cells in tab.rows), strict=True)) if tab.rows else [()] * len(tab.header)
    arrays = [_column(list(col)) if tab.rows else pa.array([], pa.string()) for col in columns]
    return pa.table(arrays, names=tab.header)


# --- the source ------------------------------------------------------------------------------------------


class GSheetsSource(SqlSource):
    """A SqlSource over tabs loaded into DuckDB, which knows the sheet row behind every data row."""

    def __init__(self, name: str, engine: Any, read: Any):
        self.tabs: dict[str, Tab] = {}
        views: dict[str, str] = {}

        def resolve(table: str) -> tuple[None, str]:
            if table not in views:
                tab = read(table)
                view = f"sheet_{len(views)}_" + re.sub(r"\W", "_", table)[:40]
                with engine.connect() as conn:
                    conn.connection.driver_connection.register(view, to_arrow(tab))
                self.tabs[table], views[table] = tab, view
            return None, views[table]

        super().__init__(name, engine, resolve)

    def origin_of(self, table: str, key_column: str, keys: list[str]) -> dict[str, dict]:
        """Per key: the sheet cells of its row (`Forecast_US!A7:F7`) and a link that opens them."""
        tab = self.tabs.get(table)
        if tab is None or key_column not in tab.header:
            return {}
        return rows_of(tab, key_column, keys)


def rows_of(tab: Tab, key_column: str, keys: list[Any]) -> dict[str, dict]:
    """The first sheet row holding each key in `key_column` (compared as the sheet shows it)."""
    wanted = {str(k) for k in keys}
    col = tab.header.index(key_column)
    out: dict[str, dict] = {}
    for row, cells in tab.rows:
        v = cells[col]
        k = None if v is None else _text(v)
        if k in wanted and k not in out:
            out[k] = {"cells": tab.cells(row), "url": tab.url(row)}
    return out


def dataset_options(cfg: Config, name: str, table: str) -> tuple[int, str | None]:
    """The header row and range the datasets reading this tab declare (config makes them agree)."""
    for ds in cfg.datasets:
        if ds.source == name and ds.table == table:
            return ds.header_row, ds.range
    return 1, None


def open(name: str, source_cfg: GSheetsSourceConfig, cfg: Config, engines: dict | None = None) -> SqlSource:
    gc_holder: list[gspread.Client] = []

    def read(table: str) -> Tab:
        header_row, cell_range = dataset_options(cfg, name, table)
        try:
            if not gc_holder:
                gc_holder.append(client(name, source_cfg, cfg.root))
            sid = spreadsheet_id(name, source_cfg)
            return read_tab(gc_holder[0], sid, table, cell_range, header_row)
        except Exception as exc:
            raise failure(exc, f"source {name!r}, tab {table!r}") from None

    return GSheetsSource(name, duckdb_engine("duckdb:///:memory:", poolclass=StaticPool), read)
