"""Retention benchmark: a simulated year of a busy deployment in a SQLite state store, pruned every day.

    python bench/retention.py                      # 500 datasets every 15 minutes for 365 days
    python bench/retention.py --days 120           # the same load until past every default window
    python bench/retention.py --metrics 90d        # with metric history bounded too
    python bench/retention.py --smoke              # 5 datasets hourly for 100 days: seconds (CI)

Rows are generated in bulk straight into the store, day by day, at the sizes real runs write (taken from
stored results of the test suite's runs): per run one `runs` row and one `ticks` row; results of not_empty,
freshness, volume (its detection buckets with their baselines), schema and one expectation, plus magnitude on
half the datasets (sum, mean, flagged) and subschema on a fifth (10 category shares a run); 2% of runs have
one failing check with 50 evidence rows, and a tenth of the datasets have an incident open (an `updated`
event a run) and two notifications a day. Then `sentinel.retention.prune` runs with the defaults (or
--metrics), timed, as the daemon's daily job would, and the store's size on disk is read.

Printed every --report days: the day, rows per table, the store's size, and that day's prune time; at the end
the largest size and the prune time's median and maximum. SQLite reuses freed pages, so the file's size is the
high-water mark of what the store held.

Measured 2026-11-30 (2 cores shared with other jobs, run under nice; times are upper bounds):
- 500 datasets every 15 min, 100 days: 5.6 GB at day 30 (results reach their window), 9.4 GB at day 90 (runs
  and ticks reach theirs), 9.8 GB at day 100; prune 16-20 s a day deleting ~370k rows (47 s max, once runs
  and ticks go too), in ~1,000-row transactions.
- 50 datasets, 365 days: 938 MB at day 90, then only metric history grows (3.6 MB a day): 1.95 GB at day
  365. At 500 datasets that is 9.4 GB at day 90 and 19.5 GB after a year with metric history kept.
- 10 datasets, 365 days, --metrics 90d: 189 MB at day 90, 191 MB at day 365 (flat): ~9.6 GB at 500 datasets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentinel.retention import RetentionConfig, prune  # noqa: E402
from sentinel.store import Store  # noqa: E402
from sentinel.timespec import parse_duration  # noqa: E402

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _bucket(day: str) -> dict:
    return {
        "bucket": f"{day}T00:00:00+00:00",
        "count": 48211,
        "expected": 47950.0,
        "low": 31211.5,
        "high": 70321.2,
        "score": 0.14,
        "baseline": {"points": 29, "seasonality": "day_of_week", "median_log1p": 10.7781, "spread_log1p": 0.1402},
    }


def _doc(value: object) -> str:
    return json.dumps(value)


COLUMNS = {f"column_{i}": t for i, t in enumerate(["INTEGER", "VARCHAR", "DOUBLE", "TIMESTAMP"] * 3)}
PASS = {  # kind -> (observed, expected, evidence, diagnosis) as stored, passing
    "not_empty": (_doc(48211), _doc({"min_rows": 1}), _doc({}), "null"),
    "freshness": (
        _doc({"age": "1h12m", "latest": "2026-01-01T11:03:00+00:00"}),
        _doc({"max_age": "26h"}),
        "{}",
        "null",
    ),
    "volume": (
        _doc({"rows": 4_812_733, "buckets": [_bucket("2026-01-01"), _bucket("2026-01-02")]}),
        _doc({"bucket": "day", "detection": "2d", "training": "56d", "sensitivity": 3.5, "min_change": 0.25}),
        "{}",
        "null",
    ),
    "schema": (_doc(COLUMNS), _doc(COLUMNS), "{}", "null"),
    "expect": (_doc({"unexpected_count": 0, "element_count": 48211}), _doc({"column": "id"}), "{}", "null"),
    "magnitude": (
        _doc({"rows_scored": 48211, "flagged": 0, "sum": 1.234e9, "mean": 25601.2}),
        _doc({"sensitivity": 3.5, "threshold": 5.81, "reference": "peer median", "history": {"keys": 48211}}),
        "{}",
        "null",
    ),
    "subschema": (_doc({"modes": 1, "categories": 10}), _doc({"min_rows": 20, "share_change": 0.1}), "{}", "null"),
}
ITEM = {  # one flagged row as magnitude stores it (~400 bytes)
    "key": "0061a00000AbCdEfGH",
    "value": 1250000.0,
    "score": 9.81,
    "reference": 12500.0,
    "baseline": {"kind": "peer median (owner=pete)", "rows": 2811},
    "diagnosis": {"k": 2, "candidate": 12500.0, "message": "likely 2 extra digits: 1,250,000 vs 12,500"},
}
FAIL = (
    PASS["magnitude"][0],
    PASS["magnitude"][1],
    _doc({"rows": {"count": 50, "items": [ITEM] * 50, "omitted": 0}}),
    _doc({"cause": "magnitude", "message": "50 rows likely 2 extra digits"}),
)
CATEGORIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK"]


def _ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores a DateTime in SQLite


class Simulation:
    def __init__(self, folder: Path, datasets: int, every: int) -> None:
        self.url = f"sqlite:///{folder / 'state.db'}"
        self.store = Store(self.url)  # creates the schema through the migrations
        self.con = sqlite3.connect(folder / "state.db", isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.datasets, self.every = datasets, every
        self.run_id = self.result_id = 0
        self.checks = [
            ["not_empty", "freshness", "volume", "schema", "expect"]
            + (["magnitude"] if i % 2 == 0 else [])
            + (["subschema"] if i % 5 == 0 else [])
            for i in range(datasets)
        ]
        self.open_incidents = list(range(0, datasets, 10))
        now = _ts(START)
        rows = [
            (i + 1, f"bench/{i}/magnitude/magnitude", f"fp{i:030d}", f"fp{i:030d}", f"dataset_{i:04d}", now, now)
            for i in self.open_incidents
        ]
        self.con.executemany(
            "INSERT INTO incidents (id, key, fingerprint, open_fingerprint, dataset, check_name, kind, cause, "
            "severity, state, opened_at, updated_at, occurrences) VALUES (?, ?, ?, ?, ?, 'magnitude(amount)', "
            "'magnitude', 'magnitude', 'error', 'open', ?, ?, 1)",
            rows,
        )

    def day(self, n: int) -> None:
        runs, results, metrics, ticks, events, outbox = [], [], [], [], [], []
        day0 = START + dt.timedelta(days=n)
        for k in range(24 * 60 // self.every):
            at = day0 + dt.timedelta(minutes=k * self.every)
            ts = _ts(at)
            for i, kinds in enumerate(self.checks):
                self.run_id += 1
                rid, name = self.run_id, f"dataset_{i:04d}"
                failing = (rid * 2654435761) % 100 < 2 and "magnitude" in kinds
                uid = f"{rid:032x}:{name}"
                runs.append((rid, uid, name, ts, ts, "fail" if failing else "pass", "bench-host"))
                ticks.append((name, ts, uid, "bench-host", ts))
                for kind in kinds:
                    doc = FAIL if failing and kind == "magnitude" else PASS[kind]
                    results.append((rid, name, kind, kind, "fail" if doc is FAIL else "pass", "error", *doc))
                    if kind in ("not_empty", "volume"):
                        metrics.append((rid, name, kind, "row_count", 48211.0, ts))
                    elif kind == "freshness":
                        metrics.append((rid, name, kind, "age_seconds", 4320.0, ts))
                    elif kind == "expect":
                        metrics.append((rid, name, kind, "unexpected_count", 0.0, ts))
                    elif kind == "magnitude":
                        metrics.append((rid, name, kind, "flagged", 50.0 if failing else 0.0, ts))
                        if not failing:
                            metrics.append((rid, name, kind, "sum", 1.234e9, ts))
                            metrics.append((rid, name, kind, "mean", 25601.2, ts))
                    elif kind == "subschema":
                        metrics.extend((rid, name, kind, f"share:{c}", 0.1, ts) for c in CATEGORIES)
                if i % 10 == 0:
                    events.append((i + 1, ts, "updated", rid, _doc({"summary": "50 rows likely 2 extra digits"})))
        for j, inc in enumerate(self.open_incidents):
            for change in ("opened", "resolved"):
                key = f"incident-{inc}:{change}:{n}:{j}"
                payload = _doc({"id": inc, "key": f"bench/{inc}", "change": change, "summary": "x" * 120})
                ts = _ts(day0 + dt.timedelta(hours=12))
                outbox.append((key, inc, "console://", payload, ts, "sent", 1, ts))
        con = self.con
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO runs (id, run_uid, dataset, started_at, finished_at, status, host) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            runs,
        )
        con.executemany("INSERT INTO ticks (dataset, tick, run_uid, host, done_at) VALUES (?, ?, ?, ?, ?)", ticks)
        con.executemany(
            "INSERT INTO results (run_id, dataset, check_name, kind, status, severity, observed, expected, "
            "evidence, diagnosis) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            results,
        )
        con.executemany(
            "INSERT INTO metrics (run_id, dataset, check_name, metric, value, measured_at) VALUES (?, ?, ?, ?, ?, ?)",
            metrics,
        )
        con.executemany(
            "INSERT INTO incident_events (incident_id, at, event, run_id, detail) VALUES (?, ?, ?, ?, ?)", events
        )
        con.executemany(
            "INSERT INTO outbox (key, incident_id, channel, payload, created_at, state, attempts, sent_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            outbox,
        )
        con.execute("COMMIT")

    def rows(self) -> dict[str, int]:
        return {t: self.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "results", "metrics")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=int, default=500)
    ap.add_argument("--every", type=int, default=15, help="minutes between runs of a dataset")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--metrics", default=None, help="retention.metrics, e.g. 90d (default: metric history kept)")
    ap.add_argument("--report", type=int, default=15, help="print a line every this many days")
    ap.add_argument("--smoke", action="store_true", help="5 datasets hourly for 100 days")
    args = ap.parse_args()
    if args.smoke:
        args.datasets, args.every, args.days, args.report = 5, 60, 100, 25
    policy = RetentionConfig(metrics=parse_duration(args.metrics) if args.metrics else None)
    print(
        f"{args.datasets} datasets every {args.every} min for {args.days} days; retention: results "
        f"{policy.results.days}d, runs {policy.runs.days}d, outbox {policy.outbox.days}d, metrics "
        f"{f'{policy.metrics.days}d' if policy.metrics else 'kept'}"
    )
    print(f"{'day':>4} {'runs':>10} {'results':>11} {'metrics':>12} {'store MB':>9} {'prune s':>8}")
    sizes, prunes = [], []
    with tempfile.TemporaryDirectory() as folder:
        sim = Simulation(Path(folder), args.datasets, args.every)
        for n in range(args.days):
            sim.day(n)
            t0 = time.perf_counter()
            prune(sim.store, policy, now=START + dt.timedelta(days=n + 1))
            prunes.append(time.perf_counter() - t0)
            sizes.append(sim.store.size() or 0)
            if (n + 1) % args.report == 0 or n + 1 == args.days:
                r = sim.rows()
                print(
                    f"{n + 1:>4} {r['runs']:>10,} {r['results']:>11,} {r['metrics']:>12,} "
                    f"{sizes[-1] / 2**20:>9,.1f} {prunes[-1]:>8.2f}"
                )
        sim.con.close()
        sim.store.close()
    print(
        f"largest store {max(sizes) / 2**20:,.1f} MB; prune per day median {statistics.median(prunes):.2f} s, "
        f"max {max(prunes):.2f} s"
    )


if __name__ == "__main__":
    main()
