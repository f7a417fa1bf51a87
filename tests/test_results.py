"""Result documents hold plain JSON only, whatever the driver or numpy handed the check."""

import datetime as dt
import decimal
import json
import math
import uuid

import numpy as np

from sentinel.results import jsonable


def test_jsonable_turns_driver_and_numpy_values_into_plain_json():
    when = dt.datetime(2026, 11, 26, 9, 12, tzinfo=dt.UTC)
    doc = {
        "ints": (1, np.int64(2), decimal.Decimal("3")),
        "floats": [1.5, float("nan"), math.inf, np.float32(0.25), decimal.Decimal("2.5")],
        "times": {"at": when, "day": dt.date(2026, 11, 26), "age": dt.timedelta(minutes=2)},
        "other": {uuid.UUID(int=7): b"x", 3: {"b", "a"}, "flag": True, "none": None},
    }
    out = jsonable(doc)
    assert out == {
        "ints": [1, 2, 3],
        "floats": [1.5, None, None, 0.25, 2.5],
        "times": {"at": "2026-11-26T09:12:00+00:00", "day": "2026-11-26", "age": 120.0},
        "other": {"00000000-0000-0000-0000-000000000007": "b'x'", "3": ["a", "b"], "flag": True, "none": None},
    }
    assert type(out["ints"][1]) is int and type(out["floats"][3]) is float
    assert json.loads(json.dumps(out, allow_nan=False)) == out  # strict JSON: no NaN, no custom types


def test_jsonable_copies_evidence_rows_instead_of_sharing_them():
    rows = [{"key": i, "value": "EUR"} for i in range(3)]
    out = jsonable({"items": rows})
    out["items"][0]["value"] = "changed"
    assert rows[0]["value"] == "EUR" and out["items"][1] == {"key": 1, "value": "EUR"}
