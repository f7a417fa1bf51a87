"""A change-set's life with a kill point, for tests/test_changeset_crash.py (issue 12 item 7).

`python tests/crashing_changes.py CONFIG CS_ID END POINT` takes change-set CS_ID towards END (`checked` or
`rolled_back`) the way the daemon and its owner would (`finish`), and exits with 137 (as kill -9: no cleanup,
no `finally`) at POINT:

- `stage:written`, `promote:written`, `rollback:written`: right after the SQL target's `stage`, `promote` or
  `rollback` returned (the warehouse transaction committed), before the change-set records it;
- `commit:<state>`: right after the state-store transaction in which `changesets.transition` moved the
  change-set to <state> commits (the kill lands between that commit and whatever the caller does next).

A process that never reaches POINT exits 0, which the test reports. The product functions are wrapped here,
so the product has no kill switch.

`python tests/crashing_changes.py race CONFIG CS_ID FOLDER ROUNDS` is one of two drivers racing on a
PostgreSQL store: for each round it waits for FOLDER/go-<round> (the barrier the test opens once the round's
world is in place), calls `changesets.drive` on CS_ID, and writes the steps it took to
FOLDER/done-<round>-<pid>.json.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sentinel import changesets
from sentinel.config import Config, load_config
from sentinel.store import Store

KILLED = 137


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(KILLED)


def install(point: str) -> None:
    """Wrap the product function at `point` so the process dies there."""
    if point.startswith("commit:"):
        _install_commit(point.removeprefix("commit:"))
        return
    from sentinel.correctors.sql import SqlTarget

    method = point.removesuffix(":written")
    if method not in ("stage", "promote", "rollback") or not point.endswith(":written"):
        raise SystemExit(f"unknown kill point {point!r}")
    original = getattr(SqlTarget, method)

    def written_then_die(self, *args: Any, **kwargs: Any) -> Any:
        original(self, *args, **kwargs)
        _die()

    setattr(SqlTarget, method, written_then_die)


def _install_commit(state: str) -> None:
    """`transition` notes that it moved a change-set to `state`; the `Store.transaction` that ran it dies
    once it has committed. The note is cleared at each attempt, so a retried transaction counts once."""
    moved: list[bool] = [False]
    transition, transaction = changesets.transition, Store.transaction

    def noting(conn: sa.Connection, cs: Any, to: str, *args: Any, **kwargs: Any) -> bool:
        done = transition(conn, cs, to, *args, **kwargs)
        if done and to == state:
            moved[0] = True
        return done

    def committed_then_die(self: Store, fn: Any, *args: Any, **kwargs: Any) -> Any:
        def attempt(conn: sa.Connection) -> Any:
            moved[0] = False
            return fn(conn)

        out = transaction(self, attempt, *args, **kwargs)
        if moved[0]:
            _die()
        return out

    changesets.transition = noting
    Store.transaction = committed_then_die


def state_of(store: Store, cs_id: int) -> str:
    with store.engine.connect() as conn:
        cs = changesets.get(conn, cs_id)
    assert cs is not None, f"no change-set {cs_id}"
    return cs.state


def finish(cfg: Config, store: Store, cs_id: int, end: str, me: str) -> str:
    """Take change-set `cs_id` to `end` as the daemon and the owner would: drive it; approve it when it awaits
    approval; re-run its dataset once promoted (the re-check moves it to `checked`); roll it back once checked
    when `end` is `rolled_back`. The state it ends in (a failure stops it early)."""
    from sentinel.runner import run_many

    for _ in range(12):
        state = state_of(store, cs_id)
        if state == end or (state in changesets.TERMINAL and not (state == "checked" and end == "rolled_back")):
            changesets.drive(cfg, store, me)  # the daemon's next pass: what follows a promotion, if a kill cut it
            return state_of(store, cs_id)
        if state == "awaiting_approval":
            changesets.approve(cfg, store, cs_id, "owner")
        elif state == "promoted":
            run_many(cfg, store, [_dataset(store, cs_id)], f"recheck-{me}", read_origin=False)
        elif state == "checked":
            changesets.rollback(cfg, store, cs_id, "owner")
        elif not changesets.drive(cfg, store, me, only=cs_id):
            raise AssertionError(f"change-set {cs_id} is stuck in {state}: another driver holds its claim")
    raise AssertionError(f"change-set {cs_id} never reached {end}")


def _dataset(store: Store, cs_id: int) -> str:
    with store.engine.connect() as conn:
        return changesets.get(conn, cs_id).dataset


def _race(cfg: Config, store: Store, cs_id: int, folder: Path, rounds: int) -> None:
    me = f"racer:{os.getpid()}"
    (folder / f"ready-{os.getpid()}").touch()
    for n in range(rounds):
        go = folder / f"go-{n}"
        while not go.exists():  # the barrier: both drivers start the round together
            time.sleep(0.005)
        began = time.time()
        try:
            steps = [[s.before, s.after] for s in changesets.drive(cfg, store, me, only=cs_id)]
            out: dict[str, Any] = {"steps": steps}
        except Exception as exc:  # reported to the test, which fails on it
            out = {"error": f"{type(exc).__name__}: {exc}"}
        out["during"] = [began, time.time()]  # for a person measuring the overlap; never asserted on
        (folder / f"done-{n}-{os.getpid()}.json").write_text(json.dumps(out))


def main(argv: list[str]) -> None:
    if argv[0] == "race":
        cfg = load_config(Path(argv[1]))
        _race(cfg, Store(cfg.state_url), int(argv[2]), Path(argv[3]), int(argv[4]))
        return
    config, cs_id, end, point = argv
    install(point)
    cfg = load_config(Path(config))
    store = Store(cfg.state_url)
    finish(cfg, store, int(cs_id), end, f"killed:{os.getpid()}:{dt.datetime.now(dt.UTC).isoformat()}")


if __name__ == "__main__":
    main(sys.argv[1:])
