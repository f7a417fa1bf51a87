"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it accepts, for tests of the email
channel: optional AUTH (LOGIN/PLAIN without TLS, `auth_require_tls=False`), STARTTLS with a given context, and
recipients it refuses with a chosen reply (`refuse={"x@y": "550 no such user"}`)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes  # the message as the server received it
    login: str | None  # the AUTH user, when the client authenticated


@dataclass
class Mailbox:
    port: int
    messages: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)  # every AUTH attempt (user, password)


class _Handler:
    def __init__(self, box: Mailbox, refuse: dict[str, str]) -> None:
        self.box, self.refuse = box, refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.box.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(
    credentials: tuple[str, str] | None = None, refuse: dict[str, str] | None = None, tls_context=None
) -> Iterator[Mailbox]:
    """Run the server for the block. With `credentials`, AUTH is required and only that user/password pass."""
    box = Mailbox(free_port())

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        box.logins.append((user, password))
        return AuthResult(success=(user, password) == credentials, handled=False, auth_data=auth_data)

    extra = {}
    if credentials is not None:
        extra = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": tls_context is not None}
    if tls_context is not None:  # STARTTLS offered, and required before anything is sent
        extra.update(tls_context=tls_context, require_starttls=True)
    controller = Controller(_Handler(box, refuse or {}), hostname="127.0.0.1", port=box.port, **extra)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
