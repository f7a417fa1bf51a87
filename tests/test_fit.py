"""fit.solve: the least-squares line from the sums the database returns, and when it refuses one. And
explained_by at scale, on real DuckDB and PostgreSQL: the one-column fit solved in SQL gives the lines a robust
least-squares fit gives (numpy here, on the same rows); a sample drawn against literal group counts is the
sample drawn against counts computed in the statement; a row the line-band prefilter drops is inside every
band."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sqlalchemy as sa

from sentinel.checks import fit
from sentinel.checks.fit import solve
from sentinel.checks.sqlstats import beyond_every, counted, group_key, log10_abs, log_span, outside_every, sampled
from sentinel.sources.base import SqlSource, duckdb_engine

TRIM, FLOOR, MIN_GROUP = fit.TRIM, fit.FLOOR, 20


def sums(v: np.ndarray, y: np.ndarray) -> dict:
    row = {"n": len(y), "sy": y.sum()}
    for j in range(v.shape[1]):
        row[f"s{j}"], row[f"s{j}y"] = v[:, j].sum(), (v[:, j] * y).sum()
        for k in range(j, v.shape[1]):
            row[f"s{j}_{k}"] = (v[:, j] * v[:, k]).sum()
    return row


def test_solve_matches_numpy_least_squares():
    rng = np.random.default_rng(1)
    v = rng.normal(3.0, 0.4, (800, 3))  # log-scale columns far from zero: the centred sums keep precision
    y = 1.5 + v @ np.array([2.0, -0.5, 0.8]) + rng.normal(0, 0.05, 800)
    line = solve(sums(v, y), 3)
    expected, *_ = np.linalg.lstsq(np.column_stack([np.ones(800), v]), y, rcond=None)
    assert line.n == 800
    assert [line.a, *line.b] == pytest.approx(expected.tolist(), abs=1e-8)


@pytest.mark.parametrize("case", ["constant", "collinear", "too few rows"])
def test_solve_refuses_what_cannot_fix_a_line(case):
    rng = np.random.default_rng(2)
    v = rng.normal(0, 1, (50, 2))
    if case == "constant":
        v[:, 1] = 4.0
    elif case == "collinear":
        v[:, 1] = 2 * v[:, 0] + 1
    else:
        v = v[:2]
    y = v[:, 0] + rng.normal(0, 0.1, len(v))
    assert solve(sums(v, y), 2) is None


@pytest.fixture(params=["duckdb", "postgresql"])
def source(request, tmp_path):
    if request.param == "duckdb":
        engine = duckdb_engine(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    else:
        url, _schema, _engine = request.getfixturevalue("pg_schema")
        engine = sa.create_engine(url)
    source = SqlSource("wh", engine)
    yield source
    source.close()  # its open transaction would hold the table, and the schema's DROP would wait on it


def load(source: SqlSource, rows: list[dict]) -> sa.TableClause:
    with source.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER, g VARCHAR(8), v DOUBLE PRECISION, x DOUBLE PRECISION)"))
        conn.execute(sa.text("INSERT INTO t VALUES (:id, :g, :v, :x)"), rows)
    return sa.table("t", sa.column("id"), sa.column("g"), sa.column("v"), sa.column("x"))


def ols(v: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    if len(y) < 2 or np.std(v) < 1e-9:
        return None
    b, a = np.polyfit(v, y, 1)
    return a, b


def lines_of(g: np.ndarray, v: np.ndarray, y: np.ndarray) -> tuple[dict, tuple]:
    """Each group's line (its own with MIN_GROUP rows and a varying v, else the overall one) and the overall."""
    overall = ols(v, y)
    out = {}
    for k in np.unique(g):
        own = ols(v[g == k], y[g == k]) if (g == k).sum() >= MIN_GROUP else None
        out[k] = own or overall
    return out, overall


def robust_numpy(g: np.ndarray, v: np.ndarray, y: np.ndarray) -> tuple[dict, tuple]:
    first, _ = lines_of(g, v, y)
    e = y - np.array([first[k][0] + first[k][1] * vi for k, vi in zip(g, v, strict=True)])
    mad = {k: np.median(np.abs(e[g == k])) for k in first}
    keep = np.abs(e) <= TRIM * np.maximum(1.4826 * np.array([mad[k] for k in g]), FLOOR)
    return lines_of(g[keep], v[keep], y[keep])


def test_lines_fitted_in_sql_are_a_robust_least_squares_fit(source):
    """Groups with their own line (x10 rows among them, which the refit leaves out), a group too small for a
    line of its own, one whose v never varies, and rows without v (not fitted): the overall line for both."""
    rng = np.random.default_rng(3)
    rows, i = [], 0
    for g, n, slope in (("a", 600, 1.0), ("b", 400, 2.0), ("small", 12, 3.0), ("flat", 60, 1.0)):
        for _ in range(n):
            i += 1
            seats = 1.0 if g == "flat" else float(rng.integers(1, 200))
            x = 10 ** (1.5 + slope * np.log10(seats) + rng.normal(0, 0.05)) * (10 if rng.random() < 0.04 else 1)
            rows.append({"id": i, "g": g, "v": None if i % 97 == 0 else seats, "x": x})
    t = load(source, rows)
    where = [t.c.x.is_not(None)]
    groups = [t.c.g]
    cols = [log10_abs(t.c.x).label("y"), log10_abs(sa.func.nullif(t.c.v, 0)).label("v0"), group_key(t.c.g).label("g0")]
    counts = [tuple(r) for r in source.execute(counted(t, where, groups))]
    sample = sampled(source.dialect, t, cols, where, groups, t.c.id, "t", counts)  # every group taken whole
    robust = fit.robust(source, sample, ["v0"], 1, MIN_GROUP, ["v"], "t_lines")
    keys = sa.select(sample.c.g0).distinct().cte("keys")
    joined, line = robust.attach(keys, [keys.c.g0])
    got = robust.fits(source.execute(sa.select(keys.c.g0, *line).select_from(joined)))

    have = [r for r in rows if r["v"] is not None]
    g = np.array([r["g"] for r in have])
    expected, overall = robust_numpy(g, np.log10([r["v"] for r in have]), np.log10([r["x"] for r in have]))
    assert (got.overall.a, got.overall.b[0]) == pytest.approx(overall, abs=1e-9)
    for k, (a, b) in expected.items():
        assert (got.of((k,)).a, got.of((k,)).b[0]) == pytest.approx((a, b), abs=1e-9), k
    assert got.of(("a",)).b[0] == pytest.approx(1.0, abs=0.02)  # the x10 rows did not tilt it
    line = lambda k: (got.of((k,)).a, got.of((k,)).b)  # noqa: E731
    assert line("small") == line("flat") == (got.overall.a, got.overall.b)


def test_a_fit_in_sql_refuses_what_fit_refuses(source):
    t = load(source, [{"id": i, "g": "a", "v": 5.0, "x": 10.0 + i} for i in range(50)])
    cols = [log10_abs(t.c.x).label("y"), log10_abs(t.c.v).label("v0"), group_key(t.c.g).label("g0")]
    sample = sampled(source.dialect, t, cols, [], [t.c.g], t.c.id, "t")
    robust = fit.robust(source, sample, ["v0"], 1, MIN_GROUP, ["v"], "t_lines")
    keys = sa.select(sample.c.g0).distinct().cte("keys")
    joined, line = robust.attach(keys, [keys.c.g0])
    with pytest.raises(fit.CannotMeasure, match="v does not vary"):
        robust.fits(source.execute(sa.select(keys.c.g0, *line).select_from(joined)))
    with pytest.raises(fit.CannotMeasure, match="no row has a non-zero v"):
        robust.fits([])


@pytest.mark.parametrize("whole", [False, True])
def test_a_sample_from_literal_counts_is_the_same_sample(source, whole):
    """120 groups (the cap is then 2,000 rows a group) of about 2,300 rows, sampled, and with `whole` three
    groups of 500 and a NULL group, taken whole: the same keys whether the statement counts the groups or is
    given the counts (it then drops rows early by their hash, or their group)."""
    small = 3 if whole else 0
    with source.engine.begin() as conn:
        gen = "range(0, 300000) AS r(i)" if source.dialect == "duckdb" else "generate_series(0, 299999) AS i"
        conn.execute(
            sa.text(
                f"CREATE TABLE t AS SELECT i AS id, CASE WHEN {small} > 0 AND i % 1000 = 7 THEN NULL "
                f"WHEN i < {small * 500} THEN 's' || (i % {max(small, 1)}) ELSE 'g' || (i % 120) END AS g, "
                f"CAST(i % 13 AS DOUBLE PRECISION) AS x FROM {gen}"
            )
        )
    t = sa.table("t", sa.column("id"), sa.column("g"), sa.column("x"))
    where, groups = [t.c.x != 3], [t.c.g]
    counts = [tuple(r) for r in source.execute(counted(t, where, groups))]
    assert {r[1] > 2000 for r in counts} == ({True, False} if whole else {True})

    def keys(sample: sa.CTE) -> list[int]:
        return sorted(r.k for r in source.execute(sa.select(sample.c.k)))

    cols = [t.c.id.label("k"), group_key(t.c.g).label("g0")]
    plain = keys(sampled(source.dialect, t, cols, where, groups, t.c.id, "t"))
    given = keys(sampled(source.dialect, t, cols, where, groups, t.c.id, "t", counts))
    assert given == plain
    assert 0.5 * 120 * 2000 < len(plain) < 300_000 - 3000  # sampled, not the whole table


def test_the_line_band_prefilter_drops_only_rows_inside_every_band():
    """Random bands around lines of similar slopes, random rows: every row outside some band is kept (it may be
    flagged), and most rows inside all of them are dropped."""
    rng = np.random.default_rng(11)
    bands = [
        (
            float(rng.normal(1.0, 0.05)),
            (float(rng.normal(1.0, 0.01)), float(rng.normal(-0.5, 0.01))),
            rng.uniform(0.3, 0.6),
        )
        for _ in range(40)
    ]
    v = rng.uniform(-1, 2, (20_000, 2))
    y = 1.0 + v @ np.array([1.0, -0.5]) + rng.normal(0, 0.25, 20_000)
    outside = np.zeros(len(y), dtype=bool)
    for a, b, w in bands:
        outside |= np.abs(y - a - v @ np.array(b)) > w
    engine = duckdb_engine("duckdb:///:memory:")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE p (i INTEGER, y DOUBLE, v0 DOUBLE, v1 DOUBLE)")
        conn.exec_driver_sql(
            "INSERT INTO p SELECT * FROM (VALUES "
            + ", ".join(f"({i}, {float(y[i])!r}, {float(v[i, 0])!r}, {float(v[i, 1])!r})" for i in range(len(y)))
            + ")"
        )
        p = sa.table("p", sa.column("i"), sa.column("y"), sa.column("v0"), sa.column("v1"))
        test = fit.outside_every_line(p.c.y, [p.c.v0, p.c.v1], bands)
        kept = np.zeros(len(y), dtype=bool)
        kept[[r.i for r in conn.execute(sa.select(p.c.i).where(test))]] = True
    engine.dispose()
    assert outside.any() and not (outside & ~kept).any()
    assert (~kept).sum() > 0.5 * (~outside).sum()


def raw_rows(rows: list[tuple]) -> tuple[sa.engine.Engine, sa.TableClause]:
    engine = duckdb_engine("duckdb:///:memory:")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE r (i INTEGER, s DOUBLE, x DOUBLE, u0 DOUBLE, u1 DOUBLE)")
        conn.exec_driver_sql(
            "INSERT INTO r VALUES " + ", ".join("(" + ", ".join(repr(float(c)) for c in row) + ")" for row in rows)
        )
    return engine, sa.table("r", *[sa.column(c) for c in ("i", "s", "x", "u0", "u1")])


def kept_by(engine: sa.engine.Engine, r: sa.TableClause, test: sa.ColumnElement) -> set[int]:
    with engine.connect() as conn:
        return {int(row.i) for row in conn.execute(sa.select(r.c.i).where(test))}


@pytest.mark.parametrize(
    "slopes, shifts",
    [((1.0, 0.0), (0.0,)), ((0.97, -1.02), (0.0,)), ((2.0, 0.5), (0.0,)), ((1.0, 0.0), (0.0, -0.1, 0.05))],
)
def test_the_raw_line_test_keeps_every_row_the_line_band_test_keeps(slopes, shifts):
    """beyond_every_line on the raw columns (no logarithm) against outside_every_line on log10|x| minus the row's
    unit offset and log10|u|: random bands around lines of similar slopes (near an integer or not), values of
    either sign over several decades. Every row the band test keeps is kept (the raw test is a proof, or it
    is no test at all), and with integer-like slopes most of the rest are dropped."""
    rng = np.random.default_rng(12)
    b = np.array(slopes)
    bands = [
        (float(rng.normal(1.0, 0.03)), tuple(float(x) for x in b + rng.normal(0, 0.01, 2)), 0.5) for _ in range(30)
    ]
    n = 20_000
    logu = rng.uniform(-1.5, 2.0, (n, 2))
    s = rng.choice(shifts, n)
    y = 1.0 + logu @ b + rng.normal(0, 0.3, n)
    signs = rng.choice([-1.0, 1.0], (n, 3))
    rows = [
        (i, s[i], signs[i, 0] * 10 ** (y[i] + s[i]), signs[i, 1] * 10 ** logu[i, 0], signs[i, 2] * 10 ** logu[i, 1])
        for i in range(n)
    ]
    engine, r = raw_rows(rows)
    spans = [(float(logu[:, j].min()) - 1e-9, float(logu[:, j].max()) + 1e-9) for j in range(2)]
    logs = [log10_abs(r.c.u0), log10_abs(r.c.u1)]
    exact = kept_by(engine, r, fit.outside_every_line(log10_abs(r.c.x) - r.c.s, logs, bands))
    raw = fit.beyond_every_line(r.c.x, [r.c.u0, r.c.u1], bands, spans, (min(shifts), max(shifts)))
    engine_kept = kept_by(engine, r, raw) if raw is not None else set(range(n))
    engine.dispose()
    assert exact and exact <= engine_kept
    if slopes == (2.0, 0.5):  # half a slope over 2 decades is wider than the band: no test
        assert raw is None
    else:
        assert n - len(engine_kept) > 0.5 * (n - len(exact))


def test_the_raw_value_test_keeps_every_row_the_band_test_keeps():
    """sqlstats.beyond_every (the peers' medians, on the raw value) against outside_every on log10|x| minus the
    row's offset."""
    rng = np.random.default_rng(13)
    bands = [(float(rng.normal(2.0, 0.05)), 0.6) for _ in range(20)]
    n = 20_000
    s = rng.choice([0.0, 0.4], n)
    y = rng.normal(2.0, 0.4, n)
    rows = [(i, s[i], rng.choice([-1.0, 1.0]) * 10 ** (y[i] + s[i]), 1.0, 1.0) for i in range(n)]
    engine, r = raw_rows(rows)
    exact = kept_by(engine, r, outside_every(log10_abs(r.c.x) - r.c.s, bands))
    raw = beyond_every(r.c.x, bands, (0.0, 0.4))
    assert raw is not None
    kept = kept_by(engine, r, raw)
    engine.dispose()
    assert exact and exact <= kept and len(kept) < n
    assert beyond_every(r.c.x, bands, (0.0, 2.0)) is None  # offsets wider than the bands: every row may leave


@pytest.mark.parametrize(
    "lo, hi, integer, span",
    [
        (2, 55, False, (math.log10(2), math.log10(55))),
        (0.01, 3, False, (-2.0, math.log10(3))),
        (-80, -0.5, False, (math.log10(0.5), math.log10(80))),
        (-1, 5, False, None),  # the least non-zero |u| could be anything
        (0, 5, False, None),
        (0, 55, True, (0.0, math.log10(55))),  # integers: it is 1
        (-300, 0, True, (0.0, math.log10(300))),
        (0, 0, True, None),
        (None, None, True, None),
    ],
)
def test_log_span_bounds_the_logarithm_of_every_non_zero_value(lo, hi, integer, span):
    got = log_span(lo, hi, integer)
    if span is None:
        assert got is None
    else:
        assert got == pytest.approx(span, abs=1e-9)
        assert got[0] <= span[0] and got[1] >= span[1]
