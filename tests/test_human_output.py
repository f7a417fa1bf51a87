"""What people read: hostile values reach the terminal as visible text, reports read well at 80 columns and
piped, `show` is a report, help and progress behave, and a run's incident changes are shown once. Every test
drives the real CLI in a real process, piped (so rich renders at COLUMNS=80) or on a pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import shlex
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import duckdb
import pytest
from conftest import copy_demo
from hypothesis import given
from hypothesis import strategies as st

from sentinel.terminal import visible

# values a category label or key can hold: rich markup, a window-title OSC, clear-screen CSI, BEL, a C1 CSI,
# a right-to-left override and a newline that would forge a line of the report
HOSTILE_CURRENCIES = ["[/]evil", "\x1b]0;pwned\x07", "[bold red]loud[/]", "x\x1b[2Jy", "c1\x9b31m", "rtl\u202eabc"]
HOSTILE_KEYS = ["k[/]1", "k\x1b[31m2", "k3\nincident #9 resolved", "k4", "k5", "k6"]
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def sentinel(root: Path, *args: str, columns: int = 80, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "sentinel", *args, "--config", str(root / "config.yaml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def on_terminal(root: Path, *args: str, timeout: int = 120) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal; returns the exit code and all it wrote."""
    main, sub = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentinel", *args, "--config", str(root / "config.yaml")],
        stdin=sub,
        stdout=sub,
        stderr=sub,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
        close_fds=True,
    )
    os.close(sub)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        out += chunk
    code = proc.wait(timeout)
    os.close(main)
    return code, out.decode("utf-8", "replace")


def assert_safe(text: str) -> None:
    """Nothing from the data acts on the terminal, and nothing crashed on markup."""
    assert "Traceback" not in text and "MarkupError" not in text, text
    for ch in RAW:
        assert ch not in text, (ch, text)


@pytest.fixture
def hostile(project):
    """Six deals whose currency is not in the allowed set, each label and key hostile; no owner, so the
    default console:// channel reports the incident."""
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute("CREATE TABLE deals (id VARCHAR, currency VARCHAR, amount DOUBLE)")
    rows = [(f"ok{i}", "USD", 10.0) for i in range(50)]
    rows += [(k, c, 20.0) for k, c in zip(HOSTILE_KEYS, HOSTILE_CURRENCIES, strict=True)]
    con.executemany("INSERT INTO deals VALUES (?, ?, ?)", rows)
    con.close()
    project.duckdb("- expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [USD]}}")
    return project


def test_hostile_values_are_shown_not_obeyed_in_run_incidents_show_and_console(hostile):
    run = sentinel(hostile.root, "run")
    assert run.returncode == 1, run.stderr
    assert_safe(run.stdout + run.stderr)
    assert "[bold red]loud[/]" in run.stdout  # markup is text, not a style or a crash
    assert "\\x1b" in run.stdout  # the escape sequence is visible as such

    as_json = sentinel(hostile.root, "run", "--json")
    assert as_json.returncode == 1
    assert_safe(as_json.stderr)  # the console:// channel writes there
    assert "[sentinel] updated" not in as_json.stderr  # (repeats are not news; the first run's change was)
    doc = json.loads(as_json.stdout)  # machines get the bytes as they are
    rows = doc["results"][0]["evidence"]["rows"]["items"]
    assert {r["value"] for r in rows} == set(HOSTILE_CURRENCIES) and {r["key"] for r in rows} == set(HOSTILE_KEYS)

    listed = sentinel(hostile.root, "incidents")
    assert listed.returncode == 0, listed.stderr
    assert_safe(listed.stdout + listed.stderr)
    (incident,) = json.loads(sentinel(hostile.root, "incidents", "--json").stdout)

    shown = sentinel(hostile.root, "show", str(incident["id"]))
    assert shown.returncode == 0, shown.stderr
    assert_safe(shown.stdout + shown.stderr)
    for text in ("[/]evil", "[bold red]loud[/]", "\\x1b]0;pwned\\x07", "x\\x1b[2Jy", "c1\\x9b31m", "rtl\\u202eabc"):
        assert text in shown.stdout, text
    assert "k3\\nincident #9 resolved" in shown.stdout  # a newline in a key cannot forge a line
    assert not any(line.startswith("incident #9") for line in shown.stdout.splitlines())
    raw = json.loads(sentinel(hostile.root, "show", str(incident["id"]), "--json").stdout)
    assert "(\x1b]0;pwned\x07)" in raw["summary"]  # --json: the value as it is


def test_console_channel_escapes_what_it_prints(hostile):
    proc = sentinel(hostile.root, "run", "--json")
    line = next(x for x in proc.stderr.splitlines() if x.startswith("[sentinel] opened"))
    assert_safe(line)
    assert "expect_column_values_to_be_in_set(currency)" in line


@pytest.fixture
def wide(project):
    """Identifiers that do not fit a column of an 80-column table: a long dataset name and check."""
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute("CREATE TABLE opportunities_emea AS SELECT 'd' || range AS id, 'XYZ' AS currency FROM range(40)")
    con.close()
    project.duckdb(
        """
        - expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [USD, EUR]}}
        - expect: {type: expect_column_values_to_not_be_null, kwargs: {column: currency}}
        """,
        table="opportunities_emea",
    )
    return project


def test_incidents_piped_at_80_columns_keep_keys_and_dates_whole(wide):
    assert sentinel(wide.root, "run").returncode == 1
    proc = sentinel(wide.root, "incidents")
    assert proc.returncode == 0
    key = "opportunities_emea/expect_column_values_to_be_in_set(currency)/violation"
    assert any(key in line for line in proc.stdout.splitlines()), proc.stdout
    assert re.search(r"opened \d{4}-\d\d-\d\d \d\d:\d\d UTC", proc.stdout), proc.stdout
    assert "…" not in proc.stdout
    assert max(len(line.rstrip()) for line in proc.stdout.splitlines()) <= 80

    run = sentinel(wide.root, "run")
    assert any("expect_column_values_to_be_in_set(currency)" in line for line in run.stdout.splitlines())
    assert any(key in line for line in run.stdout.splitlines()), run.stdout
    assert max(len(line.rstrip()) for line in run.stdout.splitlines()) <= 80


def test_show_is_a_readable_report_with_capped_evidence_and_json_on_request(wide):
    sentinel(wide.root, "run")
    (incident,) = [i for i in json.loads(sentinel(wide.root, "incidents", "--json").stdout) if "in_set" in i["check"]]
    sentinel(wide.root, "run")  # a second occurrence: history grows
    proc = sentinel(wide.root, "show", str(incident["id"]))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = [line.rstrip() for line in out.splitlines()]
    for heading in ("Summary", "Evidence", "History"):
        assert heading in lines, out
    assert f"Incident #{incident['id']}" in lines[0] and incident["key"] in lines[1]
    assert "40 of 40 rows" in out  # the diagnosis, as a sentence
    assert "rows: 40" in out and "and 30 more" in out  # ten of forty rows listed, the rest counted
    assert len(re.findall(r"^\s+d\d+\s", out, re.M)) == 10
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+opened", out) and "updated" in out
    assert not out.lstrip().startswith("{") and len(lines) < 80 and max(map(len, lines)) <= 80

    raw = sentinel(wide.root, "show", str(incident["id"]), "--json")
    doc = json.loads(raw.stdout)
    assert doc["id"] == incident["id"] and len(doc["last_result"]["evidence"]["rows"]["items"]) == 40
    assert [e["event"] for e in doc["events"]] == ["opened", "updated"]


def test_help_shows_flags_without_a_type_and_json_takes_no_value(wide):
    for command in ("run", "incidents", "show", "demo"):
        helped = subprocess.run(
            [sys.executable, "-m", "sentinel", command, "--help"], capture_output=True, text=True, timeout=60
        )
        assert helped.returncode == 0 and "--json" in helped.stdout
        assert "<bool>" not in helped.stdout, helped.stdout
    proc = sentinel(wide.root, "run", "--json", "true")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "unexpected extra argument" in proc.stderr


def test_progress_on_a_terminal_never_piped_or_under_json(wide):
    code, out = on_terminal(wide.root, "run")
    assert code == 1
    assert "dataset 1/1 opportunities_emea" in out  # drawn on the terminal...
    assert "Sentinel run" in out

    piped = sentinel(wide.root, "run")
    assert "dataset 1/1" not in piped.stdout + piped.stderr  # ...never into a pipe
    code, out = on_terminal(wide.root, "run", "--json")
    assert "dataset 1/1" not in out  # ...nor under --json
    assert json.loads(out[out.index("{") :])["results"]


def test_a_runs_incident_changes_are_shown_once(wide):
    proc = sentinel(wide.root, "run")  # no owner: console:// is the channel
    key = "opportunities_emea/expect_column_values_to_be_in_set(currency)/violation"
    assert (proc.stdout + proc.stderr).count(key) == 1, proc.stdout + proc.stderr
    assert "[sentinel]" not in proc.stderr
    with_json = sentinel(wide.root, "run", "--json")
    assert "[sentinel]" not in with_json.stderr  # repeats are not news
    assert json.loads(with_json.stdout)["incidents"][0]["change"] == "updated"


def test_long_tail_expectations_leave_stderr_to_sentinel(wide):
    """GX itself validates this one; its INFO lines and progress bars must not reach the user."""
    wide.duckdb(
        "- expect: {type: expect_column_value_lengths_to_be_between, kwargs: {column: id, max_value: 2}, engine: gx}",
        table="opportunities_emea",
    )
    proc = sentinel(wide.root, "run", "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["results"][0]["observed"]["unexpected_count"] == 30  # d10..d39
    assert all(line.startswith("[sentinel] opened") for line in proc.stderr.splitlines()), proc.stderr
    assert "great_expectations" not in proc.stderr and "ephemeral docs site" not in proc.stderr
    code, out = on_terminal(wide.root, "run", "--json")
    assert "great_expectations" not in out and "Calculating Metrics" not in out and "%|" not in out


def test_the_demos_next_command_runs_where_sentinel_is_not_on_path(tmp_path):
    copy_demo(tmp_path)
    env = {**os.environ, "COLUMNS": "80", "PATH": "/usr/bin:/bin"}
    assert shutil.which("sentinel", path=env["PATH"]) is None
    proc = subprocess.run(
        [sys.executable, "-m", "sentinel", "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 1, proc.stderr
    assert_safe(proc.stdout)
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("Next: ")]
    incidents_cmd = line.removeprefix("Next: ").split(" incidents,")[0]
    listed = subprocess.run(
        [*shlex.split(incidents_cmd), "incidents", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 8
    # each incident change once: in the run's "Incidents" list, not again by the console channel (the requests
    # printed after the run report name their incidents again, as the owners read them)
    report, requests = proc.stdout.split("The request Pete gets", 1)
    assert report.count("opportunities/subschema(amount)/unit_shift") == 1
    assert "Request REQ-" in requests


@given(st.text())
def test_visible_leaves_no_control_character_and_keeps_printable_text(text):
    shown = visible(text)
    assert not any(
        unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029\u202a\u202b\u202c\u202d\u202e" for ch in shown
    )
    assert not any("\u2066" <= ch <= "\u2069" for ch in shown)
    if all(ch.isprintable() for ch in text):
        assert shown == text
