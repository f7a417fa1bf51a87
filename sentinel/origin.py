"""What a dataset's `origin:` holds now, read by API when a check flags something, so a request can compare
the warehouse table with the sheet or object its rows come from ("the tab Forecast_US has 0 data rows since
09:12; it had 39 at the last good run") and name the cells or records where each flagged row lives.

Best effort by design: the run's results stand whatever happens here, so any failure comes back as
`{"error": "<one redacted line>"}` and is never raised. Naming the origin without an API call (spreadsheet
id, tab, range, sheet link) is the request composer's job, from `ds.origin` and the source config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentinel.envsubst import redact

if TYPE_CHECKING:
    from sentinel.config import Config, DatasetConfig, GSheetsSourceConfig, OriginConfig


def read_origin(cfg: Config, ds: DatasetConfig, keys: list[str] | None = None) -> dict:
    """gsheets: `rows` (data rows in the tab or range now), `modified_at` and `version` (the Drive file's
    last change), and for `keys` their `cells` (`Forecast_US!A7:F7`), `links` and those `not_found`.
    salesforce: `rows` (the object's record count), `instance` (the org's URL the login answered with, the
    only host record links may point to) and for `keys` their `records` ({record, url}) and those `not_found`.
    `{}` when the dataset declares no origin; `{"error": ...}` when it cannot be read."""
    origin = ds.origin
    if origin is None:
        return {}
    src = cfg.main.sources.get(origin.source)
    try:
        if src is not None and src.type == "gsheets":
            return _sheet(cfg, origin, src, origin.key or ds.key, keys or [])
        if src is not None and src.type == "salesforce":
            return _salesforce(cfg, origin, src, origin.key or ds.key, keys or [])
        kind = src.type if src is not None else "undeclared"
        return {"error": f"origin source {origin.source!r} is {kind}; an origin is a gsheets or salesforce source"}
    except Exception as exc:  # a failed origin read never fails the run
        return {"error": _one_line(exc, origin)}


def _one_line(exc: BaseException, origin: OriginConfig) -> str:
    from sentinel.sources.base import SourceError

    if not isinstance(exc, SourceError):
        try:
            from sentinel.sources import gsheets

            exc = gsheets.failure(exc, f"origin {origin.source!r}")
        except Exception:  # no failure mapping applies: the exception's own text
            pass
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    lines = redact(str(text)).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _sheet(cfg: Config, origin: OriginConfig, src: GSheetsSourceConfig, key: str | None, keys: list[str]) -> dict:
    from gspread.urls import DRIVE_FILES_API_V3_URL

    from sentinel.sources import gsheets
    from sentinel.sources.base import SourceError

    name = origin.source
    gc = gsheets.client(name, src, cfg.root)
    sid = gsheets.spreadsheet_id(name, src)
    title = origin.worksheet or ""
    out: dict[str, Any] = {"source": name, "spreadsheet": sid, "worksheet": title, "range": origin.range}
    try:
        tab = gsheets.read_tab(gc, sid, title, origin.range)
    except SourceError as exc:
        if exc.cause != "no_header":
            raise
        tab, out["empty"] = None, exc.message  # an overwritten, blank tab: no rows at all
    file = gc.http_client.request(
        "get", f"{DRIVE_FILES_API_V3_URL}/{sid}", params={"fields": "modifiedTime,version", "supportsAllDrives": True}
    ).json()
    out.update(rows=len(tab.rows) if tab else 0, modified_at=file.get("modifiedTime"), version=file.get("version"))
    if tab is not None:
        out["url"] = tab.url()
    if keys:
        if tab is None or key is None or key not in tab.header:
            found: dict[str, dict] = {}
            if tab is not None:
                out["key_error"] = f"the tab has no column {key!r} to find keys by" if key else "no key column"
        else:
            found = gsheets.rows_of(tab, key, keys)
        out["cells"] = {k: v["cells"] for k, v in found.items()}
        out["links"] = {k: v["url"] for k, v in found.items()}
        out["not_found"] = [str(k) for k in keys if str(k) not in found]
    return out


def _salesforce(cfg: Config, origin: OriginConfig, src: Any, key: str | None, keys: list[str]) -> dict:
    """Record count by `SELECT COUNT()`, and each key's record Id and Lightning link (no query when the
    origin's key is the Id). The login is the salesforce source's own (sentinel.sources.salesforce)."""
    from simple_salesforce import format_soql

    from sentinel.sources import salesforce

    name, obj = origin.source, origin.object or ""
    if not obj.isidentifier():
        return {"error": f"origin object {obj!r} is not an sObject name"}
    try:
        sf = salesforce.connect(src.production, cfg.root, f"sources.{name}.production")
        out: dict[str, Any] = {"source": name, "object": obj, "instance": f"https://{sf.sf_instance}/"}
        out["rows"] = int(sf.query(f"SELECT COUNT() FROM {obj}")["totalSize"])
        if keys:
            field = key or "Id"
            if field.lower() == "id":
                ids = {str(k): str(k) for k in keys}
            elif not field.isidentifier():
                return {"error": f"origin key {field!r} is not a field name"}
            else:
                wanted = [str(k) for k in keys]
                soql = format_soql(f"SELECT Id, {field} FROM {obj} WHERE {field} IN {{keys}}", keys=wanted)
                ids = {}
                for r in sf.query_all_iter(soql):  # fields come back in their API spelling, whatever the config's
                    value = next((v for f, v in r.items() if f.lower() == field.lower()), None)
                    if value is not None:
                        ids[str(value)] = r["Id"]
            host = sf.sf_instance
            out["records"] = {
                k: {"record": i, "url": f"https://{host}/lightning/r/{obj}/{i}/view"} for k, i in ids.items()
            }
            out["not_found"] = [str(k) for k in keys if str(k) not in ids]
        return out
    except Exception as exc:
        raise salesforce.failure(exc, f"reading origin {obj}") from None
