"""A fake Google Sheets + Drive + OAuth server on 127.0.0.1, speaking the real wire format to the real gspread
and google-auth: spreadsheets.get (metadata), values get and values:batchGet, values update (PUT) and
values:batchUpdate, Drive files.get and files.copy, and the service-account token endpoint (a JWT-bearer
grant whose RS256 signature, issuer, audience and scope are checked against the key the test generated).
Errors come back in Google's `{"error": {...}}` shape. Every request is recorded, so tests can count them and
read the parameters the client sent.

Cells are stored as the API's UNFORMATTED_VALUE gives them (numbers as JSON numbers, text as strings,
booleans); FORMATTED_VALUE (the API's default) turns them into strings, as the real API does. Writes follow
the valueInputOption: RAW stores each value as sent (a string stays text, even "=1+1" or "123"); USER_ENTERED
parses strings as the UI does (numbers, TRUE/FALSE, a leading "=" makes a formula, which this fake does not
evaluate: it reads as "#ERROR!" unless asked with valueRenderOption=FORMULA; a leading "'" forces text). An
empty string clears the cell. Every write bumps the file's Drive `version` and `modifiedTime`. A write needs a
token granted a read-write scope (spreadsheets, drive or drive.file): a read-only token gets 403.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCE = "https://oauth2.googleapis.com/token"  # google-auth signs for Google's endpoint whatever token_uri is


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula (USER_ENTERED "=..."): this fake keeps its text and never evaluates it."""

    text: str


@dataclass
class Tab:
    title: str
    sheet_id: int
    values: list[list[Any]]
    rows: int = 1000
    cols: int = 26


@dataclass
class Spreadsheet:
    key: str
    title: str
    tabs: list[Tab]
    modified_time: str = "2026-11-30T15:12:00.000Z"
    version: int = 1


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class ServiceAccount:
    email: str
    key_id: str
    public_pem: str


@dataclass
class FakeSheets:
    files: dict[str, Spreadsheet] = field(default_factory=dict)
    forbidden: set[str] = field(default_factory=set)  # spreadsheet keys answered with 403
    accounts: dict[str, ServiceAccount] = field(default_factory=dict)
    static_tokens: set[str] = field(default_factory=set)  # OAuth access tokens accepted as they are
    seen: list[Seen] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)  # verified JWT claims of each token request
    issued: set[str] = field(default_factory=set)
    stall: threading.Event | None = None  # when set: API reads wait for it (at most 10 s), to test timeouts
    # The next writes answer with these errors, one each: (HTTP code, applied) where applied=True means the
    # write took effect before the error (a lost response), False that nothing was written.
    fail_writes: list[tuple[int, bool]] = field(default_factory=list)
    # Drive files.copy without `parents` by a service account: 403 storageQuotaExceeded, as Google answers
    # (a service account owns no Drive storage; the copy must go to a Shared Drive folder).
    service_accounts_own_no_files: bool = True
    scopes: dict[str, set[str]] = field(default_factory=dict)  # issued token -> its granted scopes

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- setting up ---

    def add(self, key: str, tabs: dict[str, list[list[Any]]], title: str = "S&OP", **kw: Any) -> Spreadsheet:
        """A spreadsheet holding copies of the given rows (writes never reach the caller's lists), each tab's
        grid at least 1000 x 26 and as large as its rows, as a new sheet is."""
        made = [
            Tab(t, 1000 + i * 7, [list(r) for r in v], max(1000, len(v)), max([26] + [len(r) for r in v]))
            for i, (t, v) in enumerate(tabs.items())
        ]
        sheet = Spreadsheet(key, title, made, **kw)
        self.files[key] = sheet
        return sheet

    def service_account(self, token_uri: str | None = None) -> dict:
        """A fresh service-account key (real RSA), registered with the fake; returns the JSON key's dict."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        n = len(self.accounts) + 1
        email = f"sentinel-{n}@acme-dq.iam.gserviceaccount.com"
        self.accounts[email] = ServiceAccount(email, f"kid{n}", public)
        return {
            "type": "service_account",
            "project_id": "acme-dq",
            "private_key_id": f"kid{n}",
            "private_key": private,
            "client_email": email,
            "client_id": str(100000 + n),
            "token_uri": token_uri or f"{self.url}/token",
        }

    # --- reading what happened ---

    def count(self, method: str, path_prefix: str) -> int:
        return sum(1 for s in self.seen if s.method == method and s.path.startswith(path_prefix))

    def api_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path != "/token"]

    def writes(self, key: str | None = None) -> list[Seen]:
        """The write requests (values update/batchUpdate, Drive copy), optionally only those naming `key`."""
        out = [s for s in self.seen if s.method in ("POST", "PUT") and s.path != "/token"]
        return [s for s in out if key is None or _key_of(s.path) == key]

    def cell(self, key: str, tab: str, a1: str) -> Any:
        """The stored value of one cell (`C7`), None when empty."""
        t = next(t for t in self.files[key].tabs if t.title == tab)
        m = re.fullmatch(r"([A-Z]+)(\d+)", a1)
        assert m is not None, a1
        r, c = int(m[2]), _col(m[1])
        row = t.values[r - 1] if r <= len(t.values) else []
        return row[c - 1] if c <= len(row) else None

    def dump(self, key: str) -> str:
        """Everything a spreadsheet holds (tabs, cells with their types, version), to compare byte for byte."""
        sheet = self.files[key]
        tabs = [
            {"title": t.title, "id": t.sheet_id, "values": [[_dumped(v) for v in r] for r in t.values]}
            for t in sheet.tabs
        ]
        return json.dumps(
            {"title": sheet.title, "tabs": tabs, "version": sheet.version, "modified": sheet.modified_time}
        )


def _error(code: int, message: str, status: str) -> tuple[int, dict]:
    return code, {"error": {"code": code, "message": message, "status": status}}


STATUS = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
WRITE_SCOPES = {
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
}
DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"


def _key_of(path: str) -> str | None:
    m = re.match(r"/(?:v4/spreadsheets|drive/v3/files)/([^/:]+)", path)
    return m[1] if m else None


def _dumped(v: Any) -> Any:
    return ["formula", v.text] if isinstance(v, Formula) else [type(v).__name__, v]


def _entered(v: Any, option: str) -> Any:
    """A sent value as the sheet stores it under `option` (RAW or USER_ENTERED); None clears the cell."""
    if v is None or v == "":
        return None
    if option == "RAW" or not isinstance(v, str):
        return v
    if v.startswith("'"):
        return v[1:]
    if v.startswith("="):
        return Formula(v)
    if v.upper() in ("TRUE", "FALSE"):
        return v.upper() == "TRUE"
    try:
        number = float(v.replace(",", ""))
    except ValueError:
        return v
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _bump(sheet: Spreadsheet) -> None:
    """What Drive does on every change: a higher `version` and a later `modifiedTime`."""
    import datetime as dt

    sheet.version += 1
    t = dt.datetime.fromisoformat(sheet.modified_time.replace("Z", "+00:00")) + dt.timedelta(seconds=1)
    sheet.modified_time = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _placed(sheet: Spreadsheet, text: str, values: Any) -> tuple[Tab, int, int, list[list[Any]]] | tuple[int, dict]:
    """Where a write of `values` at range `text` lands: (tab, first row, first col, rows), or an error."""
    title, cells = _split_range(text)
    tab = next((t for t in sheet.tabs if t.title == title), None)
    if tab is None or not isinstance(values, list) or not all(isinstance(r, list) for r in values):
        return _error(400, f"Unable to parse range: {text}", "INVALID_ARGUMENT")
    try:
        r1, c1, r2, c2 = _bounds(cells, tab)
    except ValueError:
        return _error(400, f"Unable to parse range: {text}", "INVALID_ARGUMENT")
    explicit = ":" in cells or bool(re.fullmatch(r"[A-Za-z]+\d+", cells))
    height, width = len(values), max((len(r) for r in values), default=0)
    if explicit and (r1 + height - 1 > r2 or c1 + width - 1 > c2):
        message = f"Requested writing within range [{text}], but tried writing beyond it"
        return _error(400, message, "INVALID_ARGUMENT")
    return tab, r1, c1, values


def _apply(tab: Tab, r1: int, c1: int, values: list[list[Any]], option: str) -> int:
    """Store the values (the grid grows as the real API grows it for a write); returns the cells written."""
    n = 0
    for i, row in enumerate(values):
        r = r1 + i
        while len(tab.values) < r:
            tab.values.append([])
        stored = tab.values[r - 1]
        for j, v in enumerate(row):
            c = c1 + j
            while len(stored) < c:
                stored.append(None)
            stored[c - 1] = _entered(v, option)
            n += 1
    tab.rows = max(tab.rows, r1 + len(values) - 1)
    tab.cols = max(tab.cols, c1 + max((len(r) for r in values), default=0) - 1)
    return n


def _quote_tab(title: str) -> str:
    return title if re.fullmatch(r"[A-Za-z0-9_]+", title) else "'" + title.replace("'", "''") + "'"


def _col(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _split_range(text: str) -> tuple[str, str]:
    """('Tab', 'A1:F9') from "'Tab'!A1:F9", "Tab!A1:F9", "'Bob''s'" or "Tab"."""
    if text.startswith("'"):
        i, name = 1, ""
        while i < len(text):
            if text[i] == "'" and text[i + 1 : i + 2] == "'":
                name, i = name + "'", i + 2
            elif text[i] == "'":
                return name, text[i + 2 :] if text[i + 1 : i + 2] == "!" else ""
            else:
                name, i = name + text[i], i + 1
        return name, ""
    name, _, cells = text.partition("!")
    return name, cells


def _bounds(cells: str, tab: Tab) -> tuple[int, int, int, int]:
    """(first row, first col, last row, last col), 1-based, open ends at the grid's edge."""
    if not cells:
        return 1, 1, tab.rows, tab.cols
    a, _, b = cells.partition(":")
    ma, mb = re.fullmatch(r"([A-Z]*)(\d*)", a.upper()), re.fullmatch(r"([A-Z]*)(\d*)", (b or a).upper())
    if ma is None or mb is None:
        raise ValueError(cells)
    r1, c1 = int(ma[2] or 1), _col(ma[1]) if ma[1] else 1
    r2, c2 = int(mb[2] or tab.rows), _col(mb[1]) if mb[1] else tab.cols
    return r1, c1, r2, c2


def _formatted(v: Any) -> Any:
    if isinstance(v, Formula):
        return "#ERROR!"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v) if isinstance(v, int | float) else v


def _rendered(v: Any, render: str) -> Any:
    if isinstance(v, Formula):
        return v.text if render == "FORMULA" else "#ERROR!"
    return v


def _value_range(sheet: Spreadsheet, text: str, render: str) -> tuple[int, dict]:
    title, cells = _split_range(text)
    tab = next((t for t in sheet.tabs if t.title == title), None)
    if tab is None:
        return _error(400, f"Unable to parse range: {text}", "INVALID_ARGUMENT")
    try:
        r1, c1, r2, c2 = _bounds(cells, tab)
    except ValueError:
        return _error(400, f"Unable to parse range: {text}", "INVALID_ARGUMENT")
    out = []
    for row in tab.values[r1 - 1 : r2]:
        cut = ["" if v is None else _rendered(v, render) for v in row[c1 - 1 : c2]]
        while cut and cut[-1] == "":  # the real API trims trailing blank cells and rows
            cut.pop()
        out.append([_formatted(v) for v in cut] if render == "FORMATTED_VALUE" else cut)
    while out and not out[-1]:
        out.pop()
    body: dict[str, Any] = {
        "range": f"{_quote_tab(title)}!{_letters(c1)}{r1}:{_letters(c2)}{r2}",
        "majorDimension": "ROWS",
    }
    if out:
        body["values"] = out
    return 200, body


def _handler(fake: FakeSheets) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> Seen:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            seen = Seen(self.command, unquote(parts.path), parse_qs(parts.query), headers, self.rfile.read(length))
            with fake._lock:
                fake.seen.append(seen)
            return seen

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            seen = self._record()
            if seen.path == "/token":
                self._reply(*self._token(seen))
                return
            self._write(seen)

        def do_PUT(self) -> None:  # noqa: N802
            self._write(self._record())

        def do_GET(self) -> None:  # noqa: N802
            seen = self._record()
            if fake.stall is not None:
                fake.stall.wait(10)
            if self._token_of(seen) is None:
                self._reply(*_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"))
                return
            self._reply(*self._get(seen))

        def _token_of(self, seen: Seen) -> str | None:
            auth = seen.headers.get("authorization", "")
            token = auth.removeprefix("Bearer ")
            return token if auth.startswith("Bearer ") and token in fake.issued | fake.static_tokens else None

        def _write(self, seen: Seen) -> None:
            token = self._token_of(seen)
            if token is None:
                self._reply(*_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"))
                return
            granted = fake.scopes.get(token)  # None: a static (user OAuth) token, granted everything
            copy = re.fullmatch(r"/drive/v3/files/([^/]+)/copy", seen.path)
            needed = {DRIVE_SCOPE} if copy else WRITE_SCOPES
            if granted is not None and not granted & needed:
                message = "Request had insufficient authentication scopes."
                self._reply(*_error(403, message, "PERMISSION_DENIED"))
                return
            key = _key_of(seen.path)
            if key in fake.forbidden:
                self._reply(*_error(403, "The caller does not have permission", "PERMISSION_DENIED"))
                return
            sheet = fake.files.get(key or "")
            if sheet is None:
                self._reply(*_error(404, "Requested entity was not found.", "NOT_FOUND"))
                return
            try:
                body = json.loads(seen.body or b"{}")
            except ValueError:
                self._reply(*_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT"))
                return
            with fake._lock:
                failing = fake.fail_writes.pop(0) if fake.fail_writes else None
                if copy:
                    result = self._copy(seen, sheet, body, service_account=granted is not None, failing=failing)
                else:
                    result = self._values(seen, sheet, body, failing)
            self._reply(*result)

        def _copy(
            self, seen: Seen, sheet: Spreadsheet, body: dict, service_account: bool, failing: tuple | None
        ) -> tuple[int, dict]:
            """Drive files.copy: a new file holding the same tabs and cells (no comments, no permissions)."""
            if service_account and fake.service_accounts_own_no_files and not body.get("parents"):
                code, doc = _error(403, "The user's Drive storage quota has been exceeded.", "PERMISSION_DENIED")
                doc["error"]["errors"] = [{"domain": "usageLimits", "reason": "storageQuotaExceeded"}]
                return code, doc
            if failing is not None and not failing[1]:
                return _error(failing[0], "Internal Error", STATUS.get(failing[0], "INTERNAL"))
            n = sum(1 for k in fake.files if k.startswith("1CopyOf"))
            new = f"1CopyOf{n + 1}{sheet.key}"[:44]
            tabs = [Tab(t.title, t.sheet_id, [list(r) for r in t.values], t.rows, t.cols) for t in sheet.tabs]
            fake.files[new] = Spreadsheet(new, body.get("name") or f"Copy of {sheet.title}", tabs)
            if failing is not None:
                return _error(failing[0], "Internal Error", STATUS.get(failing[0], "INTERNAL"))
            mime = body.get("mimeType") or "application/vnd.google-apps.spreadsheet"
            return 200, {"kind": "drive#file", "id": new, "name": fake.files[new].title, "mimeType": mime}

        def _values(self, seen: Seen, sheet: Spreadsheet, body: dict, failing: tuple | None) -> tuple[int, dict]:
            """values update (PUT .../values/{range}) and values:batchUpdate: all ranges checked, then all written."""
            single = re.fullmatch(r"/v4/spreadsheets/[^/:]+/values/(.+)", seen.path)
            batch = re.fullmatch(r"/v4/spreadsheets/[^/:]+/values:batchUpdate", seen.path)
            if single and seen.method == "PUT":
                option = (seen.query.get("valueInputOption") or [None])[0]
                data = [{"range": single[1], "values": body.get("values")}]
            elif batch and seen.method == "POST":
                option, data = body.get("valueInputOption"), body.get("data")
            else:
                return _error(404, "Not Found", "NOT_FOUND")
            if option not in ("RAW", "USER_ENTERED"):
                message = "'valueInputOption' is required but not specified" if option is None else "Invalid value"
                return _error(400, message, "INVALID_ARGUMENT")
            if not isinstance(data, list):
                return _error(400, "Invalid data[]", "INVALID_ARGUMENT")
            placed = []
            for d in data:
                got = _placed(sheet, str(d.get("range") or ""), d.get("values") or [])
                if isinstance(got[0], int):
                    return got  # type: ignore[return-value]
                placed.append(got)
            if failing is not None and not failing[1]:
                return _error(failing[0], "Internal error encountered.", STATUS.get(failing[0], "INTERNAL"))
            responses = []
            for (tab, r1, c1, values), d in zip(placed, data, strict=True):
                n = _apply(tab, r1, c1, values, option)
                responses.append({"spreadsheetId": sheet.key, "updatedRange": d["range"], "updatedCells": n})
            _bump(sheet)
            if failing is not None:
                return _error(failing[0], "Internal error encountered.", STATUS.get(failing[0], "INTERNAL"))
            total = sum(r["updatedCells"] for r in responses)
            if single:
                return 200, responses[0]
            return 200, {"spreadsheetId": sheet.key, "totalUpdatedCells": total, "responses": responses}

        def _token(self, seen: Seen) -> tuple[int, dict]:
            import google.auth.jwt

            form = parse_qs(seen.body.decode())
            if form.get("grant_type") != [JWT_BEARER] or "assertion" not in form:
                return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
            assertion = form["assertion"][0]
            try:
                unverified = google.auth.jwt.decode(assertion, verify=False)
                account = fake.accounts[unverified["iss"]]
                claims = google.auth.jwt.decode(
                    assertion, certs={account.key_id: account.public_pem}, audience=AUDIENCE
                )
            except Exception:
                return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            if "spreadsheets" not in claims.get("scope", ""):
                return 400, {"error": "invalid_scope", "error_description": "Invalid OAuth scope."}
            with fake._lock:
                fake.claims.append(claims)
                token = f"ya29.fake-{len(fake.issued) + 1}"
                fake.issued.add(token)
                fake.scopes[token] = set(claims.get("scope", "").split())
            return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

        def _get(self, seen: Seen) -> tuple[int, dict]:
            m = re.fullmatch(r"/v4/spreadsheets/([^/:]+)(/values/(.+)|/values:batchGet)?", seen.path)
            d = re.fullmatch(r"/drive/v3/files/([^/]+)", seen.path)
            key = m[1] if m else d[1] if d else None
            if key is None:
                return _error(404, "Not Found", "NOT_FOUND")
            if key in fake.forbidden:
                return _error(403, "The caller does not have permission", "PERMISSION_DENIED")
            sheet = fake.files.get(key)
            if sheet is None:
                return _error(404, f"File not found: {key}." if d else "Requested entity was not found.", "NOT_FOUND")
            if d:
                doc = {
                    "kind": "drive#file",
                    "id": key,
                    "name": sheet.title,
                    "mimeType": "application/vnd.google-apps.spreadsheet",
                    "modifiedTime": sheet.modified_time,
                    "createdTime": "2026-01-05T10:00:00.000Z",
                    "version": str(sheet.version),
                }
                fields = (seen.query.get("fields") or [""])[0]
                wanted = {f.strip() for f in fields.split(",") if f.strip()}
                return 200, {k: v for k, v in doc.items() if not wanted or k in wanted}
            render = (seen.query.get("valueRenderOption") or ["FORMATTED_VALUE"])[0]
            if m[2] is None:
                return 200, {
                    "spreadsheetId": key,
                    "properties": {"title": sheet.title, "locale": "en_US", "timeZone": "America/Chicago"},
                    "sheets": [
                        {
                            "properties": {
                                "sheetId": t.sheet_id,
                                "title": t.title,
                                "index": i,
                                "sheetType": "GRID",
                                "gridProperties": {"rowCount": t.rows, "columnCount": t.cols},
                            }
                        }
                        for i, t in enumerate(sheet.tabs)
                    ],
                    "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{key}/edit",
                }
            if m[3] is not None:
                return _value_range(sheet, m[3], render)
            ranges = []
            for text in seen.query.get("ranges", []):
                code, body = _value_range(sheet, text, render)
                if code != 200:
                    return code, body
                ranges.append(body)
            return 200, {"spreadsheetId": key, "valueRanges": ranges}

    return Handler
