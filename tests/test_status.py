"""`sentinel status` (issue 10, items 19 and 21): the state store's size and the outbox backlog, and human
output that reads at 80 columns when piped: lines wrap, dates, keys and names are never cut."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from backends import make

from sentinel.store import outbox

NAME = "opportunities_forecast_by_region_and_quarter_v12_final"  # 54 characters


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "sentinel", *args, "--config", str(root / "config.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _project(tmp_path: Path) -> None:
    """A dataset with a long name whose empty table opens an incident, and three notifications not delivered."""
    wh = make("duckdb", tmp_path)
    wh.execute(f"CREATE TABLE {NAME} (id INTEGER)")  # empty: not_empty fails and opens an incident
    (tmp_path / "checks").mkdir()
    (tmp_path / "config.yaml").write_text(
        f'state: sqlite:///state.db\nsources:\n  wh: {{type: sql, url: "{wh.url}"}}\n'
        'notify: {default: ["console://"]}\n'
    )
    (tmp_path / "checks" / "d.yaml").write_text(
        f"datasets:\n  - name: {NAME}\n    source: wh\n    table: {NAME}\n    schedule: every 15m\n"
        "    checks:\n      - not_empty: {}\n"
    )
    assert _cli(tmp_path, "run").returncode == 1
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        for i, state in enumerate(("pending", "failed", "failed")):
            conn.execute(
                outbox.insert().values(key=f"k{i}", channel="x://", payload={}, created_at=now, state=state, attempts=1)
            )
    engine.dispose()


def test_status_shows_the_store_size_and_the_outbox_backlog(tmp_path):
    _project(tmp_path)
    doc = json.loads(_cli(tmp_path, "status", "--json").stdout)
    on_disk = sum(p.stat().st_size for p in tmp_path.glob("state.db*") if not p.name.endswith("-shm"))
    assert doc["store"] == {"backend": "sqlite", "bytes": on_disk} and on_disk > 0
    assert doc["outbox"] == {"pending": 1, "failed": 2}
    shown = _cli(tmp_path, "status")
    assert any(line.startswith("state store: ") and "KB (sqlite)" in line for line in shown.stdout.splitlines())
    assert "outbox backlog: 1 pending, 2 failed" in shown.stdout


def test_status_piped_at_80_columns_wraps_and_cuts_nothing(tmp_path):
    _project(tmp_path)
    doc = json.loads(_cli(tmp_path, "status", "--json").stdout)
    shown = _cli(tmp_path, "status")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines) and "…" not in shown.stdout
    (ds,) = doc["datasets"]
    (incident,) = ds["open_incidents"]
    started = dt.datetime.fromisoformat(ds["last_run"]["started_at"]).strftime("%Y-%m-%d %H:%M:%S UTC")
    following = dt.datetime.fromisoformat(ds["next_run"]).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    for whole in (NAME, incident["key"], started, following):  # each whole, on one line
        assert any(whole in line for line in lines), (whole, shown.stdout)


def test_the_size_of_a_postgresql_store_counts_its_tables_and_indexes(pg_schema):
    from sentinel.store import Store, metrics

    url, schema, engine = pg_schema
    store = Store(url)
    empty = store.size()
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{schema}".not_sentinels AS SELECT g FROM generate_series(1, 50000) g'))
    assert store.size() == empty  # only Sentinel's tables count
    now = dt.datetime.now(dt.UTC)
    with store.engine.begin() as conn:
        conn.execute(
            metrics.insert(),
            [
                {"run_id": i, "dataset": "d", "check_name": "c", "metric": "m", "value": 1.0, "measured_at": now}
                for i in range(20000)
            ],
        )
    assert store.size() > empty + 20000 * 40  # rows and index entries
    assert store.outbox_backlog() == {"pending": 0, "failed": 0}
    store.close()
