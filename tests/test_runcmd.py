"""`sentinel run` without typer (sentinel/runcmd.py): the entry point parses run's plain options itself, and
must mean exactly what typer would; anything else goes to typer, and both ways give the same run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import typer.main

from sentinel.checks import KINDS
from sentinel.cli import app
from sentinel.runcmd import parse_run

PLAIN = [
    [],
    ["--json"],
    ["--config", "x/config.yaml"],
    ["-c", "x.yaml", "--json"],
    ["--config=x.yaml"],
    ["--json", "-d", "a", "--dataset", "b", "--dataset=c"],
    ["--config", "a.yaml", "--config", "b.yaml"],  # the last one wins, as in click
    ["--dataset", "a", "--dataset", "a"],
]
TO_TYPER = [
    ["--help"],
    ["-cx.yaml"],  # click reads the value from the same token: left to it
    ["--config"],
    ["--config", "--json"],
    ["--config="],
    ["--dataset", ""],
    ["--jsn"],
    ["extra"],
    ["--", "--json"],
    ["-d"],
]


def typer_params(args: list[str]) -> tuple[Path, list[str] | None, bool]:
    command = typer.main.get_command(app).commands["run"]
    ctx = command.make_context("run", list(args))
    return ctx.params["config"], ctx.params["dataset"] or None, ctx.params["as_json"]


@pytest.mark.parametrize("args", PLAIN, ids=" ".join)
def test_plain_forms_parse_as_typer_parses_them(args):
    assert parse_run(args) == typer_params(args)


@pytest.mark.parametrize("args", TO_TYPER, ids=" ".join)
def test_everything_else_is_left_to_typer(args):
    assert parse_run(args) is None


def _table(root: Path) -> None:
    con = duckdb.connect(str(root / "wh.duckdb"))
    con.execute(
        "CREATE TABLE deals AS SELECT range AS id, CASE WHEN range = 3 THEN 'EUR' ELSE 'USD' END AS cur "
        "FROM range(1, 11)"
    )
    con.close()


def _stable(doc: dict) -> dict:
    return {
        "results": doc["results"],
        "incidents": [{k: v for k, v in i.items() if k != "id"} for i in doc["incidents"]],
    }


# `python -m sentinel ARGS` (sentinel/__main__.py), listing sys.modules into argv[1] at exit
AS_ENTRY_POINT = """
import atexit, sys
from pathlib import Path
out = Path(sys.argv.pop(1))
atexit.register(lambda: out.write_text("\\n".join(sys.modules)))
sys.argv[0] = "sentinel"
from sentinel.entry import main
main()
"""


def test_a_fresh_process_gives_the_document_typer_gives(project):
    """The same project run twice from scratch: through the entry point's own parse in a real process, and
    through typer (CliRunner); the documents agree but for run ids and times, and so do the exit codes."""
    project.duckdb("- expect: {type: expect_column_values_to_be_in_set, kwargs: {column: cur, value_set: [USD]}}")
    _table(project.root)
    cfg = project.root / "config.yaml"
    listed = project.root / "modules.txt"  # what the process imported, written as it exits
    proc = subprocess.run(
        [sys.executable, "-c", AS_ENTRY_POINT, str(listed), "run", "--json", "-c", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    fresh = json.loads(proc.stdout)
    imported = set(listed.read_text().split())
    assert not {"typer", "rich"} & imported  # the run never went through typer, nor drew anything
    # nor imported what it did not use: other check kinds, a mail or apprise channel, the store's retry library
    assert not {"smtplib", "apprise", "tenacity", "sentinel.sources.a1", "sentinel.checks.fit"} & imported
    assert {f"sentinel.checks.{kind}" for kind in KINDS} & imported == {"sentinel.checks.expect"}
    for state in project.root.glob("state.db*"):
        state.unlink()
    code, through_typer = project.run_json()
    assert proc.returncode == code == 1
    assert _stable(fresh) == _stable(through_typer)
    assert fresh["results"][0]["evidence"]["rows"]["items"] == [{"key": 3, "value": "EUR"}]


def test_usage_errors_still_come_from_typer(project):
    proc = subprocess.run(
        [sys.executable, "-m", "sentinel", "run", "--jsn"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2 and "No such option: --jsn" in proc.stderr
