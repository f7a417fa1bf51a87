"""`type: salesforce`: the real simple-salesforce against a fake org on 127.0.0.1 (tests/fakes/salesforce.py),
driven through the real CLI: logins, paging, every check kind on the records, errors that are results, and
secrets that never leave."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import textwrap

import pyarrow as pa
import pytest
import sqlalchemy as sa
from conftest import by_check
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fakes.salesforce import INSTANCE, OPPORTUNITY_FIELDS, FakeSalesforce, SObject, opportunity, record_id

from sentinel.config import load_config
from sentinel.sources import open_source, stream
from sentinel.sources.base import SqlSource
from sentinel.sources.origins import annotate_origins

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
SECRET = "cc-secret-7f3a9d21e0b4"
OUTLIER = 17  # the record whose Amount is 1,000 times its peers'


@pytest.fixture(scope="module")
def keys() -> tuple[str, bytes]:
    """(private PEM text, public PEM) of a fresh RSA key for the JWT bearer flow."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def opportunities(count: int, change=None) -> SObject:
    """`count` generated Opportunities; `change(i, record)` may alter one."""

    def record(i: int) -> dict:
        rec = opportunity(i, NOW)
        if change is not None:
            change(i, rec)
        return rec

    return SObject("Opportunity", OPPORTUNITY_FIELDS, count, record)


def with_outlier(i: int, rec: dict) -> None:
    if i == OUTLIER:
        rec["Amount"] = 12_345_678.9


@pytest.fixture
def org(keys):
    """Start fake orgs: org(objects, **knobs) -> FakeSalesforce; all stopped afterwards."""
    started: list[FakeSalesforce] = []

    def make(objects: dict[str, SObject] | None = None, **kw) -> FakeSalesforce:
        objects = objects or {"Opportunity": opportunities(4500, with_outlier)}
        fake = FakeSalesforce(objects, public_key=keys[1], consumer_secret=SECRET, **kw).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


def jwt_source(project, fake, monkeypatch, keys, extra: str = "") -> None:
    monkeypatch.setenv("SF_PRIVATE_KEY", keys[0])
    monkeypatch.setenv("SF_USER", fake.username)
    project.config(
        f"""
        crm:
          type: salesforce
          production:
            domain: login
            username: ${{SF_USER}}
            consumer_key: {fake.consumer_key}
            private_key: ${{SF_PRIVATE_KEY}}
            api_root: {fake.api_root}
            {extra}
        """
    )


def cc_source(project, fake, monkeypatch, secret: str = SECRET, extra: str = "") -> None:
    monkeypatch.setenv("SF_SECRET", secret)
    project.config(
        f"""
        crm:
          type: salesforce
          production:
            domain: acme.my
            consumer_key: {fake.consumer_key}
            consumer_secret: ${{SF_SECRET}}
            api_root: {fake.api_root}
            {extra}
        """
    )


def dataset(project, checks: str, options: str = "", key: str = "Id") -> None:
    items = textwrap.indent(textwrap.dedent(checks).strip("\n"), "      ")
    opts = textwrap.indent(textwrap.dedent(options).strip("\n"), "    ") + "\n" if options.strip() else ""
    project.write(
        "checks/deals.yaml",
        "datasets:\n  - name: deals\n    source: crm\n    table: Opportunity\n"
        f"    key: {key}\n{opts}    checks:\n{items}\n",
    )


EVERY_KIND = """
- not_empty: {}
- freshness: {column: LastModifiedDate, max_age: 2d}
- schema: {}
- magnitude: {column: Amount}
- expect: {type: expect_column_values_to_not_be_null, kwargs: {column: Amount}}
- expect: {type: expect_column_values_to_not_be_null, kwargs: {column: Description}}
- expect:
    type: expect_column_value_lengths_to_be_between
    kwargs: {column: Id, min_value: 18, max_value: 18}
    engine: gx
- volume: {timestamp_column: CreatedDate, bucket: day, training_period: 14d, detection_period: 1d}
- subschema: {value_column: Amount, category_column: StageName}
"""


def test_jwt_login_pages_and_every_check_kind(project, org, monkeypatch, keys):
    fake = org(page_size=2000)
    jwt_source(project, fake, monkeypatch, keys)
    dataset(project, EVERY_KIND)
    code, doc = project.run_json()
    res = by_check(doc)

    assert fake.counts["token"] == 1 and fake.counts["query"] == 1 and fake.counts["query_more"] == 2  # 3 pages
    (claims,) = fake.claims
    assert claims["iss"] == fake.consumer_key and claims["sub"] == fake.username
    assert claims["aud"] == "https://login.salesforce.com"
    assert res["not_empty"]["status"] == "pass" and res["not_empty"]["observed"] == 4500
    assert res["freshness"]["status"] == "pass"
    schema = res["schema"]["observed"]
    assert schema["Amount"] == "DECIMAL(18,2)" and schema["IsWon"] == "BOOLEAN" and schema["CloseDate"] == "DATE"
    assert schema["LastModifiedDate"] == "TIMESTAMP WITH TIME ZONE" and schema["FiscalYear"] == "BIGINT"
    assert "ShippingAddress" not in schema  # compound: its parts are fields of their own
    assert res["expect_column_values_to_not_be_null(Amount)"]["status"] == "pass"
    nulls = res["expect_column_values_to_not_be_null(Description)"]
    assert nulls["status"] == "fail"
    assert nulls["observed"]["unexpected_count"] == sum(
        1 for i in range(4500) if opportunity(i, NOW)["Description"] is None
    )

    assert res["expect_column_value_lengths_to_be_between(Id)"]["status"] == "pass"  # GX itself, on the records
    assert all(r["status"] != "error" for r in doc["results"]), [r for r in doc["results"] if r["status"] == "error"]

    mag = res["magnitude(Amount)"]
    assert mag["status"] == "fail" and code == 1
    (row,) = mag["evidence"]["rows"]["items"]
    oid = record_id("006", OUTLIER)
    assert row["key"] == oid
    assert row["origin"] == {"record": oid, "url": f"https://{INSTANCE}/lightning/r/Opportunity/{oid}/view"}
    assert str(row["value"]) in ("12345678.9", "12345678.90")


def test_client_credentials_login_and_a_wrong_secret(project, org, monkeypatch):
    fake = org()
    cc_source(project, fake, monkeypatch)
    dataset(project, "- not_empty: {}")
    code, doc = project.run_json()
    assert code == 0 and by_check(doc)["not_empty"]["observed"] == 4500
    assert fake.counts["token"] == 1

    cc_source(project, fake, monkeypatch, secret="not-the-right-secret")
    code, doc = project.run_json()
    (result,) = doc["results"]
    assert code == 3 and result["status"] == "error"
    assert result["diagnosis"]["cause"] == "permission"
    assert "login failed" in result["diagnosis"]["message"] and "invalid_client" in result["diagnosis"]["message"]
    assert "not-the-right-secret" not in json.dumps(doc)


def test_a_401_then_logging_in_again_reads_everything(project, org, monkeypatch, keys):
    fake = org(expire_once=True)
    jwt_source(project, fake, monkeypatch, keys)
    dataset(project, "- not_empty: {}")
    code, doc = project.run_json()
    assert code == 0 and by_check(doc)["not_empty"]["observed"] == 4500
    assert fake.counts["401"] == 1 and fake.counts["token"] == 2  # refused once, logged in again, went on


def test_a_401_that_persists_is_an_error_result(project, org, monkeypatch, keys):
    fake = org(reject_all=True)
    jwt_source(project, fake, monkeypatch, keys)
    dataset(project, "- not_empty: {}\n- schema: {}")
    code, doc = project.run_json()
    assert code == 3
    for result in doc["results"]:
        assert result["status"] == "error" and result["diagnosis"]["cause"] == "permission"
        assert "401 INVALID_SESSION_ID" in result["diagnosis"]["message"]
        assert "Traceback" not in result["diagnosis"]["message"]
    assert 2 <= fake.counts["token"] <= 5 and fake.counts["query"] == 0  # re-login tried, bounded, no data read


def test_a_query_that_does_not_answer_times_out(project, org, monkeypatch, keys):
    fake = org(stall_queries=True)
    jwt_source(project, fake, monkeypatch, keys, extra="timeout: 0.3")
    dataset(project, "- not_empty: {}")
    code, doc = project.run_json()
    (result,) = doc["results"]
    assert code == 3 and result["status"] == "error"
    assert result["diagnosis"]["cause"] == "timeout"
    assert "did not answer in time while reading Opportunity" in result["diagnosis"]["message"]


def test_a_field_that_does_not_exist_is_a_located_error(project, org, monkeypatch, keys):
    fake = org()
    jwt_source(project, fake, monkeypatch, keys)
    dataset(project, "- not_empty: {}", options="fields:\n  - Id\n  - Name\n  - Amout\n")
    lines = (project.root / "checks/deals.yaml").read_text().splitlines()
    line = lines.index("      - Amout") + 1
    code, doc = project.run_json()
    (result,) = doc["results"]
    assert code == 3 and result["status"] == "error"
    assert result["diagnosis"]["message"].endswith(
        f"deals.yaml:{line}: datasets[0].fields[2]: Opportunity has no field 'Amout' (did you mean 'Amount'?)"
    )
    assert fake.counts["query"] == 0  # nothing was read


def test_an_invalid_field_refused_by_salesforce_is_an_error_not_an_empty_table(project, org, monkeypatch, keys):
    fake = org()
    jwt_source(project, fake, monkeypatch, keys)
    dataset(project, "- not_empty: {}", options="where: \"Amout = 'x'\"")
    code, doc = project.run_json()
    (result,) = doc["results"]
    assert code == 3 and result["status"] == "error" and result["diagnosis"]["cause"] == "other"
    assert "400 INVALID_FIELD" in result["diagnosis"]["message"]


def test_an_unknown_object_is_a_missing_table(project, org, monkeypatch, keys):
    fake = org()
    jwt_source(project, fake, monkeypatch, keys)
    project.write(
        "checks/deals.yaml",
        "datasets:\n  - {name: deals, source: crm, table: Opportunty, key: Id, checks: [{not_empty: {}}]}\n",
    )
    _, doc = project.run_json()
    (result,) = doc["results"]
    assert result["status"] == "error" and result["diagnosis"]["cause"] == "missing_table"


def test_an_unreachable_org_is_an_error(project, monkeypatch, keys):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SF_SECRET", SECRET)
    project.config(
        f"""
        crm:
          type: salesforce
          production: {{domain: acme.my, consumer_key: k, consumer_secret: "${{SF_SECRET}}", api_root: "http://127.0.0.1:{port}"}}
        """
    )
    dataset(project, "- not_empty: {}")
    code, doc = project.run_json()
    (result,) = doc["results"]
    assert code == 3 and result["diagnosis"]["cause"] == "unreachable"


def test_where_reaches_the_soql(project, org, monkeypatch, keys):
    fake = org()
    jwt_source(project, fake, monkeypatch, keys)
    dataset(project, "- not_empty: {}", options="fields: [Name, Amount]\nwhere: \"StageName = 'Closed Won'\"")
    code, doc = project.run_json()
    assert fake.soql == ["SELECT Id, Name, Amount FROM Opportunity WHERE StageName = 'Closed Won'"]
    won = sum(1 for i in range(4500) if opportunity(i, NOW)["StageName"] == "Closed Won")
    assert code == 0 and by_check(doc)["not_empty"]["observed"] == won


HOSTILE = [
    'O\'Brien "quoted" 100% ; DROP TABLE t; --',
    "line one\nline two\r\nthree\ttab",
    "back\\slash %s %(name)s :param {} ''",
    "ünïcødé 名前 \u2028 😀",
    "",
]


def test_hostile_values_reach_duckdb_byte_exact(project, org, monkeypatch, keys):
    def hostile(i: int, rec: dict) -> None:
        rec["Name"] = HOSTILE[i]

    fake = org({"Opportunity": opportunities(len(HOSTILE), hostile)})
    jwt_source(project, fake, monkeypatch, keys)
    dataset(project, "- not_empty: {}", options="fields: [Name]")
    cfg = load_config(project.root / "config.yaml")
    source = open_source("crm", cfg)
    try:
        source.describe("Opportunity")
        t = source.table("Opportunity")
        rows = source.execute(sa.select(sa.column("Id"), sa.column("Name")).select_from(t))
        assert {r[0]: r[1] for r in rows} == {record_id("006", i): v for i, v in enumerate(HOSTILE)}
        picked = source.execute(sa.select(sa.column("Id")).select_from(t).where(sa.column("Name") == HOSTILE[0]))
        assert [r[0] for r in picked] == [record_id("006", 0)]
    finally:
        source.close()


def test_origin_by_another_key_column(project, org, monkeypatch, keys):
    fake = org({"Opportunity": opportunities(50)})
    jwt_source(project, fake, monkeypatch, keys)
    dataset(project, "- not_empty: {}", key="Name")
    source = open_source("crm", load_config(project.root / "config.yaml"))
    try:
        source.describe("Opportunity")
        found = source.origin_of("Opportunity", "Name", ["Deal 5", "Deal 7", "no such deal"])
    finally:
        source.close()
    assert set(found) == {"Deal 5", "Deal 7"}
    assert found["Deal 5"] == {
        "record": record_id("006", 5),
        "url": f"https://{INSTANCE}/lightning/r/Opportunity/{record_id('006', 5)}/view",
    }


def test_private_key_may_be_a_file(project, org, monkeypatch, keys):
    fake = org()
    (project.root / "keys").mkdir()
    (project.root / "keys/sf.pem").write_text(keys[0])
    monkeypatch.setenv("SF_KEY_PATH", "keys/sf.pem")
    project.config(
        f"""
        crm:
          type: salesforce
          production: {{username: {fake.username}, consumer_key: {fake.consumer_key}, private_key: "${{SF_KEY_PATH}}",
                        api_root: "{fake.api_root}"}}
        """
    )
    dataset(project, "- not_empty: {}")
    code, doc = project.run_json()
    assert code == 0 and by_check(doc)["not_empty"]["observed"] == 4500 and fake.counts["token"] == 1


def test_an_existing_session_is_used_as_given(project, org, monkeypatch):
    fake = org()
    monkeypatch.setenv("SF_SESSION", fake.issue())
    project.config(
        f"""
        crm:
          type: salesforce
          production: {{session_id: "${{SF_SESSION}}", instance_url: "https://{INSTANCE}", api_root: "{fake.api_root}"}}
        """
    )
    dataset(project, "- not_empty: {}")
    code, doc = project.run_json()
    assert code == 0 and by_check(doc)["not_empty"]["observed"] == 4500
    assert fake.counts["token"] == 0  # no login: the session was used as it is


def test_an_incomplete_login_is_a_clear_error(project, org):
    fake = org()
    project.config(
        f"""
        crm:
          type: salesforce
          production: {{username: bot@acme.example, consumer_key: k, api_root: "{fake.api_root}"}}
        """
    )
    dataset(project, "- not_empty: {}")
    code, doc = project.run_json()
    (result,) = doc["results"]
    assert code == 3 and result["diagnosis"]["cause"] == "config"
    assert result["diagnosis"]["message"] == (
        "sources.crm.production: JWT bearer login needs `username`, `consumer_key` and `private_key`"
    )
    assert sum(fake.counts.values()) == 0


def test_no_secret_in_results_logs_or_stored_rows(project, org, monkeypatch, keys, caplog):
    caplog.set_level(logging.DEBUG)
    good, refusing = org(), org(reject_all=True)
    secrets = [SECRET, keys[0], keys[0].splitlines()[1]]
    outputs = []
    for fake in (good, refusing):
        cc_source(project, fake, monkeypatch)
        dataset(project, EVERY_KIND)
        res = project.cli("run", "--json")
        outputs += [res.stdout, res.stderr]
        jwt_source(project, fake, monkeypatch, keys)
        res = project.cli("run", "--json")
        outputs += [res.stdout, res.stderr]
    tokens = {json.loads(b)["access_token"] for f in (good, refusing) for b in f.bodies if b"access_token" in b}
    assert tokens  # logins happened, so there were tokens to leak
    assert all(r["status"] == "error" for o in outputs[4::2] for r in json.loads(o)["results"])  # the refused runs
    with sqlite3.connect(project.root / "state.db") as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        stored = "\n".join(repr(row) for n in names for row in db.execute(f'SELECT * FROM "{n}"'))
    assert "permission" in stored and "Opportunity" in stored  # the rows were written
    for text in [*outputs, caplog.text, stored]:
        for secret in [*secrets, *tokens]:
            assert secret not in text


def test_fields_or_where_on_another_source_is_a_located_config_error(project):
    project.config('wh: {type: sql, url: "duckdb:///wh.duckdb"}')
    project.write(
        "checks/a.yaml",
        'datasets:\n  - name: a\n    source: wh\n    table: t\n    where: "x = 1"\n    checks: [{not_empty: {}}]\n',
    )
    res = project.cli("validate")
    assert res.exit_code == 2
    assert "checks/a.yaml:5: datasets[0].where: `where:` applies to salesforce sources only" in res.stderr


def test_batches_are_built_lazily_from_bounded_chunks():
    taken = []

    def records():
        for i in range(25):
            taken.append(i)
            yield {"Id": str(i), "n": i}

    cols = [stream.Column("Id", pa.string()), stream.Column("n", pa.int64())]
    it = stream.batches(records(), cols, rows=10)
    first = next(it)
    assert first.num_rows == 10 and len(taken) == 10  # nothing read ahead of the chunk being converted
    assert [b.num_rows for b in it] == [10, 5] and len(taken) == 25


class _Named(SqlSource):
    def __init__(self):
        super().__init__("stub", sa.create_engine("sqlite://"))
        self.calls = []

    def origin_of(self, table, key_column, keys):
        self.calls.append(keys)
        return {k: {"record": f"R{k}"} for k in keys if k != "3"}


def test_annotate_origins_marks_rows_and_mode_rows_with_one_lookup_per_result():
    from sentinel.results import CheckResult

    r = CheckResult("d", "c", "subschema", "fail", "error")
    r.evidence = {
        "rows": {"count": 2, "items": [{"key": 1}, {"key": 3}]},
        "modes": [{"rows": {"count": 1, "items": [{"key": 2}]}}],
    }
    plain = CheckResult("d", "n", "not_empty", "pass", "error")
    source = _Named()
    annotate_origins([r, plain], source, "t", "id")
    assert source.calls == [["1", "3", "2"]]
    assert r.evidence["rows"]["items"] == [{"key": 1, "origin": {"record": "R1"}}, {"key": 3}]
    assert r.evidence["modes"][0]["rows"]["items"] == [{"key": 2, "origin": {"record": "R2"}}]
    assert r.to_json()["evidence"]["rows"]["items"][0]["origin"] == {"record": "R1"}
