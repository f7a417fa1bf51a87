"""Readable terminal output (rich) for runs and incidents. Machines use --json instead."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

STYLE = {
    "pass": "green",
    "warn": "yellow",
    "fail": "bold red",
    "error": "magenta",
    "open": "bold red",
    "resolved": "green",
    "opened": "bold red",
    "updated": "yellow",
    "reopened": "bold red",
}


def _short(value: Any, width: int = 48) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def _observed(kind: str, value: Any) -> str:
    """The observed value as a person reads it: counts, ages and column totals rather than raw JSON."""
    if isinstance(value, dict):
        if "unexpected_count" in value:
            return f"{value['unexpected_count']:,} unexpected"
        if "flagged" in value:
            return f"{value['flagged']:,} of {value['rows_scored']:,} flagged"
        if kind == "volume" and "buckets" in value:
            return ", ".join(f"{b['count']:,}" for b in value["buckets"][-3:]) + " rows/bucket"
        if "age" in value:
            return f"{value['age']} old"
        if kind == "schema":
            return f"{len(value)} columns"
        if "values" in value and "quantiles" in value:
            return ", ".join(f"q{q:g}={v}" for q, v in zip(value["quantiles"], value["values"], strict=False))
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return _short(value, 32)


def print_run(reports, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="Sentinel run", show_lines=False)
    for col in ("dataset", "check", "status", "observed", "diagnosis"):
        table.add_column(col, overflow="fold")
    for rep in reports:
        for r in rep.results:
            diag = (r.diagnosis or {}).get("message", "")
            table.add_row(r.dataset, r.check, f"[{STYLE[r.status]}]{r.status}[/]", _observed(r.kind, r.observed), diag)
    console.print(table)
    changes = [c for rep in reports for c in rep.changes]
    for c in changes:
        console.print(
            f"incident #{c.id} [{STYLE.get(c.change, '')}]{c.change}[/]: {c.key}  {c.summary}",
            highlight=False,
            soft_wrap=True,
        )
    counts: dict[str, int] = {}
    for rep in reports:
        for r in rep.results:
            counts[r.status] = counts.get(r.status, 0) + 1
    console.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no checks ran")


def print_incidents(items: list[dict[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    if not items:
        console.print("no incidents")
        return
    table = Table(title="Incidents")
    for col in ("id", "state", "key", "opened", "seen", "summary"):
        table.add_column(col, overflow="fold")
    for i in items:
        table.add_row(
            str(i["id"]),
            f"[{STYLE.get(i['state'], '')}]{i['state']}[/]",
            i["key"],
            i["opened_at"][:16],
            str(i["occurrences"]),
            i["summary"] or "",
        )
    console.print(table)


def print_incident(item: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"[bold]incident #{item['id']}[/] {item['key']}  state: {item['state']}")
    console.print(f"opened {item['opened_at']}, seen {item['occurrences']} time(s), last {item['updated_at']}")
    if item.get("resolution"):
        console.print(f"resolution: {item['resolution']}")
    console.print(f"summary: {item['summary']}", highlight=False)
    last = item.get("last_result") or {}
    for field in ("observed", "expected", "evidence", "diagnosis"):
        if last.get(field):
            console.print(f"{field}: {json.dumps(last[field], indent=2, default=str)}", highlight=False)
    for e in item.get("events", []):
        console.print(f"  {e['at'][:19]}  {e['event']}  {_short(e.get('detail'), 80)}", highlight=False)
