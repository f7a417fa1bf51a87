"""`magnitude` with `history_by`: the same key's previous value as the reference, kept as per-key snapshots
between runs (in memory for frames, in the state store for DuckDB and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from frames import run_check

from sentinel.checks.history import MemorySnapshots, bucket_count


def wide_deals(n=2000, seed=3) -> pd.DataFrame:
    """Deal sizes spanning three decades: a deal typed x10 is still an ordinary size among its peers."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": np.arange(1, n + 1), "amount": np.round(10 ** rng.uniform(3, 6, n), 2)})


def flagged(res) -> dict:
    return {i["key"]: i for i in res.evidence.get("rows", {}).get("items", [])}


PARAMS = {"column": "amount", "history_by": "id"}


def test_previous_value_catches_what_peers_cannot():
    snaps = MemorySnapshots()
    day1 = wide_deals()
    first = run_check(day1, "magnitude", PARAMS, snapshots=snaps)
    assert first.status == "pass" and first.expected["history"]["keys_with_snapshot"] == 0
    assert len(snaps.rows) == len(day1)  # the first run takes the snapshot

    day2 = day1.copy()
    victim = int(day2.index[(day2.amount > 10**4) & (day2.amount < 10**4.5)][0])
    day2.loc[victim, "amount"] *= 10  # one zero too many, still an ordinary deal size
    legit = day2.sample(40, random_state=1).index.difference([victim])
    day2.loc[legit, "amount"] *= 1.2  # honest updates: +20%
    peers_only = run_check(day2, "magnitude", {"column": "amount"})
    assert peers_only.status == "pass"  # the peers cannot see it: that is why history_by exists
    res = run_check(day2, "magnitude", PARAMS, snapshots=snaps)
    hits = flagged(res)
    assert res.status == "fail" and set(hits) == {victim + 1}
    item = hits[victim + 1]
    assert item["reference"] == day1.loc[victim, "amount"] and item["diagnosis"]["k"] == 1
    assert Decimal(item["diagnosis"]["candidate"]) == Decimal(repr(float(day2.loc[victim, "amount"]))) / 10
    assert float(item["diagnosis"]["candidate"]) == pytest.approx(day1.loc[victim, "amount"])
    assert "previous value" in item["baseline"]["kind"] and res.expected["history"]["changed_keys"] == len(legit) + 1
    assert "1 extra digit" in res.diagnosis["message"]

    # the snapshot kept the last good value: tomorrow it is still flagged, and the honest updates are learnt
    assert snaps.rows[str(victim + 1)][1] == day1.loc[victim, "amount"]
    assert snaps.rows[str(legit[0] + 1)][1] == day2.loc[legit[0], "amount"]
    assert set(flagged(run_check(day2, "magnitude", PARAMS, snapshots=snaps))) == {victim + 1}
    fixed = day2.copy()
    fixed.loc[victim, "amount"] = day1.loc[victim, "amount"]
    again = run_check(fixed, "magnitude", PARAMS, snapshots=snaps)
    # the fixed key's bucket was held for a second look; its value now equals the snapshot's
    assert again.status == "pass" and again.expected["history"]["changed_keys"] == 0
    assert again.expected["history"]["keys_with_snapshot"] > 0


def test_unchanged_buckets_are_not_fetched_and_deleted_keys_leave():
    snaps = MemorySnapshots()
    day1 = wide_deals(5000)
    run_check(day1, "magnitude", PARAMS, snapshots=snaps)
    same = run_check(day1, "magnitude", PARAMS, snapshots=snaps)
    assert same.expected["history"] == {"keys_with_snapshot": 0, "changed_keys": 0}  # nothing fetched at all
    day2 = day1.drop(index=[0, 1, 2])
    day2.loc[10, "amount"] /= 100  # two digits missing
    res = run_check(day2, "magnitude", PARAMS, snapshots=snaps)
    assert flagged(res)[11]["diagnosis"]["k"] == -2
    assert 0 < res.expected["history"]["keys_with_snapshot"] < 5000  # only the changed buckets were read
    assert not {"1", "2", "3"} & set(snaps.rows)


def test_a_key_on_several_rows_is_left_out_not_fatal():
    snaps = MemorySnapshots()
    df = wide_deals(300)
    df.loc[1, "id"] = df.loc[0, "id"]  # two rows claim id 1
    run_check(df, "magnitude", PARAMS, snapshots=snaps)
    df.loc[0, "amount"] *= 10
    res = run_check(df, "magnitude", PARAMS, snapshots=snaps)
    assert "1" not in snaps.rows and "not compared" in res.expected["history"]["note"]
    assert 1 not in flagged(res)


def test_bucket_count_follows_rows_and_a_new_count_resets_the_snapshot():
    assert bucket_count(10) == 64 and bucket_count(1_000_000) == 8192 and bucket_count(10**9) == 65536
    snaps = MemorySnapshots()
    run_check(wide_deals(500), "magnitude", PARAMS, snapshots=snaps)
    assert snaps.buckets == 64
    bigger = wide_deals(20_000)
    res = run_check(bigger, "magnitude", PARAMS, snapshots=snaps)
    assert res.status == "pass" and snaps.buckets == 256 and len(snaps.rows) == 20_000


def load(wh, frame: pd.DataFrame) -> None:
    wh.execute("DROP TABLE IF EXISTS deals")
    wh.execute("CREATE TABLE deals (id INTEGER, amount DOUBLE PRECISION)")
    wh.execute("INSERT INTO deals VALUES (:id, :amount)", frame.to_dict("records"))


def test_through_duckdb_and_postgresql_with_the_state_store(project, wh):
    from conftest import by_check

    df = wide_deals(1500)
    victim = int(df.index[(df.amount > 10**4) & (df.amount < 10**4.5)][0])
    load(wh, df)
    project.dataset(wh, "- magnitude: {column: amount, history_by: id}")
    code, doc = project.run_json()
    if wh.name == "sqlite":
        assert code == 3
        return
    assert code == 0
    bad = df.copy()
    bad.loc[victim, "amount"] *= 1000
    load(wh, bad)
    for _ in range(2):  # the incident stays open while the value stays wrong
        code, doc = project.run_json()
        res = by_check(doc)["magnitude(amount)"]
        assert code == 1, res
        (item,) = res["evidence"]["rows"]["items"]
        assert item["key"] == victim + 1 and item["diagnosis"]["k"] == 3
        assert item["reference"] == pytest.approx(df.loc[victim, "amount"])
    load(wh, df)
    code, doc = project.run_json()
    assert code == 0 and doc["incidents"][0]["change"] == "resolved"


def test_resolving_by_hand_accepts_the_new_value(project, tmp_path):
    """A deal that really grew 100x: the owner resolves the incident and the new value becomes the reference."""
    from backends import make
    from conftest import by_check

    wh = make("duckdb", tmp_path)
    df = wide_deals(800)
    load(wh, df)
    project.dataset(wh, "- magnitude: {column: amount, history_by: id}")
    assert project.run_json()[0] == 0
    grown = df.copy()
    grown.loc[5, "amount"] = df.loc[5, "amount"] * 100
    load(wh, grown)
    code, doc = project.run_json()
    assert code == 1 and by_check(doc)["magnitude(amount)"]["evidence"]["rows"]["items"][0]["key"] == 6
    incident = doc["incidents"][0]["id"]
    assert project.cli("resolve", str(incident), "--note", "real upsell, confirmed by owner").exit_code == 0
    code, doc = project.run_json()
    assert code == 0 and doc["incidents"] == []


def test_an_infinite_value_is_left_out_of_the_comparison():
    """A key whose value became infinite has no ratio to judge: it is counted as left out, its neighbours are
    still compared, and the snapshot never takes the infinity."""
    snaps = MemorySnapshots()
    day1 = wide_deals()
    run_check(day1, "magnitude", PARAMS, snapshots=snaps)
    day2 = day1.copy()
    victim = int(day2.index[(day2.amount > 10**4) & (day2.amount < 10**4.5)][0])
    day2.loc[victim, "amount"] *= 10
    day2.loc[victim + 1, "amount"] = np.inf
    legit = day2.sample(40, random_state=1).index.difference([victim, victim + 1])
    day2.loc[legit, "amount"] *= 1.2
    res = run_check(day2, "magnitude", PARAMS, snapshots=snaps)
    assert res.status == "fail" and set(flagged(res)) == {victim + 1}
    assert res.observed["left_out"] == {"nan": 0, "infinite": 1}
    assert all(np.isfinite(v) for _, v in snaps.rows.values())
