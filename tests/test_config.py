"""Config loading: typed models, located errors (file:line: path: message), lazy ${ENV} secrets."""

import json
import os
import subprocess
import sys

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
    kind = "checks/a.yaml:7: datasets[0].checks[1].volumes: unknown check kind 'volumes'; did you mean 'volume'?"
    assert kind in text
    assert "checks/a.yaml:11: datasets[1].schedule: day of week" in text
    assert "datasets[1].checks: List should have at least 1 item" in text
    # the unknown source is reported with the rest, at its own `source:` line
    assert "checks/a.yaml:3: datasets[0].source: unknown source 'nowhere' (known: warehouse)" in text
    assert len(found) == 7, found
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
    assert only.endswith("checks/a.yaml:3: datasets[0].source: unknown source 'nowhere' (known: warehouse)")


def test_malformed_yaml_has_a_line(project):
    project.write("config.yaml", BASE)
    project.write("checks/bad.yaml", "datasets:\n  - name: a\n    checks: [not_empty: {}\n")
    (msg,) = errors(project)
    assert "checks/bad.yaml:" in msg and "malformed YAML" in msg


def test_a_tab_is_named_at_its_line(project):
    """libyaml parses; a malformed file is parsed again by PyYAML for its clearer message."""
    project.write("config.yaml", BASE)
    project.write("checks/bad.yaml", "datasets:\n  - name: a\n\t  checks: []\n")
    (msg,) = errors(project)
    assert msg.endswith("checks/bad.yaml:3: malformed YAML: found character '\\t' that cannot start any token")


def test_a_control_character_or_bytes_that_are_not_utf8_are_located_errors(project):
    """Not tracebacks: `sentinel validate` reports them at their line with the config's other errors."""
    project.write("config.yaml", BASE)
    (project.root / "checks" / "ctl.yaml").write_bytes(b'datasets:\n  - name: "a\x01b"\n')
    (project.root / "checks" / "latin1.yaml").write_bytes(b"datasets:\n  - name: caf\xe9\n")
    assert sorted(e.rsplit("/", 1)[-1] for e in errors(project)) == [
        "ctl.yaml:2: malformed YAML: unacceptable character #x0001",
        "latin1.yaml:2: not UTF-8 text (byte 0xe9)",
    ]


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
    project.duckdb(
        """
        - expect: {type: expect_column_values_to_be_betwen, kwargs: {column: x}}
        - expect: {type: expect_column_values_to_be_between, kwargs: {column: x, min_val: 0}}
        - expect: {type: expect_column_values_to_be_between, kwargs: {min_value: 0}}
        """,
        table="t",
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
    project.write("checks/a.yaml", "datasets:\n  - {name: a, source: warehouse, table: t, checks: [{not_empty: {}}]}\n")
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
    assert "checks/a.yaml:2: datasets[0].checks[0].nope: unknown check kind 'nope'; known kinds: " in bad.stderr


ONE = "datasets:\n  - {name: a, source: warehouse, table: t, checks: [{not_empty: {}}]}\n"


def _process(project, *args: str, timeout: float = 60):
    """The real CLI in its own process: exit code, stdout and stderr as the user sees them."""
    cmd = [sys.executable, "-m", "sentinel", *args, "--config", str(project.root / "config.yaml")]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=project.root, timeout=timeout)


def test_a_bad_port_is_a_located_error_and_run_json_still_prints_one_document(project, monkeypatch):
    project.write(
        "config.yaml",
        """
        sources:
          warehouse: {type: sql, url: "duckdb:///wh.duckdb"}
          pg: {type: sql, url: "postgresql+psycopg://u@h:59x9/db"}
        state: "sqlite://x:y:z/state.db"
        """,
    )
    project.write("checks/a.yaml", ONE)
    text = "\n".join(errors(project))
    assert "config.yaml:3: sources.pg.url: not a valid URL: the port must be a number" in text
    assert "config.yaml:4: state: not a valid URL: the port must be a number" in text
    res = _process(project, "run", "--json")
    assert res.returncode == 2, res.stderr
    doc = json.loads(res.stdout)  # exactly one document, nothing else on stdout
    assert {(e["path"], e["line"]) for e in doc["errors"]} == {("sources.pg.url", 3), ("state", 4)}
    assert "config.yaml:3: sources.pg.url: not a valid URL" in res.stderr and "Traceback" not in res.stderr
    # a secret's own characters never break the parse: ${VAR}s are parsed as placeholders, even as the port
    project.write(
        "config.yaml",
        BASE + '  pg: {type: sql, url: "postgresql+psycopg://${PG_U}:${PG_PW}@${PG_HOST}:${PG_PORT}/db"}\n',
    )
    assert load_config(project.root / "config.yaml").main.sources["pg"].url.endswith("${PG_PORT}/db")


def test_a_missing_variable_of_a_source_in_use_is_a_configuration_error(project, monkeypatch):
    monkeypatch.delenv("SENTINEL_T_UNSET", raising=False)
    monkeypatch.delenv("SENTINEL_T_UNSET_2", raising=False)
    project.write(
        "config.yaml",
        """
        sources:
          warehouse: {type: sql, url: "duckdb:///wh.duckdb"}
          pg:
            type: sql
            url: "postgresql+psycopg://u:${SENTINEL_T_UNSET}@h/db"
          unused: {type: sql, url: "postgresql+psycopg://u:${SENTINEL_T_UNSET_2}@h/db"}
        """,
    )
    project.write("checks/a.yaml", "datasets:\n  - {name: a, source: pg, table: t, checks: [{not_empty: {}}]}\n")
    (only,) = errors(project)  # the unused source's variable is not asked for
    assert only.endswith("config.yaml:5: sources.pg.url: environment variable SENTINEL_T_UNSET is not set")
    res = project.cli("validate")
    assert res.exit_code == 2 and "config.yaml:5: sources.pg.url: environment variable SENTINEL_T_UNSET" in res.stderr
    res = project.cli("run")
    assert res.exit_code == 2 and "config.yaml:5: sources.pg.url: environment variable SENTINEL_T_UNSET" in res.stderr
    monkeypatch.setenv("SENTINEL_T_UNSET", "pw")
    assert load_config(project.root / "config.yaml").dataset("a").source == "pg"
    project.write("config.yaml", BASE + 'state: "postgresql+psycopg://u:${SENTINEL_T_UNSET_2}@h/db"\n')
    project.write("checks/a.yaml", ONE)
    (only,) = errors(project)
    assert only.endswith("config.yaml:3: state: environment variable SENTINEL_T_UNSET_2 is not set")


def test_a_glob_matching_nothing_or_no_datasets_at_all_is_an_error(project):
    project.write("config.yaml", BASE + "checks: [checks/*.yaml, chekcs/*.yml]\ncorrectors: [correctors/*.yaml]\n")
    project.write("checks/a.yaml", ONE)
    text = "\n".join(errors(project))
    assert "config.yaml:3: checks[1]: 'chekcs/*.yml' matches no file" in text
    assert "config.yaml:4: correctors[0]: 'correctors/*.yaml' matches no file" in text
    (project.root / "checks/a.yaml").unlink()
    project.write("config.yaml", "")  # empty: the default glob finds no checks file
    (only,) = errors(project)
    assert "no datasets declared (checks: checks/*.yaml)" in only
    project.write("config.yaml", BASE)
    project.write("checks/a.yaml", "datasets: []\n")
    res = project.cli("validate")
    assert res.exit_code == 2 and "no datasets declared" in res.stderr


def test_every_error_is_at_its_own_line_with_the_nearest_kind(project):
    project.write("config.yaml", BASE)
    project.write(
        "checks/a.yaml",
        """
        datasets:
          - name: a
            source: warehouse
            table: t
            checks:
              - not_emtpy: {}
          - name: b
            table: t
            source: nowhere
            checks: [{not_empty: {}}]
        """,
    )
    found = errors(project)
    assert [f.split("checks/a.yaml:", 1)[1] for f in found] == [
        "6: datasets[0].checks[0].not_emtpy: unknown check kind 'not_emtpy'; did you mean 'not_empty'?",
        "9: datasets[1].source: unknown source 'nowhere' (known: warehouse)",
    ]


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_yaml_aliases_are_bounded_and_a_recursive_one_is_located(project):
    project.write("config.yaml", BASE)
    project.write("checks/a.yaml", ONE)
    project.write("checks/bomb.yaml", BILLION_LAUGHS)
    res = _process(project, "validate", timeout=20)  # liveness: expanding it would take minutes and GBs
    assert res.returncode == 2, res.stderr
    assert "checks/bomb.yaml:5: aliases expand to more than 10,000 values" in res.stderr
    project.write("checks/bomb.yaml", "datasets:\n  - &a [*a]\n")
    res = _process(project, "validate", timeout=20)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "checks/bomb.yaml:2: an alias refers to the collection that contains it" in res.stderr
    # ordinary anchors and merges still load
    project.write(
        "checks/bomb.yaml",
        """
        common: &c {source: warehouse, table: t, checks: [{not_empty: {}}]}
        datasets:
          - {<<: *c, name: b}
          - {<<: *c, name: c}
        """,
    )
    (only,) = errors(project)  # the anchor's holder is an unknown top-level key, the datasets are fine
    assert "checks/bomb.yaml:1: common: unknown key 'common'" in only


def test_files_stay_under_the_folders_the_config_names(project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("id,password\n1,hunter2-secret\n")
    project.write("data/ok.csv", "id,amount\n1,5\n")
    project.write(
        "config.yaml",
        'sources:\n  files: {type: files, root: data}\nnotify: {default: ["console://", "outbox://../x.jsonl"]}\n',
    )
    project.write(
        "checks/a.yaml",
        f"""
        datasets:
          - {{name: up, source: files, table: ../../outside/secret.csv, checks: [{{not_empty: {{}}}}]}}
          - {{name: absolute, source: files, table: {outside}/secret.csv, checks: [{{not_empty: {{}}}}]}}
          - {{name: ok, source: files, table: ok.csv, checks: [{{not_empty: {{}}}}]}}
        """,
    )
    text = "\n".join(errors(project))
    assert "checks/a.yaml:2: datasets[0].table: '../../outside/secret.csv' is outside the source's root" in text
    assert "checks/a.yaml:3: datasets[1].table:" in text
    assert "config.yaml:3: notify.default[1]: 'outbox://../x.jsonl': the outbox file must be inside" in text
    # a symlink under the root that resolves outside it is refused when the source opens
    (project.root / "data" / "link.csv").symlink_to(outside / "secret.csv")
    project.write("config.yaml", "sources:\n  files: {type: files, root: data}\n")
    project.write(
        "checks/a.yaml",
        """
        datasets:
          - {name: link, source: files, table: "*.csv", checks: [{not_empty: {}}, {schema: {}}]}
        """,
    )
    code, doc = project.run_json()
    assert code == 3 and {r["status"] for r in doc["results"]} == {"error"}
    assert "link.csv resolves outside the source's root folder" in doc["results"][0]["diagnosis"]["message"]
    assert "hunter2" not in json.dumps(doc)
    (project.root / "data" / "link.csv").unlink()
    code, doc = project.run_json()
    assert code == 0, doc


def test_a_jitter_as_long_as_a_datasets_interval_is_one_error_at_the_jitter(project):
    """A run jittered past its next tick would count as that tick's: the jitter must be shorter than every
    interval, a cron's shortest gap included (`0,1 * * * *`: one minute)."""
    project.write("config.yaml", BASE + "daemon: {jitter: 60s}\n")
    many = "".join(
        f"  - {{name: d{i}, source: warehouse, table: t, schedule: every 1m, checks: [{{not_empty: {{}}}}]}}\n"
        for i in range(3)
    )
    project.write("checks/a.yaml", "datasets:\n" + many)
    (only,) = errors(project)
    expected = "daemon.jitter: must be shorter than every dataset's interval; 'd0' runs every 1m"
    assert only.endswith(f"config.yaml:3: {expected}")
    project.write("checks/a.yaml", "datasets:\n" + many.replace("every 1m", "every 61s"))
    load_config(project.root / "config.yaml")
    project.write(
        "checks/b.yaml",
        "datasets:\n  - {name: cron, source: warehouse, table: t, schedule: '0,1 * * * *', checks: [not_empty: {}]}\n",
    )
    (only,) = errors(project)
    assert only.endswith("daemon.jitter: must be shorter than every dataset's interval; 'cron' runs every 1m")
