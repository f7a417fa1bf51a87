"""`type: salesforce`: an sObject read through simple-salesforce into an in-process DuckDB, so every check
kind runs its usual SQL on it.

A dataset's `table` is the sObject, `fields:` the fields read (default: every field `describe()` lists, less
compound and binary ones, whose parts are fields of their own) and `where:` a SOQL filter (trusted like SQL
in config; object and field names are checked as identifiers and against `describe()`). `Id` is always read,
so evidence can name each record and link to it. Records arrive with `query_all_iter` (which follows
`nextRecordsUrl`) and are appended in Arrow batches (stream.py): memory stays bounded whatever the size.

Login is JWT bearer, client credentials, or an existing session; never SOAP username/password, which
Salesforce is retiring. Secrets are `${ENV}` references expanded here, at login, and never put in messages.

A change-set the sandbox cannot hold (it lacks the records) is verified on production's records with the
change-set laid over the loaded table (`Overlay`, `overlaid`): only the Salesforce target sets it, on a copy
of the source config, as a private attribute no YAML file can reach.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import shutil
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyarrow as pa
import requests
import sqlalchemy as sa
from requests.adapters import HTTPAdapter

from sentinel.envsubst import MissingEnv, expand_env, redact
from sentinel.sources import stream
from sentinel.sources.base import SourceError, SqlSource, classify

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from sentinel.config import Config, DatasetConfig, SalesforceOrgConfig, SalesforceSourceConfig

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # sObject and field API names (custom ones end in __c)
SKIPPED_TYPES = {"address", "location", "base64"}  # compound (their parts are fields too) and binary
_DECIMAL_TYPES = {"currency", "double", "percent"}
_ARROW_TYPES = {
    "int": pa.int64(),
    "long": pa.int64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms", tz="UTC"),
}


# --- the client ----------------------------------------------------------------------------------------


class TimeoutSession(requests.Session):
    """simple-salesforce sets no timeout and some of its calls take no `timeout=`: every request gets one."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):  # type: ignore[no-untyped-def,override]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


class ApiRootAdapter(HTTPAdapter):
    """Sends every https request to `root` instead (same path and query): a proxy/gateway or a test fake.
    simple-salesforce builds `https://<instance>/...` itself, so the base URL cannot be set any other way."""

    def __init__(self, root: str):
        super().__init__()
        self.root = root.rstrip("/")

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def,override]
        parts = urlsplit(request.url)
        request.url = self.root + parts.path + ("?" + parts.query if parts.query else "")
        return super().send(request, **kwargs)


def login_kind(org: SalesforceOrgConfig) -> str:
    """Which login the org's settings describe: session, jwt or client_credentials; ValueError otherwise."""
    if org.session_id is not None or org.instance_url is not None:
        if org.session_id is None or org.instance_url is None:
            raise ValueError("a session login needs both `session_id` and `instance_url`")
        return "session"
    if org.private_key is not None or org.username is not None:
        if org.username is None or org.consumer_key is None or org.private_key is None:
            raise ValueError("JWT bearer login needs `username`, `consumer_key` and `private_key`")
        return "jwt"
    if org.consumer_key is not None and org.consumer_secret is not None:
        if org.domain in ("login", "test"):
            raise ValueError("client-credentials login needs your My Domain as `domain` (e.g. acme.my)")
        return "client_credentials"
    raise ValueError(
        "no login: give username + consumer_key + private_key (JWT bearer), consumer_key + consumer_secret + "
        "domain (client credentials), or session_id + instance_url"
    )


def connect(org: SalesforceOrgConfig, root: Path, where: str) -> Salesforce:
    """A logged-in client. `where` (e.g. `sources.crm.production`) locates configuration errors."""
    from simple_salesforce import Salesforce

    try:
        kind = login_kind(org)
    except ValueError as exc:
        raise SourceError("config", f"{where}: {exc}") from None

    def env(key: str) -> str:
        return expand_env(getattr(org, key), f"{where}.{key}")

    session = TimeoutSession(org.timeout.total_seconds())
    if org.api_root:
        session.mount("https://", ApiRootAdapter(org.api_root))
    common: dict[str, Any] = {
        "session": session,
        "version": org.version,
        "object_pairs_hook": dict,
        "parse_float": Decimal,  # currency amounts keep their exact decimal digits
    }
    try:
        if kind == "session":
            return Salesforce(instance_url=env("instance_url"), session_id=env("session_id"), **common)
        if kind == "jwt":
            key = env("private_key")
            if "-----BEGIN" in key:
                secret = {"privatekey": key}
            else:
                path = root / key
                if not path.is_file():
                    raise SourceError("config", f"{where}.private_key: not PEM text, and no such file")
                secret = {"privatekey_file": str(path)}
            return Salesforce(
                username=env("username"), consumer_key=env("consumer_key"), domain=env("domain"), **secret, **common
            )
        return Salesforce(
            consumer_key=env("consumer_key"), consumer_secret=env("consumer_secret"), domain=env("domain"), **common
        )
    except MissingEnv as exc:
        raise SourceError("config", str(exc)) from None
    except Exception as exc:
        raise failure(exc, "logging in") from None


def failure(exc: BaseException, doing: str) -> SourceError:
    """A client exception as a SourceError: a cause class and one redacted line, never a traceback."""
    from simple_salesforce import exceptions as sfe

    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, sfe.SalesforceAuthenticationFailed):
        detail = " ".join(str(p) for p in (exc.code, exc.auth_message) if p)
        return SourceError("permission", redact(f"Salesforce login failed: {detail}"))
    if isinstance(exc, sfe.SalesforceError):
        code, text = _error_detail(exc.content)
        status = getattr(exc, "status", None)
        what = f"Salesforce answered {status} {code}".rstrip() + f" while {doing}" + (f": {text}" if text else "")
        what = redact(what)
        if isinstance(exc, sfe.SalesforceExpiredSession):
            return SourceError("permission", what + " (the session was refused again after logging in anew)")
        if isinstance(exc, sfe.SalesforceRefusedRequest):
            return SourceError("permission", what)
        if isinstance(exc, sfe.SalesforceResourceNotFound):
            return SourceError("missing_table", what)
        if code == "QUERY_TIMEOUT":
            return SourceError("timeout", what)
        return SourceError("other", what)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return SourceError("unreachable", f"Salesforce could not be reached while {doing} (connect timed out)")
    if isinstance(exc, requests.exceptions.Timeout):
        return SourceError("timeout", f"Salesforce did not answer in time while {doing}")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return SourceError("unreachable", f"Salesforce could not be reached while {doing}")
    return classify(exc)


def _error_detail(content: Any) -> tuple[str, str]:
    """(errorCode, message) of a Salesforce error body: a list of {errorCode, message}, or plain text."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode", "")), " ".join(str(first.get("message", "")).split())
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return "", " ".join(str(content or "").split())[:300]


# --- a change-set laid over the records read ------------------------------------------------------------


@dataclass(frozen=True)
class Overlay:
    """Values laid over one sObject's loaded records before any check reads them. `cells` are (key, field,
    value as the field stores it, in its JSON form: a decimal string for currency/double/percent)."""

    object: str
    key: str
    cells: tuple[tuple[str, str, Any], ...]


@functools.cache
def _overlaid_class() -> type:
    from pydantic import PrivateAttr

    from sentinel.config import SalesforceSourceConfig

    class OverlaidSalesforceConfig(SalesforceSourceConfig):
        """A source config carrying an overlay: a subclass the YAML schema does not know, with a private
        attribute that validation never sets, so no config file can lay values over production."""

        _overlay: Overlay | None = PrivateAttr(default=None)

    return OverlaidSalesforceConfig


def overlaid(source_cfg: SalesforceSourceConfig, overlay: Overlay) -> SalesforceSourceConfig:
    """A copy of `source_cfg` whose reads of `overlay.object` (from production) carry `overlay`."""
    copy = _overlaid_class()(**dict(source_cfg))
    copy._overlay = overlay
    return copy


def apply_overlay(engine: sa.Engine, local: str, read: Read, overlay: Overlay) -> list[tuple[str, str, Any, Any]]:
    """Write `overlay` into the loaded table `local` (bound values, one UPDATE per cell, keys compared as
    text) and read the cells back: each (key, field, value, found) that does not hold its value exactly
    (found None: no such record). A value the column cannot hold (more decimals than its scale) differs."""
    from sentinel.correctors.base import same

    canon = {f.lower(): f for f in read.fields}
    key = canon.get(overlay.key.lower())
    if key is None:
        raise SourceError("config", f"{read.object}: the key {overlay.key!r} of the change-set is not read")
    names = {}
    for _, field, _ in overlay.cells:
        if field.lower() not in canon:
            raise SourceError("config", f"{read.object}.{field} is written by the change-set but not read (`fields:`)")
        names[field] = canon[field.lower()]
    t = sa.table(local, *[sa.column(f) for f in read.fields])
    text_key = sa.cast(t.c[key], sa.String)
    with engine.begin() as conn:
        for k, field, value in overlay.cells:
            name = names[field]
            conn.execute(sa.update(t).where(text_key == k).values({name: _bindable(value, read.types[name])}))
        wanted = sorted({k for k, _, _ in overlay.cells})
        cols = [text_key.label("k"), *[t.c[n] for n in dict.fromkeys(names.values())]]
        rows = {r[0]: r._mapping for r in conn.execute(sa.select(*cols).where(text_key.in_(wanted)))}
    out = []
    for k, field, value in overlay.cells:
        found = rows[k][names[field]] if k in rows else None
        if k not in rows or not same(_as_api(found), value):
            out.append((k, field, value, _as_api(found)))
    return out


def _bindable(value: Any, type_: pa.DataType) -> Any:
    """A JSON value bound to a column of `type_`: numbers as Decimal (the database casts, and rounds what the
    column cannot hold, which the read-back then shows), text as text."""
    from sentinel.checks.exact import to_decimal

    if value is None or isinstance(value, bool):
        return value
    if pa.types.is_decimal(type_) or pa.types.is_floating(type_) or pa.types.is_integer(type_):
        try:
            return to_decimal(value)
        except ValueError:
            return value
    return value if isinstance(value, str) else str(value)


def _as_api(v: Any) -> Any:
    """A loaded value as the API writes it: dates in ISO text (other values compare as they are)."""
    return v.isoformat() if isinstance(v, dt.date) and not isinstance(v, dt.datetime) else v


# --- reading a dataset ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """What one dataset reads: the sObject, its fields (canonical names, Id first), the SOQL filter."""

    object: str
    fields: list[str]
    where: str | None
    types: dict[str, pa.DataType]

    @property
    def soql(self) -> str:
        return f"SELECT {', '.join(self.fields)} FROM {self.object}" + (f" WHERE {self.where}" if self.where else "")


def arrow_type(field: dict) -> pa.DataType:
    """The Arrow type of a `describe()` field: exact decimals for money-like numbers whose precision fits."""
    kind = field.get("type")
    if kind in _DECIMAL_TYPES:
        precision, scale = int(field.get("precision") or 0), int(field.get("scale") or 0)
        return pa.decimal128(precision, scale) if 0 < precision <= 38 and 0 <= scale <= precision else pa.float64()
    return _ARROW_TYPES.get(kind, pa.string())


def plan(ds_where: Any, obj: str, fields: list[str] | None, where: str | None, described: list[dict]) -> Read:
    """Check the dataset's fields against `describe()`; an unknown one is a located error naming the closest."""
    by_lower = {f["name"].lower(): f for f in described}
    chosen: list[str] = []
    for i, name in enumerate(fields if fields is not None else [f["name"] for f in described]):
        field = by_lower.get(str(name).lower()) if IDENTIFIER.match(str(name)) else None
        if field is None:
            near = difflib.get_close_matches(str(name), [f["name"] for f in described], n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise SourceError("config", _located(ds_where, ("fields", i), f"{obj} has no field {name!r}{hint}"))
        if fields is None and field.get("type") in SKIPPED_TYPES:
            continue
        if field["name"] not in chosen:
            chosen.append(field["name"])
    if "Id" not in chosen:
        if "id" not in by_lower:
            raise SourceError("other", f"{obj} has no Id field; records cannot be named")
        chosen.insert(0, "Id")
    types = {name: arrow_type(by_lower[name.lower()]) for name in chosen}
    return Read(obj, chosen, where, types)


def _located(w: Any, keys: tuple, message: str) -> str:
    """`file:line: datasets[i].fields[j]: message` when the dataset's place is known (config.Located)."""
    if w is None:
        return message
    suffix = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys)
    line = w.at(*keys)
    return f"{w.file}{f':{line}' if line else ''}: {w.path}{suffix}: {message}"


def _dataset(cfg: Config, source: str, table: str) -> DatasetConfig | None:
    """The dataset reading `table` from `source` (the source interface passes only the table name); two that
    read it differently cannot be told apart, so that is an error rather than a guess."""
    found = [d for d in cfg.datasets if d.source == source and d.table == table]
    if len({(tuple(d.fields or ()), d.where) for d in found}) > 1:
        names = ", ".join(d.name for d in found)
        raise SourceError(
            "config", f"datasets {names} read {table} from {source} with different fields/where; use one per object"
        )
    return found[0] if found else None


class SalesforceSource(SqlSource):
    """A DuckDB holding the records read, plus how to name each record in the org."""

    def __init__(self, name: str, engine: sa.Engine, resolve: Any, reads: dict[str, Read], instance: dict, spill: str):
        super().__init__(name, engine, resolve)
        self._reads, self._instance, self._spill = reads, instance, spill

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._spill, ignore_errors=True)

    def origin_of(self, table: str, key_column: str, keys: list[str]) -> dict[str, dict]:
        """Per key: the record's Id and its Lightning URL."""
        read = self._reads.get(table)
        host = self._instance.get("host")
        if read is None or not host or not keys:
            return {}
        keys = [str(k) for k in keys]
        if key_column.lower() == "id":
            ids = {k: k for k in keys}
        else:
            t = self.table(table)
            key = sa.cast(sa.column(key_column), sa.String)
            rows = self.execute(sa.select(key, sa.column("Id")).select_from(t).where(key.in_(keys)))
            ids = {str(k): i for k, i in rows if i is not None}
        return {
            k: {"record": i, "url": f"https://{host}/lightning/r/{read.object}/{i}/view"}
            for k, i in ids.items()
            if k in keys
        }


def open(name: str, source_cfg: SalesforceSourceConfig, cfg: Config, engines: dict | None = None) -> SqlSource:
    """Nothing is fetched until a dataset's table is first described or queried."""
    spill = tempfile.mkdtemp(prefix="sentinel-sf-")
    engine = stream.memory_engine(spill)
    overlay: Overlay | None = getattr(source_cfg, "_overlay", None)
    org, where = source_cfg.production, f"sources.{name}.production"
    state: dict[str, Any] = {}
    reads: dict[str, Read] = {}
    tables: dict[str, str] = {}

    def client() -> Salesforce:
        if "sf" not in state:
            state["sf"] = connect(org, cfg.root, where)
            state["host"] = state["sf"].sf_instance
        return state["sf"]

    def resolve(table: str) -> tuple[None, str]:
        if table not in tables:
            ds = _dataset(cfg, name, table)
            if not IDENTIFIER.match(table):
                raise SourceError("config", f"{table!r} is not an sObject name")
            sf = client()
            try:
                described = sf.restful(f"sobjects/{table}/describe")
            except Exception as exc:
                raise failure(exc, f"describing {table}") from None
            w = cfg.where.get(id(ds)) if ds is not None else None
            read = plan(w, described.get("name", table), ds and ds.fields, ds and ds.where, described["fields"])
            columns = [stream.Column(f, read.types[f]) for f in read.fields]
            schema = pa.schema([pa.field(c.name, c.type) for c in columns])
            local = "sf_" + table
            try:
                stream.load(engine, local, schema, stream.batches(sf.query_all_iter(read.soql), columns))
            except Exception as exc:
                raise failure(exc, f"reading {table}") from None
            if overlay is not None and overlay.object.lower() == read.object.lower():
                differ = apply_overlay(engine, local, read, overlay)
                if differ:
                    cells = ", ".join(f"{k}.{f}={found!r} (laid {v!r})" for k, f, v, found in differ[:5])
                    raise SourceError("other", f"the change-set overlay on {read.object} does not hold: {cells}")
            reads[table], tables[table] = read, local
        return None, tables[table]

    return SalesforceSource(name, engine, resolve, reads, state, spill)
