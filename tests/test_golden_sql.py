"""Golden SQL for Trino, Snowflake and BigQuery: every statement Sentinel's checks send, as each dialect compiles it.

No server of these warehouses runs here, so nothing is executed on them. Instead the real check suite runs
(`runner.run_dataset`: config, describe, the dataset's one scan, each check's follow-up queries, the store)
through `golden_capture.CaptureSource`, a SqlSource whose `dialect` is the target's: every branch on
`ctx.dialect` takes the path that warehouse would get, every statement is compiled by the target dialect and
recorded (text in its paramstyle, IN lists expanded, bound values listed), and the same ClauseElement is then
executed on a DuckDB copy of the generated data so the check proceeds to the statements its results call for
(flagged rows, value counts, ordered probes). The statements are therefore the ones each dialect would
receive for these data, on the path where each earlier statement answers; the answers are DuckDB's, which is
sound because each statement's meaning is the same on DuckDB (it has every function they call, except
PostgreSQL's `hashtextextended` in the lifted cases, which gets a stable DuckDB macro of the same signature).
Where a warehouse would refuse a statement, the real run takes the error path instead: docs/warehouses.md
lists those. SQL text is never translated (sqlglot would turn exact percentiles into approximate ones).

`describe` stands in for the dialect's reflection (its own catalogue queries, not Sentinel's): each column's
declared type, spelt by the target dialect. What the golden files pin is what compiles; whether each
warehouse accepts it is not tried, and docs/warehouses.md lists what is known not to work there.

`magnitude` and `subschema` refuse these dialects at plan time (an `error`, cause `unsupported`, no SQL), which
the plain cases pin. The `lifted_*` cases pin what they would send with that one guard lifted: the run sees
`ctx.dialect == "postgresql"` (their only other dialect branches, the key hash and the history digest, take
the same non-DuckDB path either way), so those files show which of their constructs each dialect compiles.

Deterministic: the data come from a fixed seed, the run's "now" is fixed (and the clock frozen), bind names are
SQLAlchemy's, which depend only on the statement. `SENTINEL_UPDATE_GOLDEN=1` rewrites the files; otherwise any
difference fails with its diff.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import random
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from sentinel import runner
from sentinel.checks import common
from sentinel.config import load_config
from sentinel.sources.base import duckdb_engine
from sentinel.store import Store

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SENTINEL_UPDATE_GOLDEN") == "1"
NOW = dt.datetime(2026, 6, 15, 9, 30, tzinfo=dt.UTC)
TABLE = "sales.deals"
TYPES: dict[str, sa.types.TypeEngine] = {
    "id": sa.Integer(),
    "owner": sa.String(50),
    "region": sa.String(20),
    "currency": sa.String(3),
    "seats": sa.Integer(),
    "amount": sa.Double(),
    "list_price": sa.Double(),
    "booked": sa.Double(),
    "score": sa.Double(),  # holds a NaN and an infinity: the detectors leave them out (Context.left_out)
    "code": sa.String(20),
    "updated_at": sa.DateTime(),
    "created_at": sa.TIMESTAMP(timezone=True),  # what each dialect reflects an aware timestamp as
}

NATIVE = {
    "not_empty": ["not_empty: {}"],
    "freshness": ["freshness: {column: updated_at, max_age: 26h}"],
    "schema": ["schema: {}"],
    "expect_table": [
        "expect: {type: expect_table_row_count_to_be_between, kwargs: {min_value: 100, max_value: 1000}}",
        "expect: {type: expect_table_columns_to_match_set, kwargs: {column_set: [id, owner], exact_match: false}}",
        "expect: {type: expect_column_to_exist, kwargs: {column: code}}",
    ],
    "expect_aggregates": [
        "expect: {type: expect_column_min_to_be_between, kwargs: {column: amount, min_value: 0}}",
        "expect: {type: expect_column_max_to_be_between, kwargs: {column: amount, max_value: 10000000}}",
        "expect: {type: expect_column_sum_to_be_between, kwargs: {column: amount, min_value: 1}}",
        "expect: {type: expect_column_mean_to_be_between, kwargs: {column: amount, max_value: 1000}}",
    ],
    "expect_median": [
        "expect: {type: expect_column_median_to_be_between, kwargs: {column: amount, min_value: 1, max_value: 2}}"
    ],
    "expect_quantiles": [
        "expect: {type: expect_column_quantile_values_to_be_between, kwargs: {column: amount, quantile_ranges: "
        "{quantiles: [0.25, 0.5, 0.9], value_ranges: [[0, 100000], [0, 100000], [0, 100]]}}}"
    ],
    "expect_not_null": ["expect: {type: expect_column_values_to_not_be_null, kwargs: {column: owner}}"],
    "expect_between": [
        "expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 0, max_value: 1000000}}"
    ],
    "expect_in_set": [
        "expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [USD, EUR]}}"
    ],
    "expect_not_in_set": [
        "expect: {type: expect_column_values_to_not_be_in_set, kwargs: {column: region, value_set: [XX, '']}}"
    ],
    "expect_unique": ["expect: {type: expect_column_values_to_be_unique, kwargs: {column: id}}"],
    "expect_distinct_in_set": [
        "expect: {type: expect_column_distinct_values_to_be_in_set, kwargs: {column: currency, value_set: [USD]}}"
    ],
    "expect_regex": [
        "expect: {type: expect_column_values_to_match_regex, kwargs: {column: code, regex: '^D-[0-9]+$'}, "
        "engine: native}",
        "expect: {type: expect_column_values_to_not_match_regex, kwargs: {column: code, regex: 'x'}, engine: native}",
    ],
    "expect_lengths": [
        "expect: {type: expect_column_value_lengths_to_be_between, kwargs: {column: code, min_value: 6, "
        "max_value: 6}, engine: native}",
        "expect: {type: expect_column_value_lengths_to_equal, kwargs: {column: code, value: 6}, engine: native}",
    ],
    "expect_pairs": [
        "expect: {type: expect_column_pair_values_a_to_be_greater_than_b, kwargs: {column_A: list_price, "
        "column_B: amount, or_equal: true}}",
        "expect: {type: expect_column_pair_values_to_be_equal, kwargs: {column_A: amount, column_B: booked}}",
    ],
    "volume": ["volume: {timestamp_column: updated_at, bucket: day}"],
    # a time-zone-aware column, where the dialect's type name says so (ColumnInfo.tz_aware)
    "volume_aware": [
        "freshness: {column: created_at, max_age: 26h}",
        "volume: {timestamp_column: created_at, bucket: day}",
    ],
    "magnitude": ["magnitude: {column: amount}"],
    "subschema": ["subschema: {value_column: amount, category_column: currency}"],
}
# the native checks of one dataset together: one scan statement for all their aggregates, as a run sends it
NATIVE["suite"] = [c for k, v in NATIVE.items() if k not in ("magnitude", "subschema", "volume_aware") for c in v]

LIFTED = {
    "lifted_magnitude": ["magnitude: {column: amount}"],
    "lifted_magnitude_group_by": ["magnitude: {column: amount, group_by: [owner]}"],
    "lifted_magnitude_explained_by": ["magnitude: {column: amount, explained_by: [seats], group_by: [region]}"],
    "lifted_magnitude_unit_column": ["magnitude: {column: amount, unit_column: currency, group_by: [owner]}"],
    "lifted_magnitude_history_by": ["magnitude: {column: amount, history_by: id}"],
    "lifted_magnitude_non_finite": ["magnitude: {column: score, group_by: [region]}"],
    "lifted_subschema": ["subschema: {value_column: amount, category_column: currency}"],
    "lifted_subschema_group_by": ["subschema: {value_column: amount, category_column: currency, group_by: [region]}"],
    "lifted_subschema_reference": [
        "subschema: {value_column: amount, category_column: currency, reference_column: list_price}"
    ],
    "lifted_subschema_explained_by": [
        "subschema: {value_column: amount, category_column: currency, explained_by: [seats], "
        "timestamp_column: updated_at}"
    ],
}
TWO_RUNS = {"lifted_magnitude_history_by"}  # day 2 changes some values: the changed buckets are fetched


def deals(seed: int = 14) -> list[dict]:
    """360 deals over 60 days with the faults the checks look for: a NULL owner, a forbidden region, yen and
    franc amounts under their own labels, a duplicated id, a fat finger, a negative amount, a list price below
    the amount, a booked amount that differs, malformed codes, a NaN and an infinite score."""
    rng = random.Random(seed)
    rows = []
    for i in range(1, 361):
        seats = rng.randint(1, 200)
        amount = round(seats * 1000 * 10 ** rng.uniform(-0.1, 0.1), 2)
        rows.append(
            {
                "id": i,
                "owner": f"rep{i % 6}",
                "region": ("EMEA", "AMER", "APAC")[i % 3],
                "currency": "USD" if i % 4 else "EUR",
                "seats": seats,
                "amount": amount,
                "list_price": round(amount * 1.1, 2),
                "booked": amount,
                "score": round(amount / seats, 2),
                "code": f"D-{i:04d}",
                "updated_at": (NOW - dt.timedelta(hours=2 + (i - 1) * 4)).replace(tzinfo=None),
            }
        )
        rows[-1]["created_at"] = NOW - dt.timedelta(hours=3 + (i - 1) * 4)
    rows[6]["owner"] = None
    rows[7]["region"] = "XX"
    for r in rows[40:46]:
        r["currency"], r["amount"] = "JPY", round(r["amount"] * 150, 2)
        r["list_price"] = r["booked"] = round(r["amount"] * 1.1, 2)
    rows[50]["currency"] = "CHF"
    rows[60]["id"] = 59
    rows[70]["amount"] *= 10  # one digit too many
    rows[80]["amount"] = -rows[80]["amount"]
    rows[90]["list_price"] = rows[90]["amount"] / 2
    rows[100]["booked"] = rows[100]["amount"] + 1
    rows[110]["code"], rows[120]["code"] = "D-x", "bad code"
    rows[20]["score"], rows[21]["score"] = float("nan"), float("inf")
    return rows


def day_two(rows: list[dict]) -> list[dict]:
    """The next load: a few honest updates and one value typed x10."""
    out = [dict(r) for r in rows]
    for r in out[200:210]:
        r["amount"] = round(r["amount"] * 1.2, 2)
    out[150]["amount"] *= 10
    return out


def write_table(path: Path, rows: list[dict]) -> None:
    engine = duckdb_engine(f"duckdb:///{path}")
    try:
        table = sa.Table("deals", sa.MetaData(), *[sa.Column(n, t) for n, t in TYPES.items()], schema="sales")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS sales")
            conn.exec_driver_sql("DROP TABLE IF EXISTS sales.deals")
            table.create(conn)
            conn.execute(table.insert(), rows)
            # PostgreSQL's text hash, which the lifted detectors' sample and history digests call: a stable stand-in
            conn.exec_driver_sql(
                "CREATE OR REPLACE MACRO hashtextextended(t, seed) AS CAST(md5_number_lower(t) >> 1 AS BIGINT)"
            )
    finally:
        engine.dispose()


def project(root: Path, cases: dict[str, list[str]]) -> Path:
    datasets = "".join(
        f"  - name: {name}\n    source: wh\n    table: {TABLE}\n    key: id\n    checks:\n"
        + "".join(f"      - {c}\n" for c in checks)
        for name, checks in cases.items()
    )
    (root / "checks").mkdir(parents=True)
    (root / "checks" / "golden.yaml").write_text("datasets:\n" + datasets)
    (root / "config.yaml").write_text(
        textwrap.dedent(f"""\
        state: sqlite:///{root / "state.db"}
        evidence_limit: 20
        fx_rates: {{JPY: 150.0, EUR: 0.9}}
        notify: {{default: ["outbox://outbox.jsonl"]}}
        sources:
          wh: {{type: sql, url: "duckdb:///{root / "wh.duckdb"}"}}
        """)
    )
    return root / "config.yaml"


def render(case: str, dialect: sa.Dialect, runs: list[tuple[list[str], list]]) -> str:
    head = [
        f"-- golden SQL: case {case}, dialect {dialect.name} (paramstyle {dialect.paramstyle})",
        "-- regenerate: SENTINEL_UPDATE_GOLDEN=1 pytest tests/test_golden_sql.py",
    ]
    body: list[str] = []
    for n, (lines, results) in enumerate(runs, 1):
        body += [f"-- run {n}", *lines, "-- results"]
        for r in results:
            why = (r.diagnosis or {}).get("message", "")
            cause = f" ({r.cause})" if r.cause else ""
            body.append(f"-- {r.check}: {r.status}{cause}" + (f": {why}" if why else ""))
    return "\n".join(head + body) + "\n"


def capture(tmp_path: Path, monkeypatch, target: str, cases: dict[str, list[str]], lifted: bool) -> dict[str, str]:
    """Each case's golden text for `target`: its dataset run once (twice for TWO_RUNS) through a CaptureSource."""
    from golden_capture import CaptureSource, target_dialect

    dialect = target_dialect(target)
    cfg = load_config(project(tmp_path, cases))
    store = Store(cfg.state_url)
    opened: list[CaptureSource] = []

    def open_source(name, cfg, engines=None):
        src = CaptureSource(name, duckdb_engine(f"duckdb:///{tmp_path / 'wh.duckdb'}"), dialect, TYPES)
        opened.append(src)
        return src

    monkeypatch.setattr(runner, "open_source", open_source)
    if lifted:  # the detectors' plan-time guard is the only difference (module docstring)
        monkeypatch.setattr(common.Context, "dialect", property(lambda self: "postgresql"))
    out = {}
    try:
        with time_machine.travel(NOW, tick=False):
            write_table(tmp_path / "wh.duckdb", deals())
            for ds in cfg.datasets:
                runs = []
                for day in range(2 if ds.name in TWO_RUNS else 1):
                    if day:
                        write_table(tmp_path / "wh.duckdb", day_two(deals()))
                    report = runner.run_dataset(cfg, store, ds, now=NOW, read_origin=False)
                    gx = [r.check for r in report.results if r.cause == "gx_error"]
                    assert not gx, f"{ds.name}: {gx} went to Great Expectations, whose SQL is its own: make it native"
                    runs.append((opened[-1].transcript.lines, report.results))
                if len(runs) > 1:
                    write_table(tmp_path / "wh.duckdb", deals())  # the next dataset reads the first day's rows
                out[ds.name] = render(ds.name, dialect, runs)
    finally:
        store.engine.dispose()
    return out


def constructs(target: str) -> str:
    """The SQL constructs Sentinel keeps away from these dialects (native regexes and lengths: `native_here`;
    the detectors' percentiles: their plan-time guard; the DuckDB and PostgreSQL spellings of a median and of a
    finite test), each compiled alone the way the branch that would take it builds it, or the dialect's
    refusal. What a guard could be lifted to, and what it must not."""
    from golden_capture import Transcript, target_dialect

    t = sa.table("deals", *[sa.column(c) for c in TYPES], schema="sales")
    pattern = sa.literal("^D-[0-9]+$", sa.String)
    exprs = {
        "regex search (SQLAlchemy's regexp_match, the non-DuckDB, non-PostgreSQL branch)": t.c.code.regexp_match(
            pattern
        ),
        "regex, PostgreSQL's operator": t.c.code.op("~")(pattern),
        "regex, DuckDB's function": sa.func.regexp_matches(t.c.code, pattern),
        "length in code points": sa.func.length(t.c.code),
        "median, PostgreSQL's ordered-set aggregate": sa.func.percentile_cont(0.5).within_group(t.c.amount),
        "median, DuckDB's aggregate": sa.func.median(t.c.amount),
        "finite timestamp test": sa.func.isfinite(sa.func.min(t.c.updated_at)),
        "UTC of an aware timestamp": sa.func.timezone("UTC", t.c.created_at),
    }
    dialect = target_dialect(target)
    out = Transcript()
    for what, e in exprs.items():
        out.note(what)
        out.statement(sa.select(e.label("v")).select_from(t), dialect)
    head = f"-- golden SQL: constructs kept away from {dialect.name}, each compiled alone"
    return "\n".join([head, *out.lines]) + "\n"


def compare(target: str, found: dict[str, str]) -> None:
    folder = GOLDEN / target
    problems = []
    for case, text in found.items():
        path = folder / f"{case}.sql"
        if UPDATE:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            continue
        want = path.read_text() if path.exists() else ""
        if want != text:
            diff = difflib.unified_diff(want.splitlines(), text.splitlines(), str(path), "generated", lineterm="")
            problems.append("\n".join(diff) if want else f"{path}: missing (SENTINEL_UPDATE_GOLDEN=1 writes it)")
    known = {*NATIVE, *LIFTED, "constructs"}
    stale = [p for p in sorted(folder.glob("*.sql")) if p.stem not in known]
    problems += [f"{p}: no case writes it (stale): delete it" for p in stale]
    assert not problems, "golden SQL differs:\n" + "\n\n".join(problems)


def _dialect_installed(target: str) -> None:
    try:
        from golden_capture import target_dialect

        target_dialect(target)
    except Exception as exc:  # the `warehouses` extra is not installed
        if os.environ.get("CI") == "true":
            pytest.fail(f"{target} dialect unavailable ({type(exc).__name__}: {exc}); .ci/run installs .[warehouses]")
        pytest.skip(f"{target} dialect unavailable ({type(exc).__name__}); pip install -e '.[warehouses]'")


@pytest.mark.parametrize("target", ["trino", "snowflake", "bigquery"])
def test_golden_sql_of_every_check_kind(target, tmp_path, monkeypatch):
    _dialect_installed(target)
    compare(target, capture(tmp_path, monkeypatch, target, NATIVE, lifted=False))


@pytest.mark.parametrize("target", ["trino", "snowflake", "bigquery"])
def test_golden_sql_of_the_detectors_with_their_guard_lifted(target, tmp_path, monkeypatch):
    _dialect_installed(target)
    compare(target, capture(tmp_path, monkeypatch, target, LIFTED, lifted=True))


@pytest.mark.parametrize("target", ["trino", "snowflake", "bigquery"])
def test_golden_sql_of_the_constructs_kept_away(target):
    _dialect_installed(target)
    compare(target, {"constructs": constructs(target)})
