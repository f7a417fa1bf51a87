"""`expect_column_mean_to_be_between` takes the mean in double precision on every backend (DuckDB's FLOAT is
4 bytes: a cast to it rounded every value to 7 digits, so 0.1 and 123456.78 averaged to 61728.440625...), and
PostgreSQL averages NUMERIC exactly (no per-row cast to DOUBLE, which goes through text there)."""

from __future__ import annotations

import math

CHECKS = """
datasets:
  - name: deals
    source: wh
    table: deals
    key: id
    checks:
      - expect: {type: expect_column_mean_to_be_between, kwargs: {column: amount, min_value: 0, max_value: 1}}
"""


def _mean(project, wh, amount_type: str, values: str) -> dict:
    """The one result of the mean check over a fresh `deals(id, amount <amount_type>)` holding `values`."""
    wh.execute(f"CREATE TABLE deals (id INTEGER, amount {amount_type})")
    wh.execute(f"INSERT INTO deals VALUES {values}")
    project.config(f'wh: {{type: sql, url: "{wh.url}"}}')
    project.write("checks/deals.yaml", CHECKS)
    code, doc = project.run_json()
    (result,) = doc["results"]
    assert code == 1 and result["status"] == "fail", result
    return result


def test_the_mean_is_the_columns_in_double_precision(project, wh):
    result = _mean(project, wh, "DOUBLE PRECISION", "(1, 0.1), (2, 123456.78), (3, 7.3)")
    assert math.isclose(result["observed"], (0.1 + 123456.78 + 7.3) / 3, rel_tol=1e-13), result["observed"]


def test_a_numeric_columns_mean_is_exact_and_a_float(project, wh):
    """The observed mean is a float either way, also when it is a whole number."""
    result = _mean(project, wh, "NUMERIC(14, 2)", "(1, 0.10), (2, 123456.78), (3, 7.30), (4, 2.00)")
    assert type(result["observed"]) is float, result["observed"]
    assert math.isclose(result["observed"], 123466.18 / 4, rel_tol=1e-15), result["observed"]
    wh.execute("DELETE FROM deals WHERE id <> 2")
    wh.execute("UPDATE deals SET amount = 12 WHERE id = 2")
    code, doc = project.run_json()
    assert doc["results"][0]["observed"] == 12.0 and type(doc["results"][0]["observed"]) is float
