"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it accepts, for tests of the email
channel: optional AUTH (LOGIN/PLAIN without TLS, `auth_require_tls=False`), STARTTLS with a given context, and
recipients it refuses with a chosen reply (`refuse={"x@y": "550 no such user"}`)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files in `folder`), for a STARTTLS server a test trusts by
    pointing SSL_CERT_FILE at the certificate."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
