"""The Iceberg correction target on a real local pyiceberg SqlCatalog (sqlite catalog, file warehouse): stage on
branch `sentinel-cs<id>`, measure there, fast-forward main under the ancestry guard, rebase when main moved on,
Conflict leaving main untouched, rollback as a new forward snapshot."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from sentinel.config import load_config
from sentinel.correctors import open_target
from sentinel.correctors.base import Cell, Conflict, ReadBack, TargetError, Where
from sentinel.runner import measure

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TABLE = "crm.opportunities"
SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("amount", pa.float64()),
        pa.field("price", pa.decimal128(18, 2)),
        pa.field("qty", pa.int64()),
        pa.field("ratio", pa.float32()),
        pa.field("closed", pa.date32()),
    ]
)
CHECK = "expect_column_values_to_be_between(amount)"


def rows(ids: list[str], amount: float = 1000.0) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "id": ids,
            "name": [f"deal {i}" for i in ids],
            "amount": [amount * (j + 1) for j in range(n)],
            "price": [Decimal("100.00") + j for j in range(n)],
            "qty": list(range(1, n + 1)),
            "ratio": [0.5] * n,
            "closed": [dt.date(2026, 1, 1)] * n,
        },
        schema=SCHEMA,
    )


@pytest.fixture
def lake(project):
    """A catalog with `crm.opportunities` (20 deals; 006B's amount x10: 10,000,000), the config reading it and
    a dataset whose range check flags 006B; yields (catalog, Where)."""
    from pyiceberg.catalog.sql import SqlCatalog

    (project.root / "lake").mkdir()
    cat = SqlCatalog("sentinel", uri=f"sqlite:///{project.root}/catalog.db", warehouse=f"file://{project.root}/lake")
    cat.create_namespace("crm")
    t = cat.create_table(TABLE, schema=SCHEMA)
    data = rows([f"006{chr(65 + j)}" for j in range(20)]).to_pylist()
    data[1]["amount"], data[1]["price"] = 10_000_000.0, Decimal("20000000.00")
    t.append(pa.Table.from_pylist(data, schema=SCHEMA))
    project.config('lake: {type: iceberg, catalog: {uri: "sqlite:///catalog.db", warehouse: "file://lake"}}')
    project.write(
        "checks/opportunities.yaml",
        f"""
        datasets:
          - name: opportunities
            source: lake
            table: {TABLE}
            key: id
            checks:
              - not_empty: {{}}
              - expect:
                  type: expect_column_values_to_be_between
                  kwargs: {{column: amount, min_value: 0, max_value: 5000000}}
        """,
    )
    cfg = load_config(project.root / "config.yaml")
    ds = cfg.dataset("opportunities")
    return cat, Where(cfg, "lake", ds, TABLE, "id")


@pytest.fixture
def target(lake):
    t = open_target(lake[1])
    yield t
    t.close()


FIX = [Cell("006B", "amount", 10_000_000.0, "1000000")]


def dump(cat, ref: str = "main") -> tuple:
    """Everything a reader of `ref` sees: the metadata file, the ref's snapshot and every row."""
    t = cat.load_table(TABLE)
    snap = t.metadata.refs[ref].snapshot_id
    return t.metadata_location, snap, sorted(t.scan(snapshot_id=snap).to_arrow().to_pylist(), key=lambda r: r["id"])


def row(cat, key: str, ref: str = "main") -> dict:
    t = cat.load_table(TABLE)
    found = [r for r in t.scan(snapshot_id=t.metadata.refs[ref].snapshot_id).to_arrow().to_pylist() if r["id"] == key]
    assert len(found) == 1, found
    return found[0]


def edit(cat, key: str, **values) -> None:
    """Another writer changes one row on main."""
    from pyiceberg.expressions import EqualTo

    changed = {**row(cat, key), **values}
    cat.load_table(TABLE).overwrite(pa.Table.from_pylist([changed], schema=SCHEMA), overwrite_filter=EqualTo("id", key))


def status(cfg, ds) -> dict[str, str]:
    return {r.check: r.status for r in measure(cfg, ds, NOW, None, None, {})}


def main_head(cat) -> int:
    return cat.load_table(TABLE).metadata.refs["main"].snapshot_id


def test_stage_measure_promote_twice_and_rollback(lake, target):
    cat, where = lake
    before = dump(cat)
    handle = target.stage(7, FIX)
    assert handle["branch"] == "sentinel-cs7" and handle["base"] == before[1] and handle["head"] != before[1]
    assert dump(cat)[1:] == before[1:]  # main untouched
    staged = row(cat, "006B", "sentinel-cs7")
    assert staged["amount"] == 1_000_000.0 and isinstance(staged["amount"], float)
    assert {**staged, "amount": None} == {**before[2][1], "amount": None}  # only the cell changed
    assert len(dump(cat, "sentinel-cs7")[2]) == 20

    # the same checks on the branch pass; on main the check still fails
    cfg, ds = target.staged(7, handle)
    assert cfg.main.sources["lake"].branch == "sentinel-cs7" and ds.table == TABLE
    assert status(cfg, ds) == {"not_empty": "pass", CHECK: "pass"}
    assert status(where.cfg, where.dataset)[CHECK] == "fail"

    done = target.promote(7, FIX, handle)
    assert done == {"written": 1, "already": 0, "from": before[1], "snapshot": handle["head"], "rebased": False}
    assert main_head(cat) == handle["head"] and row(cat, "006B")["amount"] == 1_000_000.0
    assert status(where.cfg, where.dataset)[CHECK] == "pass"

    promoted = dump(cat)
    assert target.promote(7, FIX, handle) == {"written": 0, "already": 1, "snapshot": handle["head"]}
    assert dump(cat) == promoted  # nothing rewritten, not even metadata

    back = target.rollback(7, [c.inverse() for c in FIX], handle)
    assert back["written"] == 1 and back["from"] == handle["head"] and "rebased" not in back
    assert row(cat, "006B")["amount"] == 10_000_000.0
    t = cat.load_table(TABLE)
    from pyiceberg.table.snapshots import is_ancestor_of

    assert is_ancestor_of(back["snapshot"], handle["head"], t.metadata)  # main moved forward, never back
    assert dump(cat)[2] == before[2]
    rolled = dump(cat)
    assert target.rollback(7, [c.inverse() for c in FIX], handle)["written"] == 0
    assert dump(cat) == rolled

    target.discard(7, handle)
    assert not any(r.startswith("sentinel-cs7") for r in cat.load_table(TABLE).metadata.refs)
    assert dump(cat)[1:] == rolled[1:]


def test_stage_twice_returns_the_same_handle(lake, target):
    cat, _ = lake
    first = target.stage(3, FIX)
    meta = cat.load_table(TABLE).metadata_location
    assert target.stage(3, FIX) == first
    assert cat.load_table(TABLE).metadata_location == meta  # no second write
    assert [r["id"] for r in dump(cat, "sentinel-cs3")[2]].count("006B") == 1


def test_stage_again_after_an_interrupted_stage(lake, target):
    """A branch cut but never written (a crash between the two commits) is cut again and written once."""
    cat, _ = lake
    t = cat.load_table(TABLE)
    t.manage_snapshots().create_branch(snapshot_id=main_head(cat), branch_name="sentinel-cs4").commit()
    handle = target.stage(4, FIX)
    assert row(cat, "006B", "sentinel-cs4")["amount"] == 1_000_000.0 and len(dump(cat, "sentinel-cs4")[2]) == 20
    assert target.stage(4, FIX) == handle


def test_promotion_rebases_when_main_moved_on(lake, target):
    cat, _ = lake
    cells = FIX + [Cell("006C", "qty", 3, "3")]  # a cell whose new value is its old one is done as it is
    handle = target.stage(5, cells)
    cat.load_table(TABLE).append(rows(["007X", "007Y"], amount=42.0))  # an unrelated writer
    moved = main_head(cat)
    done = target.promote(5, cells, handle)
    assert done["rebased"] is True and done["from"] == moved and (done["written"], done["already"]) == (1, 1)
    t = cat.load_table(TABLE)
    from pyiceberg.table.snapshots import is_ancestor_of

    assert t.metadata.refs["main"].snapshot_id == done["snapshot"] != handle["head"]
    assert is_ancestor_of(done["snapshot"], moved, t.metadata)  # the unrelated commit is kept
    final = {r["id"]: r for r in dump(cat)[2]}
    assert len(final) == 22 and final["007X"]["amount"] == 42.0 and final["007Y"]["amount"] == 84.0
    assert final["006B"]["amount"] == 1_000_000.0
    assert target.promote(5, cells, handle) == {"written": 0, "already": 2, "snapshot": done["snapshot"]}


def test_conflict_when_a_staged_cell_changed_on_main(lake, target):
    cat, _ = lake
    handle = target.stage(6, FIX + [Cell("006C", "qty", 3, 30)])
    edit(cat, "006B", amount=5.0)
    before = dump(cat)
    with pytest.raises(Conflict) as err:
        target.promote(6, FIX + [Cell("006C", "qty", 3, 30)], handle)
    assert [(c.key, c.field, have) for c, have in err.value.found] == [("006B", "amount", 5.0)]
    assert "006B.amount=5.0" in err.value.message and not err.value.transient
    assert dump(cat) == before  # no commit at all: same metadata file, snapshot and rows
    assert row(cat, "006C")["qty"] == 3


def test_conflict_when_a_row_is_gone(lake, target):
    from pyiceberg.expressions import EqualTo

    cat, _ = lake
    handle = target.stage(8, FIX)
    cat.load_table(TABLE).delete(EqualTo("id", "006B"))
    before = dump(cat)
    with pytest.raises(Conflict) as err:
        target.promote(8, FIX, handle)
    assert err.value.found == [(FIX[0], None)]
    assert dump(cat) == before


def test_rollback_conflicts_when_the_promoted_value_changed(lake, target):
    cat, _ = lake
    handle = target.stage(13, FIX)
    target.promote(13, FIX, handle)
    edit(cat, "006B", amount=1_000_001.0)  # the owner edited the promoted value
    before = dump(cat)
    with pytest.raises(Conflict) as err:
        target.rollback(13, [c.inverse() for c in FIX], handle)
    assert err.value.found == [(FIX[0].inverse(), 1_000_001.0)] and dump(cat) == before
    assert "sentinel-cs13-rollback" not in cat.load_table(TABLE).metadata.refs


def test_fast_forward_is_a_compare_and_swap_on_main(lake, target):
    """Main moving between the precondition read and the commit: pyiceberg's ref requirement fails the
    commit, nothing moves, and the error is transient (the retry classifies again)."""
    cat, _ = lake
    handle = target.stage(9, FIX)
    stale = cat.load_table(TABLE)
    cat.load_table(TABLE).append(rows(["007Z"]))
    moved = dump(cat)
    with pytest.raises(TargetError) as err:
        target._fast_forward(stale, handle["base"], handle["head"])
    assert err.value.transient and dump(cat) == moved
    assert target.promote(9, FIX, handle)["rebased"] is True and len(dump(cat)[2]) == 21


def test_fit_and_fields(target):
    assert target.fields() == {
        "name": "string",
        "amount": "double",
        "price": "decimal(18, 2)",
        "qty": "long",
        "ratio": "float",
    }
    assert target.fit("amount", "1000000.5") == 1_000_000.5 and isinstance(target.fit("amount", "1000000"), float)
    assert target.fit("amount", "0.1000000000000000000001") == "0.1000000000000000000001"  # no double holds it
    assert target.fit("price", "12.5") == Decimal("12.50") and str(target.fit("price", 7)) == "7.00"
    assert target.fit("price", "1.234") == "1.234"  # never rounded to 1.23
    assert target.fit("price", "12345678901234567.00") == "12345678901234567.00"  # 19 digits > DECIMAL(18,2)
    assert target.fit("qty", "42") == 42 and target.fit("qty", "4.5") == "4.5"
    assert target.fit("ratio", "0.25") == 0.25 and target.fit("ratio", "0.1") == "0.1"  # float32
    assert target.fit("name", 5) == "5" and target.fit("amount", None) is None
    with pytest.raises(TargetError):
        target.fit("closed", "2026-01-02")  # not a writable type
    with pytest.raises(TargetError):
        target.fit("id", "x")  # the key is not a cell


def test_decimal_cells_stay_exact(lake, target):
    cat, _ = lake
    cells = [Cell("006B", "price", "20000000.00", "2000000"), Cell("006D", "qty", 4, "40")]
    handle = target.stage(10, cells)
    staged = row(cat, "006B", "sentinel-cs10")
    assert staged["price"] == Decimal("2000000.00") and str(staged["price"]) == "2000000.00"
    target.promote(10, cells, handle)
    assert row(cat, "006B")["price"] == Decimal("2000000.00") and row(cat, "006D")["qty"] == 40


@pytest.mark.parametrize(
    "cell,found",
    [
        (Cell("006B", "price", "20000000.00", "1.234"), Decimal("1.23")),  # rounded by the column: read back differs
        (Cell("006B", "amount", 10_000_000.0, "0.1000000000000000000001"), 0.1),
        (Cell("006B", "ratio", 0.5, "0.1"), float(pa.scalar(0.1, pa.float32()).as_py())),
        (Cell("006B", "qty", 2, "2.5"), 2),
        (Cell("006B", "price", "20000000.00", "1e30"), None),  # cannot be stored at all: nothing written
    ],
)
def test_inexact_values_fail_the_read_back(lake, target, cell, found):
    cat, _ = lake
    before = dump(cat)
    with pytest.raises(ReadBack) as err:
        target.stage(11, [cell])
    assert err.value.found == [(cell, found)]
    assert dump(cat)[1:] == before[1:]


def test_hostile_values_reach_the_table_byte_exact(lake, target):
    cat, _ = lake
    evil_key = "O'Brien\"; DROP TABLE crm.opportunities; --"
    t = cat.load_table(TABLE)
    hostile = rows([evil_key]).to_pylist()[0]
    t.append(pa.Table.from_pylist([hostile], schema=SCHEMA))
    cells = [
        Cell(evil_key, "name", hostile["name"], '=HYPERLINK("http://x")\'; DROP TABLE t; --'),
        Cell("006A", "name", "deal 006A", "Robert'); DROP TABLE Students;-- \u00e9\u4e2d\n"),
    ]
    others = {r["id"]: r for r in dump(cat)[2] if r["id"] not in (evil_key, "006A")}
    handle = target.stage(12, cells)
    target.promote(12, cells, handle)
    assert row(cat, evil_key)["name"] == cells[0].new and row(cat, "006A")["name"] == cells[1].new
    read = target.read([evil_key, "006A"], ["name"])
    assert read == {evil_key: {"name": cells[0].new}, "006A": {"name": cells[1].new}}
    assert {r["id"]: r for r in dump(cat)[2] if r["id"] not in (evil_key, "006A")} == others


def test_refuses_a_source_on_another_branch(lake):
    cat, where = lake
    src = where.cfg.main.sources["lake"].model_copy(update={"branch": "dev"})
    where.cfg.main.sources["lake"] = src
    with pytest.raises(TargetError) as err:
        open_target(where)
    assert "only main" in err.value.message and "sqlite" not in err.value.message
