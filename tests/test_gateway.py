"""The policy gateway: every proposal is checked against the playbook and recomputed from the stored evidence
before a change-set exists, and every decision (allowed or refused) is in the hash-chained audit log.

The world is the demo's: the $10,000,000 deal (x / 10^1 proved by magnitude) and 25 yen rows under the USD
label (proved JPY by subschema, converted at the config's fx_rates), both flagged by the magnitude incident the
`fat-finger-amounts` playbook handles."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import copy_demo

from sentinel import audit, changesets, gateway
from sentinel.agent import rules
from sentinel.config import load_config
from sentinel.correctors.actions import FxRate, Plan, PowerOfTen, Snapshot, StageFix
from sentinel.demo import break_warehouse, build_warehouse
from sentinel.runner import run_many
from sentinel.store import Store, changeset_rows, incidents
from sentinel.store import audit as audit_table
from sentinel.store import changesets as cs_table


class World:
    def __init__(self, root: Path):
        self.root = root
        self.cfg = load_config(root / "config.yaml")
        self.store = Store(self.cfg.state_url)

    def incident(self, key_part: str) -> sa.Row:
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(incidents).where(incidents.c.open_fingerprint.is_not(None))).all()
        return next(r for r in rows if key_part in r.key)

    def propose(self, plan) -> list[int]:
        now = dt.datetime.now(dt.UTC)
        return self.store.transaction(lambda conn: gateway.propose(conn, self.cfg, plan, now, "test"))

    def last_audit(self) -> sa.Row:
        with self.store.engine.connect() as conn:
            return conn.execute(sa.select(audit_table).order_by(audit_table.c.seq.desc()).limit(1)).one()

    def count(self, table) -> int:
        with self.store.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _world(root: Path, playbooks: str | None = None) -> World:
    copy_demo(root)
    if playbooks is not None:
        (root / "correctors" / "playbooks.yaml").write_text(playbooks)
    w = World(root)
    now = dt.datetime.now(dt.UTC)
    warehouse = root / ".sentinel" / "warehouse.duckdb"
    build_warehouse(warehouse, now)
    names = [d.name for d in w.cfg.datasets]
    run_many(w.cfg, w.store, names, "base", read_origin=False)
    break_warehouse(warehouse, now)
    run_many(w.cfg, w.store, names, "broken", read_origin=False)
    return w


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = _world(tmp_path_factory.mktemp("gateway"))
    # the run planned change-set 1 for the magnitude incident; take it out of flight so proposals can be tried
    with w.store.engine.connect() as conn:
        ids = [r.id for r in conn.execute(sa.select(cs_table.c.id))]
    for cs_id in ids:
        with w.store.engine.connect() as conn:
            cs = changesets.get(conn, cs_id)
        if cs.state not in changesets.TERMINAL:
            changesets.reject(w.cfg, w.store, cs_id, "test", "taken out of flight for the policy tests")
    return w


def _planned(world: World) -> StageFix:
    inc = world.incident("magnitude(amount)")
    with world.store.engine.connect() as conn:
        pb = next(p for p in world.cfg.playbooks if p.name == "fat-finger-amounts")
        plan = rules.plan(changesets.situation_of(conn, world.cfg, inc, pb))
    (fix,) = [a for a in plan.actions if a.action == "stage_fix"]
    return fix


def test_the_rules_plan_writes_only_proven_values(world):
    fix = _planned(world)
    by_key = {c.key: c for c in fix.changes}
    assert len(by_key) == 26  # the fat-fingered deal and the 25 yen rows; nothing else is flagged
    deal = by_key["0060000777"]
    assert (deal.field, deal.old, deal.new) == ("amount", 10000000.0, "1000000")
    assert isinstance(deal.provenance, PowerOfTen) and deal.provenance.k == 1
    yen = [c for c in fix.changes if c.key != "0060000777"]
    assert all(isinstance(c.provenance, FxRate) and c.provenance.currency == "JPY" for c in yen)
    for c in yen:  # x / 150 exactly, from the value the evidence saw
        assert Decimal(c.new) == Decimal(repr(c.old)) / Decimal("150.0")


def test_a_valid_plan_is_allowed_and_audited(world):
    fix = _planned(world)
    before = world.count(cs_table)
    (cs_id,) = world.propose(Plan(planner="rules", actions=[fix]))
    assert world.count(cs_table) == before + 1
    row = world.last_audit()
    assert (row.action, row.decision, row.changeset_id) == ("plan", "allowed", cs_id)
    changesets.reject(world.cfg, world.store, cs_id, "test", "done with it")


def _dump(world: World) -> bytes:
    """The warehouse file's bytes: a refused proposal leaves the target byte-identical."""
    return (world.root / ".sentinel" / "warehouse.duckdb").read_bytes()


def _refused(world: World, plan, needle: str) -> None:
    before_cs, before_rows, before = world.count(cs_table), world.count(changeset_rows), _dump(world)
    assert world.propose(plan) == []
    assert (world.count(cs_table), world.count(changeset_rows)) == (before_cs, before_rows)
    assert _dump(world) == before
    row = world.last_audit()
    assert row.decision == "refused"
    assert needle in " ".join(row.detail["reasons"]), row.detail


def _with(fix: StageFix, key: str, **changes) -> StageFix:
    swapped = [c.model_copy(update=changes) if c.key == key else c for c in fix.changes]
    return fix.model_copy(update={"changes": swapped})


def test_a_field_the_playbook_does_not_allow_is_refused(world):
    fix = _with(_planned(world), "0060000777", field="seats")
    _refused(world, Plan(planner="rules", actions=[fix]), "field 'seats' is not in the playbook's allow.fields")


def test_a_value_without_provenance_is_refused(world):
    fix = _planned(world).model_dump(mode="json")
    del fix["changes"][0]["provenance"]
    _refused(world, {"planner": "llm", "actions": [fix]}, "not a valid plan")


def test_an_extra_field_in_an_action_is_refused(world):
    fix = _planned(world).model_dump(mode="json")
    fix["recipient"] = "attacker@example.com"
    _refused(world, {"planner": "llm", "actions": [fix]}, "not a valid plan")


def test_a_value_off_its_provenance_by_one_cent_is_refused(world):
    fix = _with(_planned(world), "0060000777", new="1000000.01")
    _refused(world, Plan(planner="rules", actions=[fix]), "does not match its provenance (recomputed '1000000')")


def test_a_factor_the_evidence_does_not_prove_is_refused(world):
    deal = next(c for c in _planned(world).changes if c.key == "0060000777")
    forged = deal.model_copy(update={"new": "100000", "provenance": deal.provenance.model_copy(update={"k": 2})})
    fix = StageFix(incident_id=deal.provenance.incident_id, playbook="fat-finger-amounts", changes=[forged])
    _refused(world, Plan(planner="rules", actions=[fix]), "proves no factor 10^2")


def test_a_rate_not_in_config_is_refused(world):
    fix = _planned(world)
    yen = next(c for c in fix.changes if isinstance(c.provenance, FxRate))
    forged = yen.model_copy(
        update={
            "new": str(Decimal(repr(yen.old)) / Decimal("149.0")),
            "provenance": yen.provenance.model_copy(update={"rate": "149.0"}),
        }
    )
    fix = fix.model_copy(update={"changes": [forged]})
    _refused(world, Plan(planner="rules", actions=[fix]), "is not a rate in config fx_rates")


def test_a_provenance_kind_the_playbook_does_not_list_is_refused(world):
    fix = _planned(world)
    deal = next(c for c in fix.changes if c.key == "0060000777")
    snap = Snapshot(taken_at="", incident_id=deal.provenance.incident_id, check=deal.provenance.check)
    fix = fix.model_copy(update={"changes": [deal.model_copy(update={"provenance": snap})]})
    _refused(world, Plan(planner="rules", actions=[fix]), "provenance snapshot is not in allow.provenance")


def test_a_playbook_of_another_dataset_is_refused(world):
    forecast = world.incident("us_forecast_dec_v1/not_empty")
    deal = next(c for c in _planned(world).changes if c.key == "0060000777")
    fix = StageFix(incident_id=forecast.id, playbook="fat-finger-amounts", changes=[deal])
    _refused(world, Plan(planner="rules", actions=[fix]), "does not handle incident")


def test_an_old_value_other_than_the_evidence_is_refused(world):
    fix = _with(_planned(world), "0060000777", old=9000000.0, new="900000")
    _refused(world, Plan(planner="rules", actions=[fix]), "is not the value 10000000.0 the evidence saw")


def test_more_rows_than_max_rows_are_refused(tmp_path):
    small = (
        (Path(__file__).parents[1] / "correctors" / "playbooks.yaml").read_text().replace("max_rows: 30", "max_rows: 5")
    )
    w = _world(tmp_path, small)
    with w.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cs_table)).scalar_one() == 0
        refused = conn.execute(sa.select(audit_table).where(audit_table.c.decision == "refused")).all()
    (row,) = refused
    assert "26 rows exceed the playbook's max_rows 5" in " ".join(row.detail["reasons"])
    # the next failing run does not propose the refused plan again (one decision, not one per run)
    run_many(w.cfg, w.store, ["opportunities"], "again", read_origin=False)
    with w.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(audit_table.c.decision == "refused")).scalar_one() == 1


def test_a_tampered_audit_row_is_named_by_verify(world, project):
    with world.store.engine.connect() as conn:
        assert audit.verify(conn).ok
        n = audit.verify(conn).rows
    assert n >= 3
    with world.store.engine.begin() as conn:
        row = conn.execute(sa.select(audit_table).where(audit_table.c.seq == 2)).one()
        conn.execute(
            audit_table.update()
            .where(audit_table.c.seq == 2)
            .values(decision="allowed" if row.decision != "allowed" else "refused")
        )
    with world.store.engine.connect() as conn:
        verdict = audit.verify(conn)
    assert (verdict.ok, verdict.broken_at) == (False, 2)
    res = project.runner.invoke(
        __import__("sentinel.cli", fromlist=["app"]).app,
        ["audit", "--verify", "--config", str(world.root / "config.yaml")],
    )
    assert res.exit_code == 1 and "broken at row 2" in res.stdout
    with world.store.engine.begin() as conn:  # put it back, then delete a row: the gap is named
        conn.execute(audit_table.update().where(audit_table.c.seq == 2).values(decision=row.decision))
        assert audit.verify(conn).ok
        conn.execute(audit_table.delete().where(audit_table.c.seq == 2))
        verdict = audit.verify(conn)
        assert (verdict.broken_at, verdict.reason) == (3, "row 2 is missing (found 3 next)")
        conn.rollback()
