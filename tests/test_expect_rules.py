"""Expectations that cannot mean anything are configuration errors, located to the kwarg (GX's own test
definitions expect an error for each); bounds whose type does not suit the column are `error` results."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from backends import make
from conftest import by_check

from sentinel.config import ConfigError, load_config

BASE = """
sources:
  warehouse: {type: sql, url: "duckdb:///wh.duckdb"}
"""

BAD = """
datasets:
  - name: a
    source: warehouse
    table: t
    checks:
      - expect: {type: expect_column_values_to_not_be_in_set, kwargs: {column: cat}}
      - expect: {type: expect_column_values_to_be_in_set, kwargs: {column: cat}}
      - expect: {type: expect_column_values_to_be_between, kwargs: {column: x, min_value: 5, max_value: 1}}
      - expect: {type: expect_table_row_count_to_be_between, kwargs: {min_value: 10, max_value: 1}}
      - expect: {type: expect_column_mean_to_be_between, kwargs: {column: x, min_value: 5, max_value: 1}}
      - expect: {type: expect_column_median_to_be_between, kwargs: {column: x}}
      - expect:
          type: expect_column_quantile_values_to_be_between
          kwargs:
            column: x
            quantile_ranges: {quantiles: [0.1, 0.9], value_ranges: [[0, 5], [30, 20]]}
      - expect: {type: expect_column_max_to_be_between, kwargs: {column: x, max_value: "s"}}
      - expect: {type: expect_column_values_to_not_be_null, kwargs: {column: x, mostly: 1.5}}
      - expect: {type: expect_table_row_count_to_equal, kwargs: {}}
      - expect: {type: expect_column_values_to_match_regex, kwargs: {column: cat}}
      - expect: {type: expect_column_distinct_values_to_be_in_set, kwargs: {column: cat, value_set: []}}
      - expect: {type: expect_column_min_to_be_between,
                 kwargs: {column: d, min_value: 2026-12-01, max_value: 2026-01-01}}
"""

EXPECTED = [
    "checks/a.yaml:6: datasets[0].checks[0].expect.kwargs.value_set: required",
    "checks/a.yaml:7: datasets[0].checks[1].expect.kwargs.value_set: required",
    "checks/a.yaml:8: datasets[0].checks[2].expect.kwargs.min_value: min_value (5) must be less than or equal to "
    "max_value (1)",
    "checks/a.yaml:9: datasets[0].checks[3].expect.kwargs.min_value: min_value (10) must be less than or equal",
    "checks/a.yaml:10: datasets[0].checks[4].expect.kwargs.min_value: min_value (5) must be less than or equal",
    "checks/a.yaml:11: datasets[0].checks[5].expect.kwargs: needs min_value, max_value or both",
    "checks/a.yaml:16: datasets[0].checks[6].expect.kwargs.quantile_ranges.value_ranges[1]: is out of order: "
    "min 30 > max 20",
    "checks/a.yaml:17: datasets[0].checks[7].expect.kwargs.max_value: must be a number or an ISO 8601 date, got 's'",
    "checks/a.yaml:18: datasets[0].checks[8].expect.kwargs.mostly: must be a number between 0 and 1, got 1.5",
    "checks/a.yaml:19: datasets[0].checks[9].expect.kwargs.value: required",
    "checks/a.yaml:20: datasets[0].checks[10].expect.kwargs.regex: required",
    "checks/a.yaml:21: datasets[0].checks[11].expect.kwargs.value_set: must not be empty",
    "checks/a.yaml:23: datasets[0].checks[12].expect.kwargs.min_value: min_value (2026-12-01) must be less than or "
    "equal to max_value (2026-01-01)",
]


def test_meaningless_expectations_are_located_config_errors(project):
    project.write("config.yaml", BASE)
    project.write("checks/a.yaml", BAD)
    with pytest.raises(ConfigError) as exc:
        load_config(project.root / "config.yaml")
    found = [str(i) for i in exc.value.issues]
    for want in EXPECTED:
        assert any(want in f for f in found), (want, found)
    assert len(found) == len(EXPECTED), found
    # the CLI: validate lists them all; run measures nothing rather than pass a check without its value_set
    validate = project.cli("validate")
    assert validate.exit_code == 2 and validate.stderr.count("datasets[0].checks[") == len(EXPECTED)
    run = project.cli("run", "--json")
    assert run.exit_code == 2 and "kwargs.value_set: required" in run.stderr
    errors = json.loads(run.stdout)["errors"]  # under --json the same errors, as one document
    assert len(errors) == len(EXPECTED) and all(e["file"].endswith("a.yaml") and e["line"] for e in errors)


def test_suite_files_follow_the_same_rules(project):
    suite = {
        "expectations": [
            {"type": "expect_column_values_to_not_be_in_set", "kwargs": {"column": "cat"}},
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "x", "min_value": 5, "max_value": 1}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}},
        ]
    }
    project.write("suites/s.json", json.dumps(suite))
    project.write("config.yaml", BASE)
    entry = "{name: a, source: warehouse, table: t, checks: [{expect_suite: suites/s.json}]}"
    project.write("checks/a.yaml", f"datasets:\n  - {entry}\n")
    with pytest.raises(ConfigError) as exc:
        load_config(project.root / "config.yaml")
    (issue,) = [str(i) for i in exc.value.issues]
    assert "checks/a.yaml:2: datasets[0].checks[0].expect_suite:" in issue
    assert "expectations[0].kwargs.value_set: required" in issue
    assert "expectations[1].kwargs.min_value: min_value (5) must be less than or equal to max_value (1)" in issue
    assert "expectations[2]" not in issue


def test_sensible_expectations_still_load(project):
    project.duckdb(
        """
        - expect: {type: expect_column_values_to_not_be_in_set, kwargs: {column: cat, value_set: []}}
        - expect: {type: expect_column_values_to_be_between, kwargs: {column: x, min_value: 1, max_value: 1}}
        - expect: {type: expect_table_row_count_to_be_between, kwargs: {min_value: 1}}
        - expect: {type: expect_column_max_to_be_between, kwargs: {column: d, max_value: "2026-01-01T00:00"}}
        - expect: {type: expect_column_mean_to_be_between, kwargs: {column: x, max_value: "12.5"}}
        - expect:
            type: expect_column_quantile_values_to_be_between
            kwargs: {column: x, quantile_ranges: {quantiles: [0.5], value_ranges: [[null, 3]]}}
        """,
        table="t",
    )
    assert len(load_config(project.root / "config.yaml").datasets[0].checks) == 6


@pytest.fixture(params=["duckdb", "postgresql"])
def wh(request, tmp_path):
    pg = request.getfixturevalue("pg_schema") if request.param == "postgresql" else None
    return make(request.param, tmp_path, pg)


def test_bounds_of_the_wrong_type_for_the_column_are_errors(project, wh):
    now = dt.datetime(2026, 11, 30, 12, 0)
    wh.deals([(i, "rep", 10.0 * i, "USD", now) for i in range(1, 11)])
    project.dataset(
        wh,
        """
        - not_empty: {}
        - expect: {type: expect_column_max_to_be_between, kwargs: {column: amount, max_value: "2026-01-01"}}
        - expect: {type: expect_column_min_to_be_between, kwargs: {column: updated_at, min_value: 5}}
        - expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 2026-01-01}}
        """,
    )
    code, doc = project.run_json()
    res = by_check(doc)
    assert res["not_empty"]["status"] == "pass"
    on_amount = res["expect_column_max_to_be_between(amount)"]
    assert on_amount["status"] == "error" and on_amount["diagnosis"]["cause"] == "wrong_type"
    assert "max_value '2026-01-01' is a date, but column 'amount' is" in on_amount["diagnosis"]["message"]
    assert on_amount["diagnosis"]["message"].endswith("bounds must be numbers here")
    on_time = res["expect_column_min_to_be_between(updated_at)"]
    assert on_time["status"] == "error" and "min_value 5 is a number" in on_time["diagnosis"]["message"]
    assert res["expect_column_values_to_be_between(amount)"]["status"] == "error"
    assert code == 3


# (type, kwargs) pairs; GX's own models are the oracle for which are refused
CASES = [
    ("expect_column_values_to_not_be_in_set", {"column": "x"}),
    ("expect_column_values_to_not_be_in_set", {"column": "x", "value_set": []}),
    ("expect_column_values_to_be_in_set", {"column": "x"}),
    ("expect_column_values_to_be_in_set", {"column": "x", "value_set": [1], "mostly": 1.5}),
    ("expect_column_values_to_be_in_set", {"column": "x", "value_set": [1], "mostly": 0.5}),
    ("expect_column_distinct_values_to_be_in_set", {"column": "x", "value_set": []}),
    ("expect_column_values_to_be_between", {"column": "x"}),
    ("expect_column_values_to_be_between", {"column": "x", "min_value": "s"}),
    ("expect_column_values_to_be_between", {"column": "x", "min_value": 1, "max_value": 2}),
    ("expect_column_values_to_be_between", {"column": "x", "min_value": "2026-01-01"}),
    ("expect_column_mean_to_be_between", {"column": "x", "max_value": "s"}),
    ("expect_column_mean_to_be_between", {"column": "x", "max_value": 3}),
    ("expect_table_row_count_to_be_between", {"min_value": 5, "max_value": 1}),
    ("expect_table_row_count_to_be_between", {"min_value": 1, "max_value": 5}),
    ("expect_table_row_count_to_equal", {}),
    ("expect_table_row_count_to_equal", {"value": 3}),
    ("expect_column_value_lengths_to_be_between", {"column": "x"}),
    ("expect_column_values_to_match_like_pattern", {"column": "x"}),
    ("expect_column_value_z_scores_to_be_less_than", {"column": "x", "threshold": 3}),
    ("expect_column_pair_values_to_be_in_set", {"column_A": "a", "column_B": "b"}),
    ("expect_column_quantile_values_to_be_between", {"column": "x"}),
    (
        "expect_column_quantile_values_to_be_between",
        {"column": "x", "quantile_ranges": {"quantiles": [0.5, 0.9], "value_ranges": [[0, 1]]}},
    ),
    (
        "expect_column_quantile_values_to_be_between",
        {"column": "x", "quantile_ranges": {"quantiles": [0.5], "value_ranges": [[0, 1]]}},
    ),
]


@pytest.mark.parametrize(("type_", "kwargs"), CASES)
def test_what_gx_refuses_sentinel_refuses_at_load(type_, kwargs):
    import warnings

    from sentinel.checks import expect_rules

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations.expectations as gxe

        cls = next(getattr(gxe, n) for n in dir(gxe) if n.lower() == type_.replace("_", ""))
        try:
            cls(**kwargs)
            gx_refuses = False
        except Exception:
            gx_refuses = True
    ours = expect_rules.problems(type_, kwargs)
    if gx_refuses:
        assert ours, f"GX refuses {type_} {kwargs}; Sentinel would run it"
    elif type_ in ("expect_column_values_to_be_between", "expect_column_mean_to_be_between"):
        assert not ours, ours  # GX accepts these; so does Sentinel


def test_native_only_where_it_means_what_gx_means(project):
    """`engine: native` with a regex outside the portable subset, or kwargs GX would refuse, is a located config
    error saying why; `engine: auto` leaves the same expectations to GX."""
    project.write("config.yaml", BASE)
    project.write(
        "checks/a.yaml",
        """
datasets:
  - name: a
    source: warehouse
    table: t
    checks:
      - expect: {type: expect_column_values_to_match_regex, kwargs: {column: c, regex: '^\\d+$'}, engine: native}
      - expect: {type: expect_column_values_to_not_match_regex, kwargs: {column: c, regex: '(?<=a)b'}, engine: native}
      - expect: {type: expect_column_values_to_match_regex, kwargs: {column: c, regex: '(?i)abc'}, engine: native}
      - expect: {type: expect_column_values_to_match_regex, kwargs: {column: c, regex: '^[0-9]+$'}, engine: native}
      - expect: {type: expect_column_value_lengths_to_equal, kwargs: {column: c, value: 2.5}, engine: native}
      - expect:
          type: expect_column_pair_values_to_be_equal
          kwargs: {column_A: a, column_B: b, ignore_row_if: sometimes}
          engine: native
      - expect: {type: expect_column_values_to_match_regex, kwargs: {column: c, regex: '^\\d+$'}}
""",
    )
    with pytest.raises(ConfigError) as exc:
        load_config(project.root / "config.yaml")
    found = sorted(str(i) for i in exc.value.issues)
    assert len(found) == 5, found
    for line, why in [
        (6, "shorthand classes"),
        (7, "lookarounds are not portable"),
        (8, "inline flags"),
        (10, "not a whole number of characters"),
        (11, "ignore_row_if must be one of"),
    ]:
        assert any(f"checks/a.yaml:{line}:" in f and why in f and "use engine: auto or gx" in f for f in found), (
            line,
            why,
            found,
        )


def test_native_on_columns_it_cannot_read_as_gx_does(project, wh):
    """A regex on a number: GX matches the number's text its own way, so `engine: auto` leaves it to GX and
    `engine: native` is an `error` naming the column's type."""
    now = dt.datetime(2026, 11, 30, 12, 0)
    wh.deals([(i, f"rep{i}", 10.0 * i, "USD", now) for i in range(1, 11)])
    project.dataset(
        wh,
        """
        - expect: {type: expect_column_values_to_match_regex, kwargs: {column: amount, regex: '^[0-9]'}, engine: native}
          name: native
        - expect: {type: expect_column_values_to_match_regex, kwargs: {column: amount, regex: '^[0-9]'}}
          name: auto
        - expect: {type: expect_column_values_to_match_regex, kwargs: {column: owner, regex: '^rep[0-9]+$'}}
          name: text
        """,
    )
    _, doc = project.run_json()
    res = by_check(doc)
    assert res["native"]["status"] == "error" and res["native"]["diagnosis"]["cause"] == "wrong_type"
    assert "not text" in res["native"]["diagnosis"]["message"], res["native"]
    if wh.name == "duckdb":  # GX on pandas matches the numbers' text
        assert res["auto"]["status"] == "pass", res["auto"]
    else:  # GX's SQL: PostgreSQL has no regex operator on numbers
        assert res["auto"]["status"] == "error" and res["auto"]["diagnosis"]["cause"] == "gx_error", res["auto"]
    assert res["text"]["status"] == "pass"
