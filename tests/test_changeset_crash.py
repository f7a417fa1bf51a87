"""Exactly-once change-sets under kill -9, a conflict at promotion, and two drivers on PostgreSQL (issue 12
item 7), on the demo's world.

The world is built once (`worlds`): the demo warehouse (DuckDB), its baseline run, the overnight breakage, and
the broken run, which plans change-set 1 (26 cells of opportunities.amount: the $10,000,000 deal -> 1,000,000
and 25 yen rows -> x / 150). Copies of the project folder are kept at four points of the change-set's life:
planned, awaiting approval, approved, checked. Each crash test copies the one its kill point starts from, runs
tests/crashing_changes.py in a subprocess that dies with 137 (os._exit, as kill -9) at the point, lets the dead
claim go stale, then finishes the change-set in this process (a restarted driver) and checks the end: state,
every amount of the table, each audit step exactly once with an intact chain, one approval question.

The fix restores each changed row's healthy value exactly (x * 150 was rounded to an integer, and x itself is
a multiple of 100), so the expected table is the broken one with those rows taken from the healthy one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from conftest import PG_URL, copy_demo
from crashing_changes import finish, state_of
from test_daemon import wait_for

from sentinel import audit, changesets
from sentinel.config import load_config
from sentinel.demo import break_warehouse, build_warehouse
from sentinel.runner import run_many
from sentinel.store import Store, changeset_rows, outbox
from sentinel.store import audit as audit_table
from sentinel.store import changesets as cs_table

REPO = Path(__file__).resolve().parents[1]
HELPER = Path(__file__).with_name("crashing_changes.py")
DEAL = "0060000777"  # the $1,000,000 deal typed as $10,000,000
MINUS = "0060000042"  # a minus sign typed: no playbook writes it
CS = 1


def amounts(root: Path) -> dict[str, float]:
    """Every (id, amount) of the demo warehouse's opportunities, read through DuckDB (the file closed after)."""
    import duckdb

    con = duckdb.connect(str(root / ".sentinel" / "warehouse.duckdb"), read_only=True)
    try:
        return dict(con.execute("SELECT id, amount FROM opportunities").fetchall())
    finally:
        con.close()


def opportunity_rows(root: Path) -> list[dict[str, Any]]:
    import duckdb

    con = duckdb.connect(str(root / ".sentinel" / "warehouse.duckdb"), read_only=True)
    try:
        cur = con.execute("SELECT * FROM opportunities ORDER BY id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


@dataclass
class Worlds:
    folders: dict[str, Path]  # "planned", "awaiting", "approved", "checked" -> a project folder at that point
    healthy: list[dict[str, Any]]  # the opportunities rows before the breakage
    broken: list[dict[str, Any]]  # ... and after it
    fixed: dict[str, float]  # id -> amount once change-set 1 is promoted
    keys: set[str]  # the rows change-set 1 writes

    @property
    def broken_amounts(self) -> dict[str, float]:
        return {r["id"]: r["amount"] for r in self.broken}


def _open(root: Path) -> tuple[Any, Store]:
    cfg = load_config(root / "config.yaml")
    return cfg, Store(cfg.state_url)


def _snapshot(src: Path, dest: Path, store: Store) -> Path:
    store.close()  # SQLite and DuckDB files copy consistently once closed
    shutil.copytree(src, dest)
    return dest


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> Worlds:
    """The demo world built once, kept at four points of change-set 1's life."""
    base = tmp_path_factory.mktemp("changeset-crash")
    root = base / "build"
    root.mkdir()
    copy_demo(root)
    cfg, store = _open(root)
    now = dt.datetime.now(dt.UTC)
    build_warehouse(root / ".sentinel" / "warehouse.duckdb", now)
    healthy = opportunity_rows(root)
    names = [d.name for d in cfg.datasets]
    run_many(cfg, store, names, "base", read_origin=False)
    break_warehouse(root / ".sentinel" / "warehouse.duckdb", now)
    broken = opportunity_rows(root)
    with pytest.MonkeyPatch.context() as mp:  # the broken run plans change-set 1 and leaves it planned
        mp.setattr(changesets, "drive", lambda *a, **k: [])
        run_many(cfg, store, names, "broken", read_origin=False)
    assert state_of(store, CS) == "planned"
    with store.engine.connect() as conn:
        keys = {r.key for r in changesets.rows_of(conn, CS)}
    was = {r["id"]: r["amount"] for r in healthy}
    changed = {r["id"] for r in broken if r["amount"] != was[r["id"]]}
    assert keys == changed - {MINUS} and len(keys) == 26 and was[DEAL] == 1_000_000
    fixed = {r["id"]: (was[r["id"]] if r["id"] in keys else r["amount"]) for r in broken}
    folders = {"planned": _snapshot(root, base / "planned", store)}
    changesets.drive(cfg, store, "builder", only=CS)
    assert state_of(store, CS) == "awaiting_approval"
    folders["awaiting"] = _snapshot(root, base / "awaiting", store)
    changesets.approve(cfg, store, CS, "owner")
    folders["approved"] = _snapshot(root, base / "approved", store)
    assert finish(cfg, store, CS, "checked", "builder") == "checked"
    folders["checked"] = _snapshot(root, base / "checked", store)
    return Worlds(folders, healthy, broken, fixed, keys)


def claims_go_stale(store: Store) -> None:
    """What CLAIM_FOR of waiting does (a dead driver's claim is taken over), without the wait."""
    long_ago = dt.datetime.now(dt.UTC) - changesets.CLAIM_FOR - dt.timedelta(minutes=1)
    with store.engine.begin() as conn:
        conn.execute(cs_table.update().where(cs_table.c.claimed_by.is_not(None)).values(claimed_at=long_ago))


def killed_at(root: Path, point: str, end: str) -> None:
    """Run the change-set towards `end` in a subprocess that dies at `point`; it must die there."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HELPER.parent)])}
    cmd = [sys.executable, str(HELPER), str(root / "config.yaml"), str(CS), end, point]
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=180, check=False)  # noqa: S603
    assert done.returncode == 137, f"never reached {point} (exit {done.returncode}):\n{done.stderr[-3000:]}"


def audit_steps(store: Store) -> Counter:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_table).where(audit_table.c.changeset_id == CS)).all()
    return Counter((r.action, r.decision) for r in rows)


def audit_detail(store: Store, action: str) -> dict[str, Any]:
    with store.engine.connect() as conn:
        (row,) = conn.execute(
            sa.select(audit_table).where(
                audit_table.c.changeset_id == CS, audit_table.c.action == action, audit_table.c.decision == "done"
            )
        ).all()
    return row.detail


LIFE = Counter(
    {
        ("plan", "allowed"): 1,
        ("stage", "done"): 1,
        ("verify", "done"): 1,
        ("ask", "done"): 1,
        ("approve", "allowed"): 1,
        ("promote", "done"): 1,
        ("discard", "done"): 1,
        ("check", "done"): 1,
    }
)

# (the world the process starts from, where it dies, the state it leaves, where the restart takes it)
POINTS = [
    ("planned", "stage:written", "planned", "checked"),
    ("planned", "commit:staged", "staged", "checked"),
    ("planned", "commit:verified", "verified", "checked"),
    ("planned", "commit:awaiting_approval", "awaiting_approval", "checked"),
    ("awaiting", "commit:approved", "approved", "checked"),
    ("approved", "promote:written", "approved", "checked"),
    ("approved", "commit:promoted", "promoted", "checked"),
    ("checked", "rollback:written", "checked", "rolled_back"),
    ("checked", "commit:rolled_back", "rolled_back", "rolled_back"),
]


@pytest.mark.parametrize(("start", "point", "left", "end"), POINTS, ids=[p[1] for p in POINTS])
def test_kill_9_at_each_step_then_restart_applies_everything_once(worlds, tmp_path, start, point, left, end):
    root = shutil.copytree(worlds.folders[start], tmp_path / "w")
    killed_at(root, point, end)
    cfg, store = _open(root)
    try:
        assert state_of(store, CS) == left  # the kill landed in its window: that commit happened, nothing after
        if point == "promote:written":  # the dead process wrote production and recorded nothing
            assert amounts(root) == worlds.fixed
        if point == "rollback:written":
            assert amounts(root) == worlds.broken_amounts
        claims_go_stale(store)
        assert finish(cfg, store, CS, end, "restarted") == end

        got = amounts(root)
        assert got[DEAL] == (1_000_000 if end == "checked" else 10_000_000)
        assert got == (worlds.fixed if end == "checked" else worlds.broken_amounts)
        steps = audit_steps(store)
        assert steps == LIFE + (Counter({("rollback", "done"): 1}) if end == "rolled_back" else Counter())
        promoted = audit_detail(store, "promote")["result"]
        redone = point == "promote:written"  # the restart found every cell the dead process wrote
        assert (promoted["written"], promoted["already"]) == ((0, 26) if redone else (26, 0))
        if end == "rolled_back":
            back = audit_detail(store, "rollback")["result"]
            assert (back["written"], back["already"]) == ((0, 26) if point == "rollback:written" else (26, 0))
        with store.engine.connect() as conn:
            assert audit.verify(conn).ok
            keys = [r.key for r in conn.execute(sa.select(outbox.c.key))]
            rows = {r.key: r.state for r in conn.execute(sa.select(changeset_rows))}
            cs = changesets.get(conn, CS)
        assert len(keys) == len(set(keys))
        asked = [k for k in keys if f":cs{CS}-approval:" in k]
        assert len(asked) == 1, f"the owner's yes/no question was asked {len(asked)} time(s)"
        assert cs.claimed_by is None
        assert set(rows) == worlds.keys
        assert set(rows.values()) == {"promoted" if end == "checked" else "rolled_back"}  # as the listing shows
    finally:
        store.close()


def test_a_cell_changed_after_verification_stops_promotion_with_a_conflict(worlds, tmp_path):
    import duckdb

    root = shutil.copytree(worlds.folders["approved"], tmp_path / "w")
    con = duckdb.connect(str(root / ".sentinel" / "warehouse.duckdb"))
    con.execute("UPDATE opportunities SET amount = ? WHERE id = ?", [5_000_000.0, DEAL])  # someone fixed it by hand
    con.close()
    before = amounts(root)
    assert before == {**worlds.broken_amounts, DEAL: 5_000_000.0}
    cfg, store = _open(root)
    try:
        steps = changesets.drive(cfg, store, "driver", only=CS)
        assert [(s.before, s.after) for s in steps] == [("approved", "failed")]
        assert amounts(root) == before  # nothing written, not even the 25 yen rows that still held old
        with store.engine.connect() as conn:
            cs = changesets.get(conn, CS)
            assert audit.verify(conn).ok
        assert cs.state == "failed" and cs.error.startswith("conflict: 1 cell(s) changed since planning")
        assert f"{DEAL}.amount=5000000.0" in cs.error
        steps = audit_steps(store)
        assert steps[("promote", "conflict")] == 1 and steps[("promote", "done")] == 0
    finally:
        store.close()


# --- two drivers on PostgreSQL ---------------------------------------------------------------------------------

ROUNDS = 3
DDL = """CREATE TABLE opportunities (id VARCHAR PRIMARY KEY, owner VARCHAR, account VARCHAR, product VARCHAR,
         seats INTEGER, list_price DOUBLE PRECISION, amount DOUBLE PRECISION, currency VARCHAR, stage VARCHAR,
         close_date DATE, updated_at TIMESTAMP)"""


class PgWorld:
    """The demo's opportunities on PostgreSQL: the state store in `schema`, the warehouse table in its own
    schema (with a trigger logging every write of `amount`), staging in a third, snapshots in a fourth."""

    def __init__(self, root: Path, state_url: str, schema: str, engine: sa.Engine):
        self.root, self.schema, self.engine = root, schema, engine
        q = engine.dialect.identifier_preparer.quote
        self.wh, self.staging, self.snap = schema + "_wh", schema + "_stg", schema + "_snap"
        self.q = q
        self.state_url = state_url

    def sql(self, text: str, rows: Any = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(text), rows) if rows is not None else conn.execute(sa.text(text))

    def load(self, rows: list[dict[str, Any]]) -> None:
        """The table's rows replaced by `rows` (bound values)."""
        table = sa.table("opportunities", *[sa.column(c) for c in rows[0]], schema=self.wh)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(table))
            conn.execute(sa.insert(table), rows)

    def project(self) -> None:
        """The demo's opportunities dataset and its playbook, pointed at PostgreSQL."""
        demo = self.root / "demo"
        demo.mkdir()
        copy_demo(demo)
        (self.root / "checks").mkdir()
        (self.root / "correctors").mkdir()
        shutil.copy(demo / "checks" / "opportunities.yaml", self.root / "checks")
        books = yaml.safe_load((demo / "correctors" / "playbooks.yaml").read_text())
        books["playbooks"] = [p for p in books["playbooks"] if p["when"]["dataset"] == "opportunities"]
        (self.root / "correctors" / "playbooks.yaml").write_text(yaml.safe_dump(books))
        config = {
            "state": self.state_url,
            "checks": ["checks/*.yaml"],
            "correctors": ["correctors/*.yaml"],
            "sources": {
                "warehouse": {
                    "type": "sql",
                    "url": f"{PG_URL}?options=-csearch_path%3D{self.wh}",
                    "staging_schema": self.staging,
                }
            },
            "owners": {"sales_ops": {"name": "Sales Ops", "notify": ["outbox://outbox.jsonl"]}},
            "notify": {"default": ["console://"]},
            "agent": {"planner": "rules"},
            "fx_rates": {"JPY": 150.0},
        }
        (self.root / "config.yaml").write_text(yaml.safe_dump(config))

    def count_writes(self) -> None:
        """A trigger that logs each row whose amount is written: what "written once" is counted by."""
        wh = self.q(self.wh)
        self.sql(f"CREATE TABLE {wh}.writes (id VARCHAR, amount DOUBLE PRECISION)")
        self.sql(
            f"CREATE FUNCTION {wh}.log_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO {wh}.writes VALUES (NEW.id, NEW.amount); RETURN NEW; END $$"
        )
        self.sql(
            f"CREATE TRIGGER log_write AFTER UPDATE OF amount ON {wh}.opportunities "
            f"FOR EACH ROW EXECUTE FUNCTION {wh}.log_write()"
        )

    def _tables(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            names = conn.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
                    "AND table_type = 'BASE TABLE'"
                ),
                {"s": self.schema},
            ).scalars()
            return [(self.schema, n) for n in names] + [(self.wh, "opportunities"), (self.wh, "writes")]

    def snapshot(self) -> None:
        """Every state table and the warehouse table, copied as they are now (restored before each round)."""
        self.sql(f"CREATE SCHEMA {self.q(self.snap)}")
        for schema, name in self._tables():
            self.sql(
                f"CREATE TABLE {self.q(self.snap)}.{self.q(schema + '__' + name)} AS "
                f"SELECT * FROM {self.q(schema)}.{self.q(name)}"
            )

    def restore(self) -> None:
        """Rows back as snapshotted (sequences keep counting up, so new ids never collide)."""
        with self.engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # no FK order to follow
            for schema, name in self._tables():
                live = f"{self.q(schema)}.{self.q(name)}"
                conn.execute(sa.text(f"DELETE FROM {live}"))
                conn.execute(
                    sa.text(f"INSERT INTO {live} SELECT * FROM {self.q(self.snap)}.{self.q(schema + '__' + name)}")
                )

    def writes(self) -> Counter:
        with self.engine.connect() as conn:
            return Counter(r.id for r in conn.execute(sa.text(f"SELECT id FROM {self.q(self.wh)}.writes")))

    def amounts(self, keys: set[str]) -> dict[str, float]:
        t = sa.table("opportunities", sa.column("id"), sa.column("amount"), schema=self.wh)
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(t.c.id, t.c.amount).where(t.c.id.in_(sorted(keys)))).all())

    def drop(self) -> None:
        for s in (self.wh, self.staging, self.snap):
            self.sql(f"DROP SCHEMA IF EXISTS {self.q(s)} CASCADE")


@pytest.fixture
def pg_world(worlds, pg_schema, tmp_path) -> Iterator[PgWorld]:
    """Change-set 1 approved, on PostgreSQL: the baseline run on the healthy rows, then the broken rows and the
    run that plans, stages and verifies it; then the owner's approval (not driven: that is the race)."""
    url, schema, engine = pg_schema
    w = PgWorld(tmp_path, url, schema, engine)
    try:
        w.sql(f"CREATE SCHEMA {w.q(w.wh)}")
        w.sql(f"SET search_path TO {w.q(w.wh)}; {DDL}")
        w.load(worlds.healthy)
        w.project()
        cfg, store = _open(tmp_path)
        run_many(cfg, store, ["opportunities"], "base", read_origin=False)
        w.load(worlds.broken)
        run_many(cfg, store, ["opportunities"], "broken", read_origin=False)
        assert state_of(store, CS) == "awaiting_approval"
        changesets.approve(cfg, store, CS, "owner")
        store.close()
        w.count_writes()
        w.snapshot()
        yield w
    finally:
        w.drop()


@pytest.mark.postgres
def test_two_drivers_on_postgresql_promote_once(worlds, pg_world):
    w = pg_world
    folder = w.root / "barrier"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HELPER.parent)])}
    cmd = [sys.executable, str(HELPER), "race", str(w.root / "config.yaml"), str(CS), str(folder), str(ROUNDS)]
    pair = [
        subprocess.Popen(cmd, cwd=w.root, env=env, stderr=subprocess.PIPE, text=True)  # noqa: S603
        for _ in range(2)
    ]
    try:
        pids = [p.pid for p in pair]

        def both_ready() -> bool:
            """both drivers waiting at the barrier"""
            return all((folder / f"ready-{pid}").exists() for pid in pids) or any(p.poll() is not None for p in pair)

        wait_for(both_ready, timeout=60)
        store = Store(w.state_url)
        overlaps: list[float] = []  # seconds both drivers were inside drive() at once, per round
        for n in range(ROUNDS):
            if n:
                w.restore()
            (folder / f"go-{n}").touch()
            outs = [folder / f"done-{n}-{pid}.json" for pid in pids]

            def both_done(outs: list[Path] = outs) -> bool:
                """both drivers finished the round"""
                return all(o.exists() for o in outs) or any(p.poll() is not None for p in pair)

            wait_for(both_done, timeout=60)
            took = sorted((json.loads(o.read_text()) for o in outs), key=lambda d: len(d.get("steps", [])))
            spans = [d.pop("during") for d in took]
            overlaps.append(max(0.0, min(b for _, b in spans) - max(a for a, _ in spans)))
            assert took == [{"steps": []}, {"steps": [["approved", "promoted"]]}], took
            assert state_of(store, CS) == "promoted"
            assert w.writes() == Counter(dict.fromkeys(worlds.keys, 1))  # every cell written once, by one driver
            assert w.amounts(worlds.keys) == {k: worlds.fixed[k] for k in worlds.keys}
            assert audit_steps(store)[("promote", "done")] == 1
            with store.engine.connect() as conn:
                assert audit.verify(conn).ok
        store.close()
        print(f"drivers inside drive() together: {[round(o, 3) for o in overlaps]} s per round")
    finally:
        for p in pair:
            if p.poll() is None:
                p.kill()
            _, err = p.communicate(timeout=30)
            assert p.returncode == 0 or p.returncode == -9, err[-3000:]
