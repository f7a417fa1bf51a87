"""`sentinel run`, and what every command shares to load the config and open the store, without typer.

`sentinel run` is the command scripts and schedulers start most often, on tables of any size; on a small one
a fresh process is mostly start-up. typer (with its click and its pydantic-based parameter coercion) costs
about 60 ms to import and parse a command line, so the entry point parses the plain forms of `run`'s own
options here (`parse_run`) and calls `run` directly. Anything else (`--help`, an unknown option, `-cPATH`,
another command) goes to typer, which registers this same `run` on the app: both ways run one function, and
the exits are plain `SystemExit`s, which typer and click let through unchanged.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import NoReturn

EXIT_OK, EXIT_FAIL, EXIT_CONFIG, EXIT_ERROR = 0, 1, 2, 3
_VALUED = {"--config": "config", "-c": "config", "--dataset": "dataset", "-d": "dataset"}


def parse_run(args: list[str]) -> tuple[Path, list[str] | None, bool] | None:
    """(config, datasets, as_json) of `run`'s command line (args after `run`), or None when it is anything
    but the plain forms `--json`, `--config/-c PATH`, `--config=PATH`, `--dataset/-d NAME`, `--dataset=NAME`:
    typer parses those (and reports their errors)."""
    config, datasets, as_json = Path("config.yaml"), [], False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--json":
            as_json = True
            i += 1
            continue
        name, eq, value = arg.partition("=")
        if eq and name.startswith("--") and name in _VALUED and value:
            i += 1
        elif not eq and arg in _VALUED and i + 1 < len(args) and not args[i + 1].startswith("-") and args[i + 1]:
            name, value = arg, args[i + 1]
            i += 2
        else:
            return None
        if _VALUED[name] == "config":
            config = Path(value)
        else:
            datasets.append(value)
    return config, datasets or None, as_json


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def load(config: Path, as_json: bool = False):
    """The loaded config, or exit 2 with every error on stderr, one plain `file:line: path: message` line each
    (editors and scripts parse them); with `as_json`, also one JSON document on stdout."""
    from sentinel.config import ConfigError, ConfigIssue, MissingEnv, load_config
    from sentinel.envsubst import redact_tracebacks

    redact_tracebacks()  # from here on secrets may be expanded: no traceback prints one
    try:
        cfg = load_config(config)
        cfg.state_url  # noqa: B018 - a whole-URL ${VAR} is only checked once expanded
        return cfg
    except ConfigError as exc:
        config_errors(exc.issues, as_json)
    except MissingEnv as exc:  # "state: not a valid URL once ..."
        path, _, message = str(exc).partition(": ")
        config_errors([ConfigIssue(str(config), None, path, message)], as_json)


def config_errors(issues, as_json: bool) -> NoReturn:  # type: ignore[no-untyped-def]
    for issue in issues:
        sys.stderr.write(f"{issue}\n")
    sys.stderr.write(f"{len(issues)} configuration error(s)\n")
    if as_json:
        keys = ("file", "line", "path", "message")
        sys.stdout.write(json.dumps({"errors": [{k: getattr(i, k) for k in keys} for i in issues]}) + "\n")
    raise SystemExit(EXIT_CONFIG)


@contextmanager
def open_store(cfg) -> Iterator:
    from sentinel.store import Store

    try:
        store = Store(cfg.state_url)  # load() has reported a missing ${VAR} of the state URL already
    except Exception as exc:
        from sentinel.envsubst import redact

        msg = redact(f"cannot open the state store: {type(exc).__name__}: {exc}".splitlines()[0])
        stderr_console().print(msg, markup=False)
        raise SystemExit(EXIT_ERROR) from None
    try:
        yield store
    finally:
        store.close()


def exit_code(statuses: list[str]) -> int:
    if "fail" in statuses:
        return EXIT_FAIL
    if "error" in statuses:
        return EXIT_ERROR
    return EXIT_OK


def run(config: Path, dataset: list[str] | None, as_json: bool) -> NoReturn:
    """Run the checks of every dataset (or the named ones) once; exit with the worst status's code."""
    from sentinel.envsubst import redact_handlers

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    redact_handlers()
    cfg = load(config, as_json)
    names = [d.name for d in cfg.datasets]
    for wanted in dataset or []:
        if wanted not in names:
            from sentinel.config import ConfigIssue

            known = f"unknown dataset {wanted!r} (known: {', '.join(names) or 'none'})"
            config_errors([ConfigIssue(str(config), None, "--dataset", known)], as_json)
    from sentinel import ending
    from sentinel.notify.channels import hold_console
    from sentinel.runner import run_many

    ending.track_statements()  # Ctrl-C interrupts the statements in flight
    wanted = dataset or names
    shown = nullcontext(None)  # rich is imported only for people: --json stays as fast as it was
    if not as_json and sys.stdout.isatty() and sys.stderr.isatty():
        from sentinel.report import run_progress

        shown = run_progress(wanted)
    with open_store(cfg) as store, hold_console() if not as_json else nullcontext([]) as held, shown as progress:
        doc, reports = run_many(cfg, ending.GuardedStore(store), wanted, uuid.uuid4().hex, progress=progress)
    from sentinel.storefault import message

    for line in filter(None, map(message, reports)):  # a run the store did not take: one line each
        sys.stderr.write(line + "\n")
    if as_json:
        from sentinel.results import encode

        sys.stdout.write(encode(doc) + "\n")
    else:
        from sentinel.report import print_run

        print_run(reports, held=held)
    raise SystemExit(exit_code([r["status"] for r in doc["results"]]))
