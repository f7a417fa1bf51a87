"""The CLI contract (DESIGN §8): the run JSON document, exit codes, incident dedup over runs, the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest
from conftest import by_check, copy_demo


def warehouse(project, rows: int) -> None:
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute("CREATE OR REPLACE TABLE deals (id INTEGER, amount DOUBLE, updated_at TIMESTAMP)")
    if rows:
        con.execute(f"INSERT INTO deals SELECT range, range * 1.5, now()::TIMESTAMP FROM range({rows})")
    con.close()


@pytest.fixture
def deals(project):
    project.duckdb(
        """
        - not_empty: {}
        - expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, max_value: 100}}
          severity: warn
        """
    )
    return project


def test_json_document_shape(deals):
    warehouse(deals, 10)
    code, doc = deals.run_json()
    assert code == 0
    assert set(doc) == {"run_id", "started_at", "finished_at", "results", "incidents"}
    for r in doc["results"]:
        assert set(r) == {
            "dataset",
            "check",
            "kind",
            "status",
            "severity",
            "observed",
            "expected",
            "evidence",
            "diagnosis",
        }
    assert [r["kind"] for r in doc["results"]] == ["not_empty", "expect"]


def test_exit_codes_and_incident_dedup(deals):
    warehouse(deals, 0)
    code, doc = deals.run_json()
    assert code == 1
    (opened,) = doc["incidents"]
    assert opened["change"] == "opened" and opened["key"] == "deals/not_empty/empty"
    for _ in range(2):
        code, doc = deals.run_json()
        assert code == 1 and [(i["id"], i["change"]) for i in doc["incidents"]] == [(opened["id"], "updated")]
    listed = json.loads(deals.cli("incidents", "--json").stdout)
    assert [(i["id"], i["occurrences"]) for i in listed] == [(opened["id"], 3)]
    shown = deals.cli("show", str(opened["id"]), "--json")
    assert json.loads(shown.stdout)["events"][0]["event"] == "opened"

    warehouse(deals, 200)  # rows are back; amounts above 100 are only a warning
    code, doc = deals.run_json()
    res = by_check(doc)
    assert res["not_empty"]["status"] == "pass"
    assert res["expect_column_values_to_be_between(amount)"]["status"] == "warn"
    assert code == 0  # warnings do not fail the run
    changes = {(i["check"], i["change"]) for i in doc["incidents"]}
    assert ("not_empty", "resolved") in changes
    assert ("expect_column_values_to_be_between(amount)", "opened") in changes
    assert json.loads(deals.cli("incidents", "--json").stdout)[0]["severity"] == "warn"


def test_config_error_and_unknown_dataset_exit_2(deals):
    assert deals.cli("run", "--dataset", "nope").exit_code == 2
    deals.write("checks/deals.yaml", "datasets: [{name: deals}]\n")
    res = deals.cli("run", "--json")
    assert res.exit_code == 2 and json.loads(res.stdout)["errors"][0]["path"] == "datasets[0].source"


def test_could_not_measure_exit_3(deals):
    code, doc = deals.run_json()  # the warehouse file does not exist
    assert code == 3 and {r["status"] for r in doc["results"]} == {"error"}


def test_stdout_is_exactly_one_json_document_in_a_real_process(deals):
    warehouse(deals, 0)
    proc = subprocess.run(
        [sys.executable, "-m", "sentinel", "run", "--json", "--config", str(deals.root / "config.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)  # raises if anything else reached stdout
    assert doc["results"][0]["status"] == "fail"


def test_demo_runs_twice_from_a_copy_of_the_repo(tmp_path):
    copy_demo(tmp_path)
    env = {**os.environ, "COLUMNS": "200"}
    for _ in range(2):  # safe to run again
        proc = subprocess.run(
            [sys.executable, "-m", "sentinel", "demo", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 1, proc.stderr
        doc = json.loads(proc.stdout)
        failed = {(r["dataset"], r["check"]) for r in doc["results"] if r["status"] == "fail"}
        assert failed == {
            ("us_forecast_dec_v1", "not_empty"),
            ("us_forecast_dec_v1", "freshness"),
            ("pipeline_daily", "freshness"),
            ("pipeline_daily", "schema"),
            ("opportunities", "expect_column_values_to_be_between(amount)"),
            ("opportunities", "expect_column_values_to_be_in_set(currency)"),
            ("opportunities", "magnitude(amount)"),
            ("opportunities", "subschema(amount)"),
        }
        mag = {r["check"]: r for r in doc["results"]}["magnitude(amount)"]
        (deal,) = [i for i in mag["evidence"]["rows"]["items"] if i["key"] == "0060000777"]
        assert deal["diagnosis"]["k"] == 1 and deal["diagnosis"]["candidate"] == "1000000"
        sub = {r["check"]: r for r in doc["results"]}["subschema(amount)"]
        (mode,) = sub["evidence"]["modes"]
        assert (mode["label"], mode["count"], mode["factor"]["label"]) == ("USD", 25, "JPY")
        assert sub["evidence"]["new_values"]["items"] == [{"value": "CHF", "count": 2}]
        assert all(r["status"] == "pass" for r in doc["results"] if (r["dataset"], r["check"]) not in failed)
        assert {i["change"] for i in doc["incidents"]} == {"opened"}
    listed = subprocess.run(
        [sys.executable, "-m", "sentinel", "incidents", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert len(json.loads(listed.stdout)) == 8


def test_the_demo_prints_petes_request_and_one_request_for_the_yen_rows(tmp_path):
    """Issue 11 item 9: after the run the demo prints the request Pete gets (his sheet named as the origin, no
    API call) and the single grouped request about the yen rows; the outbox file holds them, and a second
    demo starts its outbox afresh."""
    copy_demo(tmp_path)
    env = {**os.environ, "COLUMNS": "200", "GOOGLE_SERVICE_ACCOUNT_JSON": "not-a-key: reading it would fail"}
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "sentinel", "demo"], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert proc.returncode == 1, proc.stderr
        out = proc.stdout
        pete = out[out.index("The request Pete gets") : out.index("The one request Sales Ops gets")]
        assert "Subject" not in pete and "[sentinel] us_forecast_dec_v1 is empty (REQ-1)" in pete
        assert "tab Forecast_US, range A1:F200, rows 2-40" in pete and "39 rows at the last good run" in pete
        assert "re-upload the sheet tab Forecast_US (rows 2-40)" in pete
        assert "could not" not in pete  # the origin is named, never read in the demo
        yen = out[out.index("The one request Sales Ops gets") :]
        for check in ("subschema(amount)", "magnitude(amount)", "expect_column_values_to_be_between(amount)"):
            assert f"opportunities/{check}/" in yen
        assert "candidate 223,600 (if JPY: / 150)" in yen  # 33,540,000 yen at the configured rate
        rows = [json.loads(x) for x in (tmp_path / ".sentinel" / "outbox.jsonl").read_text().splitlines()]
        requests = [r for r in rows if r["message"]["kind"] == "request"]
        assert len(requests) == len({r["idempotency_key"] for r in requests}) == 4  # no leftovers of the first demo
        (question,) = [r for r in rows if r["message"]["kind"] == "change"]  # the staged correction's yes/no
        assert question["idempotency_key"] == "request-2:cs1-approval:" + requests[0]["idempotency_key"].split(":")[2]
        assert "0060000777: amount 10,000,000 -> 1,000,000?" in question["message"]["text"]
        assert "approve 1" in out and "rollback 1" in out
        assert sum("yen" in r["text"] or "JPY" in r["text"] for r in requests) == 1
        assert all(r["text"] and r["html"].count("<") > 10 for r in requests)
