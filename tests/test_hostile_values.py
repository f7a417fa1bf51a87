"""Values from the data reach the database byte-exact (sources/base.py): a category label holding quotes,
backslashes, colons, percent signs, NUL (where the database allows it) or 10 KB of text is measured exactly
as the same data under plain labels, on DuckDB (literal SQL always) and PostgreSQL (bound values, and
literal SQL past MAX_PARAMS)."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import sqlalchemy as sa
from conftest import Project
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
COLUMNS = ("id", "cat", "amount", "ts")

# The issue's labels: `a :tag` made the checks error, `b\:c` became `b:c`, `p%q` came back as `p%%q`.
ISSUE_LABELS = ["a :tag", "b\\:c", "p%q", "o'q\\"]
NASTY = ["%(x)s", "%s", ":1", "$1", "?", "\\", "''", "%%", "::text", "\\:x"]


def label_text(nul: bool) -> st.SearchStrategy[str]:
    """Arbitrary Unicode, weighted toward what SQL text treats specially; NUL only where the database keeps it."""
    special = "'\"\\:%?$;[]{}()\n\t " + ("\x00" if nul else "")
    chars = st.one_of(
        st.sampled_from(special),
        st.characters(exclude_categories=["Cs"], exclude_characters=None if nul else "\x00"),
    )
    piece = st.one_of(st.text(chars, max_size=12), st.sampled_from(NASTY + ISSUE_LABELS))
    return st.lists(piece, min_size=1, max_size=4).map("".join)


@st.composite
def hostile(draw, nul: bool) -> tuple[list[str], str]:
    """Four distinct labels (one of them, sometimes, 10 KB long) and a prefix for the row keys."""
    labels = draw(st.lists(label_text(nul), min_size=4, max_size=4, unique=True))
    if draw(st.booleans()):
        long = (labels[0] or "x") * (10_000 // max(len(labels[0]), 1) + 1)
        if long[:10_000] not in labels:
            labels[0] = long[:10_000]
    return labels, draw(label_text(nul))


def rows(labels: list[str], key_prefix: str, seed: int = 7) -> list[dict]:
    """A few hundred rows: one label with a second mode at x100 (subschema), two fat-fingered rows per label
    (magnitude), and the last label new in the last day (subschema's new values and shifted shares)."""
    rng = random.Random(seed)
    out = []
    last = len(labels) - 1
    for li, label in enumerate(labels):
        for j in range(40 if li == last else 80):
            amount = round(10 ** (2 + li % 3) * 10 ** rng.gauss(0, 0.05), 2)
            if li == 0 and j < 12:
                amount *= 100
            if j in (20, 21):
                amount *= 1000
            age = rng.uniform(0, 0.9) if li == last or j % 4 == 0 else rng.uniform(1.1, 5)
            ts = NOW - dt.timedelta(days=age)
            out.append({"id": f"{key_prefix}{len(out)}", "cat": label, "amount": amount, "ts": ts})
    return out


CHECKS = """
  - name: {name}
    source: wh
    table: {name}
    key: id
    checks:
      - magnitude: {{column: amount, group_by: [cat]}}
      - subschema: {{value_column: amount, category_column: cat, timestamp_column: ts}}
"""


def write_duckdb(path: Path, tables: dict[str, list[dict]]) -> str:
    con = duckdb.connect(str(path))
    for name, data in tables.items():
        frame = pa.table({c: [r[c] for r in data] for c in COLUMNS})  # noqa: F841 (DuckDB reads it by name)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
    con.close()
    return f"duckdb:///{path}"


def write_pg(pg_schema, tables: dict[str, list[dict]]) -> str:
    url, schema, engine = pg_schema
    with engine.begin() as conn:
        for name, data in tables.items():
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{schema}".{name}')
            conn.exec_driver_sql(f'CREATE TABLE "{schema}".{name} (id TEXT, cat TEXT, amount FLOAT8, ts TIMESTAMP)')
            conn.execute(sa.text(f'INSERT INTO "{schema}".{name} VALUES (:id, :cat, :amount, :ts)'), data)
    return url


def flagged(result: dict, labels: dict[str, str], keys: dict[str, str]) -> dict:
    """What a result flags, with hostile labels and keys mapped to their plain counterparts."""
    ev = result["evidence"] or {}
    label, key = (lambda v: labels.get(v, v)), (lambda v: keys.get(v, v))
    out: dict = {"status": result["status"]}
    if "rows" in ev:
        out["rows"] = (ev["rows"]["count"], sorted(key(i["key"]) for i in ev["rows"]["items"]))
    out["modes"] = sorted(
        (label(m["label"]), m["side"], m["count"], sorted(key(i["key"]) for i in m["rows"]["items"]))
        for m in ev.get("modes", [])
    )
    out["new"] = sorted((label(v["value"]), v["count"]) for v in (ev.get("new_values") or {}).get("items", []))
    shifted = (ev.get("shifted") or {}).get("items", [])
    out["shifted"] = sorted((label(v["value"]), v["share"], v["was"]) for v in shifted)
    return out


def same_verdicts(root: Path, write, labels: list[str], key_prefix: str) -> None:
    """Tables `hostile` and `plain` (the same rows, each hostile label and key mapped 1:1 to a plain one)
    written by `write`, checked in one `sentinel run --json`: both flag the same rows, modes and categories."""
    plain_labels = [f"g{i}" for i in range(len(labels))]
    hostile_rows, plain_rows = rows(labels, key_prefix), rows(plain_labels, "k")
    url = write({"hostile": hostile_rows, "plain": plain_rows})
    to_plain = dict(zip(labels, plain_labels, strict=True))
    keys = {h["id"]: p["id"] for h, p in zip(hostile_rows, plain_rows, strict=True)}
    assert len(to_plain) == len(labels) and len(keys) == len(hostile_rows)  # 1:1
    project = Project(root)
    project.config(f'wh: {{type: sql, url: "{url}"}}', extra="notify: {default: []}\n")
    project.write("checks/d.yaml", "datasets:" + CHECKS.format(name="hostile") + CHECKS.format(name="plain"))
    code, doc = project.run_json()
    got: dict[str, dict] = {"hostile": {}, "plain": {}}
    for r in doc["results"]:
        got[r["dataset"]][r["kind"]] = r
    assert got["plain"]["magnitude"]["status"] == got["plain"]["subschema"]["status"] == "fail", doc
    for kind in ("magnitude", "subschema"):
        assert flagged(got["hostile"][kind], to_plain, keys) == flagged(got["plain"][kind], {}, {}), kind
    assert code == 1


SETTINGS = settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@example(case=(ISSUE_LABELS, "id:%s'"))
@example(case=(["x" * 10_000, "\\:" * 5_000, ":tag", "nul\x00%"], "\x00:k"))
@given(case=hostile(nul=True))
def test_hostile_labels_flag_what_plain_ones_do_duckdb(tmp_path, case):
    labels, key_prefix = case
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    same_verdicts(root, lambda tables: write_duckdb(root / "wh.duckdb", tables), labels, key_prefix)


@pytest.mark.parametrize("literal", [False, True], ids=["bound", "literal"])
@SETTINGS
@example(case=(ISSUE_LABELS, "id:%s'"))
@example(case=(["x" * 10_000, "\\:" * 5_000, ":tag", "%" * 3], "%(k)s"))
@given(case=hostile(nul=False))
def test_hostile_labels_flag_what_plain_ones_do_postgresql(tmp_path, pg_schema, monkeypatch, literal, case):
    """`literal`: every statement takes the path of one with more than MAX_PARAMS bound values."""
    if literal:
        monkeypatch.setattr("sentinel.sources.base.MAX_PARAMS", 0)
    labels, key_prefix = case
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    same_verdicts(root, lambda tables: write_pg(pg_schema, tables), labels, key_prefix)


def run_process(root: Path) -> tuple[dict, int]:
    """`sentinel run --json` in its own process, speculative scan on (whatever the statements took); returns
    the document and how many statements the speculative scan answered."""
    env = {**os.environ, "SENTINEL_PREFETCH_MIN_SECONDS": "0", "SENTINEL_PREFETCH_DEBUG": "1"}
    env.pop("SENTINEL_NO_PREFETCH", None)
    proc = subprocess.run(
        [sys.executable, "-m", "sentinel", "run", "--json", "--config", str(root / "config.yaml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    line = [x for x in proc.stderr.splitlines() if x.startswith("prefetch:")][-1]
    return json.loads(proc.stdout), int(line.split()[1])


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_the_speculative_scan_replays_hostile_labels_byte_exact(tmp_path, request, backend):
    """The next process replays the recorded SQL through the bare driver (prefetch.py), and the runner takes
    its rows when the text matches: that text must be the one the database is to see. psycopg's dialect
    used to record `'p%%q'` and `hash % n` as `%%`, which the bare driver sends as they are."""
    labels, plain_labels = ISSUE_LABELS, [f"g{i}" for i in range(len(ISSUE_LABELS))]
    tables = {"hostile": rows(labels, "id:%s'"), "plain": rows(plain_labels, "k")}
    if backend == "duckdb":
        url = write_duckdb(tmp_path / "wh.duckdb", tables)
    else:
        url = write_pg(request.getfixturevalue("pg_schema"), tables)
    project = Project(tmp_path)
    project.config(f'wh: {{type: sql, url: "{url}"}}', extra="notify: {default: []}\n")
    project.write("checks/d.yaml", "datasets:" + CHECKS.format(name="hostile") + CHECKS.format(name="plain"))
    to_plain = dict(zip(labels, plain_labels, strict=True))
    keys = {h["id"]: p["id"] for h, p in zip(tables["hostile"], tables["plain"], strict=True)}

    verdicts = []
    for expect_hits in (False, True):
        doc, hits = run_process(tmp_path)
        assert (hits > 0) == expect_hits
        got = {(r["dataset"], r["kind"]): r for r in doc["results"]}
        for kind in ("magnitude", "subschema"):
            plain = flagged(got["plain", kind], {}, {})
            assert plain["status"] == "fail"
            assert flagged(got["hostile", kind], to_plain, keys) == plain, kind
        verdicts.append(doc["results"])
    assert [(r["check"], r["evidence"]) for r in verdicts[0]] == [(r["check"], r["evidence"]) for r in verdicts[1]]
