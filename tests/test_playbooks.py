"""Playbooks (correctors/*.yaml) are validated like checks, every error located as file:line: path: message,
and `playbook_for` is the one function that picks the playbook for an incident (none: notify_owner)."""

import pytest

from sentinel.config import ConfigError, check_allowance, load_config
from sentinel.correctors import playbook_for

CONFIG = """
sources:
  warehouse: {type: sql, url: "duckdb:///wh.duckdb"}
  crm:
    type: salesforce
    production: {session_id: prod-session, instance_url: "https://acme.my.salesforce.com"}
    staging: {session_id: sandbox-session, instance_url: "https://acme--staging.sandbox.my.salesforce.com"}
  crm_nosandbox:
    type: salesforce
    production: {session_id: prod-session, instance_url: "https://acme.my.salesforce.com"}
  sheet: {type: gsheets, token: tok, spreadsheet: prod-key, staging_spreadsheet: staging-key}
  sheet_nostaging: {type: gsheets, token: tok, spreadsheet: prod-key}
  lake_files: {type: files, root: data}
"""

CHECKS = """
datasets:
  - name: deals
    source: warehouse
    table: deals
    key: id
    checks:
      - not_empty: {}
      - freshness: {column: updated_at, max_age: 1d}
      - magnitude: {column: amount, group_by: [product]}
      - magnitude: {column: seats, name: seat_magnitude}
  - name: sf_deals
    source: crm
    table: Opportunity
    key: Id
    fields: [Id, Amount, CloseDate]
    checks:
      - magnitude: {column: Amount}
"""

PB = "correctors/playbooks.yaml"


@pytest.fixture(autouse=True)
def _in_project(project, monkeypatch):
    monkeypatch.chdir(project.root)  # errors name files relative to the working directory


def write(project, playbooks: str, name: str = PB) -> None:
    project.write("config.yaml", CONFIG)
    project.write("checks/deals.yaml", CHECKS)
    project.write(name, playbooks)


def errors(project) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_config(project.root / "config.yaml")
    return [str(i) for i in exc.value.issues]


def at(found: list[str], line: int, path: str, file: str = PB) -> str:
    """The message of the one error located at `file:line: path`."""
    prefix = f"{file}:{line}: {path}: "
    hits = [e.split(prefix, 1)[1] for e in found if prefix in e]
    assert len(hits) == 1, (prefix, found)
    return hits[0]


VALID = """
playbooks:
  - name: fat-finger-amounts
    when: {dataset: deals, check: magnitude, cause: magnitude}
    action: stage_fix
    target: warehouse
    allow: {fields: [amount], max_rows: 5}
    priority: 10
    after_promote: {rerun: [dbt, build, -s, deals]}
  - name: seats-by-hand
    when: {dataset: deals, check: seat_magnitude}
    priority: 5
  - name: empty-deals
    when: {dataset: deals, cause: empty}
  - name: sf-amounts
    when: {dataset: sf_deals, cause: magnitude}
    action: stage_fix
    target: crm
    allow: {object: Opportunity, fields: [Amount]}
    promote: auto
    after_promote: {webhook: "https://ci.example/hooks/sf"}
"""


def test_a_valid_set_loads_with_cause_priority_and_typed_after_promote(project):
    write(project, VALID)
    cfg = load_config(project.root / "config.yaml")
    by_name = {pb.name: pb for pb in cfg.playbooks}
    assert by_name["fat-finger-amounts"].after_promote.rerun == ["dbt", "build", "-s", "deals"]
    assert by_name["fat-finger-amounts"].priority == 10
    assert by_name["sf-amounts"].after_promote.webhook == "https://ci.example/hooks/sf"
    assert by_name["empty-deals"].when.cause == "empty"


def test_playbook_for_picks_by_dataset_check_cause_and_priority(project):
    write(project, VALID)
    cfg = load_config(project.root / "config.yaml")

    def name(dataset, check, cause):
        pb = playbook_for(cfg, dataset, check, cause)
        return None if pb is None else pb.name

    # `check: magnitude` (a kind) covers both magnitude checks; on seat_magnitude the higher priority wins
    assert name("deals", "magnitude(amount)", "magnitude") == "fat-finger-amounts"
    assert name("deals", "seat_magnitude", "magnitude") == "fat-finger-amounts"
    assert name("deals", "seat_magnitude", "unmeasurable") == "seats-by-hand"  # no cause: every cause
    assert name("deals", "not_empty", "empty") == "empty-deals"  # no check: every check
    assert name("deals", "not_empty", "too_few_rows") is None  # nothing matches: notify_owner
    assert name("deals", "freshness", "stale") is None
    assert name("sf_deals", "magnitude(Amount)", "magnitude") == "sf-amounts"
    assert name("nosuch", "not_empty", "empty") is None


def test_priority_order_decides_not_declaration_order(project):
    write(
        project,
        """
        playbooks:
          - name: low
            when: {dataset: deals}
            priority: 1
          - name: high
            when: {dataset: deals, check: not_empty}
            priority: 2
        """,
    )
    cfg = load_config(project.root / "config.yaml")
    assert playbook_for(cfg, "deals", "not_empty", "empty").name == "high"
    assert playbook_for(cfg, "deals", "freshness", "stale").name == "low"


def test_unknown_cause_names_the_causes_the_checks_can_report(project):
    write(
        project,
        """
        playbooks:
          - name: a
            when: {dataset: deals, check: freshness, cause: empty}
          - name: b
            when: {dataset: deals, cause: magnitud}
        """,
    )
    found = errors(project)
    assert at(found, 3, "playbooks[0].when.cause") == (
        "check 'freshness' never reports cause 'empty' (known: stale, no_data)"
    )
    message = at(found, 5, "playbooks[1].when.cause")
    assert message.startswith("dataset 'deals' never reports cause 'magnitud' (known: ")
    assert {"empty", "too_few_rows", "stale", "no_data", "magnitude"} <= set(
        message[:-1].split("known: ")[1].split(", ")
    )
    assert len(found) == 2


def test_every_check_kind_declares_the_causes_it_reports():
    from sentinel.checks import KINDS

    for kind, module in KINDS.items():
        assert module.CAUSES and all(isinstance(c, str) for c in module.CAUSES), kind


def test_duplicate_names_across_files(project):
    write(project, "playbooks:\n  - name: same\n    when: {dataset: deals, check: not_empty}\n")
    project.write(
        "correctors/more.yaml",
        "playbooks:\n  - name: x\n    when: {dataset: deals, check: freshness}\n"
        "  - name: same\n    when: {dataset: sf_deals}\n",
    )
    found = errors(project)
    # files load in sorted order: more.yaml first
    assert at(found, 2, "playbooks[0].name") == ("playbook 'same' is already declared at correctors/more.yaml:4")
    assert len(found) == 1


def test_two_playbooks_matching_one_incident_is_an_error_naming_both(project):
    write(
        project,
        """
        playbooks:
          - name: amounts
            when: {dataset: deals, check: "magnitude(amount)"}
          - name: all-magnitudes
            when: {dataset: deals, check: magnitude, cause: magnitude}
          - name: stale
            when: {dataset: deals, check: freshness, cause: stale}
          - name: no-data
            when: {dataset: deals, check: freshness, cause: no_data}
        """,
    )
    (only,) = errors(project)
    assert only == (
        f"{PB}:5: playbooks[1].when: playbooks 'amounts' ({PB}:2) and 'all-magnitudes' can both match one "
        "incident of deals (magnitude(amount)); narrow `when:` or give both a distinct `priority:`"
    )


def test_equal_or_one_sided_priorities_are_errors_too(project):
    write(
        project,
        """
        playbooks:
          - name: a
            when: {dataset: deals}
            priority: 3
          - name: b
            when: {dataset: deals, check: not_empty}
            priority: 3
          - name: c
            when: {dataset: deals, check: freshness}
        """,
    )
    found = errors(project)
    assert "their priorities are equal" in at(found, 7, "playbooks[1].priority")
    assert "playbooks 'a' (correctors/playbooks.yaml:2) and 'c'" in at(found, 9, "playbooks[2].when")
    assert len(found) == 2


def test_stage_fix_needs_fields_and_a_target_with_staging(project):
    write(
        project,
        """
        playbooks:
          - name: no-fields
            when: {dataset: deals, check: not_empty}
            action: stage_fix
            target: warehouse
            allow: {fields: [], max_rows: 2}
          - name: no-sandbox
            when: {dataset: deals, check: freshness}
            action: stage_fix
            target: crm_nosandbox
            allow: {object: Opportunity, fields: [Amount]}
          - name: no-staging-sheet
            when: {dataset: deals, check: seat_magnitude}
            action: stage_fix
            target: sheet_nostaging
            allow: {fields: [seats]}
          - name: files
            when: {dataset: deals, check: "magnitude(amount)"}
            action: stage_fix
            target: lake_files
            allow: {fields: [amount]}
          - name: sheet-ok
            when: {dataset: sf_deals}
            action: stage_fix
            target: sheet
            allow: {fields: [Amount]}
        """,
    )
    found = errors(project)
    assert at(found, 6, "playbooks[0].allow.fields").startswith("stage_fix needs `fields:`")
    assert at(found, 10, "playbooks[1].target") == (
        "stage_fix cannot write to 'crm_nosandbox': it has no `staging:` org (a sandbox) to try the fix in first"
    )
    assert "has no `staging_spreadsheet:`" in at(found, 15, "playbooks[2].target")
    assert "is a files source, which Sentinel never writes" in at(found, 20, "playbooks[3].target")
    assert len(found) == 4


def test_allow_fields_are_checked_offline_against_the_declared_salesforce_fields(project):
    write(
        project,
        """
        playbooks:
          - name: sf
            when: {dataset: sf_deals}
            action: stage_fix
            target: crm
            allow: {object: Opportunity, fields: [amount, Amout, StageName]}
        """,
    )
    found = errors(project)
    assert at(found, 6, "playbooks[0].allow.fields[1]") == (
        "'Amout' is not a field the datasets read from Opportunity; did you mean 'Amount'?"
    )
    assert at(found, 6, "playbooks[0].allow.fields[2]").startswith("'StageName' is not a field")
    assert len(found) == 2  # `amount`: Salesforce field names are case-insensitive


def test_promote_auto_allow_target_and_after_promote_only_with_stage_fix(project):
    write(
        project,
        """
        playbooks:
          - name: ask
            when: {dataset: deals, check: not_empty}
            action: notify_owner
            target: warehouse
            allow: {fields: [amount]}
            promote: auto
          - name: retry
            when: {dataset: deals, check: freshness}
            action: retry
            after_promote: {rerun: [dbt, build]}
        """,
    )
    found = errors(project)
    assert at(found, 5, "playbooks[0].target") == "notify_owner writes nothing: remove `target:`"
    assert at(found, 6, "playbooks[0].allow") == "`allow:` applies to stage_fix only (action is notify_owner)"
    assert at(found, 7, "playbooks[0].promote") == "`promote: auto` applies to stage_fix only (action is notify_owner)"
    assert at(found, 11, "playbooks[1].after_promote").startswith("`after_promote:` applies to stage_fix only")
    assert len(found) == 4


def test_after_promote_is_an_argv_or_a_webhook_and_nothing_else(project):
    write(
        project,
        """
        playbooks:
          - name: a
            when: {dataset: deals, check: not_empty}
            action: stage_fix
            target: warehouse
            allow: {fields: [amount]}
            after_promote: {run: "dbt build && curl evil"}
          - name: b
            when: {dataset: deals, check: freshness}
            action: stage_fix
            target: warehouse
            allow: {fields: [amount]}
            after_promote: {rerun: []}
          - name: c
            when: {dataset: deals, check: seat_magnitude}
            action: stage_fix
            target: warehouse
            allow: {fields: [seats]}
            after_promote: {webhook: "file:///etc/passwd"}
          - name: d
            when: {dataset: deals, check: "magnitude(amount)"}
            action: stage_fix
            target: warehouse
            allow: {fields: [amount]}
            after_promote: {rerun: "dbt build"}
        """,
    )
    found = errors(project)
    assert at(found, 7, "playbooks[0].after_promote.run") == "unknown key 'run'"
    assert at(found, 13, "playbooks[1].after_promote.rerun").startswith("List should have at least 1 item")
    assert at(found, 19, "playbooks[2].after_promote.webhook").startswith("must be an http(s) URL")
    assert at(found, 25, "playbooks[3].after_promote.rerun") == "Input should be a valid list"


def test_several_errors_across_files_are_reported_at_once(project):
    write(
        project,
        """
        playbooks:
          - name: a
            when: {dataset: nosuch}
          - name: b
            when: {dataset: deals, check: not_empty, cause: stale}
            promote: auto
        """,
    )
    project.write("correctors/z.yaml", "playbooks:\n  - name: a\n    when: {dataset: deals, check: nosuch}\n")
    found = errors(project)
    assert at(found, 3, "playbooks[0].when.dataset") == "unknown dataset 'nosuch'"
    assert "never reports cause 'stale'" in at(found, 5, "playbooks[1].when.cause")
    assert "`promote: auto` applies to stage_fix only" in at(found, 6, "playbooks[1].promote")
    assert at(found, 2, "playbooks[0].name", "correctors/z.yaml") == f"playbook 'a' is already declared at {PB}:2"
    assert at(found, 3, "playbooks[0].when.check", "correctors/z.yaml") == "dataset 'deals' has no check 'nosuch'"
    assert len(found) == 5


def test_check_allowance_names_a_column_the_target_lacks(project):
    write(
        project,
        """
        playbooks:
          - name: fix
            when: {dataset: deals, check: "magnitude(amount)"}
            action: stage_fix
            target: warehouse
            allow: {fields: [amount, sets]}
        """,
    )
    cfg = load_config(project.root / "config.yaml")  # a sql target is described only at run time
    (pb,) = cfg.playbooks
    columns = {"id": "VARCHAR", "amount": "DOUBLE", "seats": "INTEGER", "updated_at": "TIMESTAMP"}
    assert check_allowance(cfg, pb, columns) == [
        f"{PB}:6: playbooks[0].allow.fields[1]: 'sets' is not a column of deals (warehouse); did you mean 'seats'?"
    ]
    assert check_allowance(cfg, pb, {**columns, "sets": "INTEGER"}) == []


def test_check_allowance_on_salesforce_ignores_case_as_the_api_does(project):
    write(
        project,
        """
        playbooks:
          - name: sf
            when: {dataset: sf_deals}
            action: stage_fix
            target: crm
            allow: {object: Account, fields: [annualrevenue, NumberOfEmployes]}
        """,
    )
    cfg = load_config(project.root / "config.yaml")  # no dataset reads Account: described at run time
    (pb,) = cfg.playbooks
    described = {"Id": "id", "AnnualRevenue": "currency", "NumberOfEmployees": "int"}
    assert check_allowance(cfg, pb, described) == [
        f"{PB}:6: playbooks[0].allow.fields[1]: 'NumberOfEmployes' is not a column of Account (crm); "
        "did you mean 'NumberOfEmployees'?"
    ]
