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
