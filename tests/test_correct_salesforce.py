"""The Salesforce correction target: the real simple-salesforce against two fake orgs on 127.0.0.1 (a
production org and a sandbox, tests/fakes/salesforce.py), with the dataset's real checks measured on the
staged data through `sentinel.runner.measure`."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fakes.salesforce import OPPORTUNITY_FIELDS, FakeSalesforce, SObject, opportunity, record_id

from sentinel.config import ConfigError, load_config
from sentinel.correctors import open_target
from sentinel.correctors.base import Cell, Conflict, ReadBack, TargetError, Where
from sentinel.runner import measure

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
SECRET = "sandbox-secret-51c0e7a2"
COUNT = 400
OUTLIER = 17  # its Amount is 1,000 times what it should be
FIXED = "12345.67"
WRONG = Decimal("12345670.00")
OID = record_id("006", OUTLIER)
HOSTILE = ['O\'Brien "quoted" \\ back', "x'; DROP TABLE Opportunity; --", '=HYPERLINK("http://evil")']
SANDBOX_HOST = "acme--staging.sandbox.my.salesforce.com"


def record(i: int) -> dict:
    rec = opportunity(i, NOW)
    if i == OUTLIER:
        rec["Amount"] = float(WRONG)
    if 40 <= i < 40 + len(HOSTILE):  # records named by hostile text, for a dataset keyed by Name
        rec["Name"] = HOSTILE[i - 40]
    return rec


def opportunities(count: int = COUNT, prefix: str = "") -> SObject:
    if not prefix:
        return SObject("Opportunity", OPPORTUNITY_FIELDS, count, record)
    return SObject("Opportunity", OPPORTUNITY_FIELDS, count, lambda i: {**record(i), "Id": record_id(prefix, i)})


@pytest.fixture(scope="module")
def keys() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


class Orgs:
    """A production org (JWT login) and a sandbox (client credentials), a project naming both, and the
    target opened on them the way the gateway opens it."""

    def __init__(self, project, monkeypatch, keys, sandbox: bool = True, sandbox_objects=None, key: str = "Id"):
        self.prod = FakeSalesforce({"Opportunity": opportunities()}, public_key=keys[1]).start()
        self.sb = FakeSalesforce(
            sandbox_objects or {"Opportunity": opportunities()},
            consumer_secret=SECRET,
            sandbox=sandbox,
            instance=SANDBOX_HOST,
        ).start()
        monkeypatch.setenv("SF_PRIVATE_KEY", keys[0])
        monkeypatch.setenv("SF_SANDBOX_SECRET", SECRET)
        project.config(
            f"""
            crm:
              type: salesforce
              production:
                username: {self.prod.username}
                consumer_key: {self.prod.consumer_key}
                private_key: ${{SF_PRIVATE_KEY}}
                api_root: {self.prod.api_root}
              staging:
                domain: acme--staging.sandbox.my
                consumer_key: {self.sb.consumer_key}
                consumer_secret: ${{SF_SANDBOX_SECRET}}
                api_root: {self.sb.api_root}
            """
        )
        project.write(
            "checks/deals.yaml",
            f"""
            datasets:
              - name: deals
                source: crm
                table: Opportunity
                key: {key}
                fields: [Id, Name, Amount, Description, FiscalYear, TotalOpportunityQuantity, IsWon]
                checks:
                  - magnitude: {{column: Amount}}
                  - not_empty: {{}}
            """,
        )
        self.cfg = load_config(project.root / "config.yaml")
        self.ds = self.cfg.dataset("deals")
        self.target = open_target(Where(self.cfg, "crm", self.ds, "Opportunity", key))

    def stop(self) -> None:
        self.target.close()
        self.prod.stop()
        self.sb.stop()

    def writes(self, fake: FakeSalesforce) -> list[tuple[str, str]]:
        return [(m, p) for m, p in fake.log if m != "GET" and not p.endswith("/oauth2/token")]

    def statuses(self, cfg=None, ds=None) -> dict[str, str]:
        results = measure(cfg or self.cfg, ds or self.ds, NOW, None)
        return {r.check: r.status for r in results}


@pytest.fixture
def orgs(project, monkeypatch, keys):
    started: list[Orgs] = []

    def make(**kw) -> Orgs:
        o = Orgs(project, monkeypatch, keys, **kw)
        started.append(o)
        return o

    yield make
    for o in started:
        o.stop()


FIX = [Cell(OID, "Amount", format(WRONG, "f"), FIXED)]


def test_stage_in_the_sandbox_verify_promote_repeat_and_roll_back(orgs):
    o = orgs()
    prod_before = o.prod.dump("Opportunity")
    assert o.statuses()["magnitude(Amount)"] == "fail"

    handle = o.target.stage(1, FIX)
    assert handle["mode"] == "sandbox" and handle["records"] == 1
    assert json.loads(json.dumps(handle)) == handle
    assert o.sb.current("Opportunity", OID)["Amount"] == Decimal(FIXED)
    assert o.target.stage(1, FIX) == handle  # idempotent
    assert o.sb.counts["organization"] >= 1  # IsSandbox asked before writing
    assert o.prod.dump("Opportunity") == prod_before and o.writes(o.prod) == []

    cfg, ds = o.target.staged(1, handle)
    assert cfg.main.sources["crm"].production == o.cfg.main.sources["crm"].staging
    sandbox_queries = o.sb.counts["query"]
    assert o.statuses(cfg, ds) == {"magnitude(Amount)": "pass", "not_empty": "pass"}
    assert o.sb.counts["query"] > sandbox_queries  # the checks read the sandbox
    assert o.writes(o.prod) == []  # nothing reached production before promotion

    done = o.target.promote(1, FIX, handle)
    assert done["written"] == 1 and done["already"] == 0 and done["calls"] == 1
    assert "no per-record precondition" in done["precondition"]
    assert o.writes(o.prod) == [("PATCH", "/services/data/v62.0/composite/sobjects")]
    assert o.prod.current("Opportunity", OID)["Amount"] == Decimal(FIXED)
    assert o.statuses()["magnitude(Amount)"] == "pass"

    again = o.target.promote(1, FIX, handle)
    assert again["written"] == 0 and again["already"] == 1 and again["calls"] == 0
    assert o.prod.counts["composite"] == 1  # nothing rewritten

    back = o.target.rollback(1, [c.inverse() for c in FIX], handle)
    assert back["written"] == 1
    assert o.prod.current("Opportunity", OID)["Amount"] == WRONG
    assert o.prod.dump("Opportunity") != prod_before  # LastModifiedDate moved, as Salesforce's does
    assert o.target.read([OID], ["amount"]) == {OID: {"amount": WRONG}}


def test_a_record_changed_after_staging_is_a_conflict_and_nothing_is_written(orgs):
    o = orgs()
    handle = o.target.stage(2, FIX)
    o.prod.change("Opportunity", OID, {"Amount": Decimal("99.00")})  # someone saved it in the UI meanwhile
    before = o.prod.dump("Opportunity")
    with pytest.raises(Conflict) as exc:
        o.target.promote(2, FIX, handle)
    assert [(c.key, v) for c, v in exc.value.found] == [(OID, Decimal("99.00"))]
    assert o.prod.dump("Opportunity") == before and o.writes(o.prod) == []


def test_a_staging_org_that_is_not_a_sandbox_is_refused_before_any_write(orgs):
    o = orgs(sandbox=False)
    before = o.prod.dump("Opportunity"), o.sb.dump("Opportunity")
    with pytest.raises(TargetError, match="not a sandbox"):
        o.target.stage(3, FIX)
    assert (o.prod.dump("Opportunity"), o.sb.dump("Opportunity")) == before
    assert o.writes(o.prod) == [] and o.writes(o.sb) == []


def test_one_failing_record_fails_the_whole_composite_and_production_is_unchanged(orgs):
    o = orgs()
    cells = [
        Cell(record_id("006", i), "Description", opportunity(i, NOW)["Description"], f"fixed {i}") for i in (3, 4, 5)
    ]
    o.prod.fail_records[record_id("006", 4)] = ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Description is locked")
    before = o.prod.dump("Opportunity")
    with pytest.raises(TargetError) as exc:
        o.target.promote(4, cells, {})
    message = exc.value.message
    assert record_id("006", 4) in message and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in message
    assert "nothing was written" in message and "ALL_OR_NONE" not in message
    assert not exc.value.transient
    assert o.prod.counts["composite"] == 1 and o.prod.dump("Opportunity") == before


def test_a_401_during_promotion_logs_in_again_and_the_write_goes_through(orgs):
    o = orgs()
    handle = o.target.stage(5, FIX)
    o.target.read([OID], ["Amount"])  # logged in already
    tokens = o.prod.counts["token"]
    o.prod.expire_at = "composite"
    assert o.target.promote(5, FIX, handle)["written"] == 1
    assert o.prod.counts["401"] == 1 and o.prod.counts["token"] == tokens + 1
    assert o.writes(o.prod) == [("PATCH", "/services/data/v62.0/composite/sobjects")] * 2  # refused, then done
    assert o.prod.current("Opportunity", OID)["Amount"] == Decimal(FIXED)


def test_a_503_on_the_write_is_transient_and_a_retry_finishes_it(orgs):
    o = orgs()
    handle = o.target.stage(13, FIX)
    before = o.prod.dump("Opportunity")
    o.prod.unavailable_at = "composite"
    with pytest.raises(TargetError) as exc:
        o.target.promote(13, FIX, handle)
    assert exc.value.transient and "503" in exc.value.message
    assert o.prod.dump("Opportunity") == before
    assert o.target.promote(13, FIX, handle)["written"] == 1
    assert o.prod.current("Opportunity", OID)["Amount"] == Decimal(FIXED)


def test_a_sandbox_lacking_the_records_verifies_on_production_with_the_overlay(orgs):
    o = orgs(sandbox_objects={"Opportunity": opportunities(prefix="006S")})  # same data, other Ids
    before = o.prod.dump("Opportunity"), o.sb.dump("Opportunity")
    handle = o.target.stage(6, FIX)
    assert handle["mode"] == "overlay"
    assert handle["note"] == "the sandbox lacks these records; verified on production rows with the change-set overlaid"
    assert handle["cells"] == [[OID, "Amount", FIXED]]
    cfg, ds = o.target.staged(6, handle)
    assert cfg.main.sources["crm"].production == o.cfg.main.sources["crm"].production
    assert o.statuses(cfg, ds) == {"magnitude(Amount)": "pass", "not_empty": "pass"}
    assert o.statuses()["magnitude(Amount)"] == "fail"  # the plain config still reads production as it is
    assert (o.prod.dump("Opportunity"), o.sb.dump("Opportunity")) == before
    assert o.writes(o.prod) == [] and o.writes(o.sb) == []
    assert o.target.promote(6, FIX, handle)["written"] == 1


def test_the_overlay_cannot_be_set_from_yaml(project, orgs):
    orgs()
    text = (project.root / "config.yaml").read_text()
    project.write("config.yaml", text.replace("  staging:", "  _overlay: {object: Opportunity}\n    staging:"))
    with pytest.raises(ConfigError, match="_overlay"):
        load_config(project.root / "config.yaml")


@pytest.mark.parametrize(
    "sandbox_objects", [None, {"Opportunity": opportunities(prefix="006S")}], ids=["sandbox", "overlay"]
)
def test_a_value_the_field_cannot_hold_does_not_read_back(orgs, sandbox_objects):
    o = orgs(sandbox_objects=sandbox_objects)
    with pytest.raises(ReadBack) as exc:
        o.target.stage(7, [Cell(OID, "Amount", format(WRONG, "f"), "12345.678")])  # currency(18,2)
    ((cell, found),) = exc.value.found
    assert cell.new == "12345.678" and found == Decimal("12345.68")
    assert o.writes(o.prod) == []


def test_fit_and_fields(orgs):
    t = orgs().target
    assert t.fit("Amount", "1234567.8") == Decimal("1234567.80") and isinstance(t.fit("Amount", 5), Decimal)
    assert t.fit("Amount", "1.234") == Decimal("1.234")  # not storable: kept, so the read-back differs
    assert t.fit("TotalOpportunityQuantity", 2.5) == Decimal("2.50")
    assert t.fit("Probability", "40") == Decimal("40")
    assert t.fit("FiscalYear", "2027") == 2027 and isinstance(t.fit("FiscalYear", Decimal("2027.0")), int)
    assert t.fit("FiscalYear", "2027.5") == Decimal("2027.5")
    assert t.fit("Name", 12) == "12" and t.fit("Description", None) is None
    fields = t.fields()
    assert fields["Amount"] == "currency(18,2)" and fields["FiscalYear"] == "int"
    assert "Id" not in fields and "IsWon" not in fields and "CreatedDate" not in fields
    with pytest.raises(TargetError, match="not updateable"):
        t.stage(8, [Cell(OID, "IsWon", False, True)])
    with pytest.raises(TargetError, match="no field"):
        t.fit("Amount; DROP", 1)


def test_int_double_and_text_read_back_exactly(orgs):
    o = orgs()
    cells = [
        Cell(OID, "FiscalYear", 2026, 2027),
        Cell(OID, "TotalOpportunityQuantity", opportunity(OUTLIER, NOW)["TotalOpportunityQuantity"], "123456789012.25"),
        Cell(OID, "Amount", format(WRONG, "f"), "1234567890123456.78"),  # 18 digits: no float holds it
    ]
    handle = o.target.stage(9, cells)
    assert o.target.promote(9, cells, handle)["written"] == 3
    now = o.prod.current("Opportunity", OID)
    assert now["FiscalYear"] == 2027 and now["TotalOpportunityQuantity"] == Decimal("123456789012.25")
    assert now["Amount"] == Decimal("1234567890123456.78")
    assert o.target.read([OID], ["Amount"])[OID]["Amount"] == Decimal("1234567890123456.78")


def test_hostile_keys_and_values_reach_salesforce_byte_exact(orgs):
    o = orgs(key="Name")
    cells = [
        Cell(name, "Description", opportunity(40 + j, NOW)["Description"], HOSTILE[-1 - j])
        for j, name in enumerate(HOSTILE)
    ]
    handle = o.target.stage(10, cells)
    assert handle["mode"] == "sandbox"
    assert o.target.promote(10, cells, handle)["written"] == 3
    for j in range(len(HOSTILE)):
        assert o.prod.current("Opportunity", record_id("006", 40 + j))["Description"] == HOSTILE[-1 - j]
    assert any("O\\'Brien" in q for q in o.prod.soql)  # keys reached SOQL escaped by format_soql
    assert o.target.read(HOSTILE, ["Description"]) == {
        name: {"Description": HOSTILE[-1 - j]} for j, name in enumerate(HOSTILE)
    }


def test_more_than_200_records_is_refused_rather_than_split(orgs):
    o = orgs()
    cells = [Cell(record_id("006", i), "FiscalYear", 2026, 2027) for i in range(201)]
    for call in (lambda: o.target.stage(11, cells), lambda: o.target.promote(11, cells, {})):
        with pytest.raises(TargetError, match="at most 200"):
            call()
    assert o.writes(o.prod) == [] and o.writes(o.sb) == []


def test_secrets_stay_out_of_handles_and_errors(orgs, keys):
    o = orgs()
    handle = o.target.stage(12, FIX)
    o.prod.reject_all = True
    with pytest.raises(TargetError) as exc:
        o.target.promote(12, FIX, handle)
    text = json.dumps(handle) + exc.value.message
    assert SECRET not in text and "BEGIN PRIVATE KEY" not in text and "token" not in text.lower()
    assert textwrap.dedent(keys[0]).splitlines()[1] not in text
