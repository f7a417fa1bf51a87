"""The SQL correction target on DuckDB and PostgreSQL: a change-set staged as an overlay view (production
untouched), measured there by the dataset's own checks, promoted all-or-none under a precondition, promoted
again as a no-op, rolled back; stale preconditions, exact values and hostile text."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import numpy as np
import pytest
import sqlalchemy as sa

from sentinel.config import load_config
from sentinel.correctors.base import Cell, Conflict, ReadBack, TargetError, Where
from sentinel.correctors.sql import SqlTarget, _ident
from sentinel.runner import measure

N = 400
BAD = 42  # the key whose amount was typed with an extra digit


class Env:
    """A warehouse with an `opportunities` table (amount DECIMAL(18,2), prob DOUBLE, seats INTEGER, note
    text), a project config whose dataset checks it, and a staging schema of its own."""

    def __init__(self, kind: str, url: str, root, staging: str, table_schema: str | None):
        self.kind, self.url, self.root, self.staging = kind, url, root, staging
        self.schema = table_schema

    def engine(self) -> sa.Engine:
        if self.kind == "duckdb":
            from sentinel.sources.base import duckdb_engine

            return duckdb_engine(self.url)
        return sa.create_engine(self.url)

    def sql(self, text: str, params: dict | list | None = None) -> list[tuple]:
        engine = self.engine()
        try:
            with engine.begin() as conn:
                res = conn.execute(sa.text(text), params or {})
                return [tuple(r) for r in res] if res.returns_rows else []
        finally:
            engine.dispose()  # DuckDB: release the file before the target or the runner opens it

    def dump(self, table: str) -> list[tuple]:
        return self.sql(f"SELECT * FROM {table} ORDER BY 1")

    def project(self, table: str, key: str, checks: str) -> tuple:
        (self.root / "checks").mkdir(exist_ok=True)
        (self.root / "config.yaml").write_text(
            "state: sqlite:///state.db\nsources:\n"
            f'  wh: {{type: sql, url: "{self.url}", staging_schema: {self.staging}}}\n'
        )
        (self.root / "checks" / "opps.yaml").write_text(
            f"datasets:\n  - name: opps\n    source: wh\n    table: '{table}'\n    key: '{key}'\n    checks:\n{checks}"
        )
        cfg = load_config(self.root / "config.yaml")
        ds = cfg.dataset("opps")
        return cfg, ds, Where(cfg, "wh", ds, table, key)


@pytest.fixture(params=["duckdb", "postgresql"])
def env(request, tmp_path):
    if request.param == "duckdb":
        yield Env("duckdb", f"duckdb:///{tmp_path / 'wh.duckdb'}", tmp_path, "sentinel_staging", None)
        return
    url, schema, engine = request.getfixturevalue("pg_schema")
    staging = schema + "_stg"
    try:
        yield Env("postgresql", url, tmp_path, staging, schema)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{staging}" CASCADE'))


CHECKS = """      - not_empty: {}
      - magnitude: {column: amount, group_by: [owner]}
      - expect:
          type: expect_column_values_to_be_between
          kwargs: {column: prob, min_value: 0, max_value: 1}
"""


def opportunities(env: Env) -> list[dict]:
    """N deals around each owner's level; deal BAD typed with an extra digit, deal 7 with prob 15 (not 0.15)."""
    rng = np.random.default_rng(3)
    owners = rng.choice(["alice", "bob", "carol"], N)
    level = {"alice": 4.0, "bob": 4.6, "carol": 5.2}
    rows = []
    for i in range(1, N + 1):
        amount = Decimal(str(round(10 ** (level[owners[i - 1]] + rng.normal(0, 0.1)), 2))).quantize(Decimal("0.01"))
        rows.append(
            {
                "id": i,
                "owner": str(owners[i - 1]),
                "amount": amount * (10 if i == BAD else 1),
                "prob": 15.0 if i == 7 else round(float(rng.uniform(0, 1)), 3),
                "seats": i % 9,
                "note": f"n{i}",
            }
        )
    env.sql("DROP TABLE IF EXISTS opportunities")
    env.sql(
        "CREATE TABLE opportunities (id INTEGER, owner VARCHAR(20), amount DECIMAL(18,2), prob DOUBLE PRECISION,"
        " seats INTEGER, note VARCHAR(200))"
    )
    env.sql("INSERT INTO opportunities VALUES (:id, :owner, :amount, :prob, :seats, :note)", rows)
    return rows


def statuses(cfg, ds) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return {r.check: r.status for r in measure(cfg, ds, now, None, None, None)}


def fix_cells(rows: list[dict]) -> list[Cell]:
    bad = rows[BAD - 1]["amount"]
    return [
        Cell(str(BAD), "amount", format(bad, "f"), format(bad / 10, "f")),  # exact decimal strings, as evidence
        Cell("7", "prob", 15.0, 0.15),
    ]


def test_stage_measure_promote_again_rollback(env):
    rows = opportunities(env)
    cfg, ds, where = env.project("opportunities", "id", CHECKS)
    cells = fix_cells(rows)
    assert statuses(cfg, ds) == {
        "not_empty": "pass",
        "magnitude(amount)": "fail",
        "expect_column_values_to_be_between(prob)": "fail",
    }
    before = env.dump("opportunities")
    target = SqlTarget(where)
    try:
        handle = target.stage(11, cells)
        assert handle["fields"] == ["amount", "prob"] and handle["rows"] == 2
        again = target.stage(11, cells)  # idempotent: the same cells, no duplicates
        assert again == handle
        assert env.sql(f"SELECT count(*) FROM {env.staging}.{handle['cells_table']}") == [(2,)]
        assert env.dump("opportunities") == before  # staging never writes production
        view = f"{env.staging}.{handle['view']}"
        staged = env.dump(view)
        assert len(staged) == N and staged[BAD - 1][2] == rows[BAD - 1]["amount"] / 10 and staged[6][3] == 0.15
        assert [r for i, r in enumerate(staged) if i not in (BAD - 1, 6)] == [
            r for i, r in enumerate(before) if i not in (BAD - 1, 6)
        ]
        # the same checks, pointed at the overlay view: the failing ones pass there, production still fails
        scfg, sds = target.staged(11, handle)
        assert sds.table == view and sds.checks == ds.checks
        assert set(statuses(scfg, sds).values()) == {"pass"}
        assert statuses(cfg, ds)["magnitude(amount)"] == "fail"

        done = target.promote(11, cells, handle)
        assert done["written"] == 2 and done["already"] == 0
        after = env.dump("opportunities")
        assert after[BAD - 1][2] == rows[BAD - 1]["amount"] / 10 and after[6][3] == 0.15
        assert after == staged  # production now holds exactly what was verified
        assert set(statuses(cfg, ds).values()) == {"pass"}

        repeat = target.promote(11, cells, handle)  # a repeat after a crash: nothing rewritten
        assert repeat["written"] == 0 and repeat["already"] == 2
        assert env.dump("opportunities") == after

        back = target.rollback(11, [c.inverse() for c in cells], handle)
        assert back["written"] == 2
        assert env.dump("opportunities") == before

        target.discard(11, handle)
        with pytest.raises(sa.exc.SQLAlchemyError):
            env.dump(view)
        target.discard(11, handle)  # best effort, repeatable
    finally:
        target.close()


def test_stale_precondition_is_a_conflict_and_writes_nothing(env):
    rows = opportunities(env)
    _cfg, _ds, where = env.project("opportunities", "id", CHECKS)
    cells = fix_cells(rows)
    target = SqlTarget(where)
    try:
        handle = target.stage(12, cells)
        env.sql("UPDATE opportunities SET amount = 123.45 WHERE id = :id", {"id": BAD})  # someone edits the row
        before = env.dump("opportunities")
        with pytest.raises(Conflict) as err:
            target.promote(12, cells, handle)
        assert [(c.key, c.field) for c, _ in err.value.found] == [(str(BAD), "amount")]
        assert err.value.found[0][1] == Decimal("123.45")
        assert env.dump("opportunities") == before  # prob of deal 7 was not written either
    finally:
        target.close()


def test_a_later_field_in_conflict_rolls_back_an_earlier_fields_update(env):
    """amount's UPDATE matches and runs first; prob's finds 0.5, neither old nor new: amount is rolled back."""
    rows = opportunities(env)
    _cfg, _ds, where = env.project("opportunities", "id", CHECKS)
    cells = fix_cells(rows)
    env.sql("UPDATE opportunities SET prob = 0.5 WHERE id = 7")
    before = env.dump("opportunities")
    target = SqlTarget(where)
    try:
        with pytest.raises(Conflict) as err:
            target.promote(13, cells, {})
        assert [(c.key, c.field, v) for c, v in err.value.found] == [("7", "prob", 0.5)]
        assert env.dump("opportunities") == before
    finally:
        target.close()


def test_a_key_that_is_not_unique_writes_nothing(env):
    rows = opportunities(env)
    _cfg, _ds, where = env.project("opportunities", "id", CHECKS)
    env.sql("INSERT INTO opportunities SELECT * FROM opportunities WHERE id = 7")
    before = env.dump("opportunities")
    target = SqlTarget(where)
    try:
        with pytest.raises(TargetError, match="not unique"):
            target.promote(17, fix_cells(rows), {})
        assert env.dump("opportunities") == before
    finally:
        target.close()


def test_fit_decimal_double_integer_text_and_read_back(env):
    opportunities(env)
    _cfg, _ds, where = env.project("opportunities", "id", CHECKS)
    target = SqlTarget(where)
    try:
        fields = target.fields()
        assert set(fields) == {"owner", "amount", "prob", "seats", "note"}  # never the key
        assert fields["amount"].replace(" ", "") in ("DECIMAL(18,2)", "NUMERIC(18,2)")
        assert target.fit("amount", "1234567.8") == Decimal("1234567.80")
        assert str(target.fit("amount", 12.5)) == "12.50"
        assert target.fit("amount", "1.234") == Decimal("1.234")  # not exact at scale 2: never rounded here
        assert target.fit("prob", "0.1") == 0.1 and isinstance(target.fit("prob", Decimal("1E+1")), float)
        assert target.fit("seats", "42") == 42 and target.fit("seats", 4.0) == 4
        assert target.fit("seats", "4.5") == Decimal("4.5")
        assert target.fit("note", 5) == "5" and target.fit("note", None) is None
        before = env.dump("opportunities")
        with pytest.raises(ReadBack) as err:  # stored as 1.23: the read-back differs, the stage fails
            target.stage(14, [Cell("3", "amount", None, "1.234")])
        assert err.value.found[0][1] == Decimal("1.23")
        with pytest.raises(ReadBack):
            target.stage(14, [Cell("3", "seats", None, "4.5")])
        with pytest.raises(TargetError, match="key column"):
            target.stage(14, [Cell("3", "id", 3, 4)])
        with pytest.raises(TargetError, match="not a column"):
            target.stage(14, [Cell("3", "nope", 3, 4)])
        assert env.dump("opportunities") == before
    finally:
        target.close()


HOSTILE = [
    'O\'Brien "quoted"',
    "'; DROP TABLE opportunities; --",
    '=HYPERLINK("http://x")',
    "%s %(x)s \\ :id",
    "é\u2028",
]


def test_hostile_text_reaches_the_table_byte_exact(env):
    opportunities(env)
    _cfg, _ds, where = env.project("opportunities", "id", CHECKS)
    cells = [Cell(str(i + 1), "note", f"n{i + 1}", v) for i, v in enumerate(HOSTILE)]
    target = SqlTarget(where)
    try:
        handle = target.stage(15, cells)
        assert [r[5] for r in env.dump(f"{env.staging}.{handle['view']}")[: len(HOSTILE)]] == HOSTILE
        assert target.promote(15, cells, handle)["written"] == len(HOSTILE)
        assert [r[5] for r in env.dump("opportunities")[: len(HOSTILE)]] == HOSTILE
        assert target.read([c.key for c in cells], ["note"]) == {c.key: {"note": c.new} for c in cells}
    finally:
        target.close()


def test_quoted_key_non_default_schema_long_name(env):
    """Schema-qualified table, a key and a column needing quotes, a name past PostgreSQL's 63 bytes."""
    schema = "sales_" + uuid.uuid4().hex[:8]
    table = "Opp-Table " + "x" * 50  # 60 bytes: PostgreSQL takes it, but not with "_cs16_cells" appended
    env.sql(f'CREATE SCHEMA "{schema}"')
    try:
        env.sql(f'CREATE TABLE "{schema}"."{table}" ("Deal ID" VARCHAR(20), "Win %" DOUBLE PRECISION, owner TEXT)')
        env.sql(
            f'INSERT INTO "{schema}"."{table}" VALUES (:k, :p, :o)',
            [{"k": f"D-{i:03d}", "p": 0.5 if i != 3 else 50.0, "o": "a"} for i in range(20)],
        )
        checks = "      - expect: {type: expect_column_values_to_be_between, kwargs: {column: 'Win %', max_value: 1}}\n"
        cfg, ds, where = env.project(f"{schema}.{table}", "Deal ID", checks)
        assert statuses(cfg, ds) == {"expect_column_values_to_be_between(Win %)": "fail"}
        cells = [Cell("D-003", "Win %", 50.0, "0.5")]
        target = SqlTarget(where)
        try:
            handle = target.stage(16, cells)
            assert len(handle["view"].encode()) <= 63 and len(handle["cells_table"].encode()) <= 63
            assert handle["view"] != handle["cells_table"]
            scfg, sds = target.staged(16, handle)
            assert statuses(scfg, sds) == {"expect_column_values_to_be_between(Win %)": "pass"}
            assert target.promote(16, cells, handle) == {"written": 1, "already": 0, "by_field": {"Win %": 1}}
            assert statuses(cfg, ds) == {"expect_column_values_to_be_between(Win %)": "pass"}
            target.discard(16, handle)
        finally:
            target.close()
    finally:
        env.sql(f'DROP SCHEMA "{schema}" CASCADE')


def test_identifiers_stay_within_63_bytes_and_distinct():
    long = "t" * 80
    a, b = _ident(long + "_cs1"), _ident(long + "_cs2")
    assert len(a) <= 63 and len(b) <= 63 and a != b
    assert _ident("deals_cs3") == "deals_cs3"
    assert _ident("Deals_cs3") != _ident("deals_cs3") and _ident('x"; drop').isidentifier()


def test_write_url_errors_never_quote_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("WH_PASSWORD", "s3cret-pw")
    (tmp_path / "checks").mkdir()
    (tmp_path / "config.yaml").write_text(
        "state: sqlite:///state.db\nsources:\n"
        "  wh: {type: sql, url: 'postgresql+psycopg://postgres@127.0.0.1:1/test',"
        " write_url: 'postgresql+psycopg://writer:${WH_PASSWORD}@127.0.0.1:1/test', connect_timeout: 2s}\n"
    )
    (tmp_path / "checks" / "d.yaml").write_text(
        "datasets:\n  - name: d\n    source: wh\n    table: d\n    key: id\n    checks:\n      - not_empty: {}\n"
    )
    cfg = load_config(tmp_path / "config.yaml")
    target = SqlTarget(Where(cfg, "wh", cfg.dataset("d"), "d", "id"))
    with pytest.raises(TargetError) as err:
        target.fields()
    assert err.value.transient and "s3cret" not in str(err.value) and "writer" not in str(err.value)
    target.close()


HOSTILE_KEYS = ["O'Brien", "'; DROP TABLE odd; --", "back\\slash ? $1 %s", "é\u2028\n", "=1+1", "plain"]


def odd_table(env: Env) -> list[tuple]:
    """A text key with hostile values and a NULL key, columns of every writable kind."""
    env.sql("DROP TABLE IF EXISTS odd")
    env.sql("CREATE TABLE odd (k VARCHAR, x DOUBLE, d DECIMAL(18,2), n INTEGER, t VARCHAR, b BOOLEAN, r REAL)")
    rows = [
        {"k": k, "x": i + 0.5, "d": Decimal(i) + Decimal("0.25"), "n": i, "t": f"t{i}", "b": True, "r": 1.5}
        for i, k in enumerate([*HOSTILE_KEYS, None])
    ]
    env.sql("INSERT INTO odd VALUES (:k, :x, :d, :n, :t, :b, :r)", rows)
    return env.dump("odd")


ODD_CELLS = [
    Cell("O'Brien", "x", 0.5, 0.1 + 0.2),  # 0.30000000000000004: the double, not a rounded decimal
    Cell("O'Brien", "t", "t0", 'it\'s "x" \\ ?'),
    Cell("'; DROP TABLE odd; --", "d", "1.25", "12345678901234.56"),
    Cell("back\\slash ? $1 %s", "n", 2, -2147483648),
    Cell("é\u2028\n", "x", 3.5, None),  # a cell set to NULL
    Cell("é\u2028\n", "b", True, False),
    Cell("=1+1", "r", 1.5, 0.1),  # stored as the REAL nearest 0.1
    Cell("=1+1", "t", "t4", '=HYPERLINK("http://x")'),
]


@pytest.mark.parametrize("probe", ["rowid", "key"])
def test_duckdb_overlay_is_exact_with_hostile_keys(tmp_path, monkeypatch, probe):
    """Both DuckDB overlays (probing the rowid; joined on the key, for a table with its own rowid column) hold
    exactly fit(new) in the changed cells and production elsewhere, the NULL-key row included once; hostile keys
    and text reach DuckDB byte-exact."""
    if probe == "key":
        monkeypatch.setattr(SqlTarget, "_rowid_usable", lambda self: False)
    env = Env("duckdb", f"duckdb:///{tmp_path / 'wh.duckdb'}", tmp_path, "sentinel_staging", None)
    before = odd_table(env)
    cfg, ds, where = env.project("odd", "k", "      - not_empty: {}\n")
    target = SqlTarget(where)
    try:
        handle = target.stage(21, ODD_CELLS)
        assert handle["overlay"] == probe and handle["rows"] == 5
        cols = ["k", "x", "d", "n", "t", "b", "r"]
        want = [list(r) for r in before]
        for c in ODD_CELLS:
            row = next(r for r in want if r[0] == c.key)
            row[cols.index(c.field)] = target.fit(c.field, c.new)
        view = f"{env.staging}.{handle['view']}"
        got = env.sql(f"SELECT * FROM {view} ORDER BY k NULLS LAST")
        assert [list(r) for r in got] == sorted(want, key=lambda r: (r[0] is None, r[0] or ""))
        assert got[-1][0] is None and sum(r[0] is None for r in got) == 1
        obrien = next(r for r in got if r[0] == "O'Brien")
        assert obrien[1] == 0.30000000000000004 and obrien[4] == 'it\'s "x" \\ ?'
        assert next(r for r in got if r[0] == "=1+1")[6] == target.fit("r", 0.1) != 0.1
        assert env.dump("odd") == before  # production untouched
        scfg, sds = target.staged(21, handle)
        assert statuses(scfg, sds) == {"not_empty": "pass"}
        assert target.promote(21, ODD_CELLS, handle)["written"] == len(ODD_CELLS)
        assert sorted(env.dump("odd"), key=lambda r: (r[0] is None, r[0] or "")) == got
    finally:
        target.close()


def test_duckdb_overlay_splits_production_on_rowid_whatever_the_size(tmp_path):
    """One change-set of a row and one of 40: both stage exactly, and the view splits production on rowid, the
    changed rows through an inner join (no LEFT JOIN: its probe of every row is what costs, bench/correct.py)."""
    env = Env("duckdb", f"duckdb:///{tmp_path / 'wh.duckdb'}", tmp_path, "sentinel_staging", None)
    rows = opportunities(env)
    _cfg, _ds, where = env.project("opportunities", "id", CHECKS)
    target = SqlTarget(where)
    try:
        for cs_id, n in ((22, 1), (23, 40)):
            cells = [Cell(str(i), "seats", rows[i - 1]["seats"], 100 + i) for i in range(1, n + 1)]
            handle = target.stage(cs_id, cells)
            assert handle["overlay"] == "rowid"
            staged = env.dump(f"{env.staging}.{handle['view']}")
            assert [r[4] for r in staged[:n]] == [c.new for c in cells]
            assert staged[n:] == env.dump("opportunities")[n:]
            plan = "\n".join(r[1] for r in env.sql(f"EXPLAIN SELECT sum(seats) FROM {env.staging}.{handle['view']}"))
            assert "rowid" in plan and "INNER" in plan and "LEFT" not in plan
    finally:
        target.close()


def test_duckdb_overlay_keeps_production_values_for_rows_that_moved(tmp_path):
    """The overlay probes each cell's rowid, read at staging, and tests the key. Production rewritten in another
    order after staging (a full refresh): the cells' rowids now name other rows, whose keys differ, so the view
    shows production exactly (every row once, no row patched with another's value), the check still flags the
    deal, and staging the change-set again reads the new rowids."""
    env = Env("duckdb", f"duckdb:///{tmp_path / 'wh.duckdb'}", tmp_path, "sentinel_staging", None)
    rows = opportunities(env)
    cfg, ds, where = env.project("opportunities", "id", CHECKS)
    cells = fix_cells(rows)
    target = SqlTarget(where)
    try:
        handle = target.stage(24, cells)
        assert handle["overlay"] == "rowid"
        view = f"{env.staging}.{handle['view']}"
        assert env.dump(view)[BAD - 1][2] == rows[BAD - 1]["amount"] / 10
        env.sql("CREATE TABLE reordered AS SELECT * FROM opportunities ORDER BY id DESC")
        env.sql("DROP TABLE opportunities")
        env.sql("ALTER TABLE reordered RENAME TO opportunities")
        production = env.dump("opportunities")
        assert env.dump(view) == production  # the rowids 41 and 6 now hold deals 359 and 394: left alone
        scfg, sds = target.staged(24, handle)
        assert statuses(scfg, sds)["magnitude(amount)"] == "fail"  # verification fails loudly
        handle = target.stage(24, cells)  # staged again: the rowids are read anew
        staged = env.dump(view)
        assert staged[BAD - 1][2] == rows[BAD - 1]["amount"] / 10 and staged[6][3] == 0.15
        assert set(statuses(scfg, sds).values()) == {"pass"}
    finally:
        target.close()


def test_duckdb_overlay_refuses_a_key_held_twice_and_reads_a_rowid_column(tmp_path):
    """Staging reads one rowid per key: a key held by two rows is refused (promotion would refuse it too). A
    table with its own column named rowid (which shadows DuckDB's) is joined on the key alone, still exact, and
    DuckDB drops that join from a query reading no changed column."""
    env = Env("duckdb", f"duckdb:///{tmp_path / 'wh.duckdb'}", tmp_path, "sentinel_staging", None)
    rows = opportunities(env)
    env.sql("INSERT INTO opportunities SELECT * FROM opportunities WHERE id = 7")
    _cfg, _ds, where = env.project("opportunities", "id", CHECKS)
    target = SqlTarget(where)
    try:
        with pytest.raises(TargetError, match="not unique"):
            target.stage(25, fix_cells(rows))
    finally:
        target.close()
    env.sql("CREATE TABLE shadow (id INTEGER, rowid INTEGER, amount DOUBLE)")
    env.sql("INSERT INTO shadow VALUES (1, 7, 1.5), (2, 7, 2.5), (NULL, 1, 3.5)")
    _cfg, _ds, where = env.project("shadow", "id", "      - not_empty: {}\n")
    target = SqlTarget(where)
    try:
        handle = target.stage(26, [Cell("2", "amount", 2.5, 0.25)])
        assert handle["overlay"] == "key"
        view = f"{env.staging}.{handle['view']}"
        assert env.sql(f"SELECT * FROM {view} ORDER BY id NULLS LAST") == [(1, 7, 1.5), (2, 7, 0.25), (None, 1, 3.5)]
        plans = {
            q: "\n".join(r[1] for r in env.sql(f"EXPLAIN SELECT {q} FROM {view}")) for q in ("max(id)", "sum(amount)")
        }
        assert "JOIN" not in plans["max(id)"].upper() and "JOIN" in plans["sum(amount)"].upper()
    finally:
        target.close()


def test_duckdb_overlay_over_several_row_groups_holds_every_row_once(tmp_path):
    """A table of three row groups and a NULL-key row, cells in the middle group only: the view's three parts
    (ranges without a changed row, the anti-joined rows of the changed groups, the changed rows) hold every
    production row exactly once, and differ from production only in the changed cells."""
    from sentinel.correctors.sql import ROW_GROUP

    env = Env("duckdb", f"duckdb:///{tmp_path / 'wh.duckdb'}", tmp_path, "sentinel_staging", None)
    n = 3 * ROW_GROUP - 5
    env.sql(f"CREATE TABLE big AS SELECT range AS id, range * 0.5 AS x FROM range({n})")
    env.sql("INSERT INTO big VALUES (NULL, -1.0)")
    _cfg, _ds, where = env.project("big", "id", "      - not_empty: {}\n")
    keys = [ROW_GROUP + 7, ROW_GROUP + 8, 2 * ROW_GROUP - 1]
    cells = [Cell(str(k), "x", k * 0.5, -k) for k in keys]
    target = SqlTarget(where)
    try:
        handle = target.stage(27, cells)
        view = f"{env.staging}.{handle['view']}"
        assert env.sql(f"SELECT count(*), count(DISTINCT id), count(*) - count(id) FROM {view}") == [(n + 1, n, 1)]
        diff = env.sql(f"SELECT * FROM {view} EXCEPT ALL SELECT * FROM big ORDER BY id")
        assert diff == [(k, float(-k)) for k in keys]
        assert env.sql(f"SELECT count(*) FROM (SELECT * FROM big EXCEPT ALL SELECT * FROM {view})") == [(3,)]
    finally:
        target.close()


def test_rowid_blocks_cover_every_changed_row_within_the_cap():
    from sentinel.correctors.sql import MAX_BLOCKS, ROW_GROUP, _blocks

    g = ROW_GROUP
    assert _blocks([5, 0, g - 1, 3 * g, 4 * g + 1]) == [(0, g - 1), (3 * g, 5 * g - 1)]
    assert _blocks([]) == []
    rids = [i * 2 * g + i for i in range(3 * MAX_BLOCKS)]
    blocks = _blocks(rids)
    assert len(blocks) == MAX_BLOCKS
    assert all(a <= z < b for (a, z), (b, _) in zip(blocks, blocks[1:], strict=False))  # sorted, disjoint
    assert all(any(a <= r <= z for a, z in blocks) for r in rids)
