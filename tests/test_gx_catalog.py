"""The catalogue Sentinel validates `expect` configs against without importing GX (sentinel/checks/gx_catalog.py)
stays in step with the installed Great Expectations: every kwarg exists there, and the required ones match."""

from __future__ import annotations

import warnings

import pytest

from sentinel.checks.gx_catalog import EXPECTATIONS, REQUIRED


def _classes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations.expectations as gxe
    by_lower = {n.lower(): getattr(gxe, n) for n in dir(gxe)}
    return {t: by_lower.get(t.replace("_", "")) for t in EXPECTATIONS if t != "expectation"}


@pytest.mark.parametrize("type_", sorted(t for t in EXPECTATIONS if t != "expectation"))
def test_catalogue_matches_gx(type_):
    cls = _classes()[type_]
    assert cls is not None, f"GX has no class for {type_}"
    fields = cls.__fields__
    assert EXPECTATIONS[type_] <= set(fields), sorted(EXPECTATIONS[type_] - set(fields))
    required = {n for n, f in fields.items() if f.required}
    assert REQUIRED.get(type_, frozenset()) == required
