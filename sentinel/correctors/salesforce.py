"""The Salesforce target: a change-set staged in the sandbox org and promoted to production, through
simple-salesforce's REST calls.

- Staging is the `staging:` org, and only after it answers `IsSandbox = true` (a production org configured
  as staging is refused before anything is written). If the sandbox holds the records (matched by the
  dataset's key), the cells are written there in one all-or-none sObject Collections call and read back;
  the dataset's checks then run on the sandbox. Real sandboxes often lack the records (a developer sandbox,
  or records created since the refresh): then nothing is written anywhere and the checks run on
  production's records with the change-set laid over the loaded table (`sources.salesforce.Overlay`); the
  handle's note says so.
- Promotion (and rollback) re-reads production, classifies every cell (old -> write, new -> already done,
  neither -> `Conflict`, nothing written), then writes the cells to do in ONE `PATCH composite/sobjects`
  with `allOrNone: true`, and re-reads. That API takes no per-record precondition (conditional headers are
  for single sObject rows, and an all-or-none write across calls does not exist), so the re-read just
  before the write is the precondition, and a change-set is limited to the 200 records one call carries.
- The call answers HTTP 200 even when records fail: every result is scanned, and a failure names the
  record and Salesforce's error code (with all-or-none, nothing was written).
- A 401 `INVALID_SESSION_ID` makes simple-salesforce log in again (JWT, client credentials) and repeat
  the call; no conditional header is sent, so its re-login dropping headers loses nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sentinel.checks.exact import exact, to_decimal
from sentinel.correctors.base import Cell, Conflict, ReadBack, TargetError, classify, same, staged_config
from sentinel.envsubst import redact
from sentinel.sources import stream
from sentinel.sources.base import SourceError
from sentinel.sources.salesforce import IDENTIFIER, Overlay, apply_overlay, connect, failure, overlaid, plan

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from sentinel.config import Config, DatasetConfig
    from sentinel.correctors.base import Where

MAX_RECORDS = 200  # records one sObject Collections call carries: the limit of an all-or-none write
NUMBER_TYPES = {"currency", "double", "percent"}
INTEGER_TYPES = {"int", "long"}
KEY_TYPES = {"id", "string", "reference", "email", "phone", "url", "picklist", "textarea"}  # compared as text
OVERLAY_NOTE = "the sandbox lacks these records; verified on production rows with the change-set overlaid"
NO_PRECONDITION = (
    "the sObject Collections API takes no per-record precondition: production was re-read just before the "
    "all-or-none write and again after it"
)
ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"


def open(where: Where) -> SalesforceTarget:
    return SalesforceTarget(where)


class SalesforceTarget:
    """One sObject of one `type: salesforce` source; clients are logged in on first use and kept."""

    staging_kind = "sandbox"

    def __init__(self, where: Where):
        from sentinel.config import SalesforceSourceConfig

        src = where.cfg.main.sources.get(where.source)
        if not isinstance(src, SalesforceSourceConfig):
            raise TargetError(f"source {where.source!r} is not a salesforce source")
        for what, name in (("object", where.object), ("key", where.key_column)):
            if not IDENTIFIER.match(name):
                raise TargetError(f"{name!r} is not a Salesforce {what} name")
        self._where, self._src = where, src
        self._clients: dict[str, Salesforce] = {}
        self._described: dict[str, dict] | None = None
        self._object = where.object

    # --- clients and description ---

    def _client(self, which: str) -> Salesforce:
        """The logged-in client of the `production` or `staging` org."""
        if which not in self._clients:
            org = getattr(self._src, which)
            if org is None:
                raise TargetError(f"source {self._where.source!r} has no `{which}:` org")
            try:
                self._clients[which] = connect(org, self._where.cfg.root, f"sources.{self._where.source}.{which}")
            except Exception as exc:
                raise _error(exc, f"logging in to the {which} org") from None
        return self._clients[which]

    def _describe(self) -> dict[str, dict]:
        """Production's `describe()` of the object, by lower-cased field name (API names ignore case)."""
        if self._described is None:
            sf = self._client("production")
            try:
                doc = sf.restful(f"sobjects/{self._object}/describe")
            except Exception as exc:
                raise _error(exc, f"describing {self._object}") from None
            self._object = doc.get("name", self._object)
            self._described = {f["name"].lower(): f for f in doc["fields"]}
            key = self._described.get(self._where.key_column.lower())
            if key is None or key.get("type") not in KEY_TYPES:
                raise TargetError(f"{self._object}.{self._where.key_column} cannot name records (not a text field)")
        return self._described

    def _field(self, name: str) -> dict:
        f = self._describe().get(str(name).lower())
        if f is None or not IDENTIFIER.match(str(name)):
            raise TargetError(f"{self._object} has no field {name!r}")
        return f

    @property
    def _key(self) -> str:
        return self._field(self._where.key_column)["name"]

    def fields(self) -> dict[str, str]:
        """Updateable fields -> their type as describe() gives it, e.g. currency(18,2), string(120), int."""
        out = {}
        for f in self._describe().values():
            if f.get("updateable"):
                kind = f.get("type", "")
                if kind in NUMBER_TYPES:
                    kind += f"({f.get('precision') or 0},{f.get('scale') or 0})"
                elif f.get("length"):
                    kind += f"({f['length']})"
                out[f["name"]] = kind
        return out

    def fit(self, field: str, value: Any) -> Any:
        """`value` as the field stores it: currency/double/percent a Decimal at the field's scale (a value with
        more decimals stays as it is, so the read-back, which Salesforce rounds, differs), int an int, boolean
        a bool, anything else text."""
        kind = self._field(field).get("type")
        if value is None:
            return None
        if kind in NUMBER_TYPES or kind in INTEGER_TYPES:
            try:
                d = to_decimal(value)
                scale = 0 if kind in INTEGER_TYPES else int(self._field(field).get("scale") or 0)
                q = d.quantize(Decimal(1).scaleb(-scale))
            except (ValueError, InvalidOperation):
                return value
            if q != d:
                return d
            return int(q) if kind in INTEGER_TYPES else q
        if kind == "boolean":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            return value
        return value if isinstance(value, str) else str(value)

    # --- reading ---

    def read(self, keys: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        """What production holds: key -> {field (as asked): value}; a missing key is a missing record."""
        found = self._read(self._client("production"), keys, fields)
        return {k: {f: rec[self._field(f)["name"]] for f in fields} for k, rec in found.items()}

    def _read(self, sf: Salesforce, keys: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        """key -> the record's Id, key and `fields` (canonical names), by SOQL `key IN (...)` rendered by
        format_soql; a key two records share is an error (the write could not tell them apart)."""
        from simple_salesforce import format_soql

        names = list(dict.fromkeys(["Id", self._key, *(self._field(f)["name"] for f in fields)]))
        out: dict[str, dict[str, Any]] = {}
        wanted = sorted({str(k) for k in keys})
        for i in range(0, len(wanted), MAX_RECORDS):
            soql = format_soql(
                "SELECT {:literal} FROM {:literal} WHERE {:literal} IN {}",
                ", ".join(names),
                self._object,
                self._key,
                wanted[i : i + MAX_RECORDS],
            )
            try:
                for rec in sf.query_all_iter(soql):
                    k = str(rec[self._key])
                    if k in out:
                        raise TargetError(f"{self._object}.{self._key} = {k!r} names two records")
                    out[k] = {n: rec.get(n) for n in names}
            except Exception as exc:
                raise _error(exc, f"reading {self._object}") from None
        return out

    # --- writing ---

    def _check(self, cells: list[Cell]) -> None:
        """Refuse what one all-or-none call cannot write: read-only or unknown fields, over 200 records."""
        for c in cells:
            f = self._field(c.field)
            if not f.get("updateable"):
                raise TargetError(f"{self._object}.{f['name']} is not updateable")
        records = {c.key for c in cells}
        if len(records) > MAX_RECORDS:
            raise TargetError(
                f"the change-set touches {len(records)} {self._object} records; one all-or-none Salesforce call "
                f"carries at most {MAX_RECORDS}, and atomicity across calls does not exist: split the change-set"
            )

    def _write(self, sf: Salesforce, cells: list[Cell], ids: dict[str, dict], org: str) -> int:
        """ONE `PATCH composite/sobjects` with allOrNone; every result scanned (the call answers 200 even when
        records fail). The number of records written."""
        records: dict[str, dict[str, Any]] = {}
        for c in cells:
            rid = ids[c.key]["Id"]
            rec = records.setdefault(rid, {"attributes": {"type": self._object}, "id": rid})
            rec[self._field(c.field)["name"]] = self.fit(c.field, c.new)
        body = to_json({"allOrNone": True, "records": list(records.values())})
        try:
            results = sf.restful("composite/sobjects", method="PATCH", data=body)
        except Exception as exc:
            raise _error(exc, f"writing {self._object} in the {org} org") from None
        if not isinstance(results, list) or len(results) != len(records):
            raise TargetError(f"Salesforce answered the {org} write with no result per record; re-read before retrying")
        keys = {ids[c.key]["Id"]: c.key for c in cells}
        failed = [(rid, r) for rid, r in zip(records, results, strict=True) if not r.get("success")]
        if failed:
            real = [
                (rid, e) for rid, r in failed for e in r.get("errors") or [{}] if e.get("statusCode") != ROLLED_BACK
            ]
            rid, err = (real or [(failed[0][0], (failed[0][1].get("errors") or [{}])[0])])[0]
            nothing = "all-or-none: nothing was written" if len(failed) == len(records) else "SOME records were written"
            raise TargetError(
                redact(
                    f"Salesforce refused the {org} write of {self._object} {rid} ({self._key} {keys[rid]!r}): "
                    f"{err.get('statusCode', '?')} {' '.join(str(err.get('message', '')).split())}"
                    f"{' on ' + ', '.join(err['fields']) if err.get('fields') else ''} ({nothing})"
                )
            )
        return len(records)

    def _assert_sandbox(self, sf: Salesforce) -> None:
        try:
            sandbox = sf.is_sandbox()
        except Exception as exc:
            raise _error(exc, "asking the staging org whether it is a sandbox") from None
        if sandbox is not True:
            raise TargetError(
                f"source {self._where.source!r}: the `staging:` org is not a sandbox (IsSandbox is {sandbox}); "
                "refusing to write corrections to it"
            )

    # --- the life of a change-set ---

    def stage(self, cs_id: int, cells: list[Cell]) -> dict[str, Any]:
        """The cells written in the sandbox and read back there; or, if it lacks any record, laid over
        production's records in a scratch table and read back from it (nothing written anywhere)."""
        self._check(cells)
        sb = self._client("staging")
        self._assert_sandbox(sb)
        keys, fields = sorted({c.key for c in cells}), list(dict.fromkeys(c.field for c in cells))
        common = {"object": self._object, "key": self._key, "records": len(keys)}
        staged = [[c.key, self._field(c.field)["name"], exact(self.fit(c.field, c.new))] for c in cells]
        have = self._read(sb, keys, fields)
        if any(k not in have for k in keys):
            self._overlay_read_back(cells, staged)
            return {"mode": "overlay", "note": OVERLAY_NOTE, **common, "cells": staged}
        self._write(sb, cells, have, "sandbox")
        back = self._read(sb, keys, fields)
        self._raise_unless_new(cells, back)
        return {"mode": "sandbox", **common, "cells": staged}

    def _raise_unless_new(self, cells: list[Cell], found: dict[str, dict], where: str = "staged") -> None:
        differ = []
        for c in cells:
            have = found.get(c.key, {}).get(self._field(c.field)["name"])
            if c.key not in found or not same(have, self.fit(c.field, c.new)):
                differ.append((c, have))
        if differ:
            raise ReadBack(differ, where)

    def _overlay_read_back(self, cells: list[Cell], staged: list[list]) -> None:
        """The overlay the checks will read, applied to production's records of these keys in a scratch
        DuckDB table of the same column types, and read back: a value the field cannot hold differs."""
        from simple_salesforce import format_soql

        sf = self._client("production")
        keys = sorted({c.key for c in cells})
        where = format_soql("{:literal} IN {}", self._key, keys)
        read = plan(None, self._object, [self._key, *(f for _, f, _ in staged)], where, list(self._describe().values()))
        columns = [stream.Column(f, read.types[f]) for f in read.fields]
        spill = tempfile.mkdtemp(prefix="sentinel-sf-stage-")
        engine = stream.memory_engine(spill)
        try:
            schema = pa.schema([pa.field(c.name, c.type) for c in columns])
            stream.load(engine, "sf_staged", schema, stream.batches(sf.query_all_iter(read.soql), columns))
            differ = apply_overlay(engine, "sf_staged", read, Overlay(self._object, self._key, _cells(staged)))
        except TargetError:
            raise
        except Exception as exc:
            raise _error(exc, f"reading {self._object}") from None
        finally:
            engine.dispose()
            shutil.rmtree(spill, ignore_errors=True)
        if differ:
            by = {(c.key, self._field(c.field)["name"]): c for c in cells}
            raise ReadBack([(by[(k, f)], found) for k, f, _, found in differ])

    def staged(self, cs_id: int, handle: dict[str, Any]) -> tuple[Config, DatasetConfig]:
        """Sandbox mode: the source with `production` replaced by the sandbox org. Overlay mode: production,
        with the change-set laid over the loaded records."""
        ds = self._where.dataset
        if handle.get("mode") == "sandbox":
            source_cfg = self._src.model_copy(update={"production": self._src.staging})
        else:
            source_cfg = overlaid(self._src, Overlay(handle["object"], handle["key"], _cells(handle["cells"])))
        return staged_config(self._where.cfg, ds, ds.table, self._where.source, source_cfg)

    def promote(self, cs_id: int, cells: list[Cell], handle: dict[str, Any]) -> dict[str, Any]:
        return self._production(cells)

    def rollback(self, cs_id: int, cells: list[Cell], handle: dict[str, Any]) -> dict[str, Any]:
        return self._production(cells)

    def _production(self, cells: list[Cell]) -> dict[str, Any]:
        """Re-read, classify (a conflict writes nothing), one all-or-none call for the cells to do, re-read."""
        self._check(cells)
        sf = self._client("production")
        keys, fields = sorted({c.key for c in cells}), list(dict.fromkeys(c.field for c in cells))
        now = self._read(sf, keys, fields)
        view = {k: {f: rec[self._field(f)["name"]] for f in fields} for k, rec in now.items()}
        todo, done, conflicts = classify(cells, view, self.fit)
        if conflicts:
            raise Conflict(conflicts)
        records = self._write(sf, todo, now, "production") if todo else 0
        self._raise_unless_new(cells, self._read(sf, keys, fields), "production")
        return {
            "written": len(todo),
            "already": len(done),
            "records": records,
            "calls": 1 if todo else 0,
            "precondition": NO_PRECONDITION,
        }

    def discard(self, cs_id: int, handle: dict[str, Any]) -> None:
        """Overlay mode left nothing anywhere. Sandbox mode leaves the sandbox as staged: it is a scratch org
        (refreshed from production), and putting a "previous" value back would guess at what it held, since
        a repeated stage cannot tell its own write from the sandbox's data. Never touches production."""

    def close(self) -> None:
        for sf in self._clients.values():
            sf.session.close()
        self._clients.clear()


def _cells(rows: list[list]) -> tuple[tuple[str, str, Any], ...]:
    return tuple((str(k), str(f), v) for k, f, v in rows)


def _error(exc: BaseException, doing: str) -> TargetError:
    """A client exception as a TargetError (redacted, one line): transient for timeouts, unreachable orgs and
    5xx answers, which a retry that re-reads first can finish."""
    if isinstance(exc, TargetError):
        return exc
    err = failure(exc, doing)
    status = getattr(exc, "status", None)
    transient = err.cause in ("timeout", "unreachable") or (isinstance(status, int) and status >= 500)
    return TargetError(err.message if isinstance(err, SourceError) else str(err), transient=transient)


def to_json(doc: Any) -> str:
    """JSON with Decimals as their exact digits (the stdlib writes none, and a float would round past 17)."""
    import json

    if isinstance(doc, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(v)}" for k, v in doc.items()) + "}"
    if isinstance(doc, list | tuple):
        return "[" + ",".join(to_json(v) for v in doc) + "]"
    if isinstance(doc, Decimal):
        if not doc.is_finite():
            raise TargetError(f"{doc} cannot be written to Salesforce")
        return format(doc, "f")
    return json.dumps(doc, allow_nan=False)
