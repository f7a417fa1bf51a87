"""Checks on in-memory frames go through the package's own helper (sentinel.frame); test data shared by
the detector tests."""

import numpy as np
import pandas as pd

from sentinel.frame import check_frame as run_check

__all__ = ["contracts", "run_check"]


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
