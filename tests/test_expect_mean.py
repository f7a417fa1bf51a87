"""`expect_column_mean_to_be_between` takes the mean in double precision on every backend (DuckDB's FLOAT is
4 bytes: a cast to it rounded every value to 7 digits, so 0.1 and 123456.78 averaged to 61728.440625...)."""

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


def test_the_mean_is_the_columns_in_double_precision(project, wh):
    wh.execute("CREATE TABLE deals (id INTEGER, amount DOUBLE PRECISION)")
    wh.execute("INSERT INTO deals VALUES (1, 0.1), (2, 123456.78), (3, 7.3)")
    project.config(f'wh: {{type: sql, url: "{wh.url}"}}')
    project.write("checks/deals.yaml", CHECKS)
    code, doc = project.run_json()
    (result,) = doc["results"]
    assert code == 1 and result["status"] == "fail"
    assert math.isclose(result["observed"], (0.1 + 123456.78 + 7.3) / 3, rel_tol=1e-13), result["observed"]


def test_a_numeric_columns_mean_is_exact_and_a_float(project, wh):
    """PostgreSQL averages NUMERIC exactly (no per-row cast to DOUBLE); the observed mean is a float either way,
    also when it is a whole number."""
    wh.execute("CREATE TABLE deals (id INTEGER, amount NUMERIC(14, 2))")
    wh.execute("INSERT INTO deals VALUES (1, 0.10), (2, 123456.78), (3, 7.30), (4, 2.00)")
    project.config(f'wh: {{type: sql, url: "{wh.url}"}}')
    project.write("checks/deals.yaml", CHECKS)
    code, doc = project.run_json()
    (result,) = doc["results"]
    assert code == 1 and result["status"] == "fail"
    assert type(result["observed"]) is float, result["observed"]
    assert math.isclose(result["observed"], 123466.18 / 4, rel_tol=1e-15), result["observed"]
    wh.execute("DELETE FROM deals WHERE id <> 2")
    wh.execute("UPDATE deals SET amount = 12 WHERE id = 2")
    code, doc = project.run_json()
    assert doc["results"][0]["observed"] == 12.0 and isinstance(doc["results"][0]["observed"], float)
