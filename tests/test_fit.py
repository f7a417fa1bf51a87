"""fit.solve: the least-squares line from the sums the database returns, and when it refuses one."""

from __future__ import annotations

import numpy as np
import pytest

from sentinel.checks.fit import solve


def sums(v: np.ndarray, y: np.ndarray) -> dict:
    row = {"n": len(y), "sy": y.sum()}
    for j in range(v.shape[1]):
        row[f"s{j}"], row[f"s{j}y"] = v[:, j].sum(), (v[:, j] * y).sum()
        for k in range(j, v.shape[1]):
            row[f"s{j}_{k}"] = (v[:, j] * v[:, k]).sum()
    return row


def test_solve_matches_numpy_least_squares():
    rng = np.random.default_rng(1)
    v = rng.normal(3.0, 0.4, (800, 3))  # log-scale columns far from zero: the centred sums keep precision
    y = 1.5 + v @ np.array([2.0, -0.5, 0.8]) + rng.normal(0, 0.05, 800)
    line = solve(sums(v, y), 3)
    expected, *_ = np.linalg.lstsq(np.column_stack([np.ones(800), v]), y, rcond=None)
    assert line.n == 800
    assert [line.a, *line.b] == pytest.approx(expected.tolist(), abs=1e-8)


@pytest.mark.parametrize("case", ["constant", "collinear", "too few rows"])
def test_solve_refuses_what_cannot_fix_a_line(case):
    rng = np.random.default_rng(2)
    v = rng.normal(0, 1, (50, 2))
    if case == "constant":
        v[:, 1] = 4.0
    elif case == "collinear":
        v[:, 1] = 2 * v[:, 0] + 1
    else:
        v = v[:2]
    y = v[:, 0] + rng.normal(0, 0.1, len(v))
    assert solve(sums(v, y), 2) is None
