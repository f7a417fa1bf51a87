"""The whole check suite on the same generated tables in DuckDB and in Spark (a real Spark Connect server,
tests/spark_server.py): every result compared field by field (status, cause, observed values with a
floating-point tolerance, evidence: flagged keys, values and counts).

The expectations are test_expect_differential.py's (native ones, text and column pairs over hostile text,
plus a GX-only long tail); volume runs over 70 days of generated events with an outage in the detection period.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random

import duckdb
import pyarrow as pa
from conftest import Project, by_check
from test_expect_differential import EXPECTATIONS, TEXT_EXPECTATIONS, generate, generate_text

# GX-only expectations (no native implementation): GX validates them on pandas on both engines
GX_TAIL = [
    ("expect_column_proportion_of_unique_values_to_be_between", {"column": "cat", "min_value": 0.5}),
    ("expect_column_unique_value_count_to_be_between", {"column": "n", "min_value": 2, "max_value": 10}),
    ("expect_column_most_common_value_to_be_in_set", {"column": "cat", "value_set": ["a"]}),
    (
        "expect_column_values_to_be_in_set",
        {"column": "cat", "value_set": ["a", "b"], "row_condition": "n>3", "condition_parser": "pandas"},
    ),
]

NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)

T_SCHEMA = pa.schema([("id", pa.int64()), ("x", pa.float64()), ("n", pa.int64()), ("cat", pa.string())])
TXT_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("s", pa.string()),
        ("t", pa.string()),
        ("u", pa.string()),
        ("a", pa.float64()),
        ("b", pa.float64()),
        ("i", pa.int64()),
        ("j", pa.int64()),
    ]
)


def events(seed: int, changed: tuple[int, ...] = ()) -> pa.Table:
    """70 days of sales, ~30 a day, and 3 on the day before yesterday (an outage volume must flag): amount is
    qty x a lognormal price; a tenth are booked in JPY (x150, mixed units); three amounts slipped by x1000.
    `changed`: ids whose amount is x100 since the first run (history_by must flag them)."""
    rng = random.Random(seed)
    today = NOW.replace(hour=0, minute=0, second=0)
    rows = []
    for d in range(1, 71):
        n = 3 if d == 2 else rng.randint(24, 36)
        for _ in range(n):
            ts = today - dt.timedelta(days=d) + dt.timedelta(seconds=rng.randrange(86400))
            qty = rng.randint(1, 20)
            yen = rng.random() < 0.1
            amount = round(qty * rng.lognormvariate(3, 0.3) * (150 if yen else 1), 2)
            rows.append(
                {
                    "id": len(rows),
                    "qty": qty,
                    "amount": amount,
                    "currency": "JPY" if yen else "USD",
                    "product": rng.choice("ABC"),
                    "ts": ts,
                }
            )
    rows.append(
        {
            "id": len(rows),
            "qty": 1,
            "amount": 20.0,
            "currency": "USD",
            "product": "A",
            "ts": NOW - dt.timedelta(hours=2),
        }
    )
    for i in (17, 404, 1200):
        rows[i]["amount"] *= 1000
    for i in changed:
        rows[i]["amount"] *= 100
    schema = [
        ("id", pa.int64()),
        ("qty", pa.int64()),
        ("amount", pa.float64()),
        ("currency", pa.string()),
        ("product", pa.string()),
        ("ts", pa.timestamp("us")),
    ]
    return pa.Table.from_pylist(rows, pa.schema(schema))


def tables(seed: int) -> dict[str, pa.Table]:
    return {
        "t": pa.Table.from_pylist(generate(seed), T_SCHEMA),
        "txt": pa.Table.from_pylist(generate_text(seed, False), TXT_SCHEMA),
        "ev": events(seed),
    }


def _items(name: str, specs: list, engine: str = "auto") -> list[str]:
    out = []
    for i, (type_, kwargs) in enumerate(specs):
        out.append(f"- expect: {json.dumps({'type': type_, 'kwargs': kwargs, 'engine': engine})}\n  name: {name}_{i}")
    return out


CHECKS = {
    "t": [
        "- not_empty: {}",
        "- schema: {}",
        *_items("e", EXPECTATIONS),
        *_items("gx", GX_TAIL, "gx"),
        "- magnitude: {column: x}",
        "- subschema: {value_column: x, category_column: cat}",
    ],
    "txt": ["- not_empty: {min_rows: 1000}", *_items("txt", TEXT_EXPECTATIONS)],
    "ev": [
        "- freshness: {column: ts, max_age: 1h}",
        "- volume: {timestamp_column: ts}",
        "- magnitude: {column: amount, explained_by: [qty], unit_column: currency, history_by: id}",
        "- magnitude: {column: amount, group_by: [product], unit_column: currency}\n  name: by_product",
        "- subschema: {value_column: amount, category_column: currency, timestamp_column: ts}",
    ],
}
# Kinds a source reports as `error` (cause `unsupported`), never a silent pass, when their modules do not
# accept its dialect: none on Spark since magnitude and subschema accept it (kept for the next gate).
GATED: set[str] = set()


def write_project(project: Project, source: str, prefix: str = "") -> None:
    project.config(source, "fx_rates: {JPY: 150.0}\n")
    body = "datasets:\n"
    for table, checks in CHECKS.items():
        body += f"  - name: {table}\n    source: wh\n    table: {prefix}{table}\n    key: id\n    checks:\n"
        body += "".join(f"      {line}\n" for item in checks for line in item.splitlines())
    project.write("checks/all.yaml", body)


def same(a, b, path: str) -> list[str]:
    """Where `a` and `b` differ. Floats within 1e-9 relative: each engine sums in its own order (partitions,
    threads), which moves the last bits of a double. (Before the mean was cast to DOUBLE, DuckDB's 32-bit FLOAT
    gave 10.141739101513572 for the exact 10.141739130434784 and this needed 1e-7.)"""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        return out + [d for k in a.keys() & b.keys() for d in same(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in same(x, y, f"{path}[{i}]")]
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, int | float) and isinstance(b, int | float):
            if (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                return []
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def test_spark_gives_duckdbs_results(tmp_path, spark_schema, seed=1):
    server, schema = spark_schema
    data = tables(seed)
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    for name, table in data.items():
        server.load(f"{schema}.{name}", table)
        con.register("src", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM src")
        con.unregister("src")
    con.close()
    (tmp_path / "duck").mkdir()
    (tmp_path / "spark").mkdir()
    duck, spark = Project(tmp_path / "duck"), Project(tmp_path / "spark")
    write_project(duck, f'wh: {{type: sql, url: "duckdb:///{tmp_path / "wh.duckdb"}"}}')
    write_project(spark, f'wh: {{type: spark, url: "{server.url}"}}', prefix=f"{schema}.")
    assert compare(duck.run_json()[1], spark.run_json()[1]) >= {"pass", "fail"}  # both outcomes exercised
    # a second run of `ev`: two amounts x100 since the first (history_by compares each key with its last value)
    changed = events(seed, changed=(5, 900))
    server.load(f"{schema}.ev", changed)
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.register("src", changed)
    con.execute("CREATE OR REPLACE TABLE ev AS SELECT * FROM src")
    con.close()
    d_doc, s_doc = duck.run_json("--dataset", "ev")[1], spark.run_json("--dataset", "ev")[1]
    compare(d_doc, s_doc)
    if "magnitude" not in GATED:
        history = by_check(s_doc)["magnitude(amount)"]
        assert {r["key"] for r in history["evidence"]["rows"]["items"]} >= {5, 900}, history


def compare(d_doc: dict, s_doc: dict) -> set[str]:
    """Every result of one run on DuckDB against Spark's; the statuses seen."""
    d_res = {(r["dataset"], r["check"]): r for r in d_doc["results"]}
    s_res = {(r["dataset"], r["check"]): r for r in s_doc["results"]}
    assert set(d_res) == set(s_res)
    diffs, statuses = [], set()
    for key, d in sorted(d_res.items()):
        s = s_res[key]
        if d["kind"] in GATED:
            assert s["status"] == "error" and "spark has neither" in s["diagnosis"]["message"], s
            continue
        statuses.add(d["status"])
        if "error" in (d["status"], s["status"]) and d["diagnosis"] != s["diagnosis"]:
            diffs.append(f"{key}: duckdb {d['status']} {d['diagnosis']}, spark {s['status']} {s['diagnosis']}")
            continue
        if d["kind"] == "freshness":  # the age is measured at each run's own time
            for r in (d, s):
                r["observed"].pop("age")
                r["diagnosis"]["message"] = r["diagnosis"]["message"].split(" UTC, ")[0]
        for field in ("status", "severity", "diagnosis", "observed", "expected", "evidence"):
            if d["kind"] == "schema" and field in ("observed", "expected"):
                continue  # each engine names its types its own way (BIGINT/VARCHAR vs BIGINT/STRING)
            diffs += same(d[field], s[field], f"{key}.{field}")
        if d["kind"] == "magnitude" and "history" in d["expected"]:
            # how many keys were compared follows which hash buckets changed: each engine hashes its own way
            diffs = [x for x in diffs if not x.startswith(f"{key}.expected.history.keys_with_snapshot:")]
    assert not diffs, "\n".join(diffs)
    assert by_check(s_doc)["volume"]["status"] == "fail"
    return statuses
