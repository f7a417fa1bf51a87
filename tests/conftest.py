"""Shared fixtures: a scratch project folder with config files, and real PostgreSQL schemas per test.

PostgreSQL (127.0.0.1:5432, trust auth, database `test`) is used when reachable; otherwise its tests are
skipped with the reason printed, except under CI=true, where a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import textwrap
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from spark_server import spark_schema, spark_server  # noqa: F401 - the session's Spark Connect server
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("SENTINEL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}"


PG_PROBLEM = _pg_available()


@pytest.fixture(autouse=True)
def _heap_unfrozen():
    """A daemon started in this process freezes the heap (daemon.settle_heap); the next test starts with the
    garbage collector seeing every object again, so what a test leaves in reference cycles is collected."""
    yield
    gc.unfreeze()


@pytest.fixture
def pg_schema():
    """A fresh schema in the test database; yields (url-with-search_path, schema, engine). Dropped afterwards."""
    if PG_PROBLEM:
        if os.environ.get("CI") == "true":
            pytest.fail(PG_PROBLEM + " (required under CI)")
        pytest.skip(PG_PROBLEM)
    schema = "t_" + uuid.uuid4().hex[:10]
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        yield url, schema, engine
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["duckdb", "sqlite", "postgresql"])
def wh(request, tmp_path):
    """A test warehouse on each SQL backend Sentinel is tested on (see backends.py)."""
    from backends import make

    pg = request.getfixturevalue("pg_schema") if request.param == "postgresql" else None
    return make(request.param, tmp_path, pg)


class Project:
    """A folder with config.yaml and checks/*.yaml, driven through the real CLI."""

    def __init__(self, root: Path):
        self.root = root
        (root / "checks").mkdir(exist_ok=True)
        (root / "correctors").mkdir(exist_ok=True)
        self.runner = CliRunner()

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def config(self, sources: str, extra: str = "", state: str = "sqlite:///state.db") -> Path:
        return self.write(
            "config.yaml",
            f"state: {state}\nsources:\n{textwrap.indent(textwrap.dedent(sources), '  ')}\n" + textwrap.dedent(extra),
        )

    def dataset(self, wh, checks: str, table: str = "deals", key: str = "id") -> None:
        """config.yaml with warehouse `wh` as source `wh`, and one dataset on `table` with these checks
        (YAML list items, e.g. "- not_empty: {}")."""
        self.config(f'wh: {{type: sql, url: "{wh.url}"}}')
        items = textwrap.indent(textwrap.dedent(checks).strip("\n"), "      ")
        self.write(
            f"checks/{table}.yaml",
            f"datasets:\n  - name: {table}\n    source: wh\n    table: {table}\n    key: {key}\n    checks:\n{items}\n",
        )

    def duckdb(self, checks: str, table: str = "deals", key: str = "id") -> None:
        """`dataset` on the DuckDB file wh.duckdb in this folder, named in config.yaml by its relative url."""
        from backends import Warehouse

        wh = Warehouse("duckdb", "duckdb:///wh.duckdb", f"duckdb:///{self.root / 'wh.duckdb'}")
        self.dataset(wh, checks, table, key)

    def cli(self, *args: str):
        from sentinel.cli import app

        return self.runner.invoke(app, [*args, "--config", str(self.root / "config.yaml")])

    def run_json(self, *args: str) -> tuple[int, dict]:
        res = self.cli("run", "--json", *args)
        assert res.stdout.strip(), res.stderr
        return res.exit_code, json.loads(res.stdout)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def by_check(doc: dict) -> dict[str, dict]:
    return {r["check"]: r for r in doc["results"]}


def copy_demo(dest: Path) -> None:
    """The repository's demo project (config.yaml, checks/, correctors/) copied into `dest`."""
    for name in ("config.yaml", "checks", "correctors"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
