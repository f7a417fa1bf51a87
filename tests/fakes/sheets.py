"""A fake Google Sheets + Drive + OAuth server on 127.0.0.1, speaking the real wire format to the real gspread
and google-auth: spreadsheets.get (metadata), values get and values:batchGet, Drive files.get, and the
service-account token endpoint (a JWT-bearer grant whose RS256 signature, issuer, audience and scope are
checked against the key the test generated). Errors come back in Google's `{"error": {...}}` shape. Every
request is recorded, so tests can count them and read the parameters the client sent.

Cells are stored as the API's UNFORMATTED_VALUE gives them (numbers as JSON numbers, text as strings,
booleans); FORMATTED_VALUE (the API's default) turns them into strings, as the real API does.
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
        sheet = Spreadsheet(key, title, [Tab(t, 1000 + i * 7, v) for i, (t, v) in enumerate(tabs.items())], **kw)
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


def _error(code: int, message: str, status: str) -> tuple[int, dict]:
    return code, {"error": {"code": code, "message": message, "status": status}}


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
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v) if isinstance(v, int | float) else v


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
        cut = ["" if v is None else v for v in row[c1 - 1 : c2]]
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
            else:
                self._reply(*_error(404, "Not Found", "NOT_FOUND"))

        def do_GET(self) -> None:  # noqa: N802
            seen = self._record()
            if fake.stall is not None:
                fake.stall.wait(10)
            auth = seen.headers.get("authorization", "")
            token = auth.removeprefix("Bearer ")
            if not auth.startswith("Bearer ") or token not in fake.issued | fake.static_tokens:
                self._reply(*_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"))
                return
            self._reply(*self._get(seen))

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
