"""KPI targets and alert rules, evaluated after every import and by ``python -m cx alerts`` (cron).

A target is a value per KPI card (cx.overview.CARDS), drawn as a goal line on its charts. An alert
rule watches one KPI over weeks or months:
- threshold: the last full period's value is on the wrong side of a value (or of the KPI's target);
- change: the change between the last two full periods is significant and for the worse
  (cx.overview.changes: the card's own test);
- anomaly: the last full period is unusual for the process (a control-chart signal of
  cx.overview.kpi_history).
Each firing is an event with a key (rule, KPI, period): stored once in cx_meta.loop_events (the
in-app inbox), then delivered to every configured channel once (cx.cases.channels). Running the
alerts again on the same data finds the same keys and adds nothing.
"""
from __future__ import annotations

import logging
from datetime import datetime

import polars as pl

from .. import overview
from ..data import Data
from ..filters import Filters
from ..store import CXError, _now
from . import storage
from .storage import bump, registered

log = logging.getLogger("cxloop")
KINDS = ("threshold", "change", "anomaly")
EVENT_COLUMNS = {"id": pl.Int64, "event_key": pl.Utf8, "kind": pl.Utf8, "subject": pl.Utf8, "period": pl.Date,
                 "message": pl.Utf8, "created_at": pl.Datetime("us")}


def targets(store, dataset: str | None) -> tuple[dict, int]:
    """{kpi key: target value} and the setting's version."""
    v, version = storage.setting(store, dataset, "targets", {})
    return {k: float(x) for k, x in (v or {}).items() if x is not None}, version


def save_targets(store, dataset: str | None, values: dict, version: int, who: str) -> int:
    clean = {}
    for k, v in (values or {}).items():
        if k not in overview.CARD_BY_KEY:
            raise CXError(f"'{k}' is not a KPI of the overview ({', '.join(overview.CARD_BY_KEY)}).")
        if v is None or v == "":
            continue
        try:
            clean[k] = float(v)
        except (TypeError, ValueError):
            raise CXError(f"The target of {overview.CARD_BY_KEY[k].label} must be a number.") from None
    return storage.save_setting(store, dataset, "targets", clean, version, storage._who(who))


def alert_rules(store, dataset: str | None) -> tuple[list, int]:
    v, version = storage.setting(store, dataset, "alert_rules", [])
    return list(v or []), version


def check_rule(r: dict) -> dict:
    kind, kpi = r.get("kind"), r.get("kpi")
    if kind not in KINDS:
        raise CXError(f"An alert rule is a {', '.join(KINDS)} rule, not '{kind}'.")
    if kpi not in overview.CARD_BY_KEY:
        raise CXError(f"Alert rules watch a KPI of the overview, not '{kpi}'.")
    period = r.get("period") or "month"
    if period not in overview.PERIODS:
        raise CXError("Alert rules compare weeks or months.")
    out = {"kind": kind, "kpi": kpi, "period": period}
    if kind == "threshold":
        v = r.get("value")
        if v in (None, "", "target"):
            out["value"] = "target"
        else:
            try:
                out["value"] = float(v)
            except (TypeError, ValueError):
                raise CXError("A threshold rule needs a number (or 'target').") from None
    return out


def save_alert_rules(store, dataset: str | None, rules: list, version: int, who: str) -> int:
    return storage.save_setting(store, dataset, "alert_rules", [check_rule(r) for r in rules], version,
                                storage._who(who))


def fired(d: Data, rules: list, tgt: dict) -> list[dict]:
    """The events the rules raise on the data now (nothing is written): event_key, kind, subject
    (the KPI), period, message."""
    out = []
    cache: dict = {}
    for r in rules:
        r = check_rule(r)
        card = overview.CARD_BY_KEY[r["kpi"]]
        per = r["period"]
        when = lambda p: f"{p:%B %Y}" if per == "month" else f"the week of {p:%d %b %Y}"  # noqa: E731
        if r["kind"] == "threshold":
            h = cache.setdefault(("stats", per), overview.period_stats(d, per))
            if not h.height or card.key not in h.columns or h[card.key][-1] is None:
                continue
            value, period = float(h[card.key][-1]), h["period"][-1]
            limit = tgt.get(card.key) if r["value"] == "target" else r["value"]
            if limit is None:
                continue
            bad = value < limit if card.better == "up" else value > limit
            if bad:
                what = "its target" if r["value"] == "target" else "the threshold"
                out.append({"event_key": f"{d.dataset.id}:threshold:{card.key}:{per}:{limit:g}:{period}",
                            "kind": "threshold", "subject": card.key, "period": period,
                            "message": f"{card.label} in {when(period)}: {overview.fmt(card.unit, value)}, "
                                       f"{'below' if card.better == 'up' else 'above'} {what} "
                                       f"({overview.fmt(card.unit, limit)})."})
        elif r["kind"] == "change":
            ch = cache.setdefault(("changes", per), overview.changes(d, per))
            last = ch.filter(pl.col("key") == card.key).tail(1)
            if last.height and last["status"][0] == "declining":
                row = last.row(0, named=True)
                out.append({"event_key": f"{d.dataset.id}:change:{card.key}:{per}:{row['period']}", "kind": "change",
                            "subject": card.key, "period": row["period"],
                            "message": f"{card.label} fell beyond chance in {when(row['period'])}: "
                                       f"{overview.fmt_delta(card.unit, row['delta'], row['margin'])} "
                                       f"(p = {row['p_value']:.3f})."})
        else:
            h = cache.setdefault(("history", card.key, per), overview.kpi_history(d, card.key, per))
            if h.height and h["signal"][-1]:
                period = h["period"][-1]
                out.append({"event_key": f"{d.dataset.id}:anomaly:{card.key}:{per}:{period}", "kind": "anomaly",
                            "subject": card.key, "period": period,
                            "message": f"{card.label} in {when(period)}: {overview.fmt(card.unit, h['value'][-1])}, "
                                       f"{h['signal'][-1]}."})
    return out


def record(store, dataset_id: int, events: list[dict], now: datetime | None = None) -> list[str]:
    """Store new events in the inbox (a key already there is skipped). Returns the new keys."""
    if not events:
        return []
    now = now or _now()
    df = pl.DataFrame(events, schema={k: v for k, v in EVENT_COLUMNS.items() if k not in ("id", "created_at")})
    with store.transaction() as cur:
        with registered(cur, "cx_loop_events", df):
            new = [r[0] for r in cur.sql(
                "INSERT INTO cx_meta.loop_events SELECT nextval('cx_meta.loop_ids'), $d, event_key, kind, subject, "
                "period, message, $now FROM cx_loop_events WHERE event_key NOT IN (SELECT event_key FROM "
                "cx_meta.loop_events) ON CONFLICT DO NOTHING RETURNING event_key", params={"d": dataset_id, "now": now}
            ).fetchall()]
        if new:
            bump(cur, dataset_id)
    return new


def inbox(store, dataset: str | None, limit: int = 500) -> pl.DataFrame:
    """The dataset's alert events, newest first."""
    return store.con.sql(
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM cx_meta.loop_events WHERE dataset_id = $d "
        "ORDER BY created_at DESC, id DESC LIMIT $n", params={"d": storage.ds_id(store, dataset), "n": limit}).pl()


def run_alerts(store, dataset: str | None = None, deliver: bool = True, now: datetime | None = None) -> dict:
    """Evaluate the dataset's alert rules, store new events and deliver what is pending (once per event
    and channel). Returns {"fired": events found, "new": new keys, "delivery": channels.deliver's report}."""
    rules, _ = alert_rules(store, dataset)
    out = {"fired": 0, "new": [], "delivery": None}
    if rules:
        d = Data.open(store, dataset, Filters())
        tgt, _ = targets(store, d.name)
        ev = fired(d, rules, tgt)
        out["fired"] = len(ev)
        out["new"] = record(store, d.dataset.id, ev, now)
    if deliver:
        from .channels import deliver_pending

        out["delivery"] = deliver_pending(store, dataset)
    return out


def seed_demo_alerts(store, dataset: str, end) -> None:
    """The demo's targets (NPS, CSAT and CES a little above their last year) and three alert rules."""
    from datetime import timedelta

    from .plans import _answers, _estimate

    d = Data.open(store, dataset, Filters())
    tgt = {}
    for key, step in (("nps", 5.0), ("csat", 3.0), ("ces", 0.2)):
        plan = {"link_kind": "kpi", "link_value": key, "metric": key}
        e = _estimate(key, _answers(d, plan, end - timedelta(days=365), end).row(0, named=True))
        if e.value is not None:
            tgt[key] = round(e.value + step, 1 if key == "ces" else 0)
    who = "Kim Laurent"
    save_targets(store, dataset, tgt, targets(store, dataset)[1], who)
    rules = [{"kind": "threshold", "kpi": "nps", "period": "month", "value": "target"},
             {"kind": "change", "kpi": "csat", "period": "month"},
             {"kind": "anomaly", "kpi": "nps", "period": "month"}]
    save_alert_rules(store, dataset, rules, alert_rules(store, dataset)[1], who)
