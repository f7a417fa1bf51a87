"""Salesforce source benchmark: N records through the fake org into the source's DuckDB, then a few checks.

    python bench/salesforce.py                    # 1,000,000 Opportunities, pages of 2,000
    python bench/salesforce.py --records 200000
    python bench/salesforce.py --smoke            # 20,000 records (CI)

The fake org (tests/fakes/salesforce.py) runs in its own process, so only the reading side is measured:
the real simple-salesforce logs in (client credentials), follows `nextRecordsUrl` page by page, and the
records are appended to DuckDB in Arrow batches. Then not_empty, magnitude on Amount and a not-null
expectation run on the result. Printed: records/s of the read, seconds of the checks, and this process's
peak RSS (`ru_maxrss`). Target (issue 11): 1,000,000 records at <= 300 MiB RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-consumer-secret"
LIMIT_MIB = 300


def start_fake(records: int, page_size: int) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests/fakes/salesforce.py"), "--records", str(records)]
        + ["--page-size", str(page_size), "--secret", SECRET],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if not line.startswith("port "):
        proc.kill()
        raise SystemExit(f"the fake org did not start: {line!r}")
    return proc, int(line.split()[1])


def project(folder: Path, port: int) -> Path:
    (folder / "checks").mkdir()
    (folder / "config.yaml").write_text(
        textwrap.dedent(f"""
        state: sqlite:///state.db
        sources:
          crm:
            type: salesforce
            production:
              domain: acme.my
              consumer_key: 3MVG9fake-consumer-key
              consumer_secret: ${{BENCH_SF_SECRET}}
              api_root: http://127.0.0.1:{port}
              timeout: 120
        """)
    )
    (folder / "checks/opportunities.yaml").write_text(
        textwrap.dedent("""
        datasets:
          - name: opportunities
            source: crm
            table: Opportunity
            key: Id
            fields: [Id, Name, Amount, StageName, CloseDate, LastModifiedDate, AccountId, Description]
            checks:
              - not_empty: {}
              - magnitude: {column: Amount}
              - expect: {type: expect_column_values_to_not_be_null, kwargs: {column: Amount}}
        """)
    )
    return folder / "config.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=2000)
    parser.add_argument("--smoke", action="store_true", help="20,000 records")
    args = parser.parse_args()
    records = 20_000 if args.smoke else args.records

    sys.path.insert(0, str(REPO))
    from sentinel.config import load_config
    from sentinel.runner import specs_of
    from sentinel.sources import open_source

    os.environ["BENCH_SF_SECRET"] = SECRET
    fake, port = start_fake(records, args.page_size)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = load_config(project(Path(tmp), port))
            ds = cfg.dataset("opportunities")
            source = open_source("crm", cfg)
            try:
                began, cpu = time.perf_counter(), time.process_time()
                source.describe(ds.table)  # logs in, describes, streams every page into DuckDB
                read_s, read_cpu = time.perf_counter() - began, time.process_time() - cpu
                read_peak = peak_mib()
                rows = source.execute(__import__("sqlalchemy").text(f"SELECT count(*) FROM {source.table(ds.table)}"))
                began = time.perf_counter()
                results = checks(cfg, ds, source, specs_of(ds))
                check_s = time.perf_counter() - began
            finally:
                source.close()
    finally:
        fake.stdin.close()
        fake.wait(timeout=30)
    peak = peak_mib()
    print(f"records read:        {rows[0][0]:,} (of {records:,}, pages of {args.page_size:,})")
    print(f"read:                {read_s:.1f} s = {rows[0][0] / read_s:,.0f} records/s (fake org in another process)")
    print(f"reader's CPU:        {read_cpu:.1f} s = {rows[0][0] / read_cpu:,.0f} records per CPU second")
    print(f"checks:              {check_s:.2f} s  " + ", ".join(f"{r.check}={r.status}" for r in results))
    print(f"peak RSS after the read: {read_peak:.0f} MiB; after the checks: {peak:.0f} MiB (this process)")
    print(f"target:              <= {LIMIT_MIB} MiB at 1,000,000 records")
    bad = [r for r in results if r.status == "error"]
    if rows[0][0] != records or bad:
        raise SystemExit(f"FAILED: {rows[0][0]} rows read; errors: {[r.evidence or r.diagnosis for r in bad]}")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def checks(cfg, ds, source, specs):
    """The runner's own measuring step on the source already read."""
    from sentinel.runner import _measure

    return _measure(cfg, ds, specs, source, dt.datetime.now(dt.UTC), None, {})


if __name__ == "__main__":
    main()
