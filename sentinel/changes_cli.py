"""`sentinel changes`, `approve`, `reject`, `rollback`, `audit --verify`: people's side of the correction
agents (registered on the `sentinel` app by sentinel/cli.py)."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sentinel.cli import ConfigOpt, JsonOpt
from sentinel.runcmd import EXIT_CONFIG, EXIT_FAIL, load, open_store, stderr_console

IdArg = Annotated[int, typer.Argument(metavar="ID", help="change-set id (sentinel changes)")]


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in a container
        return "unknown"


def changes(config: ConfigOpt = Path("config.yaml"), as_json: JsonOpt = False) -> None:
    """List change-sets: what each would write (old -> new, provenance), its state and verification."""
    from sentinel import changesets
    from sentinel.checks.exact import grouped
    from sentinel.results import jsonable
    from sentinel.terminal import visible

    cfg = load(config, as_json)
    with open_store(cfg) as store:
        found = changesets.listing(store)
    if as_json:
        sys.stdout.write(json.dumps(jsonable({"changesets": found})) + "\n")
        return
    if not found:
        typer.echo("no change-sets")
        return
    for cs in found:
        typer.echo(
            f"#{cs['id']} {cs['state']:<17} {visible(cs['dataset'])} -> {visible(cs['target'])}.{visible(cs['object'])}"
            f" ({len(cs['rows'])} row(s), incident #{cs['incident']}, playbook {visible(cs['playbook'])})"
        )
        for r in cs["rows"][:5]:
            old, new = grouped(r["old"]) or r["old"], grouped(r["new"]) or r["new"]
            typer.echo(f"    {visible(r['key'])}.{visible(r['field'])}: {visible(old)} -> {visible(new)}")
        if len(cs["rows"]) > 5:
            typer.echo(f"    and {len(cs['rows']) - 5} more (--json lists all)")
        if cs["error"]:
            typer.echo(f"    {visible(cs['error'])}")


def approve(cs_id: IdArg, config: ConfigOpt = Path("config.yaml")) -> None:
    """Approve a verified change-set: it is promoted to production (each row only where it still holds the
    value seen when planning) and the dataset is re-checked at once."""
    from sentinel import changesets, runner
    from sentinel.notify.outbox import configured_channels, dispatch
    from sentinel.terminal import visible

    cfg = load(config)
    who = _who()
    with open_store(cfg) as store:
        try:
            cs = changesets.approve(cfg, store, cs_id, who)
        except ValueError as exc:
            stderr_console().print(str(exc), markup=False)
            raise typer.Exit(EXIT_CONFIG) from None
        steps = changesets.drive(cfg, store, f"cli:{who}", only=cs_id)
        with store.engine.connect() as conn:
            cs = changesets.get(conn, cs_id)
        if cs.state == "approved" and cs.claimed_by:  # a daemon took the step first: it promotes and re-checks
            typer.echo(f"approved change-set {cs_id}; {visible(cs.claimed_by)} is promoting it")
            return
        if cs.state not in ("promoted", "checked"):
            dispatch(store, f"approve:{cs_id}", cfg.root, configured_channels(cfg))
            stderr_console().print(
                f"change-set {cs_id} was approved but not promoted: {visible(cs.error or cs.state)}", markup=False
            )
            raise typer.Exit(EXIT_FAIL)
        written = next((s for s in steps if s.after == "promoted"), None)
        typer.echo(
            f"promoted change-set {cs_id} to {visible(cs.target)} ({visible(cs.object)})"
            + ("" if written else " (already)")
        )
        report = runner.run_dataset(cfg, store, cfg.dataset(cs.dataset), run_uid=f"approve:{cs_id}")
        dispatch(store, f"approve:{cs_id}", cfg.root, configured_channels(cfg))
        with store.engine.connect() as conn:
            cs = changesets.get(conn, cs_id)
    mine = next((r for r in report.results if r.check == cs.check_name), None)
    typer.echo(f"re-check: {visible(cs.check_name)} {mine.status if mine else 'not run'}")
    for c in report.changes:
        if c.id == cs.incident_id:
            typer.echo(
                f"incident #{c.id} {c.change}"
                + (f" (fixed by change-set {cs_id})" if cs.state == "checked" and c.change == "resolved" else "")
            )


def reject(
    cs_id: IdArg,
    note: Annotated[str, typer.Option("--note", help="why (kept with the change-set and in the audit log)")],
    config: ConfigOpt = Path("config.yaml"),
) -> None:
    """Reject a change-set: nothing is written; its staging is dropped and the owner's request goes on."""
    from sentinel import changesets

    cfg = load(config)
    with open_store(cfg) as store:
        try:
            changesets.reject(cfg, store, cs_id, _who(), note)
        except ValueError as exc:
            stderr_console().print(str(exc), markup=False)
            raise typer.Exit(EXIT_CONFIG) from None
    typer.echo(f"rejected change-set {cs_id}")


def rollback(cs_id: IdArg, config: ConfigOpt = Path("config.yaml")) -> None:
    """Put back what a promoted change-set replaced, each row only where it still holds the promoted value."""
    from sentinel import changesets

    cfg = load(config)
    with open_store(cfg) as store:
        try:
            done = changesets.rollback(cfg, store, cs_id, _who())
        except ValueError as exc:
            stderr_console().print(str(exc), markup=False)
            raise typer.Exit(EXIT_FAIL) from None
    typer.echo(f"rolled back change-set {cs_id}: {json.dumps(done, default=str)}")


def audit_log(
    config: ConfigOpt = Path("config.yaml"),
    verify: Annotated[
        bool, typer.Option("--verify", help="check the hash chain; exit 1 naming the first broken row")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The gateway's audit log (every decision, allowed or refused), or with --verify its hash chain."""
    from sentinel import audit
    from sentinel.results import jsonable
    from sentinel.terminal import visible

    cfg = load(config, as_json)
    with open_store(cfg) as store:
        with store.engine.connect() as conn:
            verdict = audit.verify(conn) if verify else None
            rows = [] if verify else audit.records(conn)
    if verdict is not None:
        doc = {"rows": verdict.rows, "ok": verdict.ok, "broken_at": verdict.broken_at, "reason": verdict.reason}
        if as_json:
            sys.stdout.write(json.dumps(doc) + "\n")
        elif verdict.ok:
            typer.echo(f"audit chain intact: {verdict.rows} row(s)")
        else:
            typer.echo(f"audit chain broken at row {verdict.broken_at}: {verdict.reason}")
        if not verdict.ok:
            raise typer.Exit(EXIT_FAIL)
        return
    if as_json:
        sys.stdout.write(json.dumps(jsonable({"audit": rows})) + "\n")
        return
    for r in rows:
        typer.echo(
            f"{r['seq']:>5} {r['at']:%Y-%m-%d %H:%M:%S} {visible(r['actor'])} {r['action']} {r['decision']}"
            + (f" cs#{r['changeset_id']}" if r["changeset_id"] else "")
            + f" {visible(json.dumps(r['detail'], default=str))[:200]}"
        )


staging = typer.Typer(help="Staging environments corrections are tried in.", no_args_is_help=True)


@staging.command("init")
def staging_init(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="a gsheets source in config.yaml")],
    title: Annotated[
        str | None, typer.Option("--title", help="the copy's name (default: '<title> (Sentinel staging)')")
    ] = None,
    folder: Annotated[
        str | None, typer.Option("--folder", help="Drive folder id (a Shared Drive's, for a service account)")
    ] = None,
    config: ConfigOpt = Path("config.yaml"),
) -> None:
    """Make the staging copy of a Google Sheets source (a Drive copy, without its sharing or comments) and print
    its key, for the source's `staging_spreadsheet:`."""
    from sentinel.correctors.base import TargetError

    cfg = load(config)
    src = cfg.main.sources.get(source)
    if src is None or src.type != "gsheets":
        stderr_console().print(f"{source!r} is not a gsheets source in {config}", markup=False)
        raise typer.Exit(EXIT_CONFIG)
    from sentinel.correctors.gsheets import init_staging

    try:
        key = init_staging(cfg, source, title=title, folder_id=folder)
    except TargetError as exc:
        stderr_console().print(exc.message, markup=False)
        raise typer.Exit(EXIT_FAIL) from None
    typer.echo(f"staging copy of {source}: {key}")
    typer.echo(f"add to sources.{source} in {config}:  staging_spreadsheet: {key}")


def register(app: typer.Typer) -> None:
    app.add_typer(staging, name="staging")
    app.command("changes")(changes)
    app.command()(approve)
    app.command()(reject)
    app.command()(rollback)
    app.command("audit")(audit_log)
