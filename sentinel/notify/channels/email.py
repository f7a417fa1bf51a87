"""`mailto://` and `mailtos://`: the URL is read with apprise's own parser (its syntax and defaults:
`mailto://[user:pass@]host[:port]?from=...&to=a@x,b@y&name=...&cc=...&bcc=...&reply=...&smtp=...&cto=...`;
`mailto://` is plain SMTP, `mailtos://` STARTTLS, `mailtos://...?mode=ssl` implicit TLS), but the message is
built here and sent with smtplib, because apprise 2.3 always gives an email its own random Message-ID: a resend
of the same outbox row must carry the same Message-ID (`message_id(idempotency key)`) so mail clients collapse
it, and later steps of a request must carry `In-Reply-To`/`References` so they thread.

The message has a text/plain and a text/html alternative. All recipients of one URL (to, cc, bcc) get it in one
SMTP transaction: the server takes it or refuses it once. If the server refuses some recipients and takes the
others, the row fails (permanently when a refusal is 5xx, else it is retried, to all of them, with the same
Message-ID). AUTH is used when the URL has user and password; the password usually comes from `${ENV}`,
expanded here, at delivery, and masked in every error (`redact`).
"""

from __future__ import annotations

import email.utils
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sentinel.envsubst import MissingEnv, expand_url, redact
from sentinel.notify.channels.apprise_log import captured, warnings
from sentinel.notify.channels.content import Content, content, one_line
from sentinel.notify.channels.failures import Permanent, Transient

SENDER_NAME = "Sentinel"  # the From display name when the URL gives none


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    mode: str  # insecure | starttls | ssl
    user: str | None
    password: str | None
    sender: tuple[str, str]  # (display name, address)
    to: list[tuple[str, str]]
    cc: list[str]
    bcc: list[str]
    reply_to: list[str]
    headers: dict[str, str]
    timeout: float


def parse(url: str) -> Target:
    """The SMTP target of an (expanded) mailto URL, as apprise reads it; Permanent when apprise cannot."""
    import apprise

    with captured() as records:
        plugin = apprise.Apprise.instantiate(url, asset=apprise.AppriseAsset(app_id=SENDER_NAME))
    if plugin is None or not hasattr(plugin, "smtp_host"):
        why = warnings(records) or "apprise cannot parse it"
        raise Permanent(redact(f"not a usable mailto URL: {why}"))
    name, address = plugin.from_addr
    return Target(
        host=plugin.smtp_host,
        port=int(plugin.port),
        mode=str(plugin.secure_mode),
        user=plugin.user or None,
        password=plugin.password or None,
        sender=(name or "", address),
        to=[(n or "", a) for n, a in plugin.targets],
        cc=sorted(plugin.cc),
        bcc=sorted(plugin.bcc),
        reply_to=sorted(plugin.reply_to),
        headers={str(k): str(v) for k, v in plugin.headers.items()},
        timeout=float(plugin.socket_connect_timeout or 15),
    )


def url_problem(url: str) -> str | None:
    """Why apprise cannot read this (expanded) mailto URL, or None."""
    try:
        parse(url)
    except Permanent as exc:
        return str(exc)
    return None


def build(target: Target, c: Content) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = c.subject
    msg["From"] = email.utils.formataddr(target.sender)
    msg["To"] = ", ".join(email.utils.formataddr(t) for t in target.to)
    if target.cc:
        msg["Cc"] = ", ".join(target.cc)
    if target.reply_to:
        msg["Reply-To"] = ", ".join(target.reply_to)
    msg["Date"] = email.utils.formatdate(usegmt=True)
    msg["Message-ID"] = c.message_id
    if c.in_reply_to:
        msg["In-Reply-To"] = c.in_reply_to
        msg["References"] = c.in_reply_to
    for name, value in target.headers.items():  # `+X-Header=value` in the URL
        if name.lower() not in {k.lower() for k in msg.keys()}:
            msg[name] = one_line(value)
    msg.set_content(c.text)
    msg.add_alternative(c.html, subtype="html")
    return msg


def deliver(url: str, key: str, payload: dict[str, Any], root: Path) -> None:
    try:
        target = parse(expand_url(url, "notify"))
    except MissingEnv as exc:  # set it and the retry goes out
        raise Transient(str(exc)) from None
    send(target, build(target, content(key, payload)))


def send(target: Target, msg: EmailMessage) -> None:
    """One SMTP transaction; raises Transient or Permanent with a one-line, redacted reason."""
    where = f"SMTP {target.host}:{target.port}"
    recipients = [a for _, a in target.to] + target.cc + target.bcc
    try:
        context = ssl.create_default_context()
        if target.mode == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(target.host, target.port, timeout=target.timeout, context=context)
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
        with smtp:
            if target.mode == "starttls":
                smtp.starttls(context=context)
            if target.user and target.password:
                smtp.login(target.user, target.password)
            refused = smtp.send_message(msg, from_addr=target.sender[1], to_addrs=recipients)
    except Exception as exc:
        raise _failure(exc, where) from None
    if refused:
        raise _refused(refused, where)


def _reply(code: int, text: bytes | str) -> str:
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {one_line(raw)}"


def _refused(recipients: dict[str, tuple[int, bytes]], where: str) -> Exception:
    said = "; ".join(f"{addr}: {_reply(code, text)}" for addr, (code, text) in sorted(recipients.items()))
    permanent = any(code >= 500 for code, _ in recipients.values())
    return (Permanent if permanent else Transient)(redact(f"{where} refused recipients: {said}"))


def _failure(exc: Exception, where: str) -> Exception:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _refused(exc.recipients, where)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        what = "authentication refused" if isinstance(exc, smtplib.SMTPAuthenticationError) else "refused"
        reason = redact(f"{where} {what}: {_reply(code, exc.smtp_error)}")
        return Transient(reason) if 400 <= code < 500 or code < 0 else Permanent(reason)
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # STARTTLS or AUTH the URL asks for
        return Permanent(redact(f"{where}: {one_line(exc)}"))
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Permanent(redact(f"{where}: TLS certificate not trusted: {one_line(exc)}"))
    if isinstance(exc, smtplib.SMTPException) and "authentication" in str(exc).lower():
        return Permanent(redact(f"{where}: {one_line(exc)}"))  # "No suitable authentication method found."
    return Transient(redact(f"{where}: {type(exc).__name__}: {one_line(exc)}"))
