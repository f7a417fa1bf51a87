"""Checks on in-memory frames go through the package's own helper (sentinel.frame); test data and runs shared
by the detector tests."""

import numpy as np
import pandas as pd

from sentinel.checks import fit
from sentinel.frame import check_frame as run_check
from sentinel.results import CheckResult

__all__ = ["contracts", "run_check", "with_and_without_raw_test"]


def contracts(n=3000, seed=3) -> pd.DataFrame:
    """Amount = seats x years x a list price: neither column alone explains it (years spread it 0.7 decades)."""
    rng = np.random.default_rng(seed)
    seats = np.round(10 ** rng.uniform(0.5, 2.5, n))
    years = rng.integers(1, 6, n).astype(float)
    amount = np.round(seats * years * 1200 * 10 ** rng.normal(0, 0.02, n), 2)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "region": rng.choice(["emea", "amer"], n),
            "seats": seats,
            "years": years,
            "amount": amount,
        }
    )


def with_and_without_raw_test(
    monkeypatch, df: pd.DataFrame, kind: str, params: dict
) -> tuple[CheckResult, CheckResult, list[bool]]:
    """The check run as it is, with `fit.beyond_every_line` (the raw test before the logarithms) spied on, then
    with that test switched off (None: every row reaches the logarithms): both results, and for each call of
    the first run whether it gave a test, so a caller can show the test ran and changed nothing."""
    applied, real = [], fit.beyond_every_line

    def spy(*args, **kwargs):
        test = real(*args, **kwargs)
        applied.append(test is not None)
        return test

    monkeypatch.setattr(fit, "beyond_every_line", spy)
    res = run_check(df, kind, params)
    monkeypatch.setattr(fit, "beyond_every_line", lambda *args, **kwargs: None)
    without = run_check(df, kind, params)
    return res, without, applied
