"""Test warehouses on the three SQL backends Sentinel is tested on: DuckDB file, SQLite file, PostgreSQL."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import sqlalchemy as sa


@dataclass
class Warehouse:
    name: str
    url: str  # what goes into config.yaml
    engine_url: str  # what tests write through

    def execute(self, sql: str, rows: list[dict] | None = None) -> None:
        engine = sa.create_engine(self.engine_url)
        try:
            with engine.begin() as conn:
                if rows is None:
                    conn.execute(sa.text(sql))
                elif rows:
                    conn.execute(sa.text(sql), rows)
        finally:
            engine.dispose()  # DuckDB: release the file lock before Sentinel opens it read-only

    def deals(self, rows: list[tuple], *, ts_type: str = "TIMESTAMP") -> None:
        self.execute("DROP TABLE IF EXISTS deals")
        self.execute(
            f"CREATE TABLE deals (id INTEGER, owner VARCHAR(50), amount DOUBLE PRECISION, "
            f"currency VARCHAR(10), updated_at {ts_type})"
        )
        self.execute(
            "INSERT INTO deals VALUES (:id, :owner, :amount, :currency, :updated_at)",
            [dict(zip(("id", "owner", "amount", "currency", "updated_at"), r, strict=True)) for r in rows],
        )


def make(kind: str, tmp_path, pg_schema=None) -> Warehouse:
    if kind == "duckdb":
        path = tmp_path / "wh.duckdb"
        return Warehouse(kind, f"duckdb:///{path}", f"duckdb:///{path}")
    if kind == "sqlite":
        path = tmp_path / "wh.db"
        return Warehouse(kind, f"sqlite:///{path}", f"sqlite:///{path}")
    url, _schema, _engine = pg_schema
    return Warehouse(kind, url, url)


def deals_table(backend: str, data, checks: str, project, request) -> None:
    """`data` (a pyarrow table) as the `deals` table of `project`, keyed by id, with `checks` (YAML list items),
    on DuckDB (wh.duckdb in the project folder) or on the test session's Spark Connect server."""
    if backend == "spark":
        server, schema = request.getfixturevalue("spark_schema")
        server.load(f"{schema}.deals", data)
        project.config(f'lake: {{type: spark, url: "{server.url}"}}')
        project.write(
            "checks/deals.yaml",
            f"datasets:\n  - name: deals\n    source: lake\n    table: {schema}.deals\n    key: id\n    checks:\n"
            + textwrap.indent(textwrap.dedent(checks).strip("\n"), "      ")
            + "\n",
        )
        return
    import duckdb

    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.register("data", data)
    con.execute("CREATE TABLE deals AS SELECT * FROM data")
    con.close()
    project.duckdb(checks)
