"""The text of an owner request: one message per step of a request's life, as text and HTML, from templates.

Everything a message states is read from the store inside the caller's transaction (the incidents' last
results, the dataset's last passing results, earlier incidents of the same checks, the outbox history of this
request) or from the config (origin, owner, schedule, context); nothing is made up. Values from the data are
hostile: the text template passes every value through `terminal.visible` (one line each, control characters
shown as escapes) and the HTML template autoescapes; values are rendered as values, never as templates. The
only links are the ones Sentinel builds from the config (a sheet's URL, the Salesforce instance's records).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa
from markupsafe import Markup

from sentinel.envsubst import expand_env, references
from sentinel.notify import problems
from sentinel.notify.message import Message
from sentinel.notify.wording import brief, count, number, parse_time, span, when
from sentinel.store import incidents, outbox, owner_requests, request_incidents, results, runs, utc
from sentinel.terminal import visible

ROWS_SHOWN = 10  # rows, cells or records listed in a message; the rest are counted and `sentinel show` lists them
MEMORY = 3  # earlier incidents of the same checks recalled
SHEETS = "https://docs.google.com/"

# the single action asked, by the lead incident's cause class (never by a value from the data)
ACTIONS = {
    "empty": "re-upload",
    "no_data": "re-upload",
    "too_few_rows": "complete_load",
    "empty_bucket": "complete_load",
    "volume_drop": "complete_load",
    "volume_spike": "confirm_or_dedupe",
    "stale": "restart",
    "drift": "confirm_or_revert",
    "unit_shift": "re_enter",
    "new_category": "confirm_labels",
    "share_shift": "confirm_shares",
    "high_cardinality": "review_check",
    "magnitude": "confirm_amounts",
    "unusual": "confirm_amounts",
    "mixed_units": "one_currency",
    "violation": "correct_rows",
    "unmeasurable": "reach_source",
}
HEADLINES = {
    "empty": "is empty",
    "no_data": "has no data",
    "too_few_rows": "has fewer rows than expected",
    "empty_bucket": "has a period with no rows",
    "volume_drop": "has fewer rows than usual",
    "volume_spike": "has more rows than usual",
    "stale": "is stale",
    "drift": "changed its schema",
    "unit_shift": "has values in the wrong unit",
    "new_category": "has new category values",
    "share_shift": "has a shift in its category shares",
    "high_cardinality": "has too many categories to judge",
    "magnitude": "has amounts off by orders of magnitude",
    "unusual": "has unusual amounts",
    "mixed_units": "mixes currencies in one column",
    "violation": "has rows that break a rule",
    "unmeasurable": "cannot be measured",
}
PREFIX = {"reminder": "Reminder: ", "escalation": "Escalation: ", "reopened": "Broke again: ", "closing": "Fixed: "}


def render(
    conn: sa.Connection,
    cfg: Any,
    request_id: int,
    kind: str,
    now: dt.datetime,
    to_backup: bool = False,
    origin: dict | None = None,
) -> Message:
    """The message of step `kind` (request | reminder | escalation | closing | reopened) of a request, from
    the store as it is inside the caller's transaction. `to_backup`: addressed to the owner's backup (an
    escalation always is). `origin`: what the dataset's origin holds now (read by API before the transaction),
    or None."""
    ctx = _context(conn, cfg, request_id, kind, now, to_backup or kind == "escalation", origin)
    lead = ctx["problems"][0] if ctx["problems"] else None
    headline = HEADLINES.get(lead["cause"], "has a problem") if lead else "has a problem"
    if kind == "closing":
        headline = "is fixed"
    subject = visible(f"[sentinel] {PREFIX.get(kind, '')}{ctx['dataset']} {headline} ({ctx['key']})")
    text = _TEXT.get_template("request.txt.j2").render(m=ctx, subject=subject)
    html = _HTML.get_template("request.html.j2").render(m=ctx, subject=subject)
    summary = subject.removeprefix("[sentinel] ")
    return Message(kind, subject, text, html, summary, request_id)


def _finalize(value: Any) -> Any:
    """Every value a template prints: one line, control characters visible (Markup built here is kept)."""
    if isinstance(value, Markup) or value is None:
        return "" if value is None else value
    return visible(value)


def _env(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sentinel.notify", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


_TEXT = _env(False)
_HTML = _env(True)


# --- reading the store -------------------------------------------------------------------------------------


@dataclass
class _Incident:
    id: int
    key: str
    check: str
    kind: str
    cause: str
    summary: str
    opened_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    last_result: dict[str, Any] = field(default_factory=dict)


def _incidents(conn: sa.Connection, request_id: int) -> list[_Incident]:
    rows = conn.execute(
        sa.select(incidents)
        .select_from(incidents.join(request_incidents, request_incidents.c.incident_id == incidents.c.id))
        .where(request_incidents.c.request_id == request_id)
        .order_by(incidents.c.id)
    ).all()
    return [
        _Incident(
            r.id,
            r.key,
            r.check_name,
            r.kind,
            r.cause or "failed",
            r.summary or "",
            utc(r.opened_at),
            utc(r.updated_at),
            utc(r.resolved_at),
            r.last_result if isinstance(r.last_result, dict) else {},
        )
        for r in rows
    ]


def _passes(conn: sa.Connection, dataset: str, check: str, before: dt.datetime | None = None, n: int = 1) -> list:
    """The latest passing results of a dataset's check (with their run's start), newest first."""
    q = (
        sa.select(results.c.observed, results.c.kind, runs.c.started_at)
        .select_from(results.join(runs, runs.c.id == results.c.run_id))
        .where(results.c.dataset == dataset, results.c.check_name == check, results.c.status == "pass")
        .order_by(runs.c.started_at.desc(), results.c.id.desc())
        .limit(n)
    )
    if before is not None:
        q = q.where(runs.c.started_at < before)
    return conn.execute(q).all()


def _last_rows(conn: sa.Connection, dataset: str, before: dt.datetime) -> int | None:
    """How many rows the dataset had at its last good `not_empty` run before `before`, if it has that check."""
    row = conn.execute(
        sa.select(results.c.observed)
        .select_from(results.join(runs, runs.c.id == results.c.run_id))
        .where(
            results.c.dataset == dataset,
            results.c.kind == "not_empty",
            results.c.status == "pass",
            runs.c.started_at < before,
        )
        .order_by(runs.c.started_at.desc(), results.c.id.desc())
        .limit(1)
    ).first()
    return count(row.observed) if row is not None else None


def _memory(conn: sa.Connection, dataset: str, checks: list[str], exclude: list[int], tz: ZoneInfo) -> list[dict]:
    """How the last incidents of the same checks ended: their resolution and how long they stayed open."""
    rows = conn.execute(
        sa.select(incidents.c.key, incidents.c.opened_at, incidents.c.resolved_at, incidents.c.resolution)
        .where(
            incidents.c.dataset == dataset,
            incidents.c.check_name.in_(checks),
            incidents.c.resolved_at.is_not(None),
            incidents.c.id.not_in(exclude),
        )
        .order_by(incidents.c.resolved_at.desc(), incidents.c.id.desc())
        .limit(MEMORY)
    ).all()
    return [
        {
            "key": r.key,
            "resolution": r.resolution or "resolved",
            "open_for": span(utc(r.resolved_at) - utc(r.opened_at)),
            "resolved_at": when(utc(r.resolved_at), tz),
        }
        for r in rows
    ]


def _history(conn: sa.Connection, req: Any, who: str, tz: ZoneInfo, now: dt.datetime) -> list[str]:
    """What the owner was sent and when: the first message, then each reminder (from the outbox rows of this
    request, one per step whatever the number of channels)."""
    lines = []
    if req.notified_at is not None:
        lines.append(f"asked {who} at {when(utc(req.notified_at), tz, now)}")
    steps = conn.execute(
        sa.select(outbox.c.key, sa.func.min(outbox.c.created_at).label("at"))
        .where(outbox.c.request_id == req.id, outbox.c.key.like(f"request-{req.id}:reminder-%"))
        .group_by(outbox.c.key)
    ).all()
    sent: dict[int, dt.datetime] = {}
    for s in steps:
        m = re.match(rf"request-{req.id}:reminder-(\d+):", s.key)
        if m:
            n = int(m.group(1))
            sent[n] = min(sent.get(n, utc(s.at)), utc(s.at))
    for n in sorted(sent):
        lines.append(f"reminder {n} sent to {who} at {when(sent[n], tz, now)}")
    if not sent and (req.reminders or 0) and req.last_reminded_at is not None:
        lines.append(f"{req.reminders} reminder(s), the last at {when(utc(req.last_reminded_at), tz, now)}")
    if req.acked_at is not None:
        note = f": {req.ack_note}" if req.ack_note else ""
        lines.append(f"acknowledged at {when(utc(req.acked_at), tz, now)}{note}")
    else:
        lines.append("no answer")
    return lines


# --- what the message says ---------------------------------------------------------------------------------


def _context(
    conn: sa.Connection,
    cfg: Any,
    request_id: int,
    kind: str,
    now: dt.datetime,
    to_backup: bool,
    origin_now: dict | None,
) -> dict[str, Any]:
    req = conn.execute(sa.select(owner_requests).where(owner_requests.c.id == request_id)).one()
    ds = next((d for d in cfg.datasets if d.name == req.dataset), None)
    owners = cfg.main.owners
    owner = owners.get(req.owner) if req.owner else None
    owner_name = (owner.name if owner and owner.name else req.owner) or "the owner"
    recipient = owner
    if to_backup and owner is not None and owner.backup:
        recipient = owners.get(owner.backup)
    tz = ZoneInfo((recipient.timezone if recipient is not None else None) or "UTC")
    found = _incidents(conn, request_id)
    if found:
        head = problems.lead(found)
        found = [head, *[i for i in found if i is not head]]
    first_opened = min((i.opened_at for i in found), default=now)
    rows_before = _last_rows(conn, req.dataset, first_opened)
    where = _origin(cfg, ds, rows_before, origin_now, tz, now)

    items = []
    for inc in found:
        last = inc.last_result
        good = _passes(conn, req.dataset, inc.check, before=inc.opened_at)
        passing = _passes(conn, req.dataset, inc.check) if kind == "closing" else []
        items.append(
            {
                "id": inc.id,
                "key": inc.key,
                "check": inc.check,
                "cause": inc.cause,
                "summary": inc.summary,
                "expected": brief(last.get("expected")),
                "last_good": _last_good(good[0], tz, now) if good else None,
                "passing": _passing(inc.check, passing[0], tz, now) if passing else None,
                "opened_at": when(inc.opened_at, tz, now),
            }
        )

    flagged = _rows(found, origin_now, where)
    schedule_next = _next_check(cfg, ds, now)
    lead_cause = found[0].cause if found else ""
    fixed_at = utc(req.resolved_at) or now
    reminders = int(req.reminders or 0)
    if kind == "reminder" and not (req.last_reminded_at is not None and utc(req.last_reminded_at) == now):
        reminders += 1  # rendered before the row counts this reminder
    backup = owners.get(owner.backup) if owner is not None and owner.backup else None
    return {
        "kind": kind,
        "key": f"REQ-{request_id}",
        "dataset": req.dataset,
        "to": (recipient.name if recipient is not None else None)
        or (owner.backup if to_backup and owner else None)
        or owner_name,
        "owner": owner_name,
        "backup": (backup.name or owner.backup) if backup is not None else None,
        "tz": str(tz),
        "first_sent": when(utc(req.notified_at), tz, now) if req.notified_at is not None else None,
        "reminder": reminders,
        "max_reminders": cfg.main.notify.max_reminders,
        "history": _history(conn, req, owner_name, tz, now) if kind == "escalation" else [],
        "is_backup": to_backup and backup is not None,
        "broke_again": when(max((i.updated_at for i in found), default=now), tz, now),
        "fixed_at": when(fixed_at, tz, now),
        "fixed": [p["passing"] for p in items if p["passing"]],
        "origin": where,
        "problems": items,
        "rows": flagged,
        "action": _action(ACTIONS.get(lead_cause), req.dataset, where, found[0] if found else None),
        "next_check": when(schedule_next, tz, now) if schedule_next else None,
        "context": [line for line in (ds.context or "").splitlines() if line.strip()] if ds else [],
        "memory": _memory(conn, req.dataset, sorted({i.check for i in found}), [i.id for i in found], tz),
        "incident_ids": [i.id for i in found],
    }


def _origin(
    cfg: Any, ds: Any, rows_before: int | None, now_: dict | None, tz: ZoneInfo, now: dt.datetime
) -> dict | None:
    """Where the dataset's rows come from, named from the config (no API call), and what it holds now."""
    o = getattr(ds, "origin", None) if ds is not None else None
    if o is None:
        return None
    src = cfg.main.sources.get(o.source)
    kind = getattr(src, "type", None)
    out: dict[str, Any] = {"source": o.source, "type": kind, "tab": o.worksheet, "range": o.range, "object": o.object}
    out["url"] = out["rows_span"] = out["now"] = None
    if kind == "gsheets" and src.spreadsheet and not references(src.spreadsheet):
        out["spreadsheet"] = src.spreadsheet
        out["url"] = f"{SHEETS}spreadsheets/d/{quote(src.spreadsheet, safe='')}/edit"
    else:
        out["spreadsheet"] = None
    header = _header_row(o.range)
    if kind == "gsheets" and rows_before:
        out["rows_span"] = f"rows {header + 1}-{header + rows_before}"
    out["instance"] = (_instance(src) or _logged_in(now_)) if kind == "salesforce" else None
    if isinstance(now_, Mapping):
        if now_.get("error"):
            out["now"] = f"I could not read it just now: {now_['error']}"
        elif now_.get("rows") is not None:
            thing = f"the sheet tab {o.worksheet}" if kind == "gsheets" else f"{o.object or o.source}"
            unit = "data rows" if kind == "gsheets" else "records"
            since = parse_time(now_.get("modified_at"))
            out["now"] = f"{thing} has {number(now_['rows'])} {unit}" + (
                f" since {when(since, tz, now)} (the file's last change)" if since else " now"
            )
            if rows_before is not None:
                out["now"] += f"; it had {rows_before:,} at the last good run"
    return out


def _header_row(a1: str | None) -> int:
    """The header row of an A1 range (`A1:F200` -> 1, `Tab!B3:F` -> 3); row 1 when no range is given."""
    m = re.search(r"(?:^|!)\$?[A-Za-z]*\$?(\d+)", a1 or "")
    return int(m.group(1)) if m else 1


def _instance(src: Any) -> str | None:
    """The configured Salesforce instance URL (the only host a record link may point to)."""
    url = getattr(getattr(src, "production", None), "instance_url", None)
    if not url:
        return None
    try:
        url = expand_env(url) if references(url) else url
    except Exception:  # an unset variable: no links then, the record ids are still shown
        return None
    return url.rstrip("/") + "/" if url.startswith("https://") else None


def _logged_in(now_: dict | None) -> str | None:
    """The instance the origin read logged in to (the OAuth answer's instance_url), for JWT and client-credentials
    logins, whose config names only a login domain: `https://host/`, nothing else."""
    url = now_.get("instance") if isinstance(now_, Mapping) else None
    ok = isinstance(url, str) and re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d+)?/", url)
    return url if ok else None


def _safe_link(url: Any, where: dict | None) -> str | None:
    """A URL from the evidence may be a link only to Google Sheets or the configured Salesforce instance."""
    if not isinstance(url, str) or any(c in url for c in "\"'<> \n\r\t\\"):
        return None
    if url.startswith(SHEETS):
        return url
    instance = (where or {}).get("instance")
    return url if instance and url.startswith(instance) else None


def _rows(found: list[_Incident], origin_now: dict | None, where: dict | None) -> dict[str, Any]:
    """The flagged rows of every incident (lead first), merged by key: value, reference, candidate, where."""
    merged: dict[str, dict[str, Any]] = {}
    keys_of: dict[int, list[str]] = {}
    counted = 0  # the largest exact count one evidence block gives (its items may be capped)
    capped_out = False
    cells = (origin_now or {}).get("cells") if isinstance(origin_now, Mapping) else None
    records = (origin_now or {}).get("records") if isinstance(origin_now, Mapping) else None
    for inc in found:
        evidence = inc.last_result.get("evidence") or {}
        if not isinstance(evidence, Mapping):
            continue
        blocks = [(evidence.get("rows"), None)] + [
            (m.get("rows"), m.get("factor")) for m in evidence.get("modes") or [] if isinstance(m, Mapping)
        ]
        for block, factor in blocks:
            if not isinstance(block, Mapping):
                continue
            counted = max(counted, int(block.get("count") or 0))
            capped_out = capped_out or bool(block.get("omitted"))
            for item in block.get("items") or []:
                if not isinstance(item, Mapping) or "key" not in item:
                    continue
                key = str(item["key"])
                keys_of.setdefault(inc.id, []).append(key)
                row = merged.setdefault(
                    key, {"key": key, "value": None, "reference": None, "candidate": None, "checks": []}
                )
                row["checks"].append(inc.check)
                if row["value"] is None and "value" in item:
                    row["value"] = number(item["value"])
                if row["reference"] is None and item.get("reference") is not None:
                    row["reference"] = number(item["reference"])
                if row["candidate"] is None:
                    row["candidate"] = _candidate(item, factor)
                row.setdefault("origin", item.get("origin"))
    shown = [merged[k] for k in _pick(found, keys_of, merged)]
    for row in shown:
        cell, url = _where(row.pop("origin", None), row["key"], cells, records)
        row["cell"] = cell
        row["link"] = _safe_link(url, where)
        row["checks"] = ", ".join(row["checks"])
    for row in merged.values():
        row.pop("origin", None)
    total = max(len(merged), counted)
    return {"shown": shown, "total": total, "more": total - len(shown), "at_least": capped_out}


def _pick(found: list[_Incident], keys_of: dict[int, list[str]], merged: dict[str, dict]) -> list[str]:
    """The rows a message lists: the lead's first, plus for each other incident one row the lead does not
    explain (one with a candidate if it has one), so a fat-fingered amount is not hidden behind 25 yen rows."""
    lead_keys = set(keys_of.get(found[0].id, [])) if found else set()
    extras: list[str] = []
    for inc in found[1:]:
        own = [k for k in keys_of.get(inc.id, []) if k not in lead_keys and k not in extras]
        pick = next((k for k in own if merged[k]["candidate"]), own[0] if own else None)
        if pick is not None and len(extras) < ROWS_SHOWN // 2:
            extras.append(pick)
    rest = [k for k in merged if k not in extras]
    return rest[: ROWS_SHOWN - len(extras)] + extras


def _where(item_origin: Any, key: str, cells: Any, records: Any) -> tuple[str | None, Any]:
    """The cell range or record of a row, from the evidence item or from what the origin holds now."""
    for source in (item_origin, (cells or {}).get(key) if isinstance(cells, Mapping) else None):
        if isinstance(source, str):
            return source, None
        if isinstance(source, Mapping) and (source.get("cells") or source.get("record")):
            return str(source.get("cells") or source.get("record")), source.get("url")
    rec = (records or {}).get(key) if isinstance(records, Mapping) else None
    if isinstance(rec, Mapping) and rec.get("record"):
        return str(rec["record"]), rec.get("url")
    return None, None


def _candidate(item: Mapping[str, Any], factor: Any) -> str | None:
    """A candidate value with where it comes from: a currency factor (subschema) or x / 10^k (magnitude)."""
    if item.get("candidate") is not None:
        why = ""
        if isinstance(factor, Mapping) and factor.get("label"):
            why = f" (if {factor['label']}: / {number(factor.get('factor'))})"
        return f"{number(item['candidate'])}{why}"
    d = item.get("diagnosis")
    if isinstance(d, Mapping) and d.get("candidate") is not None:
        k = d.get("k")
        return f"{number(d['candidate'])} (/ 10^{k})" if k is not None else number(d["candidate"])
    return None


def _action(action: str | None, dataset: str, where: dict | None, lead: _Incident | None) -> str:
    place = dataset
    if where and where.get("type") == "gsheets" and where.get("tab"):
        place = f"the sheet tab {where['tab']}" + (f" ({where['rows_span']})" if where.get("rows_span") else "")
    elif where and where.get("type") == "salesforce" and where.get("object"):
        place = f"the {where['object']} records"
    match action:
        case "re-upload":
            return f"Please re-upload {place} from your master file."
        case "restart":
            return f"Please restart the load that fills {dataset}: its newest data is older than allowed."
        case "complete_load":
            return (
                f"Please check the load that fills {place}: it holds fewer rows than expected. Re-run it or "
                "re-upload the missing rows."
            )
        case "confirm_or_dedupe":
            return (
                f"Please confirm the extra rows in {place} are real, or remove the duplicates (a load run twice "
                "often doubles a period)."
            )
        case "confirm_labels":
            return (
                "Please confirm the new values listed are intended (then run `sentinel resolve "
                f"{lead.id if lead else 'ID'}` to accept them) or correct them to the values they should be."
            )
        case "confirm_shares":
            return (
                "Please confirm the shift in shares listed is real (then run `sentinel resolve "
                f"{lead.id if lead else 'ID'}` to accept it) or fix the rows that moved."
            )
        case "review_check":
            return (
                f"Please tell whoever maintains Sentinel's checks whether this column of {dataset} is meant to "
                "hold categories: it has more distinct values than the check tracks, so it was not judged."
            )
        case "confirm_or_revert":
            return (
                f"Please confirm the schema change of {dataset} is intended (then run `sentinel resolve "
                f"{lead.id if lead else 'ID'}` to accept it) or revert it."
            )
        case "re_enter":
            return (
                "Please re-enter each amount listed in the currency its row is labelled with, or fix the row's "
                "currency label (a candidate value is shown where a rate explains it)."
            )
        case "confirm_amounts":
            return "Please confirm or correct each amount listed (a candidate value is shown where one is likely)."
        case "one_currency":
            return (
                f"Please convert the amounts of the currency named to the column's main currency, or keep them in "
                f"a column of their own: sums and means over {dataset} mix currencies."
            )
        case "correct_rows":
            return f"Please correct the rows listed in {place}."
        case "reach_source":
            return f"Please check that Sentinel can reach the source of {dataset}."
    return f"Please look at the problem described and fix it at its source ({place})."


def _next_check(cfg: Any, ds: Any, now: dt.datetime) -> dt.datetime | None:
    if ds is None:
        return None
    from sentinel.scheduler import trigger

    return trigger(ds.schedule, cfg.main.daemon.timezone, name=ds.name).get_next_fire_time(None, now)


def _last_good(row: Any, tz: ZoneInfo, now: dt.datetime) -> str:
    at = when(utc(row.started_at), tz, now)
    n = count(row.observed) if row.kind == "not_empty" else None
    if n is not None:
        return f"it had {n:,} rows at the last good run, {at}"
    return f"it last passed at {at}"


def _passing(check: str, row: Any, tz: ZoneInfo, now: dt.datetime) -> str:
    """What the passing re-check measured, in its own numbers."""
    obs = row.observed
    n = count(obs) if row.kind == "not_empty" else None
    if n is not None:
        return f"{n:,} rows back"
    if isinstance(obs, Mapping):
        if obs.get("rows_scored") is not None and obs.get("flagged") is not None:
            return f"{check}: {number(obs['flagged'])} of {number(obs['rows_scored'])} rows flagged"
        if obs.get("unexpected_count") is not None and obs.get("element_count") is not None:
            return f"{check}: {number(obs['unexpected_count'])} of {number(obs['element_count'])} rows unexpected"
        if obs.get("latest") is not None:
            latest = parse_time(obs["latest"])
            return f"{check}: newest value {when(latest, tz, now) if latest else obs['latest']}"
    return f"{check} passes (re-checked {when(utc(row.started_at), tz, now)})"
