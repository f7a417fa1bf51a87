"""Speculative scan: start last run's queries while Python is still importing.

A `sentinel run` process spends about 0.4 s importing SQLAlchemy, duckdb and pydantic and validating the
config before it can compile a single query; on a 10M-row table that is as long as the scan itself. A
dataset's queries rarely change between runs, so after each run Sentinel records, per dataset, the exact SQL
texts it executed (describe, aggregate scan, evidence queries) and the source's *unexpanded* URL
(`.sentinel/scan-plans.json` next to config.yaml, mode 0600). The next `sentinel run` reads that record first
thing, and when the config files are unchanged it opens a plain DBAPI connection (DuckDB or psycopg, both
release the GIL) and executes the same SQL texts in a background thread, overlapping the imports.

The record is state on disk, not reviewed config, so it is trusted for nothing:
- Each dataset's plan carries a binding, a digest of its source's URL template and the dataset's config as
  the config files say now. Before connecting, the scan thread parses the config files and follows a plan
  only if the URL it names is the current config's for that dataset and the binding matches: an edited
  record cannot make a run connect anywhere the config does not.
- No data values: a statement with a string literal the config files do not hold (a category label, a text
  key) is not recorded; nor is a dataset whose statements exceed MAX_DATASET_SQL, so the file stays small.
- Only single reading statements are replayed, on read-only connections.

Correctness never depends on the record: the runner uses a speculative result only for a statement whose
literal SQL text, on the same source, is exactly what it is about to execute in this run, and results are
never kept across runs. Statements nobody asked for are interrupted at the end. Anything unexpected
(no record, changed files, a driver error) just leaves the normal path to do the work.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

PLANS = Path(".sentinel") / "scan-plans.json"
VERSION = 2  # 2: plans carry a binding and hold no data strings
DIALECTS = ("duckdb", "postgresql")
MAX_WORKERS = 4
MAX_DATASET_SQL = 256 * 1024  # characters of SQL per dataset; a plan bigger than this is not recorded
# String literals the runner's SQL holds that come from code, not from data or config: the null group's label,
# date units, the zone volume buckets aware timestamps in, and timestamps (volume windows, counted back from the
# run time).
CODE_STRINGS = frozenset(
    {"(null)", "(all)", "second", "minute", "hour", "day", "week", "month", "quarter", "year", "UTC"}
)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}(:?\d{2})?|Z)?)?")
_STRING = re.compile(r"'((?:[^']|'')*)'")
_LOCAL_DUCKDB = re.compile(r"duckdb:///[^?$:{}'\"#\s]+(\?[^$'\"#\s]*)?")


def _named_url(config: Path, template: str) -> bool:
    """Whether config.yaml has `url: <template>` (bare or quoted) on a line that is not a comment."""
    pattern = rf"""(?m)^[^#\n]*\burl:\s*(["']?){re.escape(template)}\1\s*(?:[,}}#]|$)"""
    try:
        return re.search(pattern, config.read_text()) is not None
    except OSError:
        return False


# A PostgreSQL dataset whose statements took less than this last time is not worth two more server sessions
# (measured on a 10,000-row table: 30 ms slower with them). DuckDB datasets are always speculated: the
# speculative connection opens the file while Python imports, and the runner's own connection then shares
# it (37 ms faster on a 10-row table).
MIN_SECONDS = float(os.environ.get("SENTINEL_PREFETCH_MIN_SECONDS", "0.15"))

_lock = threading.Lock()
_main_ready = threading.Event()  # set once the runner asks for its first result: start-up is over
_futures: dict[tuple[str, str], Future] = {}
_workers: list[_Worker] = []


def digest(config_path: Path, files: list[Path]) -> str:
    h = hashlib.sha256()
    for p in [config_path, *files]:
        h.update(str(p).encode() + b"\0")
        try:
            h.update(p.read_bytes())
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()


class _Worker(threading.Thread):
    def __init__(
        self,
        template: str,
        dialect: str,
        lane: int,
        jobs: list[tuple[tuple[str, str], Future]],
        bound: list[tuple[str, str]],
        where: tuple[Path, Path, list[Path]],
    ):
        super().__init__(daemon=True, name="sentinel-prefetch")
        self.template, self.dialect, self.lane, self.jobs = template, dialect, lane, jobs
        self.bound, self.where = bound, where  # (dataset, binding) pairs this lane serves; the config files
        self.url = ""
        self.conn: Any = None
        self.stop = threading.Event()

    def _check_binding(self) -> None:
        """Raise unless every dataset this lane serves is bound to this URL template by the config files.

        A local DuckDB file named as a source's `url:` in config.yaml is checked on the text (no host, no
        credentials: it is one of the config's own sources), so the file opens while Python imports; any other
        URL waits for the config files to be parsed."""
        if _LOCAL_DUCKDB.fullmatch(self.template) and _named_url(self.where[0], self.template):
            return
        current = bindings(*self.where)
        for name, binding in self.bound:
            if current.get(name) != (self.template, binding):
                raise PermissionError(f"scan plan of {name!r} is not bound to the current config")

    def _connect(self) -> Any:
        if self.dialect == "duckdb":
            import duckdb

            path = self.url.split(":///", 1)[1].split("?", 1)[0]
            conn = duckdb.connect(path, read_only=True)
            conn.execute("SET enable_progress_bar = false")
            return conn
        import psycopg

        libpq = "postgresql://" + self.url.split("://", 1)[1]
        conn = psycopg.connect(libpq, autocommit=True, connect_timeout=10)
        # the plan file is state on disk, not reviewed config: whatever it says, this session only reads
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        if self.lane:  # the evidence lane stays on one core, leaving the others to the scan it runs beside
            conn.execute("SET max_parallel_workers_per_gather = 0")
        return conn

    def run(self) -> None:
        try:
            self._check_binding()
            from sentinel.envsubst import resolve_url

            self.url = resolve_url(self.template, self.where[0].parent)
            self.conn = self._connect()
        except Exception as exc:
            for _, fut in self.jobs:
                fut.set_exception(exc)
            return
        if self.lane:  # wait until start-up is over: three busy processes on two cores would slow the scan
            _main_ready.wait(timeout=30)
        for _, fut in self.jobs:
            if self.stop.is_set() or not fut.set_running_or_notify_cancel():
                continue
            try:
                began = time.perf_counter()
                cur = self.conn.cursor()
                cur.execute(fut.sql)
                names = [d[0] for d in cur.description or []]
                rows = cur.fetchall()
                fut.set_result((names, rows, time.perf_counter() - began))
            except Exception as exc:
                fut.set_exception(exc)

    def close(self) -> None:
        try:
            if self.conn is not None:
                self.conn.close()
        except Exception:
            pass

    def interrupt(self) -> None:
        self.stop.set()
        try:
            if self.conn is not None:
                self.conn.interrupt() if self.dialect == "duckdb" else self.conn.cancel()
        except Exception:
            pass


def _read_only(sql: str) -> bool:
    """Only single reading statements are replayed (DuckDB opens the file read-only, PostgreSQL sessions are
    set read-only too; this is the first of the two locks)."""
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in ("SELECT", "WITH", "DESCRIBE") and ";" not in sql.rstrip().rstrip(";")


def _argv_options(argv: list[str]) -> tuple[Path, list[str]] | None:
    if len(argv) < 2 or argv[1] != "run":
        return None
    config, datasets = Path("config.yaml"), []
    it = iter(argv[2:])
    for arg in it:
        if arg in ("--config", "-c"):
            config = Path(next(it, "config.yaml"))
        elif arg.startswith("--config="):
            config = Path(arg.split("=", 1)[1])
        elif arg in ("--dataset", "-d"):
            datasets.append(next(it, ""))
        elif arg.startswith("--dataset="):
            datasets.append(arg.split("=", 1)[1])
    return config, datasets


def start(argv: list[str]) -> None:
    """Called first thing by the CLI entry point; never raises."""
    if os.environ.get("SENTINEL_NO_PREFETCH"):
        return
    try:
        _start(argv)
    except Exception:
        pass


def _start(argv: list[str]) -> None:
    import glob

    opts = _argv_options(argv)
    if opts is None:
        return
    config, wanted = opts
    config = config.resolve()
    root = config.parent
    record = json.loads((root / PLANS).read_text())
    if record.get("version") != VERSION:
        return
    files = sorted({Path(m) for pat in record["patterns"] for m in glob.glob(str(root / pat), recursive=True)})
    if [str(f) for f in files] != record["files"] or digest(config, files) != record["digest"]:
        return
    # One lane per source; on PostgreSQL a second lane (its own connection, so another server process and
    # core) runs each dataset's evidence queries while the first runs the aggregate scans.
    lanes: dict[tuple[str, str, int], list[str]] = {}
    bound: dict[tuple[str, str, int], list[tuple[str, str]]] = {}
    for name, plan in record["datasets"].items():
        worth = plan["dialect"] == "duckdb" or plan.get("db_seconds", 0) >= MIN_SECONDS
        if (not wanted or name in wanted) and worth and plan["dialect"] in DIALECTS:
            sqls = plan["sql"]
            split = plan["dialect"] == "postgresql"
            parts = [(0, sqls[:1] if split else sqls)] + ([(1, sqls[1:])] if split and len(sqls) > 1 else [])
            for lane, some in parts:
                key = (str(plan["source_url"]), plan["dialect"], lane)
                lanes.setdefault(key, []).extend(some)
                bound.setdefault(key, []).append((name, str(plan["binding"])))
    seen: set[tuple[str, str]] = set()
    for (template, dialect, lane), sqls in list(lanes.items())[:MAX_WORKERS]:
        jobs = []
        for sql in dict.fromkeys(sqls):
            if (template, sql) in seen or not _read_only(sql):
                continue
            seen.add((template, sql))
            fut: Future = Future()
            fut.sql = sql  # type: ignore[attr-defined]
            jobs.append(((template, sql), fut))
        with _lock:
            for key, fut in jobs:
                _futures[key] = fut
        worker = _Worker(template, dialect, lane, jobs, bound[(template, dialect, lane)], (config, root, files))
        _workers.append(worker)
        worker.start()


_bindings_lock = threading.Lock()
_bindings: dict[tuple, dict[str, tuple[str, str]]] = {}


def bindings(config: Path, root: Path, files: list[Path]) -> dict[str, tuple[str, str]]:
    """Each dataset's (source URL template, binding) as the config files say now, parsed once per process.
    The binding is a digest of the template and the dataset's whole config."""
    key = (config, tuple(files))
    with _bindings_lock:
        if key not in _bindings:
            _bindings[key] = _read_bindings(config, files)
        return _bindings[key]


def _parse(paths: list[Path]) -> dict[Path, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return {p: yaml.load(p.read_text(), Loader=loader) for p in paths}


def _read_bindings(config: Path, files: list[Path], docs: dict[Path, Any] | None = None) -> dict[str, tuple[str, str]]:
    docs = docs or _parse([config, *files])
    main = docs[config] if isinstance(docs[config], dict) else {}
    sources = main.get("sources") or {}
    out: dict[str, tuple[str, str]] = {}
    for path in files:
        doc = docs[path]
        for ds in (doc.get("datasets") or []) if isinstance(doc, dict) else []:
            if not isinstance(ds, dict) or not isinstance(sources.get(ds.get("source")), dict):
                continue
            template = sources[ds["source"]].get("url")
            if isinstance(template, str) and isinstance(ds.get("name"), str):
                text = json.dumps([template, ds], sort_keys=True, default=str)
                out[ds["name"]] = (template, hashlib.sha256(text.encode()).hexdigest())
    return out


def _holds_data(sql: str, config_strings: frozenset[str]) -> bool:
    """Whether a statement has a string literal that is neither in the config files nor the runner's own."""
    for m in _STRING.finditer(sql):
        value = m.group(1).replace("''", "'")
        if value not in config_strings and value not in CODE_STRINGS and not _TIMESTAMP.fullmatch(value):
            return True
    return False


def _strings(value: Any, out: set[str]) -> set[str]:
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _strings(k, out)
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)
    elif value is not None:
        out.add(str(value))
    return out


def active() -> bool:
    return bool(_futures)


stats = {"hits": 0, "misses": 0}


def release(source_url: str) -> None:
    """The caller is about to open its own connection. DuckDB refuses a second connection to the same file
    with a different configuration: a URL without options is opened exactly as the speculative connection is
    (sources/duckdb_dialect.py), so both share the database and later statements can still hit; a URL with
    options (`?threads=2`) is not, so the speculative connection is stopped and closed first."""
    for w in [w for w in _workers if w.template == source_url and w.dialect == "duckdb" and "?" in w.template]:
        with _lock:
            for key, fut in w.jobs:
                if _futures.get(key) is fut:
                    del _futures[key]
                    fut.cancel()
        w.interrupt()
        w.join(timeout=5)
        w.close()
        _workers.remove(w)


def take(source_url: str, sql: str) -> tuple[list[str], list[tuple], float] | None:
    """The speculative result of exactly this statement on this source (column names, rows, seconds it took
    in the database), or None: run it normally."""
    _main_ready.set()
    with _lock:
        fut = _futures.pop((source_url, sql), None)
    if fut is None:
        stats["misses"] += 1
        return None
    try:
        result = fut.result(timeout=3600)
    except Exception:
        stats["misses"] += 1
        return None
    stats["hits"] += 1
    return result


def interrupt() -> None:
    """Stop every speculative statement now (Ctrl-C); safe from any thread."""
    for w in list(_workers):
        w.interrupt()


def busy() -> bool:
    """Whether a speculative thread is still running (possibly inside the database)."""
    return any(w.is_alive() for w in list(_workers))


def shutdown(timeout: float = 5.0) -> None:
    """Interrupt statements nobody asked for and close the connections, waiting at most `timeout` seconds in
    all; a thread still busy after that is left to ending.finish (it exits without finalising)."""
    with _lock:
        for fut in _futures.values():
            fut.cancel()
        _futures.clear()
    _main_ready.set()
    end = time.monotonic() + timeout
    for w in list(_workers):
        while True:  # again and again: an interrupt that lands between two statements is lost
            w.interrupt()
            w.join(timeout=max(0.0, min(0.05, end - time.monotonic())))
            if not w.is_alive() or time.monotonic() >= end:
                break
        if not w.is_alive():
            w.close()
            _workers.remove(w)
    if os.environ.get("SENTINEL_PREFETCH_DEBUG") and not stats.get("reported"):
        import sys

        stats["reported"] = 1
        sys.stderr.write(f"prefetch: {stats['hits']} hits, {stats['misses']} misses\n")


def record(config_path: Path, root: Path, patterns: list[str], files: list[Path], plans: dict[str, dict]) -> None:
    """Remember which SQL each dataset ran, for the next process to speculate on (see the module docstring for
    what is left out). Best effort."""
    if not plans:
        return
    config_path, files = config_path.resolve(), sorted(files)
    try:
        docs = _parse([config_path, *files])
        bound = _read_bindings(config_path, files, docs)
        known = frozenset(_strings(list(docs.values()), set()))
    except Exception:
        return
    kept: dict[str, dict] = {}
    for name, plan in plans.items():
        template, binding = bound.get(name, (None, None))
        if template != plan["source_url"]:
            continue
        sqls = [sql for sql in plan["sql"] if not _holds_data(sql, known)]
        if sqls and sum(map(len, sqls)) <= MAX_DATASET_SQL:
            kept[name] = {**plan, "sql": sqls, "binding": binding}
    doc = {
        "version": VERSION,
        "patterns": patterns,
        "files": [str(f) for f in files],
        "digest": digest(config_path, files),
        "datasets": kept,
    }
    target = root / PLANS
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(doc))
        os.chmod(tmp, 0o600)  # an older file of the same name keeps its mode through O_CREAT
        os.replace(tmp, target)
    except OSError:
        pass
