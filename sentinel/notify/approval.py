"""The owner's yes/no question for a verified change-set: each row's old -> new value and why, and the two
commands that answer it. Sent through the change-set's request (same thread, same channels).

Every value is data and escaped as such: one line in the text (control characters shown as escapes), HTML
escaped in the HTML; the commands are built from the change-set id, never from the data.
"""

from __future__ import annotations

import html
from typing import Any

from sentinel.checks.exact import grouped
from sentinel.notify.message import Message
from sentinel.terminal import visible

SHOWN = 10  # rows listed; the rest are counted and `sentinel changes --json` lists them all


def _value(v: Any) -> str:
    return visible(grouped(v) or v)


def _why(prov: dict) -> str:
    kind = prov.get("kind")
    if kind == "power_of_ten":
        return f"x / 10^{prov.get('k')}: the detector's proof"
    if kind == "fx_rate":
        return f"converted from {prov.get('currency')} at {prov.get('rate')} (config fx_rates)"
    if kind == "snapshot":
        return "the previous value of this key"
    return str(kind)


def render(cfg: Any, cs: Any, rows: list[Any], req: Any) -> Message:
    from sentinel.invocation import command

    me = command()
    lines = [
        f"{visible(r.key)}: {visible(r.field)} {_value(r.old)} -> {_value(r.new)}? ({_why(r.provenance or {})})"
        for r in rows[:SHOWN]
    ]
    if len(rows) > SHOWN:
        lines.append(f"and {len(rows) - SHOWN} more: {me} changes --json")
    v = cs.verification or {}
    checked = "the check passes on staging" if v.get("check_passes") else "the changed rows pass on staging"
    where = f"{visible(cs.target)} ({visible(cs.object)})"
    head = f"[sentinel] {visible(cs.dataset)}: approve change-set {cs.id}? (REQ-{req.id})"
    text = "\n".join(
        [
            head,
            "",
            f"Sentinel staged a correction of {visible(cs.dataset)} in {where} and verified it: {checked}, "
            "and no other check newly fails there.",
            *([f"Note: {visible(v['note'])}"] if v.get("note") else []),
            "",
            *[f"  - {line}" for line in lines],
            "",
            f"Approve: {me} approve {cs.id}",
            f"Reject:  {me} reject {cs.id} --note 'why'",
            "",
            f"Nothing is written to production before an approval. Request REQ-{req.id}; incident #{cs.incident_id}.",
        ]
    )
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    body = (
        f"<p>Sentinel staged a correction of <b>{html.escape(visible(cs.dataset))}</b> in {html.escape(where)} and "
        f"verified it: {html.escape(checked)}, and no other check newly fails there.</p><ul>{items}</ul>"
        f"<p>Approve: <code>{html.escape(me)} approve {cs.id}</code><br>"
        f"Reject: <code>{html.escape(me)} reject {cs.id} --note 'why'</code></p>"
    )
    summary = head.removeprefix("[sentinel] ")
    return Message("change", head, text, f"<html><body>{body}</body></html>", summary, req.id)
