"""Real delivery channels (issue 11, item 6): email built by Sentinel and sent with smtplib to a real SMTP server
(aiosmtpd) on 127.0.0.1, JSON webhooks and Slack through apprise against a fake HTTP server on 127.0.0.1;
transient failures retried with a growing delay, permanent ones `failed` at once with the reason; secrets from
${ENV} expanded only at delivery and never written down."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from fakes.smtp_server import free_port, smtp_server
from fakes.tls import self_signed
from fakes.webhook import webhook_server

from sentinel.notify import channels
from sentinel.notify.message import Message, message_id, request_key
from sentinel.notify.outbox import FIRST_RETRY, MAX_ATTEMPTS, MAX_DELAY, dispatch
from sentinel.store import Store, outbox, utc

SECRET = "s3cr3t:Pw@x/9%"  # characters that must be percent-encoded in a URL's password
START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def request_message(kind: str = "request", thread_key: str | None = None, subject: str | None = None) -> dict:
    msg = Message(
        kind=kind,
        subject=subject or "[sentinel] us_forecast_dec_v1 is empty (REQ-3)",
        text="Hi Pete,\nthe warehouse table us_forecast_dec_v1 is empty; the sheet tab Forecast_US had 39 rows.\n"
        "Amounts: 1 < 2 & 3 > 2.",
        html="<p>Hi Pete,</p><p>the warehouse table <b>us_forecast_dec_v1</b> is empty; Forecast_US had 39 rows."
        "</p><p>Amounts: 1 &lt; 2 &amp; 3 &gt; 2.</p>",
        summary="REQ-3: us_forecast_dec_v1 is empty, asked Pete",
        request_id=3,
        thread_key=thread_key,
    )
    return {"key": "us_forecast_dec_v1/not_empty/empty", "change": "opened", "summary": "empty", **msg.payload()}


def add_row(store: Store, key: str, channel: str, payload: dict, request_id: int | None = 3) -> int:
    with store.engine.begin() as conn:
        return conn.execute(
            outbox.insert().values(
                key=key,
                incident_id=7,
                channel=channel,
                payload=payload,
                created_at=dt.datetime.now(dt.UTC),
                state="pending",
                attempts=0,
                request_id=request_id,
            )
        ).inserted_primary_key[0]


def row(store: Store, row_id: int) -> sa.Row:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(outbox).where(outbox.c.id == row_id)).one()


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def project(root: Path, notify: list[str]) -> Path:
    """A config folder whose notify.default is `notify` (with one dataset: a config must monitor something)."""
    (root / "checks").mkdir(exist_ok=True)
    (root / "checks" / "d.yaml").write_text(
        "datasets:\n  - name: deals\n    source: wh\n    table: deals\n    checks:\n      - not_empty: {}\n"
    )
    urls = ", ".join(f'"{u}"' for u in notify)
    (root / "config.yaml").write_text(
        'state: sqlite:///state.db\nsources:\n  wh: {type: sql, url: "sqlite:///wh.db"}\n'
        f"notify: {{default: [{urls}]}}\n"
    )
    return root / "config.yaml"


@pytest.fixture
def store(tmp_path):
    """A state store of its own (no config needed)."""
    s = Store(f"sqlite:///{tmp_path / 'state.db'}")
    yield s
    s.close()


# --- email ------------------------------------------------------------------------------------------------


def test_an_email_arrives_whole_with_auth_its_message_id_and_no_secret(store, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    caplog.set_level(logging.DEBUG)
    with smtp_server(credentials=("bot", SECRET)) as box:
        url = (
            f"mailto://bot:${{SMTP_PASSWORD}}@127.0.0.1:{box.port}"
            "?from=sentinel@example.com&to=pete@acme.example,dq@acme.example&name=Sentinel%20Bot"
        )
        key = request_key(3, "notified", url)
        rid = add_row(store, key, url, request_message())
        assert dispatch(store, "d", tmp_path, [url]) == 1
    (got,) = box.messages
    assert box.logins == [("bot", SECRET)] and got.login == "bot"  # AUTH with the expanded ${SMTP_PASSWORD}
    assert sorted(got.rcpt_tos) == ["dq@acme.example", "pete@acme.example"]  # one transaction for both
    mail = parsed(got.content)
    assert mail["Subject"] == "[sentinel] us_forecast_dec_v1 is empty (REQ-3)"
    assert mail["Message-ID"] == message_id(key)
    assert mail["From"] == "Sentinel Bot <sentinel@example.com>"
    assert mail["To"] == "pete@acme.example, dq@acme.example"
    assert mail["In-Reply-To"] is None  # the first message of the thread
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "the sheet tab Forecast_US had 39 rows" in text and "1 < 2 & 3 > 2" in text
    assert "<b>us_forecast_dec_v1</b>" in html and "1 &lt; 2 &amp; 3 &gt; 2" in html
    sent = row(store, rid)
    assert sent.state == "sent" and sent.attempts == 1 and sent.channel == url  # the row keeps the ${REFERENCE}
    everything = [got.content.decode(), str(sent._mapping), caplog.text]
    assert not any(SECRET in x or "s3cr3t" in x for x in everything)


def test_mailtos_uses_starttls_before_auth_and_refuses_an_untrusted_certificate(store, tmp_path, monkeypatch):
    """The production form: STARTTLS, then AUTH. The server requires TLS first (AUTH in clear text is refused);
    a certificate the machine does not trust fails the row for good (it will not become trusted by waiting)."""
    import ssl

    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    with smtp_server(credentials=("bot", SECRET), tls_context=server_tls) as box:
        url = f"mailtos://bot:${{SMTP_PASSWORD}}@127.0.0.1:{box.port}?from=sentinel@example.com&to=pete@acme.example"
        untrusted = add_row(store, "k-untrusted", url, request_message())
        assert dispatch(store, "d", tmp_path, [url]) == 0
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now this machine trusts the server's certificate
        trusted = add_row(store, "k-trusted", url, request_message())
        assert dispatch(store, "d", tmp_path, [url]) == 1
    r = row(store, untrusted)
    assert (r.state, r.attempts) == ("failed", 1) and "certificate" in r.last_error
    assert row(store, trusted).state == "sent"
    (got,) = box.messages
    assert got.login == "bot" and parsed(got.content)["Message-ID"] == message_id("k-trusted")


def test_an_unset_variable_in_a_channel_url_is_retried_not_lost(store, tmp_path, monkeypatch):
    monkeypatch.delenv("NEVER_SET_PASSWORD", raising=False)
    url = "mailtos://bot:${NEVER_SET_PASSWORD}@127.0.0.1:1?from=sentinel@example.com&to=pete@acme.example"
    rid = add_row(store, "k", url, request_message())
    assert dispatch(store, "d", tmp_path, [url]) == 0
    r = row(store, rid)
    assert (r.state, r.attempts) == ("pending", 1) and "NEVER_SET_PASSWORD is not set" in r.last_error


def test_a_resend_of_the_same_row_carries_the_same_message_id(store, tmp_path):
    """A dispatcher that died between the server accepting the mail and the outbox recording it: the row is sent
    again, with the same Message-ID, so the receiver's client collapses the two."""
    with smtp_server() as box:
        url = f"mailto://127.0.0.1:{box.port}?from=sentinel@example.com&to=pete@acme.example"
        key = request_key(3, "notified", url)
        add_row(store, key, url, request_message())
        channels.deliver(url, key, request_message(), tmp_path)  # accepted, never recorded
        assert dispatch(store, "second", tmp_path, [url]) == 1
        assert dispatch(store, "third", tmp_path, [url]) == 0  # recorded now: not again
    ids = [parsed(m.content)["Message-ID"] for m in box.messages]
    assert ids == [message_id(key)] * 2


def test_a_reminder_threads_under_the_first_message(store, tmp_path):
    with smtp_server() as box:
        url = f"mailto://127.0.0.1:{box.port}?from=sentinel@example.com&to=pete@acme.example"
        first, second = request_key(3, "notified", url), request_key(3, "reminder-1", url)
        add_row(store, first, url, request_message())
        add_row(store, second, url, request_message("reminder", thread_key=first, subject="Re: REQ-3 reminder 1"))
        assert dispatch(store, "d", tmp_path, [url]) == 2
    request, reminder = (parsed(m.content) for m in box.messages)
    assert reminder["Message-ID"] == message_id(second) != request["Message-ID"]
    assert reminder["In-Reply-To"] == request["Message-ID"] == reminder["References"]
    assert reminder["Subject"] == "Re: REQ-3 reminder 1"


def test_a_hostile_subject_cannot_add_headers_or_recipients(store, tmp_path):
    with smtp_server() as box:
        url = f"mailto://127.0.0.1:{box.port}?from=sentinel@example.com&to=pete@acme.example"
        payload = request_message(subject="deals is wrong\r\nBcc: thief@evil.example\r\n\r\nforged body")
        add_row(store, "k1", url, payload)
        assert dispatch(store, "d", tmp_path, [url]) == 1
    (got,) = box.messages
    mail = parsed(got.content)
    assert got.rcpt_tos == ["pete@acme.example"] and mail["Bcc"] is None
    assert mail["Subject"] == "deals is wrong Bcc: thief@evil.example forged body"


def test_an_unreachable_smtp_server_is_retried_with_growing_delays_then_failed_and_nothing_is_lost(
    tmp_path, monkeypatch, capsys
):
    from sentinel.config import load_config
    from sentinel.daemon import Daemon
    from sentinel.status import collect_status, render_status

    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    port = free_port()  # nothing listens there
    url = f"mailtos://bot:${{SMTP_PASSWORD}}@127.0.0.1:{port}?from=sentinel@example.com&to=pete@acme.example"
    daemon = Daemon(project(tmp_path, [url]))
    store = daemon.store
    payload = request_message()
    rid = add_row(store, "k-unreachable", url, payload)
    delays, seen = [], []
    with time_machine.travel(START, tick=True) as clock:
        for _ in range(MAX_ATTEMPTS):
            daemon._dispatch()
            r = row(store, rid)
            seen.append((r.state, r.attempts))
            if r.state == "failed":
                break
            wait = utc(r.next_attempt_at) - dt.datetime.now(dt.UTC)
            delays.append(wait)
            assert dispatch(store, "early", tmp_path, [url]) == 0  # not due yet: skipped, not tried
            assert row(store, rid).attempts == r.attempts
            clock.shift(wait + dt.timedelta(seconds=1))
    assert seen[-1] == ("failed", MAX_ATTEMPTS) and [s for s, _ in seen[:-1]] == ["pending"] * (MAX_ATTEMPTS - 1)
    expected = [min(FIRST_RETRY * 2**i, MAX_DELAY) for i in range(MAX_ATTEMPTS - 1)]
    assert [round(d.total_seconds()) for d in delays] == [round(e.total_seconds()) for e in expected]
    failed = row(store, rid)
    assert failed.payload == payload and failed.next_attempt_at is None  # kept whole, no longer scheduled
    assert f"127.0.0.1:{port}" in failed.last_error and "refused" in failed.last_error.lower()
    # visible: the daemon's gauges, status --json, and the human status
    assert daemon.metrics.outbox_failed._value.get() == 1 and daemon.metrics.outbox_pending._value.get() == 0
    doc = collect_status(load_config(tmp_path / "config.yaml"), store)
    assert doc["outbox"] == {"pending": 0, "failed": 1}
    (failure,) = doc["outbox_failures"]
    assert failure["state"] == "failed" and failure["attempts"] == MAX_ATTEMPTS
    assert failure["reason"] == failed.last_error and failure["channel"].startswith("mailtos://bot:${SMTP_PASSWORD}@")
    assert SECRET not in str(doc)
    render_status(doc)
    shown = capsys.readouterr().out
    assert "outbox backlog: 0 pending, 1 failed" in shown and f"failed #{rid} to mailtos://bot:" in shown
    assert "s3cr3t" not in shown and f"({MAX_ATTEMPTS} attempts)" in shown


def test_the_metrics_endpoint_has_the_outbox_gauges(tmp_path):
    from prometheus_client import generate_latest

    from sentinel.daemon import Daemon

    daemon = Daemon(project(tmp_path, ["carrier-pigeon://x"]))
    add_row(daemon.store, "a", "console://", {"key": "k", "change": "opened", "summary": "s"})  # not configured
    with daemon.store.engine.begin() as conn:  # two rows a later dispatch would retry, one out of attempts
        for key, state in (("b", "pending"), ("c", "pending"), ("d", "failed")):
            conn.execute(
                outbox.insert().values(
                    key=key,
                    channel="x://",
                    payload={},
                    state=state,
                    attempts=1,
                    created_at=START,
                    next_attempt_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                )
            )
    daemon._dispatch()
    text = generate_latest(daemon.metrics.registry).decode()
    assert "sentinel_outbox_pending 2.0" in text and "sentinel_outbox_failed 1.0" in text


def test_a_dead_server_costs_one_attempt_per_dispatch_not_one_per_row(store, tmp_path):
    url = f"mailto://127.0.0.1:{free_port()}?from=sentinel@example.com&to=pete@acme.example"
    ids = [add_row(store, f"k{i}", url, request_message()) for i in range(3)]
    assert dispatch(store, "d", tmp_path, [url]) == 0
    rows = [row(store, i) for i in ids]
    assert [(r.state, r.attempts) for r in rows] == [("pending", 1), ("pending", 0), ("pending", 0)]
    assert rows[0].next_attempt_at is not None and rows[1].claimed_by is None and rows[2].next_attempt_at is None


def test_wrong_credentials_fail_at_once_with_the_reason_and_no_secret(store, tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    with smtp_server(credentials=("bot", "the-right-one")) as box:
        url = f"mailto://bot:${{SMTP_PASSWORD}}@127.0.0.1:{box.port}?from=sentinel@example.com&to=pete@acme.example"
        rid = add_row(store, "k", url, request_message())
        assert dispatch(store, "d", tmp_path, [url]) == 0
    r = row(store, rid)
    assert (r.state, r.attempts) == ("failed", 1) and box.messages == []
    assert "authentication refused" in r.last_error and "535" in r.last_error and "s3cr3t" not in r.last_error


@pytest.mark.parametrize(
    ("reply", "state"), [("550 5.1.1 no such user", "failed"), ("450 4.2.1 mailbox busy", "pending")]
)
def test_a_refused_recipient_fails_for_good_on_5xx_and_is_retried_on_4xx(store, tmp_path, reply, state):
    with smtp_server(refuse={"gone@acme.example": reply}) as box:
        url = f"mailto://127.0.0.1:{box.port}?from=sentinel@example.com&to=gone@acme.example"
        rid = add_row(store, "k", url, request_message())
        assert dispatch(store, "d", tmp_path, [url]) == 0
    r = row(store, rid)
    assert (r.state, r.attempts) == (state, 1) and box.messages == []
    assert "gone@acme.example" in r.last_error and reply.split()[0] in r.last_error
    assert (r.next_attempt_at is None) == (state == "failed")


def test_a_mailto_url_apprise_cannot_parse_fails_at_once(store, tmp_path):
    url = "mailto://127.0.0.1:25?mode=carrier&from=sentinel@example.com"
    rid = add_row(store, "k", url, request_message())
    assert dispatch(store, "d", tmp_path, [url]) == 0
    r = row(store, rid)
    assert (r.state, r.attempts) == ("failed", 1) and "mode" in r.last_error
    assert channels.url_problem(url) and channels.url_problem("mailto://127.0.0.1:25?from=a@example.com") is None


# --- apprise: JSON webhooks and Slack ---------------------------------------------------------------------


def test_a_json_webhook_gets_title_message_and_the_idempotency_key(store, tmp_path):
    with webhook_server() as hook:
        url = f"json://{hook.url}/sentinel/hook"
        key = request_key(3, "notified", url)
        rid = add_row(store, key, url, request_message())
        assert dispatch(store, "d", tmp_path, [url]) == 1
    (req,) = hook.requests
    assert req.method == "POST" and req.path == "/sentinel/hook"
    assert req.headers["Idempotency-Key"] == key
    body = req.json()
    assert body["title"] == "[sentinel] us_forecast_dec_v1 is empty (REQ-3)"
    assert body["message"] == request_message()["message"]["text"]
    assert row(store, rid).state == "sent"


def test_a_webhook_500_is_retried_and_a_400_fails_at_once(store, tmp_path):
    with webhook_server() as hook:
        busy, bad = f"json://{hook.url}/busy", f"json://{hook.url}/bad"
        with time_machine.travel(START, tick=True) as clock:
            hook.statuses[:] = [500]
            first = add_row(store, "k-busy", busy, request_message())
            assert dispatch(store, "d", tmp_path, [busy]) == 0
            r = row(store, first)
            assert (r.state, r.attempts) == ("pending", 1) and "500" in r.last_error
            clock.shift(FIRST_RETRY + dt.timedelta(seconds=1))
            assert dispatch(store, "d", tmp_path, [busy]) == 1  # the server is back: 200
            assert row(store, first).state == "sent"
            hook.statuses[:] = [400]
            second = add_row(store, "k-bad", bad, request_message())
            assert dispatch(store, "d", tmp_path, [bad]) == 0
        r = row(store, second)
        assert (r.state, r.attempts, r.next_attempt_at) == ("failed", 1, None) and "400" in r.last_error
        assert [q.headers["Idempotency-Key"] for q in hook.requests] == ["k-busy", "k-busy", "k-bad"]


def test_429_and_an_unreachable_webhook_are_transient(store, tmp_path):
    with webhook_server() as hook:
        hook.statuses[:] = [429]
        limited = f"json://{hook.url}/x"
        a = add_row(store, "a", limited, request_message())
        assert dispatch(store, "d", tmp_path, [limited]) == 0
    dead = f"json://127.0.0.1:{free_port()}/x"
    b = add_row(store, "b", dead, request_message())
    assert dispatch(store, "d", tmp_path, [dead]) == 0
    ra, rb = row(store, a), row(store, b)
    assert ra.state == rb.state == "pending" and "429" in ra.last_error
    assert "Connection refused" in rb.last_error  # apprise's DEBUG-only reason, captured


def test_slack_posts_its_json_to_the_webhook_and_a_failure_hides_the_token(store, tmp_path, monkeypatch):
    from apprise.plugins.slack import NotifySlack

    token = "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    url = f"slack://{token}/#data-quality"
    with webhook_server() as hook:
        monkeypatch.setattr(NotifySlack, "webhook_url", f"http://{hook.url}/services")
        ok = add_row(store, "slack-1", url, request_message())
        assert dispatch(store, "d", tmp_path, [url]) == 1
        hook.statuses[:] = [404]
        gone = add_row(store, "slack-2", url, request_message())
        assert dispatch(store, "d", tmp_path, [url]) == 0
    first = hook.requests[0]
    assert first.path == f"/services/{token}"
    posted = first.json()
    assert posted["channel"] == "#data-quality"
    (attachment,) = posted["attachments"]
    assert attachment["title"] == "[sentinel] us_forecast_dec_v1 is empty (REQ-3)"
    assert "the sheet tab Forecast_US had 39 rows" in attachment["text"]
    assert row(store, ok).state == "sent"
    failed = row(store, gone)
    assert (
        failed.state == "failed" and "404" in failed.last_error and "TIiajkdnlazkcOXrIdevi7FQ" not in failed.last_error
    )
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in channels.display_url(url)


def test_a_webhook_secret_from_env_reaches_the_server_but_not_the_store_or_the_log(
    store, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("HOOK_PASSWORD", SECRET)
    caplog.set_level(logging.DEBUG)
    with webhook_server() as hook:
        hook.statuses[:] = [403]
        url = f"json://sentinel:${{HOOK_PASSWORD}}@{hook.url}/x"
        rid = add_row(store, "k", url, request_message())
        assert dispatch(store, "d", tmp_path, [url]) == 0
    import base64

    auth = hook.requests[0].headers["Authorization"]
    assert base64.b64decode(auth.split()[1]).decode() == f"sentinel:{SECRET}"  # expanded at delivery
    r = row(store, rid)
    assert r.state == "failed" and "403" in r.last_error and r.channel == url
    assert SECRET not in str(r._mapping) and "s3cr3t" not in caplog.text


def test_a_url_apprise_cannot_use_fails_at_once_and_validation_names_it(store, tmp_path, monkeypatch):
    url = "json://"  # no host
    rid = add_row(store, "k", url, request_message())
    assert dispatch(store, "d", tmp_path, [url]) == 0
    r = row(store, rid)
    assert (r.state, r.attempts) == ("failed", 1) and "not a usable json:// URL" in r.last_error
    assert channels.url_problem(url) == r.last_error
    assert "not a notification channel" in channels.url_problem("carrier-pigeon://x")
    monkeypatch.setenv("SLACK_HOOK", "T0000AAAA/B0000BBBB/XXXXyyyyZZZZ1111wwww")  # one variable, three parts
    assert channels.url_problem("slack://${SLACK_HOOK}/#dq") is None
    assert channels.url_problem("slack://${NEVER_SET_HOOK}/#dq") == "environment variable NEVER_SET_HOOK is not set"
    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    problem = channels.url_problem("mailtos://bot:${SMTP_PASSWORD}@smtp.example.com?mode=carrier&from=a@b.example")
    assert "mode" in problem and "s3cr3t" not in problem and "bot:s" not in problem


# --- console, outbox file, URLs shown ---------------------------------------------------------------------


def test_the_outbox_file_line_holds_the_whole_message(store, tmp_path):
    import json

    url = "outbox://out.jsonl"
    add_row(store, "k1", url, request_message("reminder", thread_key="k0"))
    assert dispatch(store, "d", tmp_path, [url]) == 1
    (line,) = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    msg = request_message()["message"]
    assert line["idempotency_key"] == "k1" and line["message_id"] == message_id("k1")
    assert (line["subject"], line["text"], line["html"]) == (msg["subject"], msg["text"], msg["html"])
    assert line["in_reply_to"] == message_id("k0") and line["message"]["kind"] == "reminder"


def test_the_console_shows_a_messages_summary_line(capsys):
    payload = request_message()
    payload["message"]["summary"] = "REQ-3: asked Pete\n\x1b[2Jforged"
    channels.deliver("console://", "k", payload, Path("."))
    err = capsys.readouterr().err
    assert err == "[sentinel] opened: us_forecast_dec_v1/not_empty/empty — REQ-3: asked Pete\\n\\x1b[2Jforged\n"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mailtos://bot:hunter2@smtp.example.com:587?from=a@b.c", "mailtos://bot:***@smtp.example.com:587?from=a@b.c"),
        ("mailtos://bot:${SMTP_PASSWORD}@smtp.example.com", "mailtos://bot:${SMTP_PASSWORD}@smtp.example.com"),
        (
            "json://hooks.example.com/x?+Authorization=Bearer1&token=abc",
            "json://hooks.example.com/x?+Authorization=***&token=***",
        ),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#dq", "slack://T1JJ3T3L2/A1BRTD4JD/***/#dq"),
        ("outbox://.sentinel/outbox.jsonl", "outbox://.sentinel/outbox.jsonl"),
    ],
)
def test_channel_urls_are_shown_without_their_secrets(url, shown):
    assert channels.display_url(url) == shown
