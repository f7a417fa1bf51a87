"""Config loading: typed models, located errors (file:line: path: message), lazy ${ENV} secrets."""

import os

import pytest

from sentinel.config import ConfigError, expand_env, load_config, resolve_url

BASE = """
sources:
  warehouse: {type: sql, url: "duckdb:///wh.duckdb"}
"""


def errors(project) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_config(project.root / "config.yaml")
    return [str(i) for i in exc.value.issues]


def test_loads_the_demo_config():
    cfg = load_config("config.yaml")
    assert {d.name for d in cfg.datasets} == {"us_forecast_dec_v1", "opportunities", "pipeline_daily"}
    assert cfg.dataset("opportunities").schedule.cron == "0 * * * mon,tue,wed,thu,fri"
    assert cfg.state_url.startswith("sqlite:////")  # made absolute against the config folder


def test_error_names_file_line_and_path(project):
    project.write("config.yaml", BASE)
    project.write(
        "checks/deals.yaml",
        """
        datasets:
          - name: deals
            source: warehouse
            table: deals
            checks:
              - not_empty: {}
              - freshness: {column: updated_at, max_age: 26h}
              - not_empty:
                  min_rows: 0
        """,
    )
    (only,) = errors(project)
    assert only.endswith("checks/deals.yaml:9: datasets[0].checks[2].not_empty.min_rows: must be > 0")


def test_every_error_is_reported_at_once_with_unknown_keys(project):
    project.write("config.yaml", BASE + "notfy: {}\n")
    project.write(
        "checks/a.yaml",
        """
        datasets:
          - name: a
            source: nowhere
            table: t
            checks:
              - freshness: {colum: x, max_age: 1h}
              - volumes: {}
          - name: b
            source: warehouse
            table: t
            schedule: "0 9 * * funday"
            checks: []
        """,
    )
    found = errors(project)
    text = "\n".join(found)
    assert "config.yaml:3: notfy: unknown key 'notfy'" in text
    assert "checks/a.yaml:6: datasets[0].checks[0].freshness.colum: unknown key 'colum'" in text
    assert "checks/a.yaml:6: datasets[0].checks[0].freshness.column: required" in text
    assert "checks/a.yaml:7: datasets[0].checks[1]: a check needs exactly one kind key" in text
    assert "checks/a.yaml:11: datasets[1].schedule: day of week" in text
    assert "datasets[1].checks: List should have at least 1 item" in text
    # the unknown source is a cross-file error, reported only once the files parse; fix the rest and it shows
    project.write(
        "checks/a.yaml",
        """
        datasets:
          - name: a
            source: nowhere
            table: t
            checks: [{not_empty: {}}]
        """,
    )
    project.write("config.yaml", BASE)
    (only,) = errors(project)
    assert only.endswith("checks/a.yaml:2: datasets[0].source: unknown source 'nowhere' (known: warehouse)")


def test_malformed_yaml_has_a_line(project):
    project.write("config.yaml", BASE)
    project.write("checks/bad.yaml", "datasets:\n  - name: a\n    checks: [not_empty: {}\n")
    (msg,) = errors(project)
    assert "checks/bad.yaml:" in msg and "malformed YAML" in msg


def test_duplicate_keys_and_names(project):
    project.write("config.yaml", BASE)
    project.write(
        "checks/a.yaml",
        """
        datasets:
          - name: a
            source: warehouse
            table: t
            table: u
            checks: [{not_empty: {}}]
        """,
    )
    assert "duplicate key 'table'" in errors(project)[0]
    project.write(
        "checks/a.yaml",
        """
        datasets:
          - {name: a, source: warehouse, table: t, checks: [{not_empty: {}}, {not_empty: {min_rows: 2}}]}
        """,
    )
    assert "two checks are both named 'not_empty'" in errors(project)[0]
    project.write(
        "checks/b.yaml",
        """
        datasets:
          - {name: a, source: warehouse, table: u, checks: [{not_empty: {}}]}
        """,
    )
    project.write(
        "checks/a.yaml",
        """
        datasets:
          - {name: a, source: warehouse, table: t, checks: [{not_empty: {}}]}
        """,
    )
    (only,) = errors(project)
    assert "checks/b.yaml:2: datasets[0].name: dataset 'a' is already declared at" in only
    assert only.endswith("checks/a.yaml:2")


def test_expect_names_and_kwargs_are_checked_without_gx(project):
    project.write("config.yaml", BASE)
    project.write(
        "checks/a.yaml",
        """
        datasets:
          - name: a
            source: warehouse
            table: t
            checks:
              - expect: {type: expect_column_values_to_be_betwen, kwargs: {column: x}}
              - expect: {type: expect_column_values_to_be_between, kwargs: {column: x, min_val: 0}}
              - expect: {type: expect_column_values_to_be_between, kwargs: {min_value: 0}}
        """,
    )
    text = "\n".join(errors(project))
    assert "did you mean 'expect_column_values_to_be_between'" in text
    assert "has no kwarg 'min_val'" in text
    assert "expect.kwargs.column: required" in text


def test_numeric_weekday_is_translated_not_misread(project):
    project.write("config.yaml", BASE)
    project.write(
        "checks/a.yaml",
        """
        datasets:
          - {name: a, source: warehouse, table: t, schedule: "0 6 * * 0", checks: [{not_empty: {}}]}
        """,
    )
    assert load_config(project.root / "config.yaml").dataset("a").schedule.cron == "0 6 * * sun"


def test_env_is_resolved_only_at_use(project, monkeypatch):
    project.write(
        "config.yaml",
        """
        sources:
          warehouse: {type: sql, url: "duckdb:///wh.duckdb"}
          crm:
            type: salesforce
            production: {domain: login, username: "${SF_USER_NOT_SET}"}
        """,
    )
    cfg = load_config(project.root / "config.yaml")  # the unused secret is not an error
    assert cfg.main.sources["crm"].production.username == "${SF_USER_NOT_SET}"
    monkeypatch.setenv("WH_PATH", "data/wh.duckdb")
    assert resolve_url("duckdb:///${WH_PATH}", project.root).endswith(str(project.root / "data/wh.duckdb"))
    with pytest.raises(Exception, match="SF_USER_NOT_SET is not set"):
        expand_env(cfg.main.sources["crm"].production.username, "sources.crm.production.username")
    assert "SF_USER_NOT_SET" not in os.environ


def test_validate_command_exit_codes(project):
    project.write("config.yaml", BASE)
    project.write("checks/a.yaml", "datasets:\n  - {name: a, source: warehouse, table: t, checks: [{not_empty: {}}]}\n")
    ok = project.cli("validate")
    assert ok.exit_code == 0 and "1 dataset(s)" in ok.stdout
    project.write("checks/a.yaml", "datasets:\n  - {name: a, source: warehouse, table: t, checks: [{nope: {}}]}\n")
    bad = project.cli("validate")
    assert bad.exit_code == 2
    assert "checks/a.yaml:2: datasets[0].checks[0]: a check needs exactly one kind key" in bad.stderr
