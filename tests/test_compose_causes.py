"""The owner's message for the two causes issue 13 added: a column mixing currencies under honest labels
(`mixed_units`) and a far amount not near a power of ten (`unusual`). Each is a real run on a DuckDB warehouse;
the run opens the owner request, rendered here from the store.

Expected figures come from the generated data (the JPY row count, the rate in config) or the row itself, never
from the composer."""

from __future__ import annotations

import datetime as dt

import numpy as np
import sqlalchemy as sa
from backends import make
from test_subschema_shapes import deals, load

from sentinel.config import load_config
from sentinel.notify.compose import render
from sentinel.store import Store, incidents, owner_requests, request_incidents

OWNERS = """
owners:
  sales_ops:
    name: Sales Ops
    notify: ["outbox://outbox.jsonl"]
    timezone: America/New_York
fx_rates: {JPY: 150.0}
"""
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


def _setup(project, tmp_path, df, checks: str):
    wh = make("duckdb", tmp_path)
    load(wh, df)
    project.dataset(wh, checks)
    project.config(f'wh: {{type: sql, url: "{wh.url}"}}', OWNERS)
    path = project.root / "checks" / "deals.yaml"
    path.write_text(path.read_text().replace("    key: id\n", "    key: id\n    owner: sales_ops\n"))
    code, doc = project.run_json()
    cfg = load_config(project.root / "config.yaml")
    return code, doc, cfg, Store(cfg.state_url)


def _request(store: Store, cfg, key: str):
    """The open incident `key`, the request the run opened for it, and that request's message as rendered."""
    with store.engine.begin() as conn:
        found = conn.execute(
            sa.select(incidents).where(incidents.c.key == key, incidents.c.open_fingerprint.is_not(None))
        ).first()
        assert found is not None, key
        rid = conn.execute(
            sa.select(request_incidents.c.request_id).where(request_incidents.c.incident_id == found.id)
        ).scalar_one()
        assert conn.execute(sa.select(owner_requests.c.owner).where(owner_requests.c.id == rid)).scalar_one() == (
            "sales_ops"
        )
        return found, render(conn, cfg, rid, "request", NOW)


def test_a_column_mixing_currencies_asks_for_one_currency_naming_it(project, tmp_path):
    df = deals(foreign={"JPY": (0.02, 150.0)})
    jpy = int((df.currency == "JPY").sum())
    code, doc, cfg, store = _setup(
        project, tmp_path, df, "- subschema: {value_column: amount, category_column: currency}"
    )
    (res,) = doc["results"]
    assert res["status"] == "warn" and res["diagnosis"]["cause"] == "mixed_units"
    _, msg = _request(store, cfg, "deals/subschema(amount)/mixed_units")
    assert msg.subject == "[sentinel] deals mixes currencies in one column (REQ-1)"
    text = " ".join(msg.text.split())  # the template wraps long lines
    # what is wrong names the currency, its row count and the configured factor; the ask is one currency
    assert (
        f"the {jpy:,} rows labelled JPY sit" in text and "the JPY/USD factor 150 (the rates of config fx_rates)" in text
    )
    assert "Please convert the amounts of the currency named to the column's main currency" in text
    assert "sums and means over deals mix currencies" in text
    # nothing is proposed as a value to write: no candidate for any row
    assert "candidate" not in text


def test_an_unusual_amount_asks_to_confirm_it_and_offers_no_candidate(project, tmp_path):
    """One amount 10^1.5 (31.6x) above its seats' line: far beyond the band, 0.5 decades from any power of ten,
    so no digit count explains it and no value may be proposed."""
    df = deals()
    far = int(df.id[df.seats == np.median(df.seats)].iloc[0])
    df.loc[df.id == far, "amount"] = round(float(df.loc[df.id == far, "amount"].iloc[0]) * 10**1.5, 2)
    amount = float(df.loc[df.id == far, "amount"].iloc[0])
    code, doc, cfg, store = _setup(project, tmp_path, df, "- magnitude: {column: amount, explained_by: [seats]}")
    (res,) = doc["results"]
    assert res["status"] == "warn" and res["diagnosis"]["cause"] == "unusual", res
    found, msg = _request(store, cfg, "deals/magnitude(amount)/unusual")
    assert msg.subject == "[sentinel] deals has unusual amounts (REQ-1)"
    text = msg.text
    assert f"  - {far}: {amount:,.2f}, reference " in text, text  # listed with its reference, nothing to write
    assert "Please confirm or correct each amount listed" in text
    assert "candidate" not in text.replace("(a candidate value is shown where one is likely)", ""), text


def test_every_cause_a_check_kind_reports_has_its_own_headline_and_ask():
    """A new cause without its wording would reach owners as 'has a problem' and a generic ask."""
    from sentinel.checks import KINDS
    from sentinel.notify.compose import ACTIONS, HEADLINES, _action

    generic = _action(None, "deals", None, None)
    for kind, module in KINDS.items():
        for cause in module.CAUSES:
            assert cause in HEADLINES and cause in ACTIONS, (kind, cause)
            assert _action(ACTIONS[cause], "deals", None, None) != generic, (kind, cause)


def test_a_missing_day_asks_to_complete_the_load(project, tmp_path):
    """Yesterday's events never arrived: the request names the day and asks for the load, not a value."""
    from test_volume import load_events

    wh = make("duckdb", tmp_path)
    load_events(wh, days=40, missing_day=1)
    project.dataset(wh, "- volume: {timestamp_column: created_at, bucket: day, seasonality: none}", table="events")
    project.config(f'wh: {{type: sql, url: "{wh.url}"}}', OWNERS)
    path = project.root / "checks" / "events.yaml"
    path.write_text(path.read_text().replace("    key: id\n", "    key: id\n    owner: sales_ops\n"))
    code, doc = project.run_json()
    assert code == 1 and doc["results"][0]["diagnosis"]["cause"] == "empty_bucket"
    cfg = load_config(project.root / "config.yaml")
    _, msg = _request(Store(cfg.state_url), cfg, "events/volume/empty_bucket")
    assert msg.subject == "[sentinel] events has a period with no rows (REQ-1)"
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
    text = " ".join(msg.text.split())
    assert yesterday in text and "0 rows, expected 48" in text
    assert "Please check the load that fills events: it holds fewer rows than expected." in text
