"""A fake Salesforce org on 127.0.0.1 for the real simple-salesforce client.

Serves what a read needs, in Salesforce's wire format: the OAuth token endpoint (JWT bearer, with the
assertion's signature, iss, sub and aud checked; client credentials, with HTTP Basic), sObject `describe`,
SOQL `query/` with `nextRecordsUrl` paging, `SELECT COUNT()` (`totalSize`, no records) and filters `=`, `!=`,
`IN (...)`; and the errors a client meets: `INVALID_SESSION_ID` 401 (once, then the client logs in again; or
every time; or at the first request of one kind), a query that never answers (the client's timeout), 400
`INVALID_FIELD`. Records are made per page by a function of their index, so a million of them never sit in
memory. Every request is counted (and logged with its method and path) and every SOQL text kept, for tests
to assert on.

And what a write needs: `SELECT IsSandbox FROM Organization` (`sandbox=` per fake: run one production fake
and one sandbox fake), sObject `PATCH sobjects/<Object>/<Id>` (204) and the sObject Collections
`PATCH composite/sobjects` (HTTP 200 with a result per record; with `allOrNone` one bad record fails them all,
the others as `ALL_OR_NONE_OPERATION_ROLLED_BACK`). Writes are checked against `describe()` as Salesforce
does (unknown or read-only field, numbers rounded half-up to the field's scale, too many digits refused) and
kept as an overlay over the generated records, so queries return them. `fail_records` makes a record's write
fail (e.g. `FIELD_CUSTOM_VALIDATION_EXCEPTION`); `change()` edits a record behind the client's back.

Run alone (the benchmark does, so its memory is not the client's):
`python tests/fakes/salesforce.py --records 1000000` prints `port <n>` and serves until killed.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

INSTANCE = "acme.my.salesforce.com"
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@dataclass
class SObject:
    """An sObject: its describe() fields and `count` records made by `record(i)` (every field)."""

    name: str
    fields: list[dict]
    count: int
    record: Callable[[int], dict]


def describe_field(name: str, type_: str, precision: int = 0, scale: int = 0, updateable: bool = True) -> dict:
    return {
        "name": name,
        "type": type_,
        "precision": precision,
        "scale": scale,
        "nillable": name != "Id",
        "updateable": updateable and name != "Id",
    }


OPPORTUNITY_FIELDS = [
    describe_field("Id", "id"),
    describe_field("Name", "string"),
    describe_field("Amount", "currency", 18, 2),
    describe_field("Probability", "percent", 3, 0),
    describe_field("StageName", "picklist"),
    describe_field("IsWon", "boolean", updateable=False),  # derived from the stage
    describe_field("CloseDate", "date"),
    describe_field("CreatedDate", "datetime", updateable=False),
    describe_field("LastModifiedDate", "datetime", updateable=False),
    describe_field("AccountId", "reference"),
    describe_field("Description", "textarea"),
    describe_field("TotalOpportunityQuantity", "double", 18, 2),
    describe_field("FiscalYear", "int"),
    describe_field("ShippingAddress", "address", updateable=False),  # compound: not read unless named
]
STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won"]


def record_id(prefix: str, i: int) -> str:
    """An 18-character Salesforce-like Id."""
    return f"{prefix}{i:012d}AAA"


def opportunity(i: int, now: dt.datetime) -> dict:
    """The i-th Opportunity: amounts between 10,000 and 20,000 with cents, modified within the last day."""
    modified = now - dt.timedelta(seconds=(i * 37) % 86_000)
    return {
        "Id": record_id("006", i),
        "Name": f"Deal {i}",
        "Amount": (10_000 + (i * 7919) % 10_000) + ((i * 13) % 100) / 100,
        "Probability": (i * 10) % 101,
        "StageName": STAGES[i % len(STAGES)],
        "IsWon": i % len(STAGES) == len(STAGES) - 1,
        "CloseDate": (now.date() + dt.timedelta(days=i % 90)).isoformat(),
        "CreatedDate": sf_datetime(modified - dt.timedelta(days=30)),
        "LastModifiedDate": sf_datetime(modified),
        "AccountId": record_id("001", i % 500),
        "Description": None if i % 3 else f"note {i}",
        "TotalOpportunityQuantity": float(1 + i % 50),
        "FiscalYear": 2026,
        "ShippingAddress": {"city": "Springfield", "country": "US"},
    }


def sf_datetime(t: dt.datetime) -> str:
    """Salesforce's JSON datetime: `2026-11-30T10:00:00.000+0000`."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def dumps(doc: Any) -> bytes:
    """JSON as Salesforce sends it. Floats print as their shortest repr, which is the decimal text the
    generator meant (12345.67 stays 12345.67), as in Salesforce's own numbers; a Decimal (a value written
    through the API) prints as its exact digits."""
    text = json.dumps(doc, separators=(",", ":"), default=_number_marker)
    return _MARKED.sub(lambda m: m.group(1), text).encode()


def _number_marker(o: Any) -> str:
    if isinstance(o, Decimal):
        return f"\x00{format(o, 'f')}\x00"
    raise TypeError(f"not JSON: {type(o).__name__}")


_MARKED = re.compile(r'"\\u0000(-?[0-9.]+)\\u0000"')
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)(?:\s+WHERE\s+(?P<where>.+))?\s*$", re.S | re.I
)
_CLAUSE = re.compile(r"^\s*(\w+)\s*(=|!=)\s*'((?:[^'\\]|\\.)*)'\s*$", re.S)
_IN = re.compile(
    r"^\s*(\w+)\s+IN\s*\((?P<list>\s*'(?:[^'\\]|\\.)*'(?:\s*,\s*'(?:[^'\\]|\\.)*')*\s*)\)\s*$", re.S | re.I
)
_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'")


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            return  # the client gave up waiting (`stall_queries`: a stalled answer goes out after its timeout)
        super().handle_error(request, client_address)


@dataclass
class FakeSalesforce:
    """The fake org. `start()` it; `api_root` is what Sentinel's `api_root:` points at."""

    objects: dict[str, SObject]
    username: str = "bot@acme.example"
    consumer_key: str = "3MVG9fake-consumer-key"
    consumer_secret: str | None = None
    public_key: bytes | None = None  # PEM; JWT assertions must verify with it
    page_size: int = 2000
    version: str = "62.0"
    sandbox: bool = False  # what `SELECT IsSandbox FROM Organization` answers
    instance: str = INSTANCE  # the host the token endpoint hands out
    # knobs
    expire_once: bool = False  # the next data request gets INVALID_SESSION_ID; every token issued so far dies
    expire_at: str | None = None  # the same, at the first request of this kind (a `counts` key, e.g. "composite")
    reject_all: bool = False  # every data request gets INVALID_SESSION_ID
    unavailable_at: str | None = None  # the first request of this kind gets 503 SERVER_UNAVAILABLE, unprocessed
    stall_queries: bool = False  # queries wait (until stop()) instead of answering
    fail_records: dict[str, tuple[str, str]] = field(default_factory=dict)  # Id -> (statusCode, message) on write
    # what was seen
    counts: Counter = field(default_factory=Counter)
    log: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of every request, in order
    soql: list[str] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)  # every response body sent, for secret scans

    def __post_init__(self) -> None:
        self._tokens: set[str] = set()
        self._issued = 0
        self._cursors: dict[str, tuple[str, list[str], Any]] = {}
        self._written: dict[str, dict[str, dict]] = {}  # sObject -> Id -> fields written through the API
        self._index: dict[str, dict[str, int]] = {}  # sObject -> Id -> record index (built on the first write)
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: _Server | None = None
        self.keep_bodies = True

    # --- lifecycle ---

    def start(self) -> FakeSalesforce:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def api_root(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- dispatch ---

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        base = f"/services/data/v{self.version}"
        self.log.append((method, url.path))
        if method == "POST" and url.path == "/services/oauth2/token":
            self.counts["token"] += 1
            return self._send(req, *self._token(req, parse_qs(body.decode())))
        if method not in ("GET", "PATCH") or not url.path.startswith(base + "/"):
            return self._send(req, 404, NOT_FOUND)
        rest = url.path[len(base) :]
        kind = _kind(method, rest, parse_qs(url.query).get("q", [""])[0])
        if not self._authorised(req, kind):
            self.counts["401"] += 1
            return self._send(req, 401, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}])
        self.counts[kind] += 1
        if self.unavailable_at == kind:
            self.unavailable_at = None
            return self._send(
                req, 503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable"}]
            )
        if kind == "describe":
            return self._send(req, *self._describe(rest.split("/")[2]))
        if kind == "organization":
            return self._send(req, *self._organization())
        if kind == "query":
            soql = parse_qs(url.query).get("q", [""])[0]
            self.soql.append(soql)
            if self.stall_queries:
                self._release.wait(30)
            return self._send(req, *self._query(soql))
        if kind == "query_more":
            return self._send(req, *self._page(rest.split("/")[2]))
        if kind == "patch":
            _, _, name, rid = rest.split("/")
            return self._send(req, *self._patch(name, rid, body))
        if kind == "composite":
            return self._send(req, *self._composite(body))
        return self._send(req, 404, NOT_FOUND)

    def _send(self, req: BaseHTTPRequestHandler, status: int, doc: Any) -> None:
        data = b"" if status == 204 else dumps(doc)
        if self.keep_bodies:
            self.bodies.append(data)
        req.send_response(status)
        req.send_header("Content-Type", "application/json;charset=UTF-8")
        req.send_header("Content-Length", str(len(data)))
        req.send_header("Sforce-Limit-Info", "api-usage=18/5000")
        req.end_headers()
        req.wfile.write(data)

    # --- auth ---

    def _token(self, req: BaseHTTPRequestHandler, form: dict[str, list[str]]) -> tuple[int, Any]:
        grant = form.get("grant_type", [""])[0]
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" and self.public_key is not None:
            try:
                claims = jwt.decode(
                    form.get("assertion", [""])[0],
                    self.public_key,
                    algorithms=["RS256"],
                    audience=["https://login.salesforce.com", "https://test.salesforce.com"],
                    issuer=self.consumer_key,
                )
            except jwt.PyJWTError as exc:
                return 400, {"error": "invalid_grant", "error_description": f"invalid assertion: {exc}"}
            self.claims.append(claims)
            if claims.get("sub") != self.username:
                return 400, {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"}
        elif grant == "client_credentials" and self.consumer_secret is not None:
            expected = base64.b64encode(f"{self.consumer_key}:{self.consumer_secret}".encode()).decode()
            if req.headers.get("Authorization") != f"Basic {expected}":
                return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}
        else:
            return 400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
        return 200, {"access_token": self.issue(), "instance_url": f"https://{self.instance}", "token_type": "Bearer"}

    def issue(self) -> str:
        """A new valid access token (what a login elsewhere would have handed over as `session_id`)."""
        with self._lock:
            self._issued += 1
            token = f"00Dfake!token{self._issued}"
            self._tokens.add(token)
        return token

    def _authorised(self, req: BaseHTTPRequestHandler, kind: str) -> bool:
        token = (req.headers.get("Authorization") or "").removeprefix("Bearer ")
        with self._lock:
            if self.reject_all:
                return False
            if (self.expire_once or self.expire_at == kind) and token in self._tokens:
                self.expire_once, self.expire_at = False, None
                self._tokens.clear()
                return False
            return token in self._tokens

    # --- data ---

    def _describe(self, name: str) -> tuple[int, Any]:
        obj = self.objects.get(name)
        if obj is None:
            return 404, NOT_FOUND
        return 200, {"name": obj.name, "fields": obj.fields, "queryable": True}

    def _query(self, soql: str) -> tuple[int, Any]:
        m = _SOQL.match(soql)
        if not m:
            return 400, [{"errorCode": "MALFORMED_QUERY", "message": "unexpected token"}]
        obj = self.objects.get(m.group("object"))
        if obj is None:
            unknown = m.group("object")
            return 400, [{"errorCode": "INVALID_TYPE", "message": f"sObject type '{unknown}' is not supported."}]
        known = {f["name"].lower(): f["name"] for f in obj.fields}
        if m.group("fields").strip().upper() == "COUNT()":  # a count query: totalSize, no records
            keep = _filter(m.group("where"), known)
            if isinstance(keep, str):
                return 400, [{"errorCode": "INVALID_FIELD", "message": keep}]
            n = obj.count if keep is None else sum(1 for i in range(obj.count) if keep(self._record(obj, i)))
            return 200, {"totalSize": n, "done": True, "records": []}
        fields = [f.strip() for f in m.group("fields").split(",")]
        for f in fields:
            if f.lower() not in known:
                return 400, [{"errorCode": "INVALID_FIELD", "message": f"No such column '{f}' on entity '{obj.name}'."}]
        keep = _filter(m.group("where"), known)
        if isinstance(keep, str):
            return 400, [{"errorCode": "INVALID_FIELD", "message": keep}]
        cursor = f"01gFAKE{len(self._cursors)}"
        self._cursors[cursor] = (obj.name, [known[f.lower()] for f in fields], keep)
        return self._page(f"{cursor}-0")

    def _page(self, locator: str) -> tuple[int, Any]:
        cursor, _, start = locator.rpartition("-")
        if cursor not in self._cursors or not start.isdigit():
            return 400, [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}]
        name, fields, keep = self._cursors[cursor]
        obj = self.objects[name]
        i, records = int(start), []
        while i < obj.count and len(records) < self.page_size:
            rec = self._record(obj, i)
            i += 1
            if keep is None or keep(rec):
                records.append(self._shape(obj.name, rec, fields))
        done = i >= obj.count
        doc: dict[str, Any] = {"totalSize": obj.count, "done": done, "records": records}
        if not done:
            doc["nextRecordsUrl"] = f"/services/data/v{self.version}/query/{cursor}-{i}"
        return 200, doc

    def _organization(self) -> tuple[int, Any]:
        """`SELECT IsSandbox FROM Organization LIMIT 1`, as simple-salesforce's `is_sandbox()` sends it."""
        attributes = {"type": "Organization", "url": f"/services/data/v{self.version}/sobjects/Organization/00Dfake"}
        return 200, {"totalSize": 1, "done": True, "records": [{"attributes": attributes, "IsSandbox": self.sandbox}]}

    # --- writes ---

    def _record(self, obj: SObject, i: int) -> dict:
        """The i-th record as the org holds it now: generated, with whatever was written over it."""
        rec = obj.record(i)
        written = self._written.get(obj.name, {}).get(rec["Id"])
        return {**rec, **written} if written else rec

    def _find(self, name: str, rid: str) -> int | None:
        obj = self.objects[name]
        with self._lock:
            if name not in self._index:
                self._index[name] = {obj.record(i)["Id"]: i for i in range(obj.count)}
        return self._index[name].get(rid)

    def current(self, name: str, rid: str) -> dict | None:
        """What a record holds now (None: no such record)."""
        i = self._find(name, rid)
        return None if i is None else self._record(self.objects[name], i)

    def dump(self, name: str) -> bytes:
        """Every record of `name` as the org holds it now, for byte-for-byte before/after comparisons."""
        obj = self.objects[name]
        return dumps([self._record(obj, i) for i in range(obj.count)])

    def change(self, name: str, rid: str, values: dict) -> None:
        """Edit a record behind the client's back (someone else saving it in the UI)."""
        assert self._find(name, rid) is not None, rid
        with self._lock:
            self._written.setdefault(name, {}).setdefault(rid, {}).update(values)

    def _patch(self, name: str, rid: str, body: bytes) -> tuple[int, Any]:
        """`PATCH sobjects/<Object>/<Id>`: 204, or 400 with the error list, or 404."""
        if name not in self.objects or self._find(name, rid) is None:
            return 404, NOT_FOUND
        try:
            values = json.loads(body or b"{}", parse_float=Decimal)
        except ValueError:
            return 400, [{"errorCode": "JSON_PARSER_ERROR", "message": "malformed JSON"}]
        fitted, error = self._check(name, rid, values)
        if error is not None:
            return 400, [{"errorCode": error["statusCode"], "message": error["message"], "fields": error["fields"]}]
        self._apply(name, rid, fitted)
        return 204, None

    def _composite(self, body: bytes) -> tuple[int, Any]:
        """`PATCH composite/sobjects`: HTTP 200 with one result per record, in order, even when records fail."""
        try:
            doc = json.loads(body or b"{}", parse_float=Decimal)
            records, all_or_none = doc["records"], bool(doc.get("allOrNone", False))
        except (ValueError, KeyError, TypeError):
            return 400, [{"errorCode": "JSON_PARSER_ERROR", "message": "malformed request"}]
        if len(records) > 200:
            return 400, [
                {
                    "errorCode": "EXCEEDED_ID_LIMIT",
                    "message": "record limit reached. cannot submit more than 200 records into this call",
                }
            ]  # noqa: E501
        checked = []
        for rec in records:
            rec = dict(rec)
            name, rid = (rec.pop("attributes", None) or {}).get("type"), rec.pop("id", None)
            if name not in self.objects or rid is None or self._find(name, rid) is None:
                checked.append(
                    (
                        name,
                        rid,
                        None,
                        {
                            "statusCode": "INVALID_CROSS_REFERENCE_KEY",
                            "message": "invalid cross reference id",
                            "fields": [],
                        },
                    )
                )  # noqa: E501
                continue
            checked.append((name, rid, *self._check(name, rid, rec)))
        failed = any(error is not None for *_, error in checked)
        out = []
        for name, rid, fitted, error in checked:
            if error is not None:
                out.append({"success": False, "errors": [error]})
            elif failed and all_or_none:
                out.append({"id": rid, "success": False, "errors": [ROLLED_BACK]})
            else:
                self._apply(name, rid, fitted)
                out.append({"id": rid, "success": True, "errors": []})
        return 200, out

    def _check(self, name: str, rid: str, values: dict) -> tuple[dict, dict | None]:
        """The values as the record would store them, or the first error, as Salesforce validates a save."""
        if rid in self.fail_records:
            code, message = self.fail_records[rid]
            return {}, {"statusCode": code, "message": message, "fields": list(values)[:1]}
        described = {f["name"].lower(): f for f in self.objects[name].fields}
        fitted = {}
        for key, value in values.items():
            f = described.get(key.lower())
            if f is None:
                return {}, {
                    "statusCode": "INVALID_FIELD",
                    "message": f"No such column '{key}' on sobject of type {name}",
                    "fields": [],
                }  # noqa: E501
            if not f.get("updateable"):
                return {}, {
                    "statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                    "message": f"Unable to create/update fields: {f['name']}.",
                    "fields": [f["name"]],
                }  # noqa: E501
            stored, problem = _store(f, value)
            if problem:
                return {}, {"statusCode": problem, "message": f"{f['name']}: bad value", "fields": [f["name"]]}
            fitted[f["name"]] = stored
        return fitted, None

    def _apply(self, name: str, rid: str, fitted: dict) -> None:
        if any(f["name"] == "LastModifiedDate" for f in self.objects[name].fields):
            fitted = {**fitted, "LastModifiedDate": sf_datetime(dt.datetime.now(dt.UTC))}
        with self._lock:
            self._written.setdefault(name, {}).setdefault(rid, {}).update(fitted)

    def _shape(self, name: str, rec: dict, fields: list[str]) -> dict:
        out: dict[str, Any] = {
            "attributes": {"type": name, "url": f"/services/data/v{self.version}/sobjects/{name}/{rec['Id']}"}
        }
        for f in fields:
            out[f] = rec.get(f)
        return out


def _kind(method: str, rest: str, soql: str) -> str:
    """What a data request is, as `counts` names it ("other": a 404)."""
    if method == "PATCH":
        if rest == "/composite/sobjects":
            return "composite"
        return "patch" if re.fullmatch(r"/sobjects/\w+/\w+", rest) else "other"
    if re.fullmatch(r"/sobjects/\w+/describe/?", rest):
        return "describe"
    if rest == "/query/":
        return "organization" if re.search(r"\bFROM\s+Organization\b", soql, re.I) else "query"
    return "query_more" if re.fullmatch(r"/query/01g[\w-]+", rest) else "other"


def _filter(where: str | None, known: dict[str, str]) -> Any:
    """A tiny SOQL filter: `Field = 'text'`, `Field != 'text'` or `Field IN ('a', 'b')`. None for no filter; a
    message if the field is unknown."""
    if where is None:
        return None
    listed = _IN.match(where)
    if listed:
        name = listed.group(1)
        if name.lower() not in known:
            return f"No such column '{name}' on entity"
        column = known[name.lower()]
        values = {re.sub(r"\\(.)", r"\1", v) for v in _LITERAL.findall(listed.group("list"))}
        return lambda rec: rec.get(column) in values
    m = _CLAUSE.match(where)
    if not m:
        return lambda rec: True  # a filter this fake cannot evaluate: every record (the test asserts the text)
    name, op, literal = m.groups()
    if name.lower() not in known:
        return f"No such column '{name}' on entity"
    column, value = known[name.lower()], re.sub(r"\\(.)", r"\1", literal)
    return (lambda rec: rec.get(column) == value) if op == "=" else (lambda rec: rec.get(column) != value)


def _store(f: dict, value: Any) -> tuple[Any, str | None]:
    """A written value as the field stores it, or an error code: numbers rounded half-up to the field's scale
    (Salesforce's rule for currency, double and percent), refused past its precision."""
    if value is None:
        return None, None if f.get("nillable") else "REQUIRED_FIELD_MISSING"
    kind = f["type"]
    if kind in ("currency", "double", "percent", "int"):
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            return None, "INVALID_TYPE_ON_FIELD_IN_RECORD"
        scale = 0 if kind == "int" else int(f.get("scale") or 0)
        stored = Decimal(value).quantize(Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
        if kind == "int" and stored != value:
            return None, "INVALID_TYPE_ON_FIELD_IN_RECORD"
        digits = len(stored.as_tuple().digits) - max(0, -int(stored.as_tuple().exponent))
        if f.get("precision") and digits > int(f["precision"]) - scale:
            return None, "NUMBER_OUTSIDE_VALID_RANGE"
        return (int(stored) if kind == "int" else stored), None
    if kind == "boolean":
        return (value, None) if isinstance(value, bool) else (None, "INVALID_TYPE_ON_FIELD_IN_RECORD")
    return (value, None) if isinstance(value, str) else (None, "INVALID_TYPE_ON_FIELD_IN_RECORD")


def generated_opportunities(count: int, now: dt.datetime) -> SObject:
    return SObject("Opportunity", OPPORTUNITY_FIELDS, count, lambda i: opportunity(i, now))


def main() -> None:
    """Serve `--records` generated Opportunities with client-credentials login until killed."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=2000)
    parser.add_argument("--secret", default="fake-consumer-secret")
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fake = FakeSalesforce(
        {"Opportunity": generated_opportunities(args.records, now)},
        consumer_secret=args.secret,
        page_size=args.page_size,
    )
    fake.keep_bodies = False
    fake.start()
    print(f"port {fake.api_root.rpartition(':')[2]}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin (or kills us)
    fake.stop()


if __name__ == "__main__":
    main()
