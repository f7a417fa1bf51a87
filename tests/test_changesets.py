"""A change-set's life on the demo's warehouse: planned by the run, staged in the overlay view and verified by
the same checks, awaiting a person's approval with the owner's yes/no question sent; promoted under the
precondition; the re-check resolves the incident as fixed by it; rolled back on demand. And each way it must
stop: a production write before verification, a stale precondition, a rejection, a config that no longer
allows it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sys
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from conftest import copy_demo

from sentinel import audit, changesets
from sentinel.config import load_config
from sentinel.demo import break_warehouse, build_warehouse
from sentinel.runner import run_many
from sentinel.store import Store, incidents
from sentinel.store import audit as audit_table
from sentinel.store import changesets as cs_table

DEAL = "0060000777"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The demo after its broken run: change-set 1 awaiting approval."""
    root = tmp_path_factory.mktemp("built")
    copy_demo(root)
    cfg = load_config(root / "config.yaml")
    store = Store(cfg.state_url)
    now = dt.datetime.now(dt.UTC)
    build_warehouse(root / ".sentinel" / "warehouse.duckdb", now)
    names = [d.name for d in cfg.datasets]
    run_many(cfg, store, names, "base", read_origin=False)
    break_warehouse(root / ".sentinel" / "warehouse.duckdb", now)
    run_many(cfg, store, names, "broken", read_origin=False)
    store.close()
    return root


class World:
    def __init__(self, root: Path):
        self.root = root
        self.cfg = load_config(root / "config.yaml")
        self.store = Store(self.cfg.state_url)
        self.warehouse = root / ".sentinel" / "warehouse.duckdb"

    def reload(self) -> None:
        self.cfg = load_config(self.root / "config.yaml")

    def cs(self, cs_id: int = 1) -> sa.Row:
        with self.store.engine.connect() as conn:
            return changesets.get(conn, cs_id)

    def sql(self, query: str, *params):
        con = duckdb.connect(str(self.warehouse))
        try:
            return con.execute(query, list(params)).fetchall()
        finally:
            con.close()

    def amount(self, key: str):
        return self.sql("SELECT amount FROM opportunities WHERE id = ?", key)[0][0]

    def dump(self) -> str:
        rows = self.sql("SELECT * FROM opportunities ORDER BY id")
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    def audit_rows(self, action: str | None = None) -> list[sa.Row]:
        with self.store.engine.connect() as conn:
            stmt = sa.select(audit_table).order_by(audit_table.c.seq)
            if action:
                stmt = stmt.where(audit_table.c.action == action)
            return conn.execute(stmt).all()

    def incident(self, incident_id: int) -> sa.Row:
        with self.store.engine.connect() as conn:
            return conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).one()

    def run(self, name: str = "opportunities", uid: str = "again"):
        return run_many(self.cfg, self.store, [name], uid, read_origin=False)

    def cli(self, *args: str):
        from typer.testing import CliRunner

        from sentinel.cli import app

        return CliRunner().invoke(app, [*args, "--config", str(self.root / "config.yaml")])


@pytest.fixture
def world(built, tmp_path) -> World:
    root = tmp_path / "w"
    shutil.copytree(built, root)
    w = World(root)
    yield w
    w.store.close()


def test_the_run_stages_and_verifies_and_asks_the_owner(world):
    cs = world.cs()
    assert cs.state == "awaiting_approval"
    assert cs.verification["passed"] and cs.verification["check_passes"]
    assert cs.verification["checks"]["magnitude(amount)"] == {"status": "pass", "production": "fail", "remaining": 0}
    # production untouched; the overlay view holds the staged values
    assert world.amount(DEAL) == 10000000.0
    view = cs.staging["view"] if "view" in cs.staging else None
    assert view and world.sql(f'SELECT amount FROM "{cs.staging["schema"]}"."{view}" WHERE id = ?', DEAL) == [
        (1000000.0,)
    ]
    assert world.incident(cs.incident_id).state == "awaiting_approval"
    lines = [json.loads(x) for x in (world.root / ".sentinel" / "outbox.jsonl").read_text().splitlines()]
    (question,) = [x["message"] for x in lines if x.get("message", {}).get("kind") == "change"]
    assert f"{DEAL}: amount 10,000,000 -> 1,000,000?" in question["text"]
    assert "approve 1" in question["text"] and "reject 1" in question["text"]


def test_a_failing_run_does_not_replan_a_change_set_in_flight(world):
    before = world.audit_rows("plan")
    world.run()
    assert len(world.audit_rows("plan")) == len(before)
    with world.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cs_table)).scalar_one() == 1
    assert world.cs().state == "awaiting_approval"


def test_approve_promotes_rechecks_resolves_and_rollback_restores(world):
    res = world.cli("approve", "1")
    assert res.exit_code == 0, res.output
    assert "re-check: magnitude(amount) pass" in res.stdout
    assert "fixed by change-set 1" in res.stdout
    assert world.amount(DEAL) == 1000000.0
    assert world.amount("0060000029") == 787200.0  # 118,080,000 yen / 150
    cs = world.cs()
    assert cs.state == "checked"
    inc = world.incident(cs.incident_id)
    assert (inc.state, inc.resolution) == ("resolved", "fixed by change-set 1")
    (promote,) = world.audit_rows("promote")
    assert promote.decision == "done" and promote.detail["result"]["written"] == 26
    res = world.cli("rollback", "1")
    assert res.exit_code == 0, res.output
    assert world.amount(DEAL) == 10000000.0 and world.amount("0060000029") == 118080000.0
    assert world.cs().state == "rolled_back"
    with world.store.engine.connect() as conn:
        assert audit.verify(conn).ok
    # the next run fails again; the same plan is not proposed again after a rollback: the owner is asked
    world.run(uid="after-rollback")
    with world.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cs_table)).scalar_one() == 1


def test_rollback_is_refused_where_a_cell_no_longer_holds_the_promoted_value(world):
    assert world.cli("approve", "1").exit_code == 0
    world.sql("UPDATE opportunities SET amount = 1200000 WHERE id = ?", DEAL)  # someone edited it since
    before = world.dump()
    res = world.cli("rollback", "1")
    assert res.exit_code == 1 and "changed since planning" in res.output
    assert world.dump() == before
    assert world.cs().state == "checked"
    assert world.audit_rows("rollback")[-1].decision == "conflict"


def test_a_stale_precondition_stops_promotion_and_writes_nothing(world):
    world.sql("UPDATE opportunities SET amount = 12345 WHERE id = ?", DEAL)  # the row changed after verification
    before = world.dump()
    res = world.cli("approve", "1")
    assert res.exit_code == 1
    assert world.dump() == before  # not one of the 26 cells written
    cs = world.cs()
    assert cs.state == "failed" and cs.error.startswith("conflict")
    assert world.audit_rows("promote")[-1].decision == "conflict"
    assert world.incident(cs.incident_id).state == "open"  # back to the owner's request


def test_production_is_never_written_before_verification(world):
    before = world.dump()
    with world.store.engine.begin() as conn:  # a forged shortcut: approved without a passing verification
        conn.execute(cs_table.update().where(cs_table.c.id == 1).values(state="approved", verification=None))
    step = changesets.advance(world.cfg, world.store, 1, "test")
    assert step.after == "failed"
    assert world.dump() == before
    refused = world.audit_rows("promote")[-1]
    assert refused.decision == "refused"
    assert any("has not passed verification" in r for r in refused.detail["reasons"])


def test_approval_needs_a_verified_change_set(world):
    with world.store.engine.begin() as conn:
        conn.execute(cs_table.update().where(cs_table.c.id == 1).values(state="staged"))
    res = world.cli("approve", "1")
    assert res.exit_code == 2 and "only a verified change-set" in res.output
    assert world.audit_rows("approve")[-1].decision == "refused"


def test_a_stale_row_at_staging_fails_and_the_next_run_replans(world):
    with world.store.engine.begin() as conn:  # back to planned, and the deal changes before it is staged
        conn.execute(cs_table.update().where(cs_table.c.id == 1).values(state="planned", staging=None))
    world.sql("UPDATE opportunities SET amount = 10000001 WHERE id = ?", DEAL)
    step = changesets.advance(world.cfg, world.store, 1, "test")
    assert step.after == "failed" and world.cs().error.startswith("stale")
    world.sql("UPDATE opportunities SET amount = 10000000 WHERE id = ?", DEAL)
    world.run(uid="replan")
    assert world.cs(2).state == "awaiting_approval"  # re-planned from the new run's evidence


def test_reject_drops_the_staging_and_is_not_replanned(world):
    view = world.cs().staging["view"]
    res = world.cli("reject", "1", "--note", "the deal really is ten million")
    assert res.exit_code == 0
    assert world.cs().state == "rejected"
    assert world.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", view) == [(0,)]
    world.run(uid="after-reject")
    with world.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cs_table)).scalar_one() == 1


def test_a_field_no_longer_allowed_at_staging_is_refused(world):
    with world.store.engine.begin() as conn:
        conn.execute(cs_table.update().where(cs_table.c.id == 1).values(state="planned", staging=None))
    pb = world.root / "correctors" / "playbooks.yaml"
    pb.write_text(pb.read_text().replace("fields: [amount]", "fields: [amount, amount_usd]"))
    world.reload()
    before = world.dump()
    step = changesets.advance(world.cfg, world.store, 1, "test")
    assert step.after == "failed"
    assert "'amount_usd' is not a column of opportunities" in world.cs().error
    assert world.dump() == before


def test_auto_promotion_and_after_promote_rerun(world):
    marker = world.root / "rerun.txt"
    pb = world.root / "correctors" / "playbooks.yaml"
    rerun = json.dumps([sys.executable, "-c", f"open({str(marker)!r}, 'w').write('restarted')"])
    pb.write_text(pb.read_text().replace("promote: approval", f"promote: auto\n    after_promote: {{rerun: {rerun}}}"))
    world.reload()
    with world.store.engine.begin() as conn:  # as if planned under this playbook
        conn.execute(cs_table.update().where(cs_table.c.id == 1).values(state="verified", promote="auto"))
    steps = changesets.drive(world.cfg, world.store, "test")
    assert [s.after for s in steps] == ["approved", "promoted"]
    assert world.amount(DEAL) == 1000000.0
    assert marker.read_text() == "restarted"
    (hook,) = world.audit_rows("after_promote")
    assert hook.decision == "done" and hook.detail["returncode"] == 0


def test_a_failing_after_promote_is_audited_and_keeps_the_promotion(world):
    pb = world.root / "correctors" / "playbooks.yaml"
    pb.write_text(
        pb.read_text().replace(
            "promote: approval", "promote: approval\n    after_promote: {rerun: [no-such-program-xyz]}"
        )
    )
    world.reload()
    assert world.cli("approve", "1").exit_code == 0
    assert world.amount(DEAL) == 1000000.0
    (hook,) = world.audit_rows("after_promote")
    assert hook.decision == "failed" and "FileNotFoundError" in hook.detail["error"]


def test_changes_json_lists_every_row_with_provenance(world):
    res = world.cli("changes", "--json")
    doc = json.loads(res.stdout)
    (cs,) = doc["changesets"]
    assert cs["state"] == "awaiting_approval" and len(cs["rows"]) == 26
    deal = next(r for r in cs["rows"] if r["key"] == DEAL)
    assert deal["new"] == "1000000" and deal["provenance"]["kind"] == "power_of_ten"


def test_after_promote_webhook_is_posted_once_with_an_idempotency_key(world):
    from fakes.webhook import webhook_server

    with webhook_server() as hook:
        pb = world.root / "correctors" / "playbooks.yaml"
        url = f"http://{hook.url}/hooks/deals?token=s3cret"
        pb.write_text(
            pb.read_text().replace("promote: approval", f"promote: approval\n    after_promote: {{webhook: '{url}'}}")
        )
        world.reload()
        assert world.cli("approve", "1").exit_code == 0
        changesets.drive(world.cfg, world.store, "test")  # the daemon's next pass finds nothing left to do
    (req,) = hook.requests
    assert (req.method, req.path) == ("POST", "/hooks/deals?token=s3cret")
    assert req.headers["Idempotency-Key"] == "cs-1-promoted"
    assert req.json() == {
        "changeset": 1,
        "dataset": "opportunities",
        "incident": world.cs().incident_id,
        "event": "promoted",
    }
    (audited,) = world.audit_rows("after_promote")
    assert audited.decision == "done" and audited.detail == {"webhook": hook.url, "status": 200}  # no token in the log


def test_resolving_the_incident_by_hand_ends_its_change_set_and_drops_the_staging(world):
    cs = world.cs()
    res = world.cli("resolve", str(cs.incident_id), "--note", "the amounts are right after all")
    assert res.exit_code == 0, res.output
    after = world.cs()
    assert after.state == "rejected" and "resolved by hand" in after.note
    changesets.drive(world.cfg, world.store, "test")  # the daemon's next pass drops the overlay view
    assert world.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", cs.staging["view"]) == [
        (0,)
    ]
    assert world.amount(DEAL) == 10000000.0  # nothing was written
    assert world.cli("approve", "1").exit_code == 2


def test_status_counts_change_sets_in_flight(world):
    from sentinel.status import collect_status

    assert collect_status(world.cfg, world.store)["changesets"] == {"awaiting_approval": 1}
    res = world.cli("status")
    assert "change-sets in flight: 1 awaiting_approval (sentinel changes)" in res.stdout
