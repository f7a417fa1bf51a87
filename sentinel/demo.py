"""`sentinel demo`: a realistic warehouse, a healthy day, then the breakages Sentinel exists to catch.

It builds `.sentinel/warehouse.duckdb` next to the config (opportunities with owners, amounts and
currencies; Pete's US forecast; a daily pipeline aggregate), runs the repo's own config once on the healthy
data (so the schema baseline is accepted, as a real deployment's earlier runs would have), then applies
what goes wrong in real life and runs again:

- Pete overwrites the S&OP sheet and `us_forecast_dec_v1` loads empty;
- the dbt job behind `pipeline_daily` stops refreshing (stale) and a model change drifts its schema;
- a rep types a negative amount, another types $10,000,000 for a $1,000,000 deal (a normal size for a
  big deal, so no fixed range catches it; 100 Enterprise seats do), two deals arrive in CHF, and 25 deals
  arrive in yen under the USD label (0.5% of rows; `subschema` names JPY from their ratio to list price).

Safe to run again: it rebuilds the warehouse and the demo state store from scratch each time.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shlex
import sys
from contextlib import nullcontext
from pathlib import Path

OWNERS = ["alice", "bob", "carol", "dan", "erin", "frank"]
ACCOUNTS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne"]
UNIT_PRICE = {"Basic": 500.0, "Pro": 2000.0, "Enterprise": 10000.0}  # per seat and year
STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(url[len(prefix) :]) if url.startswith(prefix) and ":memory:" not in url else None


def build_warehouse(path: Path, now: dt.datetime, seed: int = 7) -> None:
    """The healthy warehouse: every check of the demo config passes on it."""
    import duckdb

    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    for p in (path, path.with_suffix(path.suffix + ".wal")):
        p.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    naive_now = now.replace(tzinfo=None)
    con.execute("""CREATE TABLE opportunities (id VARCHAR PRIMARY KEY, owner VARCHAR, account VARCHAR,
                   product VARCHAR, seats INTEGER, list_price DOUBLE, amount DOUBLE, currency VARCHAR, stage VARCHAR,
                   close_date DATE, updated_at TIMESTAMP)""")
    rows = []
    for i in range(5000):
        product = rng.choices(list(UNIT_PRICE), [0.5, 0.35, 0.15])[0]
        seats = max(1, round(10 ** rng.gauss(1.3, 0.45)))
        if i == 777:  # the deal a rep will fat-finger: 100 Enterprise seats, $1,000,000
            product, seats = "Enterprise", 100
        discount = 1.0 if i == 777 else 1 + rng.gauss(0, 0.04)
        amount = round(seats * UNIT_PRICE[product] * discount, -2)
        currency = rng.choices(["USD", "EUR", "GBP"], [0.8, 0.15, 0.05])[0]
        updated = naive_now - dt.timedelta(minutes=rng.randint(5, 60 * 24 * 30))
        close = (naive_now + dt.timedelta(days=rng.randint(-60, 120))).date()
        rows.append(
            (
                f"006{i:07d}",
                rng.choice(OWNERS),
                rng.choice(ACCOUNTS),
                product,
                seats,
                seats * UNIT_PRICE[product],
                amount,
                currency,
                rng.choice(STAGES),
                close,
                updated,
            )
        )
    _insert(con, "opportunities", rows)

    con.execute("""CREATE TABLE us_forecast_dec_v1 (id INTEGER PRIMARY KEY, region VARCHAR, product VARCHAR,
                   units INTEGER, amount DOUBLE, loaded_at TIMESTAMP)""")
    loaded = naive_now - dt.timedelta(minutes=40)
    forecast = [
        (
            i + 2,
            rng.choice(["West", "Central", "East"]),
            f"SKU-{100 + i % 13}",
            rng.randint(50, 900),
            round(rng.uniform(5e3, 9e4), 2),
            loaded,
        )
        for i in range(39)
    ]
    _insert(con, "us_forecast_dec_v1", forecast)

    con.execute(
        """CREATE TABLE pipeline_daily AS
           SELECT CAST(updated_at AS DATE) AS day, count(*) AS n_deals, sum(amount) AS total_amount,
                  CAST(? AS TIMESTAMP) AS refreshed_at
           FROM opportunities GROUP BY 1 ORDER BY 1""",
        [naive_now - dt.timedelta(minutes=20)],
    )
    con.close()


def _insert(con, table: str, rows: list[tuple]) -> None:  # type: ignore[no-untyped-def]
    """Rows into a DuckDB table in one statement: through an Arrow table, as `executemany` takes ~3 ms a row."""
    import pyarrow as pa

    names = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    data = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})  # noqa: F841 - read by DuckDB below
    con.execute(f"INSERT INTO {table} SELECT * FROM data")


def break_warehouse(path: Path, now: dt.datetime) -> None:
    """What went wrong overnight."""
    import duckdb

    con = duckdb.connect(str(path))
    naive_now = now.replace(tzinfo=None)
    con.execute("DELETE FROM us_forecast_dec_v1")  # Pete overwrote the sheet; the hourly load found nothing
    stale = naive_now - dt.timedelta(days=3, hours=2)
    # dbt model change: n_deals became text and a region column appeared; the job has not run since.
    con.execute(
        """CREATE OR REPLACE TABLE pipeline_daily AS
           SELECT day, CAST(n_deals AS VARCHAR) AS n_deals, total_amount, 'US' AS region,
                  CAST(? AS TIMESTAMP) AS refreshed_at FROM pipeline_daily""",
        [stale],
    )
    con.execute("UPDATE opportunities SET amount = -amount WHERE id = '0060000042'")  # a minus sign typed
    con.execute("UPDATE opportunities SET amount = 10000000 WHERE id = '0060000777'")  # $1,000,000 + one zero
    # the Tokyo office's sync starts writing yen into the USD column: labels and types unchanged
    con.execute("""UPDATE opportunities SET amount = round(amount * 150) WHERE currency = 'USD' AND owner = 'erin'
                   AND id IN (SELECT id FROM opportunities WHERE currency = 'USD' AND owner = 'erin'
                              ORDER BY id LIMIT 25)""")
    con.execute("UPDATE opportunities SET currency = 'CHF' WHERE id IN ('0060001207', '0060003318')")
    con.close()


def _outbox_files(cfg) -> list[Path]:
    """The `outbox://` files the demo config delivers to that lie under its `.sentinel/` folder."""
    from sentinel.notify.channels import Refused, outbox_path
    from sentinel.notify.outbox import configured_channels

    found = []
    for url in sorted(configured_channels(cfg)):
        if url.startswith("outbox://"):
            try:
                path = outbox_path(url[len("outbox://") :], cfg.root)
            except Refused:
                continue
            if cfg.root / ".sentinel" in path.parents and path not in found:
                found.append(path)
    return found


# the two requests the demo shows: Pete's empty forecast, and the yen rows (one request for three checks)
_SHOWN = {
    "us_forecast_dec_v1": "The request Pete gets",
    "opportunities/subschema(amount)/unit_shift": "The one request Sales Ops gets about the yen rows",
}


def _print_requests(cfg, out) -> None:
    """Print, as their owners get them, the first message of the requests the demo is about."""
    from rich.rule import Rule

    shown, total = [], 0
    for path in _outbox_files(cfg):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            message = row.get("message") if isinstance(row.get("message"), dict) else {}
            if message.get("kind") == "change":  # the owner's yes/no question on a verified change-set
                shown.append(("The question Sales Ops gets about the staged correction", path, message))
                continue
            if message.get("kind") != "request":
                continue
            total += 1
            title = _SHOWN.get(row.get("key")) or _SHOWN.get(row.get("dataset"))
            if title is not None:
                shown.append((title, path, message))
    for title, path, message in shown:
        out.print()
        out.print(Rule(f"{title} (in {path.relative_to(cfg.root)})"))
        out.print(str(message.get("text", "")).rstrip(), markup=False, highlight=False, soft_wrap=True)
    if total:
        out.print(f"{total} requests in all are in the outbox file, each as text and HTML.")


def _awaiting(cfg) -> list[int]:
    """The change-sets the demo's run staged and verified, waiting for a person's approval."""
    import sqlalchemy as sa

    from sentinel.store import Store, changesets

    store = Store(cfg.state_url)
    try:
        with store.engine.connect() as conn:
            stmt = sa.select(changesets.c.id).where(changesets.c.state == "awaiting_approval").order_by(changesets.c.id)
            return [r.id for r in conn.execute(stmt)]
    finally:
        store.close()


def run_demo(config_path: Path, as_json: bool = False) -> int:
    from rich.console import Console
    from rich.text import Text

    from sentinel.config import ConfigError, load_config
    from sentinel.notify.channels import hold_console
    from sentinel.report import print_run
    from sentinel.runcmd import exit_code
    from sentinel.runner import run_many
    from sentinel.store import Store
    from sentinel.terminal import visible

    out = Console(stderr=as_json)
    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        for issue in exc.issues:
            Console(stderr=True).print(visible(issue), markup=False, highlight=False)
        return 2
    warehouse = cfg.root / ".sentinel" / "warehouse.duckdb"
    state_file = _sqlite_path(cfg.state_url)
    if state_file is not None and cfg.root / ".sentinel" in state_file.parents:
        for p in state_file.parent.glob(state_file.name + "*"):
            p.unlink()
    for path in _outbox_files(cfg):  # the demo's requests start afresh with its state
        path.unlink(missing_ok=True)
    now = dt.datetime.now(dt.UTC)
    out.print(Text.assemble(("1. Building a healthy warehouse", "bold"), f" at {warehouse}"))
    build_warehouse(warehouse, now)
    store = Store(cfg.state_url)
    try:
        names = [d.name for d in cfg.datasets]
        _, baseline = run_many(cfg, store, names, "demo-baseline", read_origin=False)
        passed = sum(r.status == "pass" for rep in baseline for r in rep.results)
        total = sum(len(rep.results) for rep in baseline)
        out.print(f"   baseline run: {passed}/{total} checks pass (schema snapshots accepted)")
        out.print(
            "[bold]2. Overnight:[/] Pete overwrites the forecast sheet, the pipeline job stalls after a "
            "model change, a rep types a negative amount, another $10,000,000 for a $1,000,000 deal, "
            "two deals arrive in CHF and 25 in yen labelled USD"
        )
        break_warehouse(warehouse, now)
        out.print("[bold]3. Sentinel's next run[/]")
        # the run report below shows each incident change once; under --json, console:// writes to stderr
        with hold_console() if not as_json else nullcontext([]) as held:
            doc, reports = run_many(cfg, store, names, "demo", read_origin=False)  # no API call in the demo
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(doc) + "\n")
        return exit_code([r["status"] for r in doc["results"]])
    print_run(reports, out, held=held)
    _print_requests(cfg, out)
    from sentinel.invocation import command

    me = command() + ("" if config_path == Path("config.yaml") else f" --config {shlex.quote(str(config_path))}")
    out.print()
    for cs in _awaiting(cfg):
        out.print(
            Text.assemble(
                f"Change-set {cs} is staged and verified, awaiting approval: ",
                (f"{me} approve {cs}", "bold"),
                " promotes it and re-checks; then ",
                (f"{me} rollback {cs}", "bold"),
                " puts the old values back.",
            ),
            soft_wrap=True,
        )
    out.print(
        Text.assemble(
            "Next: ",
            (f"{me} incidents", "bold"),
            ", ",
            (f"{me} show ID", "bold"),
            ", ",
            (f"{me} changes", "bold"),
            " (from this folder)",
        ),
        soft_wrap=True,
    )
    return exit_code([r["status"] for r in doc["results"]])
