"""NaN and +-inf in a monitored column (DOUBLE columns of DuckDB and PostgreSQL take 'NaN', 'Infinity'): left out
of every statistic and scoring, counted, and said so; the detectors find what they find on the same table
without them."""

from __future__ import annotations

import numpy as np
import pytest

SPECIALS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def table(share: float, special: str, seed: int = 1) -> tuple[list[dict], set[int], set[int], set[int]]:
    """Deals of owners a and b; `share` of owner a's amounts are `special`. One b deal is x1000 and eight
    finite a deals are in yen (x150). Returns the rows, the special ids, the x1000 id and the yen ids."""
    rng = np.random.default_rng(seed)
    n = 2000
    owner = np.where(np.arange(n) % 2 == 0, "a", "b")
    amount = np.round(10 ** (4 + rng.normal(0, 0.15, n)), 2)
    a_rows = np.flatnonzero(owner == "a")
    specials = set(rng.choice(a_rows, round(share * len(a_rows)), replace=False).tolist())
    finite_a = [i for i in a_rows if i not in specials]
    yen = set(rng.choice(finite_a, 8, replace=False).tolist())
    typo = int(np.flatnonzero(owner == "b")[17])
    rows = []
    for i in range(n):
        v = float(amount[i]) * (150 if i in yen else 1000 if i == typo else 1)
        rows.append({"id": i + 1, "owner": str(owner[i]), "amount": SPECIALS[special] if i in specials else v})
    return rows, {i + 1 for i in specials}, {typo + 1}, {i + 1 for i in yen}


def load(wh, name: str, rows: list[dict]) -> None:
    wh.execute(f"DROP TABLE IF EXISTS {name}")
    wh.execute(f"CREATE TABLE {name} (id INTEGER, owner VARCHAR(10), amount DOUBLE PRECISION)")
    wh.execute(f"INSERT INTO {name} VALUES (:id, :owner, :amount)", rows)


CHECKS = """
      - magnitude: {column: amount, group_by: [owner]}
      - subschema: {value_column: amount, category_column: owner}
"""


def project_of(project, wh) -> None:
    project.config(f'wh: {{type: sql, url: "{wh.url}"}}')
    body = "".join(
        f"  - name: {t}\n    source: wh\n    table: {t}\n    key: id\n    checks:{CHECKS}" for t in ("deals", "clean")
    )
    project.write("checks/deals.yaml", "datasets:\n" + body)


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
@pytest.mark.parametrize("share,special", [(0.02, "NaN"), (0.9, "NaN"), (0.02, "Infinity"), (0.9, "-Infinity")])
def test_non_finite_values_are_left_out_and_counted(project, backend, share, special, request, tmp_path):
    from backends import make

    wh = make(backend, tmp_path, request.getfixturevalue("pg_schema") if backend == "postgresql" else None)
    rows, specials, typo, yen = table(share, special)
    load(wh, "deals", rows)
    load(wh, "clean", [r for r in rows if r["id"] not in specials])  # the same table without them
    project_of(project, wh)
    code, doc = project.run_json()
    res = {(r["dataset"], r["check"]): r for r in doc["results"]}
    assert code == 1 and all(r["status"] == "fail" for r in res.values()), res
    word = "NaN" if special == "NaN" else "infinite"
    counted = {"nan": len(specials) if special == "NaN" else 0, "infinite": 0 if special == "NaN" else len(specials)}
    for check in ("magnitude(amount)", "subschema(amount)"):
        dirty, clean = res[("deals", check)], res[("clean", check)]
        assert dirty["observed"].pop("left_out") == counted
        assert f"{len(specials):,} {word} values of amount left out" in dirty["diagnosis"]["message"]
        assert "left_out" not in clean["observed"] and "left out" not in clean["diagnosis"]["message"]
        # everything else is what the same table without them gives: statistics, scores, flagged rows
        assert dirty["observed"] == clean["observed"] and dirty["evidence"] == clean["evidence"]
    mag = res[("deals", "magnitude(amount)")]
    assert {i["key"] for i in mag["evidence"]["rows"]["items"]} == typo | yen
    assert mag["observed"]["rows_scored"] == 2000 - len(specials)
    finite = [r["amount"] for r in rows if r["id"] not in specials]
    assert mag["observed"]["sum"] == pytest.approx(sum(finite), rel=1e-9)
    (mode,) = res[("deals", "subschema(amount)")]["evidence"]["modes"]
    assert mode["label"] == "a" and mode["factor"]["label"] == "JPY"
    assert {r["key"] for r in mode["rows"]["items"]} == yen


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_a_clean_table_with_non_finite_values_passes_and_says_what_was_left_out(project, backend, request, tmp_path):
    """A pass still tells the reader that some values were not judged; the aggregate history stays finite."""
    from backends import make
    from conftest import by_check

    wh = make(backend, tmp_path, request.getfixturevalue("pg_schema") if backend == "postgresql" else None)
    rng = np.random.default_rng(4)
    rows = [{"id": i, "owner": "a", "amount": float(10 ** (3 + rng.normal(0, 0.1)))} for i in range(1, 501)]
    rows[3]["amount"], rows[4]["amount"], rows[5]["amount"] = float("nan"), float("inf"), float("-inf")
    load(wh, "deals", rows)
    project.dataset(wh, CHECKS)
    for _ in range(2):  # the second run reads the first one's sum and mean back as history
        code, doc = project.run_json()
        res = by_check(doc)
        assert code == 0, res
        for check in ("magnitude(amount)", "subschema(amount)"):
            assert res[check]["status"] == "pass"
            assert res[check]["observed"]["left_out"] == {"nan": 1, "infinite": 2}
            assert res[check]["diagnosis"] == {"message": "1 NaN and 2 infinite values of amount left out"}
    assert np.isfinite(res["magnitude(amount)"]["observed"]["mean"])


def test_non_finite_explanatory_values_fall_back_to_the_peers(project, tmp_path):
    """An explained_by value that is NaN or infinite cannot place a row on the line: magnitude judges that row
    against its peers, subschema leaves it out; neither errors."""
    from backends import make
    from conftest import by_check
    from frames import contracts

    wh = make("duckdb", tmp_path)
    df = contracts(2000)
    df.loc[:29, "seats"] = [float("nan"), float("inf"), float("-inf")] * 10
    df.loc[0, "amount"] *= 100_000  # no usable seats, and far off its peers
    df.loc[100, "amount"] *= 10  # an ordinary row typed x10: the fit sees it
    wh.execute("CREATE TABLE contracts (id INTEGER, region VARCHAR(8), seats DOUBLE, years DOUBLE, amount DOUBLE)")
    wh.execute("INSERT INTO contracts VALUES (:id, :region, :seats, :years, :amount)", df.to_dict("records"))
    project.dataset(
        wh,
        """
        - magnitude: {column: amount, explained_by: [seats, years]}
        - subschema: {value_column: amount, explained_by: [seats, years]}
        """,
        table="contracts",
    )
    _, doc = project.run_json()
    res = by_check(doc)
    mag = res["magnitude(amount)"]
    assert mag["status"] == "fail" and mag["observed"]["rows_scored"] == 2000
    items = {i["key"]: i for i in mag["evidence"]["rows"]["items"]}
    assert set(items) == {1, 101}
    assert items[1]["baseline"]["kind"].startswith("median of all rows") and items[101]["diagnosis"]["k"] == 1
    assert res["subschema(amount)"]["status"] == "pass", res["subschema(amount)"]


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_infinite_timestamps_are_not_the_first_row(project, backend, request, tmp_path):
    """A '-infinity' timestamp (PostgreSQL and DuckDB take it) is not where the table starts: psycopg cannot
    even load it (the dataset's scan failed), DuckDB loads it as year 1 (56 empty days became the baseline).
    A table that began ten days ago has too little history to judge, whatever such rows say."""
    import datetime as dt

    from backends import make
    from conftest import by_check

    wh = make(backend, tmp_path, request.getfixturevalue("pg_schema") if backend == "postgresql" else None)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    wh.execute("CREATE TABLE events (id INTEGER, ts TIMESTAMP)")
    wh.execute(
        "INSERT INTO events VALUES (:id, :ts)", [{"id": h, "ts": now - dt.timedelta(hours=h)} for h in range(240)]
    )
    wh.execute("INSERT INTO events VALUES (-1, '-infinity'), (-2, 'infinity')")
    project.dataset(wh, "- volume: {timestamp_column: ts, bucket: day}\n- not_empty: {}", table="events")
    code, doc = project.run_json()
    res = by_check(doc)
    assert code == 0 and res["volume"]["status"] == "pass", res["volume"]
    assert res["volume"]["observed"]["rows"] == 242
    assert all("only" in b["note"] for b in res["volume"]["observed"]["buckets"])  # ten days: too few to judge


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_values_past_single_precision_are_scored(project, backend, request, tmp_path):
    """1e300 is a finite double: DuckDB's FLOAT (32 bits) refused it, which failed the dataset's whole scan."""
    from backends import make
    from conftest import by_check

    wh = make(backend, tmp_path, request.getfixturevalue("pg_schema") if backend == "postgresql" else None)
    rng = np.random.default_rng(6)
    rows = [{"id": i, "owner": "a", "amount": float(10 ** (3 + rng.normal(0, 0.1)))} for i in range(1, 501)]
    rows[7]["amount"] = 1e300
    load(wh, "deals", rows)
    project.dataset(wh, CHECKS)
    code, doc = project.run_json()
    res = by_check(doc)["magnitude(amount)"]
    assert code == 1 and [i["key"] for i in res["evidence"]["rows"]["items"]] == [8], res["diagnosis"]
    assert res["observed"]["mean"] == pytest.approx(1e300 / 500, rel=1e-6)
    assert by_check(doc)["subschema(amount)"]["status"] == "pass"  # one row is no second mode
