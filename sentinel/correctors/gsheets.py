"""The Google Sheets target (gspread): a change-set staged on a staging copy of the spreadsheet, promoted to
production in one values:batchUpdate after re-reading the cells.

Staging is a Drive copy of the production spreadsheet (`staging_spreadsheet:`, made once by `init_staging`,
i.e. `sentinel staging init`). Each stage first refreshes the dataset's tab there from production (its
values as the source reads them, padded with blanks over whatever the copy held, so the copy mirrors
production now), then finds each key's row by the key column (under the dataset's `header_row:`/`range:`),
writes the cells and reads them back. The dataset's checks then run on the copy (`staged`).

Every write is `valueInputOption=RAW`, never USER_ENTERED: a value such as "=IMPORTXML(...)" or "00123"
must land as the text it is, not as a formula or a number the sheet parsed.

Promotion re-reads production's tab and finds the keys again (rows may have moved since staging),
snapshots the cells' current values (returned, for audit and rollback), `classify`s them (a cell holding
neither old nor new raises `Conflict` and nothing is written), then writes every cell to change in ONE
values:batchUpdate and reads them back. The Sheets API has no conditional write (no If-Match, no precondition
on values): the re-read and the write are check-then-act. The window is narrowed by comparing the file's Drive
`version` before the re-read and just before the write (a change in between aborts, transient), and the
result reports the version before and after so an auditor can see whether anyone else wrote around it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sentinel.checks.exact import plain, to_decimal
from sentinel.correctors.base import Cell, Conflict, ReadBack, TargetError, classify, staged_config
from sentinel.sources import a1
from sentinel.sources.gsheets import (
    READ_PARAMS,
    Tab,
    _text,
    client,
    failure,
    read_tab,
    sheet_id_of,
    spreadsheet_id,
    to_arrow,
)

if TYPE_CHECKING:
    import gspread

    from sentinel.config import Config, DatasetConfig, GSheetsSourceConfig
    from sentinel.correctors.base import Where

SHEETS = "https://www.googleapis.com/auth/spreadsheets"
# Writing cells needs the spreadsheets scope; reading Drive's `version` needs Drive metadata (read-only).
WRITE_SCOPES = [SHEETS, "https://www.googleapis.com/auth/drive.metadata.readonly"]
# files.copy reads any file the account can see and creates one: the full Drive scope.
COPY_SCOPES = [SHEETS, "https://www.googleapis.com/auth/drive"]
DRIVE_FILES = "https://www.googleapis.com/drive/v3/files"
BATCH_GET = 200  # cells per values:batchGet (each is a `ranges=` query parameter)
EXACT_INT = 2**53  # a sheet holds numbers as doubles: integers beyond this are not all representable
PRECONDITION = (
    "re-read then write: the Sheets API offers no conditional write, so a change by someone else between the "
    "re-read (checked by Drive version just before the write) and the batchUpdate is not excluded"
)
_ARROW_TYPES = {"int64": "BIGINT", "double": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN", "date32[day]": "DATE"}


def _error(exc: BaseException, what: str) -> TargetError:
    """An API/transport failure as a TargetError: 429, 5xx, timeouts and unreachable hosts are transient."""
    if isinstance(exc, TargetError):
        return exc
    found = failure(exc, what)
    return TargetError(found.message, transient=found.cause in ("unreachable", "timeout"))


def _holds(have: Any, want: Any) -> bool:
    """Whether a read cell holds exactly `want` (a `fit` value): numbers by decimal meaning but only as
    numbers, text only as the same text, booleans only as booleans, an empty cell only for None."""
    if want is None or have is None:
        return want is None and have is None
    if isinstance(want, bool) or isinstance(have, bool):
        return type(have) is type(want) and have == want
    if isinstance(want, str) or isinstance(have, str):
        return isinstance(want, str) and isinstance(have, str) and have == want
    return to_decimal(have) == to_decimal(want)


def _kind(values: list[Any]) -> str | None:
    """How a column stores values: "number", "bool" or "text" (mixed counts as text); None when empty."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "number"
    return "text"


def _number(value: Any) -> tuple[Any, Any]:
    """(what to send, what the sheet then holds exactly) for a number. A sheet stores doubles: a value no
    double equals is sent as the nearest one, but its `fit` stays the exact decimal text, so the read-back
    differs instead of a rounded value passing as exact."""
    d = value if isinstance(value, Decimal) else to_decimal(value)
    if not d.is_finite():
        return str(value), str(value)  # the API takes no NaN/Infinity as a number; text reads back as text
    if d == d.to_integral_value() and abs(d) < EXACT_INT:
        return int(d), int(d)
    f = float(d)
    return f, (f if to_decimal(f) == d else plain(d))


class GSheetsTarget:
    """One tab (`where.object`) of a `type: gsheets` source, keyed by `where.key_column`."""

    staging_kind = "staging copy"

    def __init__(self, where: Where):
        self.where = where
        self.name = where.source
        self.src: GSheetsSourceConfig = where.cfg.main.sources[where.source]
        self.title = where.object
        self.key_column = where.key_column
        self.header_row, self.range = where.dataset.header_row, where.dataset.range
        self._kinds: dict[str, str | None] | None = None
        try:  # secrets are expanded now and kept inside the client's credentials
            self.production = spreadsheet_id(self.name, self.src)
            self.staging = self._staging_key()
            self.gc: gspread.Client = client(self.name, self.src, where.cfg.root, WRITE_SCOPES)
        except Exception as exc:
            raise _error(exc, f"source {self.name!r}") from None

    def _staging_key(self) -> str | None:
        if self.src.staging_spreadsheet is None:
            return None
        key = spreadsheet_id(self.name, self.src.model_copy(update={"spreadsheet": self.src.staging_spreadsheet}))
        if key == self.production:
            raise TargetError(f"source {self.name!r}: staging_spreadsheet is the production spreadsheet itself")
        return key

    # --- reading ---

    def _read(self, key: str) -> Tab:
        """The tab as the source reads it (same header row and range), on `key`."""
        return read_tab(self.gc, key, self.title, self.range, self.header_row)

    def _located(self, tab: Tab, keys: list[Any]) -> dict[str, int]:
        """str(key) -> its sheet row, for the keys present. A key in two rows is an error: which one to fix
        is the owner's call, never a guess."""
        if self.key_column not in tab.header:
            raise TargetError(f"tab {self.title!r} has no key column {self.key_column!r}")
        col = tab.header.index(self.key_column)
        wanted = {str(k) for k in keys}
        rows: dict[str, list[int]] = {}
        for row, cells in tab.rows:
            v = cells[col]
            if v is not None and _text(v) in wanted:
                rows.setdefault(_text(v), []).append(row)
        twice = {k: r for k, r in rows.items() if len(r) > 1}
        if twice:
            k, r = next(iter(twice.items()))
            raise TargetError(f"tab {self.title!r}: key {k!r} is in rows {', '.join(map(str, r))}; fix one by hand")
        return {k: r[0] for k, r in rows.items()}

    def _remember(self, tab: Tab) -> None:
        cols = list(zip(*(cells for _, cells in tab.rows), strict=True)) if tab.rows else [()] * len(tab.header)
        self._kinds = {h: _kind(list(c)) for h, c in zip(tab.header, cols, strict=True)}

    def _cell(self, tab: Tab, row: int, field: str) -> str:
        """`C7`: the cell of `field` in sheet row `row`."""
        if field not in tab.header:
            raise TargetError(f"tab {self.title!r} has no column {field!r}")
        return f"{a1.column_letters(tab.first_col + tab.header.index(field))}{row}"

    def _now(self, tab: Tab, cells: list[Cell]) -> tuple[dict[Any, dict[str, Any]], dict[str, dict[str, str]]]:
        """What the tab holds for the cells (`now[key][field]`, gone keys absent) and where ({key: {field: A1}})."""
        rows = self._located(tab, [c.key for c in cells])
        values = dict(tab.rows)
        now: dict[Any, dict[str, Any]] = {}
        where: dict[str, dict[str, str]] = {}
        for c in cells:
            self._cell(tab, 1, c.field)  # an unknown field is an error even for a gone row
            row = rows.get(str(c.key))
            if row is not None:
                now[c.key] = dict(zip(tab.header, values[row], strict=True))
                where.setdefault(str(c.key), {})[c.field] = self._cell(tab, row, c.field)
        return now, where

    def _range(self, cell: str) -> str:
        return f"{a1.quote_tab(self.title)}!{cell}"

    def _read_cells(self, key: str, cells: list[str]) -> list[Any]:
        """The cells' values (as the source reads them) in one values:batchGet; None for an empty cell."""
        out = []
        for at in range(0, len(cells), BATCH_GET):  # the ranges travel in the URL: keep it short
            ranges = [self._range(c) for c in cells[at : at + BATCH_GET]]
            got = self.gc.http_client.values_batch_get(key, ranges, params=dict(READ_PARAMS))
            for vr in got.get("valueRanges", []):
                values = vr.get("values") or [[]]
                v = values[0][0] if values[0] else None
                out.append(None if v == "" else v)
        return out

    def _version(self, key: str) -> str:
        """The file's Drive `version`: it grows with every change to the file."""
        params = {"fields": "version,modifiedTime", "supportsAllDrives": True}
        return str(self.gc.http_client.request("get", f"{DRIVE_FILES}/{key}", params=params).json().get("version"))

    def _write(self, key: str, cells: dict[str, Any]) -> None:
        """One values:batchUpdate, RAW: {A1 cell: value to send}."""
        data = [{"range": self._range(c), "values": [[v]]} for c, v in cells.items()]
        self.gc.http_client.values_batch_update(key, {"valueInputOption": "RAW", "data": data})

    # --- the protocol ---

    def fields(self) -> dict[str, str]:
        """Each column of the tab with the type the source reads it as (DOUBLE, BIGINT, VARCHAR, ...)."""
        try:
            tab = self._read(self.production)
        except Exception as exc:
            raise _error(exc, f"tab {self.title!r}") from None
        self._remember(tab)
        schema = to_arrow(tab).schema
        return {
            f.name: _ARROW_TYPES.get(str(f.type), "TIMESTAMP" if "timestamp" in str(f.type) else "VARCHAR")
            for f in schema
        }

    def read(self, keys: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        try:
            tab = self._read(self.production)
        except Exception as exc:
            raise _error(exc, f"tab {self.title!r}") from None
        self._remember(tab)
        rows, by_row = self._located(tab, keys), dict(tab.rows)
        out = {}
        for k in keys:
            if str(k) in rows:
                values = dict(zip(tab.header, by_row[rows[str(k)]], strict=True))
                out[k] = {f: values.get(f) for f in fields}
        return out

    def _fitted(self, field: str, value: Any) -> tuple[Any, Any]:
        """(the JSON value to send, the value the cell then holds) for `field`'s column."""
        if value is None:
            return "", None  # an empty string clears a cell
        if self._kinds is None:
            self.fields()
        kind = (self._kinds or {}).get(field)
        if isinstance(value, bool) or kind == "bool" and str(value).upper() in ("TRUE", "FALSE"):
            b = value if isinstance(value, bool) else str(value).upper() == "TRUE"
            return b, b
        numeric = isinstance(value, int | float | Decimal)
        if kind == "number" or kind is None and numeric:
            try:
                return _number(value)
            except ValueError:  # text meant for a numeric column stays text (and reads back as text)
                return str(value), str(value)
        text = plain(value) if isinstance(value, Decimal) else _text(value)
        return text, text

    def fit(self, field: str, value: Any) -> Any:
        """The value as the cell stores it: a number (int when integral, else the double) in a numeric column,
        text in a text column; a decimal no double equals stays its exact text, so it never reads back equal."""
        return self._fitted(field, value)[1]

    def stage(self, cs_id: int, cells: list[Cell]) -> dict[str, Any]:
        if self.staging is None:
            raise TargetError(
                f"source {self.name!r} has no staging_spreadsheet: make one with `sentinel staging init {self.name}`"
            )
        try:
            sheet_id_of(self.gc, self.staging, self.title)  # a tab added since the copy: name it, and the fix
            self._mirror()
            tab = self._read(self.staging)
            self._remember(tab)  # the copy now mirrors production: its columns type `fit`
            now, where = self._now(tab, cells)
            gone = [c for c in cells if c.key not in now]
            if gone:
                raise TargetError(f"key(s) not in tab {self.title!r}: {', '.join(sorted({str(c.key) for c in gone}))}")
            sends = {where[str(c.key)][c.field]: self._fitted(c.field, c.new)[0] for c in cells}
            self._write(self.staging, sends)
            self._check_back(self.staging, cells, where)
        except Exception as exc:
            raise _error(exc, f"staging copy, tab {self.title!r}") from None
        return {"spreadsheet": self.staging, "tab": self.title, "cells": where}

    def _mirror(self) -> None:
        """The staging tab's values := production's, as the source reads them (text stays text), with blanks
        written over anything the copy holds beyond production's extent. Formulas become their values."""
        assert self.staging is not None
        whole = self._range("A1")[: -len("!A1")]
        prod = self.gc.http_client.values_get(self.production, whole, params=dict(READ_PARAMS)).get("values") or []
        old = self.gc.http_client.values_get(self.staging, whole, params=dict(READ_PARAMS)).get("values") or []
        height = max(len(prod), len(old), 1)
        width = max([len(r) for r in prod] + [len(r) for r in old] + [1])
        grid = [[*r, *[""] * (width - len(r))] for r in prod] + [[""] * width] * (height - len(prod))
        cells = f"A1:{a1.column_letters(width)}{height}"
        body = {"valueInputOption": "RAW", "data": [{"range": self._range(cells), "values": grid}]}
        self.gc.http_client.values_batch_update(self.staging, body)

    def _check_back(self, key: str, cells: list[Cell], where: dict[str, dict[str, str]]) -> None:
        """Raise ReadBack unless every cell reads back exactly as its `fit(new)`. On production (after the
        write) a difference means someone wrote in the window the API cannot close, or the value does not fit:
        a plain TargetError that says so (a retry would then find a conflict and stop)."""
        addresses = [where[str(c.key)][c.field] for c in cells]
        got = self._read_cells(key, addresses)
        differ = [(c, v) for c, v in zip(cells, got, strict=True) if not _holds(v, self.fit(c.field, c.new))]
        if differ and key == self.production:
            found = ", ".join(f"{c.key}.{c.field}={v!r} (wrote {c.new!r})" for c, v in differ[:5])
            raise TargetError(
                f"production tab {self.title!r}: {len(differ)} cell(s) read back differently after the write "
                f"(changed by someone else meanwhile?): {found}"
            )
        if differ:
            raise ReadBack(differ)

    def staged(self, cs_id: int, handle: dict[str, Any]) -> tuple[Config, DatasetConfig]:
        source_cfg = self.src.model_copy(update={"spreadsheet": handle["spreadsheet"]})
        ds = self.where.dataset
        return staged_config(self.where.cfg, ds, ds.table, self.name, source_cfg)

    def promote(self, cs_id: int, cells: list[Cell], handle: dict[str, Any]) -> dict[str, Any]:
        return self._production(cells)

    def rollback(self, cs_id: int, cells: list[Cell], handle: dict[str, Any]) -> dict[str, Any]:
        return self._production(cells)

    def _production(self, cells: list[Cell]) -> dict[str, Any]:
        """Re-read, classify, write the cells still holding `old` in one RAW batchUpdate, read back."""
        what = f"production, tab {self.title!r}"
        try:
            before = self._version(self.production)
            tab = self._read(self.production)
            self._remember(tab)
            now, where = self._now(tab, cells)
            todo, done, conflicts = classify(cells, now, self.fit)
            if conflicts:
                raise Conflict(conflicts)
            snapshot: dict[str, dict[str, Any]] = {}
            for c in cells:
                snapshot.setdefault(str(c.key), {})[c.field] = now[c.key][c.field]
            if todo:
                if self._version(self.production) != before:
                    raise TargetError(f"{what}: changed while it was being checked; nothing written", transient=True)
                self._write(
                    self.production, {where[str(c.key)][c.field]: self._fitted(c.field, c.new)[0] for c in todo}
                )
            self._check_back(self.production, cells, where)
            after = self._version(self.production)
        except Exception as exc:
            raise _error(exc, what) from None
        return {
            "written": len(todo),
            "already": len(done),
            "spreadsheet": self.production,
            "tab": self.title,
            "cells": where,
            "snapshot": snapshot,
            "version_before": before,
            "version_after": after,
            "precondition": PRECONDITION,
        }

    def discard(self, cs_id: int, handle: dict[str, Any]) -> None:
        """Nothing to drop: the staging copy is long-lived and the next stage refreshes its tab."""

    def close(self) -> None:
        self.gc.http_client.session.close()


def open(where: Where) -> GSheetsTarget:  # noqa: A001 - the registry's entry point name
    return GSheetsTarget(where)


def init_staging(cfg: Config, source_name: str, title: str | None = None, folder_id: str | None = None) -> str:
    """A staging copy of the source's spreadsheet (Drive files.copy, without its sharing or comments): returns
    the new key, for `staging_spreadsheet:`. A service account owns no Drive storage, so it can only copy
    into a Shared Drive folder it may write (`folder_id`); a user OAuth `token:` copies into My Drive."""
    from gspread.exceptions import APIError

    src = cfg.main.sources.get(source_name)
    if src is None or src.type != "gsheets":
        raise TargetError(f"{source_name!r} is not a gsheets source")
    try:
        gc = client(source_name, src, cfg.root, COPY_SCOPES)
        key = spreadsheet_id(source_name, src)
        copy = gc.copy(
            key,
            title=title or f"{source_name} (Sentinel staging)",
            copy_permissions=False,
            copy_comments=False,
            folder_id=folder_id,
        )
        new = copy.id
        gc.http_client.session.close()
        return new
    except APIError as exc:
        reasons = {e.get("reason") for e in exc.error.get("errors", []) if isinstance(e, dict)}
        if "storageQuotaExceeded" in reasons:
            raise TargetError(
                f"source {source_name!r}: Drive refused the copy (storage quota): a service account owns no Drive "
                "files; give a Shared Drive folder it can write (folder id), or sign in with a user token"
            ) from None
        raise _error(exc, f"source {source_name!r}, copying the spreadsheet") from None
    except Exception as exc:
        raise _error(exc, f"source {source_name!r}, copying the spreadsheet") from None
