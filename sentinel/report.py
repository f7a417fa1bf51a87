"""Readable terminal output (rich) for runs and incidents. Machines use --json instead.

Layouts are lists with hanging indents rather than wide tables, so that at 80 columns (or piped, which rich
renders at 80) identifiers, keys and dates stay whole and long messages wrap under their own heading.
Every value that comes from the data or the config is rendered as `rich.text.Text` (never parsed as markup,
so a category `[/]evil` is text) after `terminal.visible` (so escape sequences in values are shown, not
obeyed).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from sentinel.terminal import visible

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
    "notified": "yellow",
    "reminded": "yellow",
    "escalated": "bold red",
    "sent": "green",
    "pending": "yellow",
    "failed": "bold red",
}
EVIDENCE_SHOWN = 10  # rows of each evidence list `show` prints; the rest are counted ("and N more")
HISTORY_SHOWN = 20  # latest history lines `show` prints
MAX_COLUMNS = 7  # columns of an evidence table: key and the fields that say most come first


def _t(value: Any, style: str = "") -> Text:
    """Data as safe, markup-free text."""
    return Text(visible("" if value is None else value), style=style)


def _num(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return visible(v)
    if isinstance(v, int):
        return f"{v:,}"
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    from sentinel.checks.common import number  # the messages' own rule, so tables and summaries agree

    return number(v)


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
        if all(not isinstance(v, dict | list) for v in value.values()):
            return ", ".join(f"{k} {_num(v)}" for k, v in value.items())
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return _short(value, 32)


def _when(iso: str | None, seconds: bool = False) -> str:
    """A stored timestamp as `2026-11-30 17:35 UTC`: whole, never cut."""
    if not iso:
        return ""
    try:
        at = dt.datetime.fromisoformat(iso).astimezone(dt.UTC)
    except (TypeError, ValueError):
        return visible(iso)
    return at.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def _grid(*widths: int | None) -> Table:
    """Columns of fixed width, then one that takes the rest and wraps: a hanging indent."""
    grid = Table.grid(padding=(0, 1))
    for w in widths:
        grid.add_column(no_wrap=True, min_width=w)
    grid.add_column(ratio=1, overflow="fold")
    return grid


# --- sentinel run ----------------------------------------------------------------------------------------


def print_run(reports, console: Console | None = None, held: Sequence[dict[str, Any]] = ()) -> None:
    """Each dataset's checks (status, observed, diagnosis), then the run's incident changes, once. `held` are
    console notifications delivered during the run (`channels.hold_console`): those of this run's changes are
    already shown; any others (an earlier run's, delivered late) are printed after them."""
    console = console or Console()
    console.print(Text("Sentinel run", style="bold"))
    counts: dict[str, int] = {}
    for rep in reports:
        console.print(_t(rep.dataset, "bold"))
        grid = _grid(5)
        for r in rep.results:
            counts[r.status] = counts.get(r.status, 0) + 1
            body = _t(r.check)
            observed = _observed(r.kind, r.observed)
            if observed:
                body.append("  ")
                body.append(_t(observed, "dim"))
            diag = (r.diagnosis or {}).get("message")
            if diag:
                body.append("\n")
                body.append(_t(diag))
            grid.add_row(Text(r.status, style=STYLE[r.status]), body)
        console.print(Padding(grid, (0, 0, 0, 2)))
    changes = [c for rep in reports for c in rep.changes]
    shown = {(c.id, c.change) for c in changes}
    if changes:
        console.print(Text("Incidents", style="bold"))
        for c in changes:
            line = Text.assemble(f"  #{c.id} ", (c.change, STYLE.get(c.change, "")), " ", _t(c.key))
            console.print(line, overflow="fold")
    for p in held:
        if (p.get("id"), p.get("change")) not in shown:
            console.print(_t(f"notification: incident #{p.get('id')} {p.get('change')}: {p.get('key')}"))
            console.print(Padding(_t(p.get("summary")), (0, 0, 0, 2)))
    console.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no checks ran", highlight=False)


@contextmanager
def run_progress(names: Sequence[str]) -> Iterator[Callable[[str, str | None], None]]:
    """A transient progress line on stderr ("dataset 2/5 deals: magnitude(amount)") while a run measures; the
    CLI asks for it only on a terminal and never under --json."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    position = {name: i for i, name in enumerate(names, 1)}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def tell(dataset: str, step: str | None) -> None:
            where = f"dataset {position.get(dataset, '?')}/{len(names)} {visible(dataset)}"
            bar.update(task, description=f"{where}: {visible(step)}" if step else where, refresh=True)

        yield tell


# --- sentinel incidents ----------------------------------------------------------------------------------


def print_incidents(items: list[dict[str, Any]], console: Console | None = None) -> None:
    """One block per incident: id, state and key on the first line (the key moves to a line of its own
    rather than being cut when it does not fit), then when it was opened and seen, then its summary."""
    console = console or Console()
    if not items:
        console.print("no incidents")
        return
    n_open = sum(i["state"] != "resolved" for i in items)
    console.print(Text(f"{len(items)} incident(s), {n_open} open", style="bold"))
    for i in items:
        console.print()
        head = Text.assemble((f"#{i['id']}", "bold"), " ", (i["state"], STYLE.get(i["state"], "")), " ")
        head.append(_t(i["key"], "bold"))
        console.print(head, overflow="fold")
        seen = f"{i['occurrences']:,} time" + ("s" if i["occurrences"] != 1 else "")
        when = f"opened {_when(i['opened_at'])}, seen {seen}, last {_when(i['updated_at'])}"
        if i.get("severity") == "warn":
            when += ", severity warn"
        body = Text(when, style="dim")
        if i.get("summary"):
            body.append("\n")
            body.append(_t(i["summary"]))
        if i.get("request"):
            body.append("\n")
            body.append(_request_line(i["request"]))
        console.print(Padding(body, (0, 0, 0, 2)))


def _request_line(r: dict[str, Any]) -> Text:
    """`REQ-3 reminded: asked pete 2026-11-30 17:35 UTC, 1 reminder; next reminder 2026-11-30 21:35 UTC`."""
    line = Text.assemble((r["ref"], "bold"), " ", (r["state"], STYLE.get(r["state"], "")))
    line.append(_t(f": asked {r.get('owner') or 'notify.default'} {_when(r.get('notified_at'))}"))
    if r.get("reminders"):
        line.append(f", {r['reminders']} reminder" + ("s" if r["reminders"] != 1 else ""))
    if r.get("escalated_to"):
        line.append(_t(f", escalated to {r['escalated_to']} {_when(r.get('escalated_at'))}"))
    if r.get("acked_at"):
        line.append(_t(f", acknowledged {_when(r['acked_at'])}"))
    elif r.get("snoozed_until") and r.get("state") != "resolved":
        line.append(f", snoozed until {_when(r['snoozed_until'])}")
    if r.get("next_reminder_at"):
        line.append(f"; next reminder {_when(r['next_reminder_at'])}")
    return line


def _changeset(cs: dict[str, Any]) -> Text:
    """`#1 awaiting_approval: 26 row(s) to warehouse.opportunities (playbook fat-finger-amounts)`, then why it
    stopped, if it did."""
    line = Text.assemble((f"#{cs['id']}", "bold"), " ", (cs["state"], STYLE.get(cs["state"], "")))
    line.append(_t(f": {len(cs['rows'])} row(s) to {cs['target']}.{cs['object']} (playbook {cs['playbook']})"))
    if cs.get("approved_by"):
        line.append(_t(f", approved by {cs['approved_by']}"))
    if cs.get("error"):
        line.append("\n  ")
        line.append(_t(cs["error"]))
    return line


def _request(r: dict[str, Any]) -> RenderableType:
    """`show`'s Request section: the state line, the ack note, and each message (step, channel, delivery)."""
    parts: list[RenderableType] = [_request_line(r)]
    facts = _grid(10)
    facts.add_row("incidents", Text(", ".join(f"#{i}" for i in r.get("incidents") or [])))
    if r.get("ack_note"):
        facts.add_row("ack note", _t(r["ack_note"]))
    if r.get("resolution") and r.get("state") == "resolved":
        facts.add_row("resolved", _t(f"{_when(r.get('resolved_at'))}: {r['resolution']}"))
    parts.append(facts)
    messages = r.get("messages") or []
    if messages:  # one line each: when, step, delivery; the channel (and any error) take the wrapping column
        grid = _grid(20, max(len(visible(m.get("step"))) for m in messages), 9)
        for m in messages:
            state = visible(m.get("state"))
            tries = m.get("attempts") or 0
            where = _t(m.get("channel"))
            if m.get("last_error"):
                where.append("\n")
                where.append(_t(m["last_error"], "dim"))
            grid.add_row(
                Text(_when(m.get("created_at"))),
                _t(m.get("step")),
                Text(f"{state} ×{tries}" if tries > 1 else state, style=STYLE.get(state, "")),
                where,
            )
        parts.append(grid)
    return Group(*parts)


# --- sentinel show ---------------------------------------------------------------------------------------


def print_incident(item: dict[str, Any], console: Console | None = None) -> None:
    """The incident as a report: what and when, summary, diagnosis, what was measured, the evidence (each
    list capped at EVIDENCE_SHOWN with "and N more"), and its history."""
    console = console or Console()
    head = Text(f"Incident #{item['id']}  ", style="bold")
    head.append(item["state"], style=STYLE.get(item["state"], ""))
    head.append(f"  severity {visible(item.get('severity') or 'error')}")
    console.print(head)
    console.print(_t(item["key"], "bold"))
    facts = _grid(10)
    facts.add_row("dataset", _t(item["dataset"]))
    facts.add_row("check", _t(f"{item['check']} ({item.get('kind')}), cause {item.get('cause')}"))
    facts.add_row("opened", Text(_when(item["opened_at"], seconds=True)))
    seen = f"{item['occurrences']:,} time" + ("s" if item["occurrences"] != 1 else "")
    facts.add_row("last seen", Text(f"{_when(item['updated_at'], seconds=True)} ({seen})"))
    if item.get("resolved_at"):
        facts.add_row("resolved", Text(_when(item["resolved_at"], seconds=True)))
    if item.get("resolution"):
        facts.add_row("resolution", _t(item["resolution"]))
    if item.get("previous_id"):
        facts.add_row("follows", Text(f"incident #{item['previous_id']}"))
    console.print(Padding(facts, (0, 0, 0, 2)))

    last = item.get("last_result") or {}
    if item.get("summary"):
        _section(console, "Summary", _t(item["summary"]))
    diagnosis = last.get("diagnosis") or {}
    if diagnosis:
        parts: list[RenderableType] = []
        if diagnosis.get("message") and diagnosis.get("message") != item.get("summary"):
            parts.append(_t(diagnosis["message"]))
        rest = {k: v for k, v in diagnosis.items() if k != "message"}
        if rest:
            parts.append(_fields(rest))
        if parts:
            _section(console, "Diagnosis", Group(*parts))
    measured = _grid(8)
    for name in ("observed", "expected"):
        if last.get(name) not in (None, {}, []):
            measured.add_row(name, _inline(last[name]))
    if measured.row_count:
        _section(console, "Measured", measured)
    evidence = last.get("evidence") or {}
    blocks = [b for name, value in evidence.items() for b in _evidence(visible(name), value)]
    if blocks:
        _section(console, "Evidence", Group(*blocks))
    if item.get("request"):
        _section(console, "Request", _request(item["request"]))
    if item.get("changesets"):
        _section(console, "Change-sets", Group(*[_changeset(cs) for cs in item["changesets"]]))
    events = item.get("events") or []
    if events:
        _section(console, "History", _history(events))


def _section(console: Console, title: str, body: RenderableType) -> None:
    console.print()
    console.print(Text(title, style="bold underline"))
    console.print(Padding(body, (0, 0, 0, 2)))


def _cell(value: Any) -> Text:
    """One value in a line or table cell: numbers grouped, nested values as compact JSON (capped)."""
    if isinstance(value, dict):
        for k in ("message", "label", "kind"):
            if isinstance(value.get(k), str):
                return _t(value[k])
        return _t(_short(value, 60))
    if isinstance(value, list):
        return _t(", ".join(_num(v) if not isinstance(v, dict | list) else _short(v, 30) for v in value[:20]))
    return Text(_num(value)) if isinstance(value, int | float) and not isinstance(value, bool) else _t(value)


def _inline(d: Any) -> Text:
    """A small dict as `name value · name value`; anything else as a cell."""
    if not isinstance(d, dict):
        return _cell(d)
    out = Text()
    for n, (k, v) in enumerate(d.items()):
        if n:
            out.append(" · ", style="dim")
        out.append(visible(k), style="dim")
        out.append(" ")
        out.append(_inline(v) if isinstance(v, dict) else _cell(v))
    return out


def _fields(d: dict[str, Any]) -> Table:
    grid = _grid(max((len(visible(k)) for k in d), default=1))
    for k, v in d.items():
        grid.add_row(_t(k, "dim"), _inline(v))
    return grid


def _is_capped(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("items"), list) and "count" in value


def _evidence(name: str, value: Any) -> list[RenderableType]:
    """An evidence entry: a capped list or list of records as a table of the first EVIDENCE_SHOWN (records
    inside records, like a mode's rows, follow as their own tables), plain lists joined, the rest inline."""
    if value in (None, [], {}):
        return []
    if _is_capped(value) or (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
        items = value["items"] if _is_capped(value) else value
        total = int(value["count"]) if _is_capped(value) else len(items)
        out: list[RenderableType] = [Text(f"{name}: {total:,}", style="bold")]
        if items:
            out.append(_records(items[:EVIDENCE_SHOWN]))
        if total > min(len(items), EVIDENCE_SHOWN):
            out.append(Text(f"and {total - min(len(items), EVIDENCE_SHOWN):,} more", style="dim"))
        for n, item in enumerate(items[:EVIDENCE_SHOWN]):
            for k, v in item.items():
                if _is_capped(v) or (isinstance(v, list) and v and all(isinstance(x, dict) for x in v)):
                    out.extend(_evidence(f"{name}[{n + 1}] {visible(k)}", v))
        return out
    if isinstance(value, list):
        shown = ", ".join(_num(v) if not isinstance(v, dict | list) else _short(v, 30) for v in value[:20])
        more = f" and {len(value) - 20:,} more" if len(value) > 20 else ""
        line = Text(f"{name}: ", style="bold")
        line.append(_t(shown + more))
        return [line]
    line = Text(f"{name}: ", style="bold")
    line.append(_inline(value))
    return [line]


def _records(items: list[dict[str, Any]]) -> Table:
    columns: list[str] = []
    for item in items:
        for k, v in item.items():
            if k not in columns and not _is_capped(v) and not (isinstance(v, list) and v):
                columns.append(k)
    nested = {k for item in items for k, v in item.items() if isinstance(v, dict)}
    # plain values first, then what a record concludes (its diagnosis, a mode's factor), then the rest
    columns = sorted(columns, key=lambda k: 0 if k not in nested else 1 if k in ("diagnosis", "factor") else 2)
    columns = columns[:MAX_COLUMNS]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for k in columns:
        table.add_column(_t(k), overflow="fold")
    for item in items:
        table.add_row(*[_cell(item.get(k)) for k in columns])
    return table


def _history(events: list[dict[str, Any]]) -> Table:
    """Events oldest first; runs of identical updates are one line ("updated 12 times, the last at ..."), and
    only the latest HISTORY_SHOWN lines are printed."""
    lines: list[tuple[str, str, int, str, str]] = []  # at, event, repeats, last at, detail
    for e in events:
        detail = e.get("detail") or {}
        if isinstance(detail, dict):
            text = detail.get("summary") or detail.get("resolution") or detail.get("note") or ""
            text = f"until {_when(detail['until'])}" if detail.get("until") and not text else text
        else:
            text = detail
        text = visible(text if isinstance(text, str) else json.dumps(text, default=str))
        if lines and lines[-1][1] == e["event"] == "updated" and lines[-1][4] == text:
            at, event, n, _, _ = lines[-1]
            lines[-1] = (at, event, n + 1, e["at"], text)
        else:
            lines.append((e["at"], e["event"], 1, e["at"], text))
    grid = _grid(23, 9)
    if len(lines) > HISTORY_SHOWN:
        grid.add_row("", "", Text(f"{len(lines) - HISTORY_SHOWN:,} earlier line(s) not shown", style="dim"))
    for at, event, n, until, text in lines[-HISTORY_SHOWN:]:
        body = Text(f"{n:,} times, the last at {_when(until, seconds=True)}\n" if n > 1 else "", style="dim")
        body.append(text)
        grid.add_row(Text(_when(at, seconds=True)), Text(visible(event), style=STYLE.get(event, "")), body)
    return grid
