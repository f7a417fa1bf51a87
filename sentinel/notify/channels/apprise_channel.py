"""Every scheme apprise knows that Sentinel does not deliver itself (`slack://`, `json://`, `jsons://`, `ntfy://`,
...), through apprise: a fresh `apprise.Apprise()` per delivery (each instance throttles its own sends, and a
shared one would make the second Slack message wait), title = subject, body = the plain text.

`json://` and `jsons://` receivers get the row's idempotency key as an `Idempotency-Key` header (apprise's
`+Header=value` URL syntax), so a resend after a crash can be dropped by the receiver.

apprise never raises on a failed delivery and says why only in its log (the HTTP status as `error=500`, the
socket error at DEBUG): the reason is read from the call's captured log (`notify(log_level=DEBUG)`), scrubbed
of the URL it posted to, and decides between Transient (no answer, 5xx, 408, 429, timeout) and Permanent
(any other 4xx, a URL apprise cannot use).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from sentinel.envsubst import MissingEnv, expand_url, redact
from sentinel.notify.channels.apprise_log import captured, quiet_apprise, warnings
from sentinel.notify.channels.content import content, one_line
from sentinel.notify.channels.failures import Permanent, Transient

IDEMPOTENT = {"json", "jsons"}  # schemes whose receivers get the Idempotency-Key header
_STATUS = re.compile(r"error=(\d{3})\b")
_URL_IN_ERROR = re.compile(r"(with url|URL): \S+", re.IGNORECASE)


def knows(scheme: str) -> bool:
    from apprise.plugins import N_MGR

    return scheme in N_MGR


def _asset():  # type: ignore[no-untyped-def]
    import apprise

    return apprise.AppriseAsset(app_id="Sentinel")


def with_header(url: str, name: str, value: str) -> str:
    """`url` with apprise's `+Name=value` option: an extra HTTP header on json/form/xml webhooks."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{quote('+' + name, safe='')}={quote(value, safe='')}"


def _add(url: str):  # type: ignore[no-untyped-def]
    import apprise

    quiet_apprise()
    a = apprise.Apprise(asset=_asset())
    with captured() as records:
        ok = a.add(url)
    if not ok:
        scheme = url.partition("://")[0]
        why = warnings(records)
        raise Permanent(redact(f"not a usable {scheme}:// URL: {why or 'apprise cannot parse it'}"))
    return a


def url_problem(url: str) -> str | None:
    """Why apprise cannot use this (expanded) URL, or None."""
    try:
        _add(url)
    except Permanent as exc:
        return str(exc)
    return None


def deliver(url: str, key: str, payload: dict[str, Any], root: Path) -> None:
    import apprise

    try:
        expanded = expand_url(url, "notify")
    except MissingEnv as exc:  # set it and the retry goes out
        raise Transient(str(exc)) from None
    if url.partition("://")[0].lower() in IDEMPOTENT:
        expanded = with_header(expanded, "Idempotency-Key", key)
    a = _add(expanded)
    c = content(key, payload)
    result = a.notify(title=c.subject, body=c.text, body_format=apprise.NotifyFormat.TEXT, log_level=logging.DEBUG)
    if result:
        return
    entries = [(e.level, e.message) for service in result for e in service.logs()]
    reason = _reason(entries, expanded) or f"apprise reported {result.status.name}"
    status = _STATUS.search(reason)
    code = int(status.group(1)) if status else None
    transient = code is None or code >= 500 or code in (408, 429)
    raise (Transient if transient else Permanent)(reason)


def _reason(entries: list[tuple[str, str]], expanded: str) -> str:
    """The warnings of the call, and the socket error apprise logs only at DEBUG, as one redacted line with
    nothing of the URL's path or password in it (a Slack webhook's path is its token)."""
    said = [m for level, m in entries if level in ("WARNING", "ERROR", "CRITICAL")]
    said += [m for level, m in entries if level == "DEBUG" and m.startswith(("Socket Exception", "Exception"))]
    text = redact(one_line(" ".join(said)))
    text = _URL_IN_ERROR.sub(r"\1: …", text)
    parts = urlsplit(expanded)
    for secret in (parts.password, parts.path.strip("/"), parts.query):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "…")
    return text
