"""The GX long tail, batched: all of a dataset's long-tail expectations in one GX validation.

Each expectation fails on its own rows of its own column, with its own count, so a result handed to the
wrong check shows. Batched results must equal what each expectation gives validated alone (a dataset of one
expectation is a batch of one) and the rows the data was built to break; one bad expectation is its own
`error`; on DuckDB the table is read once, only the columns the expectations name.
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from backends import make

N = 60
TABLE = "gx_items"


def _row(i: int) -> dict:
    code = None if i == 59 else ("ab1" if i % 7 == 0 else "ABC")
    name = "toolongname" if i % 11 == 0 else ("zed" if i % 17 == 0 else "nm")
    a, b = (float(i), float(i + 1)) if i % 13 == 0 else (float(i + 2), float(i))
    return {"id": i, "code": code, "name": name, "a": a, "b": b, "extra": i * 10}


ROWS = [_row(i) for i in range(1, N + 1)]
# what each row-level expectation must flag: (type, kwargs) -> {key: value}
FLAGGED = {
    ("expect_column_values_to_match_regex", (("column", "code"), ("regex", "^[A-Z]{3}$"))): {
        r["id"]: r["code"] for r in ROWS if r["code"] == "ab1"
    },
    ("expect_column_value_lengths_to_be_between", (("column", "name"), ("max_value", 5), ("min_value", 2))): {
        r["id"]: r["name"] for r in ROWS if len(r["name"]) > 5
    },
    ("expect_column_pair_values_a_to_be_greater_than_b", (("column_A", "a"), ("column_B", "b"))): {
        r["id"]: r["a"] for r in ROWS if not r["a"] > r["b"]
    },
    ("expect_column_values_to_not_match_regex", (("column", "name"), ("regex", "z"))): {
        r["id"]: r["name"] for r in ROWS if "z" in r["name"]
    },
}
OTHERS = [  # observed values, not rows: an aggregate and a table-level expectation
    ("expect_column_unique_value_count_to_be_between", {"column": "code", "min_value": 3, "max_value": 5}),
    ("expect_table_column_count_to_equal", {"value": 6}),
]
LONG_TAIL = [(t, dict(kw)) for t, kw in FLAGGED] + OTHERS
SUITE = [  # the same dataset's `expect_suite` joins the same batch
    ("expect_column_values_to_match_regex", {"column": "name", "regex": "^[a-z]+$"}),
    ("expect_column_pair_values_a_to_be_greater_than_b", {"column_A": "a", "column_B": "b", "or_equal": True}),
]


@pytest.fixture(params=["duckdb", "postgresql"])
def wh(request, tmp_path):
    pg = request.getfixturevalue("pg_schema") if request.param == "postgresql" else None
    w = make(request.param, tmp_path, pg)
    w.execute(f"DROP TABLE IF EXISTS {TABLE}")
    w.execute(
        f"CREATE TABLE {TABLE} (id INTEGER, code VARCHAR(5), name VARCHAR(20), a DOUBLE PRECISION, "
        "b DOUBLE PRECISION, extra INTEGER)"
    )
    w.execute(f"INSERT INTO {TABLE} VALUES (:id, :code, :name, :a, :b, :extra)", ROWS)
    return w


def _dataset(name: str, checks: list[str]) -> str:
    items = "\n".join(f"      - {c}" for c in checks)
    return f"  - name: {name}\n    source: wh\n    table: {TABLE}\n    key: id\n    checks:\n{items}\n"


def _expect(type_: str, kwargs: dict, name: str | None = None) -> str:
    # engine: gx, since Sentinel compiles regexes, lengths and pairs natively: this is the GX path under test
    check = {"expect": {"type": type_, "kwargs": kwargs, "engine": "gx"}}
    return json.dumps(check | {"name": name} if name else check)


def _configure(project, wh, datasets: list[str], suite: list[tuple[str, dict]] = SUITE) -> None:
    project.config(f'wh: {{type: sql, url: "{wh.url}"}}')
    project.write("suite.json", json.dumps({"expectations": [{"type": t, "kwargs": k} for t, k in suite]}))
    project.write("checks/t.yaml", "datasets:\n" + "".join(datasets))


def _same(r: dict) -> dict:
    """What must not depend on batching: everything but the dataset's and the check's names."""
    return {k: r[k] for k in ("status", "observed", "expected", "evidence", "diagnosis")}


def _key(type_: str, kwargs: dict) -> tuple[str, str]:
    return type_, json.dumps(kwargs, sort_keys=True)


def _what(r: dict) -> tuple[str, str]:
    return _key(r["expected"]["expectation"], r["expected"]["kwargs"])


def test_a_batch_gives_each_expectation_what_it_gives_alone(project, wh):
    everything = LONG_TAIL + SUITE
    batched = _dataset(
        "batched",
        [_expect(t, kw) for t, kw in LONG_TAIL] + ['{"expect_suite": {"path": "suite.json", "engine": "gx"}}'],
    )
    solos = [_dataset(f"solo{i}", [_expect(t, kw)]) for i, (t, kw) in enumerate(everything)]
    _configure(project, wh, [batched, *solos])
    _, doc = project.run_json()
    got = {(r["dataset"], _what(r)): r for r in doc["results"]}
    assert len(got) == 2 * len(everything)
    for i, (t, kw) in enumerate(everything):
        what = _key(t, kw)
        together, alone = got[("batched", what)], got[(f"solo{i}", what)]
        assert together["status"] in ("pass", "fail"), together
        assert _same(together) == _same(alone), what
    counts = []
    for (t, kw), flagged in FLAGGED.items():
        r = got[("batched", _key(t, dict(kw)))]
        assert r["status"] == "fail" and r["observed"]["unexpected_count"] == len(flagged), t
        assert r["observed"]["element_count"] == N, t
        rows = r["evidence"]["rows"]
        assert {i["key"]: i["value"] for i in rows["items"]} == flagged, t
        assert rows["count"] == len(flagged) and rows["omitted"] == 0, t
        counts.append(len(flagged))
    assert len(set(counts)) == len(counts)  # every expectation fails on a different number of rows
    unique = got[("batched", _key(*OTHERS[0]))]
    assert unique["status"] == "fail" and unique["observed"] == 2  # ABC, ab1
    columns = got[("batched", _key(*OTHERS[1]))]
    assert columns["status"] == "pass" and columns["observed"] == 6
    suite = {r["check"]: r for r in doc["results"] if r["dataset"] == "batched" and r["check"].startswith("suite:")}
    assert suite["suite:expect_column_values_to_match_regex(name)"]["status"] == "pass"
    or_equal = suite["suite:expect_column_pair_values_a_to_be_greater_than_b"]
    assert or_equal["status"] == "fail" and or_equal["observed"]["unexpected_count"] == 4  # a = i, b = i + 1


def test_a_bad_expectation_is_its_own_error(project, wh):
    bad_build = (
        "expect_column_pair_values_a_to_be_greater_than_b",
        {"column_A": "a", "column_B": "b", "ignore_row_if": "sometimes"},
    )
    bad_regex = ("expect_column_values_to_match_regex", {"column": "code", "regex": "["})
    checks = [_expect(*bad_build, "bad_build"), *[_expect(t, kw) for t, kw in LONG_TAIL], _expect(*bad_regex, "bad_re")]
    _configure(project, wh, [_dataset("batched", checks)])
    _, doc = project.run_json()
    res = {r["check"]: r for r in doc["results"]}
    for name in ("bad_build", "bad_re"):
        assert res[name]["status"] == "error" and res[name]["diagnosis"]["cause"] == "gx_error", res[name]
        assert res[name]["diagnosis"]["message"], res[name]
    assert "ignore_row_if" in res["bad_build"]["diagnosis"]["message"]
    for (t, kw), flagged in FLAGGED.items():
        r = res[_name(t, dict(kw))]
        assert r["status"] == "fail" and r["observed"]["unexpected_count"] == len(flagged), (t, r)
        assert {i["key"] for i in r["evidence"]["rows"]["items"]} == set(flagged), t
    for t, kw in OTHERS:
        assert res[_name(t, kw)]["status"] in ("pass", "fail"), t


def _name(type_: str, kwargs: dict) -> str:
    return f"{type_}({kwargs['column']})" if "column" in kwargs else type_


def _statements(project, dataset: str) -> tuple[dict, list[str]]:
    """A run of `dataset`, and the SQL statements it sent that name the test table."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if TABLE in statement:
            seen.append(" ".join(statement.split()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        _, doc = project.run_json("--dataset", dataset)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
    return doc, seen


def _reads_rows(sql: str) -> bool:
    """A statement that reads the table's rows as they are: no aggregate, no filter."""
    upper = sql.upper()
    return upper.startswith("SELECT") and "(" not in sql and " WHERE " not in upper


def test_the_table_is_read_once(project, wh):
    rows_only = [(t, dict(kw)) for t, kw in FLAGGED]
    _configure(project, wh, [_dataset("batched", [_expect(t, kw) for t, kw in rows_only])], suite=[])
    doc, seen = _statements(project, "batched")
    assert [r["status"] for r in doc["results"]] == ["fail"] * len(rows_only)
    reads = [s for s in seen if _reads_rows(s)]
    if wh.name == "duckdb":  # pandas: one read of the union of the named columns and the key
        assert len(reads) == 1, seen
        listed = reads[0][len("SELECT ") :].split(" FROM ")[0].split(",")
        assert {c.strip().split(".")[-1].strip('"') for c in listed} == {"id", "code", "name", "a", "b"}, reads
    else:  # in the database: nothing is loaded
        assert reads == [], seen


def test_a_row_condition_reads_the_columns_it_mentions(project, tmp_path):
    """On DuckDB only the named columns are read: a `row_condition` names its own (here `extra`)."""
    w = make("duckdb", tmp_path)
    w.execute(f"CREATE TABLE {TABLE} (id INTEGER, code VARCHAR(5), name VARCHAR(20), extra INTEGER)")
    w.execute(
        f"INSERT INTO {TABLE} VALUES (:id, :code, :name, :extra)",
        [{k: r[k] for k in ("id", "code", "name", "extra")} for r in ROWS],
    )
    kwargs = {"column": "code", "regex": "^[A-Z]{3}$", "row_condition": "extra > 300", "condition_parser": "pandas"}
    _configure(project, w, [_dataset("batched", [_expect("expect_column_values_to_match_regex", kwargs)])], suite=[])
    _, doc = project.run_json()
    (r,) = doc["results"]
    flagged = {row["id"] for row in ROWS if row["code"] == "ab1" and row["extra"] > 300}
    assert r["status"] == "fail" and {i["key"] for i in r["evidence"]["rows"]["items"]} == flagged, r


HOSTILE_CODES = ["ABC", "id :x1", "it's", "50%", "q'':y", "\\:n"]  # a bind-like ':name', quotes, '%', a backslash
HOSTILE = [  # each flags the codes it does not admit; its own regex or set holds ':x', "'" and '%'
    ("expect_column_values_to_match_regex", {"column": "code", "regex": "^(ABC|id :x[0-9]|it's|50%)$"}),
    ("expect_column_values_to_be_in_set", {"column": "code", "value_set": ["ABC", "it's", "q'':y", "id :x1"]}),
    ("expect_column_values_to_not_be_in_set", {"column": "code", "value_set": ["it's", "50%"]}),  # no ':' at all
]


def _hostile_table(request, tmp_path, backend: str) -> tuple:
    """150 rows cycling through HOSTILE_CODES (25 of each: an expectation flags more rows than GX's default
    list of 20), on `backend`."""
    w = make(backend, tmp_path, request.getfixturevalue("pg_schema") if backend == "postgresql" else None)
    rows = [{"id": i, "code": HOSTILE_CODES[i % len(HOSTILE_CODES)]} for i in range(1, 151)]
    w.execute(f"DROP TABLE IF EXISTS {TABLE}")
    w.execute(f"CREATE TABLE {TABLE} (id INTEGER, code VARCHAR(20))")
    w.execute(f"INSERT INTO {TABLE} VALUES (:id, :code)", rows)
    return w, rows


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_hostile_values_reach_the_database_byte_exact(project, request, tmp_path, backend):
    """GX validates these in the database and the flagged rows' keys are read back with Sentinel's cap: a
    regex holding ':x' (a bind name to any SQL text parser) and values holding "'" and '%' must reach the
    database as they are, so each expectation flags exactly the rows it does not admit, with their values."""
    w, rows = _hostile_table(request, tmp_path, backend)
    _configure(project, w, [_dataset("hostile", [_expect(t, kw) for t, kw in HOSTILE])], suite=[])
    _, doc = project.run_json()
    res = {r["check"]: r for r in doc["results"]}
    admitted = [
        lambda c: re.search(HOSTILE[0][1]["regex"], c) is not None,
        lambda c: c in HOSTILE[1][1]["value_set"],
        lambda c: c not in HOSTILE[2][1]["value_set"],
    ]
    for (t, kw), admits in zip(HOSTILE, admitted, strict=True):
        r = res[_name(t, kw)]
        flagged = {row["id"]: row["code"] for row in rows if not admits(row["code"])}
        assert 0 < len(flagged) < len(rows), t  # the expectation admits some rows and not others
        assert r["status"] == "fail" and r["observed"]["unexpected_count"] == len(flagged), (t, r)
        assert {i["key"]: i["value"] for i in r["evidence"]["rows"]["items"]} == flagged, t


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_listed_rows_stop_at_the_evidence_limit(project, request, tmp_path, backend):
    """In a database GX lists the flagged rows itself, up to `evidence_limit`; the count stays exact."""
    w, rows = _hostile_table(request, tmp_path, backend)
    t, kw = HOSTILE[0]
    _configure(project, w, [_dataset("hostile", [_expect(t, kw)])], suite=[])
    config = project.root / "config.yaml"
    config.write_text(config.read_text() + "evidence_limit: 7\n")
    _, doc = project.run_json()
    (r,) = doc["results"]
    flagged = {row["id"]: row["code"] for row in rows if re.search(kw["regex"], row["code"]) is None}
    listed = {i["key"]: i["value"] for i in r["evidence"]["rows"]["items"]}
    assert r["observed"]["unexpected_count"] == len(flagged) == 50, r
    assert len(listed) == 7 and listed.items() <= flagged.items(), listed
    assert (r["evidence"]["rows"]["count"], r["evidence"]["rows"]["omitted"]) == (50, 43), r["evidence"]["rows"]
