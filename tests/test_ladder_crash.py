"""A request's life under kill -9 and two replicas (issue 11 item 7): `sentinel daemon` processes on a SQLite
and a PostgreSQL store are killed right after each step's commit and right after each step's delivery
(before the outbox records it), and restarted; two daemons share one PostgreSQL store.

Channels are a parametrized fixture, each with its receiver: the outbox file (which skips a key it already
holds), a real SMTP server (aiosmtpd; the email channel, smtplib) and a JSON webhook (apprise's json://).
Messages are counted at the receiver by the id they carry (the file's idempotency key, the email's Message-ID,
the webhook's Idempotency-Key header): every message arrives once, except that a channel that cannot dedupe
(`may_repeat`) receives exactly one message twice per kill after a delivery, that kill's step, with the same id.
"""

from __future__ import annotations

import email
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fakes.smtp_server import smtp_server
from fakes.webhook import webhook_server
from test_daemon import claims_go_stale, wait_for

from sentinel.notify.message import message_id

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = Path(__file__).with_name("crashing_daemon.py")


@dataclass(frozen=True)
class Channel:
    name: str
    url: Callable[[Path, str], str]  # (project folder, person) -> the notify URL
    received: Callable[[Path, str], Counter]  # (project folder, person) -> ids as the receiver counted them
    id_of: Callable[[str], str]  # an outbox row's idempotency key -> the id its message carries at the receiver
    may_repeat: bool  # a kill between the server accepting and the outbox recording may resend (same id)


def _jsonl_keys(root: Path, who: str) -> Counter:
    path = root / f"{who}.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(json.loads(x)["idempotency_key"] for x in lines if x.strip())


@contextmanager
def outbox_channel() -> Iterator[Channel]:
    yield Channel("outbox", lambda root, who: f"outbox://{who}.jsonl", _jsonl_keys, lambda key: key, False)


@contextmanager
def smtp_channel() -> Iterator[Channel]:
    """A real SMTP server (aiosmtpd) that counts the Message-IDs each person's mailbox received."""
    with smtp_server() as box:

        def url(root: Path, who: str) -> str:
            return f"mailto://127.0.0.1:{box.port}?from=sentinel@example.com&to={who}@acme.example"

        def received(root: Path, who: str) -> Counter:
            mails = [
                email.message_from_bytes(m.content) for m in list(box.messages) if m.rcpt_tos == [f"{who}@acme.example"]
            ]
            return Counter(m["Message-ID"] for m in mails)

        yield Channel("smtp", url, received, message_id, True)


@contextmanager
def webhook_channel() -> Iterator[Channel]:
    """A JSON webhook (apprise's json://) whose server counts the Idempotency-Key headers per path."""
    with webhook_server() as hook:

        def received(root: Path, who: str) -> Counter:
            return Counter(r.headers.get("Idempotency-Key") for r in list(hook.requests) if r.path == f"/{who}")

        yield Channel("webhook", lambda root, who: f"json://{hook.url}/{who}", received, lambda key: key, True)


CHANNELS = {"outbox": outbox_channel, "smtp": smtp_channel, "webhook": webhook_channel}


@pytest.fixture
def channel(request) -> Iterator[Channel]:
    """The channel named by the test's `channel` parameter, its fake server running for the test."""
    with CHANNELS[request.param]() as c:
        yield c


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("pg_schema")[0]


class Project:
    def __init__(self, root: Path, state: str, channel: Channel):
        self.root, self.state, self.channel = root, state, channel
        (root / "checks").mkdir(exist_ok=True)
        (root / "checks" / "f.yaml").write_text(
            "datasets:\n  - name: forecast\n    source: wh\n    table: forecast\n    key: id\n    owner: pete\n"
            "    schedule: every 1s\n    checks:\n      - not_empty: {}\n"
        )
        self.fill(0)
        self.engine = sa.create_engine(state)
        self.n = 0

    def configure(self, remind: int = 0, escalate: str = "30d") -> None:
        """`remind`: max_reminders (0 holds reminders); `escalate`: escalate_after."""
        url = self.channel.url
        (self.root / "config.yaml").write_text(
            textwrap.dedent(f"""
            state: "{self.state}"
            sources:
              wh: {{type: sql, url: "sqlite:///wh.db"}}
            owners:
              pete: {{notify: ["{url(self.root, "pete")}"], backup: dana, working_hours: always}}
              dana: {{notify: ["{url(self.root, "dana")}"], working_hours: always}}
            notify: {{default: ["console://"], remind_after: 1s, escalate_after: {escalate}, max_reminders: {remind}}}
            daemon: {{heartbeat: 1s}}
            """)
        )

    def fill(self, rows: int) -> None:
        con = sqlite3.connect(self.root / "wh.db")
        con.execute("CREATE TABLE IF NOT EXISTS forecast (id INTEGER PRIMARY KEY, units INTEGER)")
        con.execute("DELETE FROM forecast")
        con.executemany("INSERT INTO forecast VALUES (?, ?)", [(i, 1) for i in range(rows)])
        con.commit()
        con.close()

    def start(self, **env: str) -> subprocess.Popen:
        self.n += 1
        log = open(self.root / f"daemon-{self.n}.log", "wb")  # noqa: SIM115 - the process owns it
        cmd = [sys.executable, str(LAUNCHER), "daemon", "--config", str(self.root / "config.yaml")]
        full = {**os.environ, "PYTHONPATH": str(REPO), **env}
        for name in ("SENTINEL_CRASH_AFTER", "TEST_CRASH_AFTER_DELIVERY"):
            if name not in env:
                full.pop(name, None)
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.root, env=full)

    def rows(self) -> list[tuple[str, str, str]]:
        """(key, channel, state) of every outbox row; empty while the tables do not exist yet."""
        try:
            with self.engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text("SELECT key, channel, state FROM outbox"))]
        except sa.exc.DBAPIError:
            return []

    def claims_go_stale(self) -> None:
        """The rows the killed daemon had claimed, taken over as after outbox.CLAIM_FOR."""
        claims_go_stale(self.engine)

    def received(self) -> Counter:
        return self.channel.received(self.root, "pete") + self.channel.received(self.root, "dana")

    def killed_at(self, point: str, env: dict[str, str]) -> None:
        proc = self.start(**env)
        try:
            code = proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            log = (self.root / f"daemon-{self.n}.log").read_text()[-3000:]
            raise AssertionError(f"the daemon never reached {point}:\n{log}") from None
        assert code == 137, (self.root / f"daemon-{self.n}.log").read_text()[-3000:]


def step_of(key: str) -> str:
    return key.split(":")[1]


LIFE = [  # (step, config before it, rows in the table before it, who gets it)
    ("notified", {"remind": 0}, 0, ("pete",)),
    ("reminder-1", {"remind": 1}, 0, ("pete",)),
    ("escalated", {"remind": 1, "escalate": "1s"}, 0, ("dana",)),
    ("closing", {"remind": 1, "escalate": "1s"}, 5, ("pete", "dana")),
    ("reopened-1", {"remind": 0}, 0, ("pete",)),
    ("reopened-1.closing", {"remind": 0}, 5, ("pete", "dana")),
]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("state", "channel"),
    [("sqlite", "outbox"), ("postgresql", "outbox"), ("sqlite", "smtp"), ("postgresql", "smtp"), ("sqlite", "webhook")],
    indirect=True,
)
def test_kill_9_after_each_step_commit_and_delivery_sends_each_message_once(tmp_path, state, channel):
    project = Project(tmp_path, state, channel)
    for step, config, rows, _who in LIFE:
        project.configure(**config)
        project.fill(rows)
        project.killed_at(f"commit:{step}", {"SENTINEL_CRASH_AFTER": f"commit:{step}"})
        assert any(step_of(k) == step for k, _, _ in project.rows()), f"{step} not committed before the kill"
        project.killed_at(f"delivery of {step}", {"TEST_CRASH_AFTER_DELIVERY": step})
        project.claims_go_stale()
    last = project.start()  # one more, to record what the last kill left pending
    try:
        wait_for(lambda: project.rows() and all(s == "sent" for _, _, s in project.rows()), timeout=60)
    finally:
        last.send_signal(signal.SIGTERM)
        assert last.wait(30) == 0
    rows = project.rows()
    per_key = Counter(k for k, _, _ in rows)
    assert set(per_key.values()) == {1}
    expected = {(step, who) for step, _, _, people in LIFE for who in people}
    url_of = {channel.url(tmp_path, who): who for who in ("pete", "dana")}
    assert {(step_of(k), url_of[c]) for k, c, _ in rows} == expected
    got = project.received()  # counted at the receiver, by the id each message carried
    key_of = {channel.id_of(k): k for k in per_key}
    assert set(got) == set(key_of)  # every row arrived, and a resend carried its row's id, not a new one
    assert max(got.values()) <= 2, got
    repeated = Counter(step_of(key_of[i]) for i, n in got.items() if n == 2)
    if channel.may_repeat:  # each kill after a delivery left exactly that message unrecorded: it went again
        assert repeated == Counter(step for step, *_ in LIFE), repeated
    else:  # the outbox file skips a key it already holds
        assert repeated == Counter()


@pytest.mark.postgres
@pytest.mark.parametrize("channel", list(CHANNELS), indirect=True)
def test_two_daemons_on_one_postgresql_store_take_each_step_once(tmp_path, pg_schema, channel):
    project = Project(tmp_path, pg_schema[0], channel)
    project.configure(remind=2, escalate="3s")
    pair = [project.start(), project.start()]
    try:

        def reached_the_top() -> bool:
            """reminder-2 and the escalation delivered"""
            steps = {step_of(k) for k, _, s in project.rows() if s == "sent"}
            return {"notified", "reminder-1", "reminder-2", "escalated"} <= steps

        wait_for(reached_the_top, timeout=90)
        project.fill(5)

        def closed() -> bool:
            """the closing message delivered to both"""
            rows = project.rows()
            return sum(step_of(k) == "closing" and s == "sent" for k, _, s in rows) == 2

        wait_for(closed, timeout=60)
    finally:
        for proc in pair:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for proc in pair]
    assert codes == [0, 0]
    rows = project.rows()
    per_key = Counter(k for k, _, _ in rows)
    assert set(per_key.values()) == {1}
    assert Counter(step_of(k) for k in per_key) == Counter(
        {"notified": 1, "reminder-1": 1, "reminder-2": 1, "escalated": 1, "closing": 2}
    )
    assert project.received() == Counter({channel.id_of(k): 1 for k in per_key})  # no kill: each exactly once
