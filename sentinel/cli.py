"""`sentinel` command line (DESIGN §8). Exit codes: 0 all pass, 1 failures found, 2 configuration error,
3 could not measure. With --json, stdout carries exactly one JSON document and everything else goes to stderr.
Heavy modules are imported inside commands so `sentinel run` on a small table starts fast; `run` itself lives
in runcmd.py, which the entry point calls without typer when the command line is plain.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sentinel import runcmd
from sentinel.runcmd import EXIT_CONFIG, EXIT_ERROR, load, open_store, stderr_console

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: flags show as `--json`, not `--json <bool>`; usage errors as text
    help="Sentinel: data-quality checks that open incidents and ask for (or stage) fixes.",
)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", metavar="PATH", help="config.yaml to use")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON document on stdout")]


@app.command()
def run(
    config: ConfigOpt = Path("config.yaml"),
    dataset: Annotated[
        list[str] | None, typer.Option("--dataset", "-d", metavar="NAME", help="only this dataset (repeatable)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the checks of every dataset (or the named ones) once."""
    runcmd.run(config, dataset, as_json)


@app.command()
def validate(config: ConfigOpt = Path("config.yaml")) -> None:
    """Check config.yaml, checks/ and correctors/; report every error at once (exit 2 if any)."""
    cfg = load(config)
    n_checks = sum(len(d.checks) for d in cfg.datasets)
    typer.echo(f"OK: {len(cfg.datasets)} dataset(s), {n_checks} check(s), {len(cfg.playbooks)} playbook(s)")


@app.command("incidents")
def list_incidents(
    config: ConfigOpt = Path("config.yaml"),
    all_: Annotated[bool, typer.Option("--all", help="include resolved incidents")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List open incidents (or all of them)."""
    from sentinel.notify.ladder import requests_of

    cfg = load(config)
    with open_store(cfg) as store:
        items = store.list_incidents(None if all_ else "open")
        asked = requests_of(store, cfg, [i["id"] for i in items])
    for i in items:
        i["request"] = asked.get(i["id"])  # the owner request it is part of (state, who was asked when), or None
    if as_json:
        sys.stdout.write(json.dumps(items) + "\n")
        return
    from sentinel.report import print_incidents

    print_incidents(items)


@app.command()
def show(
    incident_id: Annotated[int, typer.Argument(metavar="ID")],
    config: ConfigOpt = Path("config.yaml"),
    as_json: Annotated[bool, typer.Option("--json", help="print the incident's whole document as JSON")] = False,
) -> None:
    """Show one incident as a report: summary, diagnosis, evidence and history."""
    from sentinel.notify.ladder import requests_of

    cfg = load(config)
    with open_store(cfg) as store:
        item = store.get_incident(incident_id)
        if item is not None:
            from sentinel.changesets import listing

            item["request"] = requests_of(store, cfg, [incident_id]).get(incident_id)
            item["changesets"] = listing(store, incident_id)
    if item is None:
        stderr_console().print(f"no incident {incident_id}")
        raise typer.Exit(EXIT_CONFIG)
    if as_json:
        from sentinel.results import jsonable

        sys.stdout.write(json.dumps(jsonable(item)) + "\n")
        return
    from sentinel.report import print_incident

    print_incident(item)


@app.command()
def resolve(
    incident_id: Annotated[int, typer.Argument(metavar="ID")],
    note: Annotated[str, typer.Option("--note", help="why it is resolved")],
    config: ConfigOpt = Path("config.yaml"),
) -> None:
    """Close an incident by hand, accepting what was flagged (schema columns, history_by values, category shares)."""
    from sentinel.notify.outbox import configured_channels, dispatch
    from sentinel.runner import resolve_incident
    from sentinel.terminal import visible

    cfg = load(config)
    with open_store(cfg) as store:
        change = resolve_incident(store, incident_id, note, cfg)
        dispatch(store, f"resolve:{incident_id}", cfg.root, configured_channels(cfg))
    if change is None:
        stderr_console().print(f"incident {incident_id} is not open")
        raise typer.Exit(EXIT_CONFIG)
    typer.echo(f"resolved incident {incident_id} ({visible(change.key)})")


RefArg = Annotated[str, typer.Argument(metavar="ID", help="REQ-n (a request) or n (an incident: its request)")]


def _answer(config: Path, ref: str, act) -> Any:  # type: ignore[no-untyped-def]
    from sentinel.notify.ladder import RequestNotFound

    cfg = load(config)
    with open_store(cfg) as store:
        try:
            answer = act(cfg, store)
        except RequestNotFound as exc:
            stderr_console().print(str(exc), markup=False)
            raise typer.Exit(EXIT_CONFIG) from None
    return answer


@app.command()
def ack(
    ref: RefArg,
    note: Annotated[str, typer.Option("--note", help="what the owner is doing about it")],
    config: ConfigOpt = Path("config.yaml"),
) -> None:
    """Acknowledge an owner request: no more reminders or escalation; re-checks go on and a pass closes it."""
    from sentinel.notify import ladder

    answer = _answer(config, ref, lambda cfg, store: ladder.ack(store, ref, note))
    typer.echo(f"REQ-{answer.request_id} acknowledged: no more reminders (incidents {_ids(answer.incident_ids)})")


@app.command()
def snooze(
    ref: RefArg,
    until: Annotated[
        str,
        typer.Option(
            "--until",
            metavar="WHEN",
            help="a duration (4h, 1d) or a time (2026-12-01T09:00, in the owner's timezone; or with an offset)",
        ),
    ],
    config: ConfigOpt = Path("config.yaml"),
) -> None:
    """Hold an owner request's reminders and escalation until a time."""
    import datetime as dt

    from sentinel.notify import ladder

    def act(cfg, store):  # type: ignore[no-untyped-def]
        with store.engine.connect() as conn:
            req = ladder.find(conn, ref)
        try:
            when = ladder.parse_until(until, dt.datetime.now(dt.UTC), ladder.owner_zone(cfg, req.owner))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--until") from None
        return ladder.snooze(store, f"REQ-{req.id}", when), when

    answer, when = _answer(config, ref, act)
    typer.echo(f"REQ-{answer.request_id} snoozed until {when:%Y-%m-%d %H:%M UTC}")


def _ids(ids: list[int]) -> str:
    return ", ".join(f"#{i}" for i in ids)


@app.command()
def demo(
    config: ConfigOpt = Path("config.yaml"),
    as_json: JsonOpt = False,
) -> None:
    """Build the demo warehouse under .sentinel/, run the checks on a healthy day, break it, run again."""
    from sentinel.demo import run_demo

    raise typer.Exit(run_demo(config, as_json))


@app.command()
def daemon(
    config: ConfigOpt = Path("config.yaml"),
    http: Annotated[
        str | None, typer.Option("--http", help="serve /healthz and /metrics on HOST:PORT, e.g. 127.0.0.1:9108")
    ] = None,
    log_format: Annotated[str, typer.Option("--log-format", help="text or json (one object per line)")] = "text",
) -> None:
    """Run every dataset on its schedule until SIGTERM; SIGHUP reloads the config."""
    import signal
    import threading

    early = threading.Event()  # a stop asked for while still starting: honoured once the daemon is up
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: early.set())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a reload before start-up is over: the config is read anyway
    from sentinel.daemon import Daemon, configure_logging

    configure_logging(log_format)
    load(config)  # report config errors the usual way, exit 2
    try:
        d = Daemon(config, http=http, stopping=early)
    except Exception as exc:
        stderr_console().print(f"cannot start: {type(exc).__name__}: {exc}".splitlines()[0], markup=False)
        raise typer.Exit(EXIT_ERROR) from None
    raise typer.Exit(d.start())


@app.command()
def status(
    config: ConfigOpt = Path("config.yaml"),
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document on stdout")] = False,
) -> None:
    """Each dataset's last run, outcome, next run and open incidents, and the daemons alive."""
    from sentinel.status import collect_status, render_status

    cfg = load(config)
    with open_store(cfg) as store:
        doc = collect_status(cfg, store)
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        render_status(doc)


@app.command()
def prune(
    config: ConfigOpt = Path("config.yaml"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count what would be deleted; delete nothing")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete what `retention:` lets go (old results, runs, ticks, delivered notifications) in small batches;
    metric history and what detectors and open incidents read are kept. The daemon does this once a day."""
    from sentinel.retention import prune as prune_store

    cfg = load(config)
    with open_store(cfg) as store:
        try:
            done = prune_store(store, cfg.main.retention, dry_run=dry_run)
        except Exception as exc:
            stderr_console().print(f"pruning stopped: {type(exc).__name__}: {exc}".splitlines()[0], markup=False)
            raise typer.Exit(EXIT_ERROR) from None
    if as_json:
        sys.stdout.write(json.dumps({"dry_run": dry_run, "deleted": done}) + "\n")
        return
    verb = "would delete" if dry_run else "deleted"
    width = max(len(t) for t in done)
    for table, n in done.items():
        typer.echo(f"{table:<{width}}  {verb} {n:,}")


from sentinel import changes_cli  # noqa: E402 - registers its commands on `app`, which it imports from here

changes_cli.register(app)
