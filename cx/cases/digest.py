"""The leadership digest: what changed beyond noise (the overview's tested cards and movers), targets met
and missed, open and overdue cases by owner, cases resolved in the period, actions due (plans and
cases), and alerts raised. One function builds it (:func:`build`), two render it: a self-contained
HTML page (inline style, no script, no external resource; every value escaped) and plain text.
``python -m cx digest --period week`` writes both; the app offers them for download; :func:`send`
delivers it through the configured channels once per dataset and period.
"""
from __future__ import annotations

import html
from datetime import datetime, timedelta

import polars as pl

from .. import overview
from ..data import Data
from ..filters import Filters
from ..store import _now
from . import storage
from .alerts import inbox, targets
from .plans import plans
from .rules import reason_label

DAYS = {"week": 7, "month": 30}


def build(store, dataset: str | None = None, period: str = "week", now: datetime | None = None) -> dict:
    """Everything the digest says, as plain data: title, period, changes (sentences), targets (rows),
    cases_by_owner (owner, open, overdue), resolved (cases resolved in the last period), plans_due,
    cases_due (open cases due within the next period), alerts (raised in the last period)."""
    now = now or _now()
    d = Data.open(store, dataset, Filters())
    since = now - timedelta(days=DAYS[period])
    changes, tgt_rows, shown = [], [], None
    try:
        sc = overview.scorecard(d, period=period, with_model=False)
        shown = sc["period"][0] if sc.height else None
        for r in sc.iter_rows(named=True):
            if r["status"] in ("improving", "declining"):
                changes.append(f"{r['label']} {r['status']}: {overview.fmt(r['unit'], r['previous'])} → "
                               f"{overview.fmt(r['unit'], r['value'])} ({r['note']}).")
        mv = overview.movers(d, period=period)
        changes += mv.filter(pl.col("significant"))["sentence"].to_list() if mv.height else []
        tgt, _ = targets(store, d.name)
        for key, goal in tgt.items():
            row = sc.filter(pl.col("key") == key)
            if not row.height or row["value"][0] is None:
                continue
            card = overview.CARD_BY_KEY[key]
            v = row["value"][0]
            met = v >= goal if card.better == "up" else v <= goal
            tgt_rows.append({"kpi": card.label, "value": overview.fmt(card.unit, v),
                             "target": overview.fmt(card.unit, goal), "met": met})
    except Exception as e:  # noqa: BLE001 - a dataset without scores still gets its cases and plans
        changes.append(f"(The KPI changes could not be computed: {str(e)[:200]})")
    cs = storage.cases(store, d.name, now=now)
    by_owner = (cs.filter(pl.col("open")).group_by("owner").agg(open=pl.len(), overdue=pl.col("overdue").sum())
                .sort(["overdue", "open", "owner"], descending=[True, True, False]))
    resolved = (cs.filter((pl.col("status") == "resolved") & (pl.col("closed_at") >= since))
                .sort(["closed_at", "id"], descending=True))  # newest first: the lists below show the latest
    due_cases = cs.filter(pl.col("open") & (pl.col("due_at") <= now + timedelta(days=DAYS[period]))
                          & ~pl.col("overdue"))
    pl_ = plans(store, d.name, status="open")
    plans_due = pl_.filter(pl.col("due_date") <= (now + timedelta(days=DAYS[period])).date())
    al = inbox(store, d.name)
    al = al.filter(pl.col("created_at") >= since) if al.height else al
    when = (f"{shown:%B %Y}" if period == "month" else f"the week of {shown:%d %b %Y}") if shown else "–"
    return {"title": f"CX Loop digest — {d.name}", "dataset": d.name, "period": period, "made": now,
            "compared": when, "changes": changes, "targets": tgt_rows,
            "cases_by_owner": by_owner.to_dicts(), "open": int(cs["open"].sum()) if cs.height else 0,
            "overdue": int(cs["overdue"].sum()) if cs.height else 0,
            "resolved": resolved.select("id", "customer_id", "reason", "owner", "assignee", "closed_at").to_dicts(),
            "cases_due": due_cases.height, "plans_due": plans_due.select("title", "owner", "due_date", "target").to_dicts(),
            "open_plans": pl_.select("title", "owner", "due_date").to_dicts(),
            "alerts": al["message"].to_list() if al.height else []}


def text(g: dict) -> str:
    """The digest as plain text."""
    out = [g["title"], f"Made {g['made']:%Y-%m-%d %H:%M} UTC; last full {g['period']}: {g['compared']}.", ""]
    out.append("What changed beyond noise")
    out += [f"- {c}" for c in g["changes"]] or ["- Nothing moved beyond normal variation."]
    out += ["", "Targets"]
    out += [f"- {t['kpi']}: {t['value']} (target {t['target']}): {'met' if t['met'] else 'missed'}"
            for t in g["targets"]] or ["- No target set."]
    out += ["", f"Cases: {g['open']:,} open, {g['overdue']:,} overdue"]
    out += [f"- {r['owner']}: {r['open']:,} open, {r['overdue']:,} overdue" for r in g["cases_by_owner"]]
    out += ["", f"Resolved in the last {g['period']}: {len(g['resolved']):,}"]
    out += [f"- case {r['id']}: {reason_label(r['reason'])}, customer {r['customer_id']}, by {r['assignee'] or r['owner']}"
            for r in g["resolved"][:20]]  # newest first
    out += [f"- ... and {len(g['resolved']) - 20:,} more"] if len(g["resolved"]) > 20 else []
    out += ["", "Actions due", f"- {g['cases_due']:,} open case(s) due within the next {g['period']}"]
    out += [f"- plan: {p['title']} ({p['owner']}, due {p['due_date']}"
            + (", overdue" if p["due_date"] < g["made"].date() else "") + f", target {p['target']:g})"
            for p in g["plans_due"]]
    out += ["", "Alerts"] + ([f"- {a}" for a in g["alerts"]] or ["- None raised."])
    return "\n".join(out) + "\n"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:860px;margin:2em auto;color:#222}"
        "h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}"
        "table{border-collapse:collapse}td,th{padding:.25em .8em;border-bottom:1px solid #eee;text-align:left}"
        ".met{color:#1a7f37}.missed{color:#c62828}.muted{color:#666}")


def html_page(g: dict) -> str:
    """The digest as one self-contained HTML page (no script, no external resource)."""
    e = html.escape

    def ul(items, empty):
        return "<ul>" + "".join(f"<li>{e(str(i))}</li>" for i in items) + "</ul>" if items else f"<p class=muted>{e(empty)}</p>"

    def table(rows, cols):
        if not rows:
            return "<p class=muted>None.</p>"
        head = "".join(f"<th>{e(c)}</th>" for c in cols.values())
        body = "".join("<tr>" + "".join(f"<td>{e('' if r.get(k) is None else str(r.get(k)))}</td>" for k in cols)
                       + "</tr>" for r in rows)
        return f"<table><tr>{head}</tr>{body}</table>"

    tg = "".join(f"<tr><td>{e(t['kpi'])}</td><td>{e(t['value'])}</td><td>{e(t['target'])}</td>"
                 f"<td class={'met' if t['met'] else 'missed'}>{'met' if t['met'] else 'missed'}</td></tr>"
                 for t in g["targets"])
    resolved = [{**r, "reason": reason_label(r["reason"]),
                 "closed_at": f"{r['closed_at']:%Y-%m-%d}"} for r in g["resolved"][:50]]
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{e(g['title'])}</title><style>{_CSS}</style>"
            f"</head><body><h1>{e(g['title'])}</h1><p class=muted>Made {g['made']:%Y-%m-%d %H:%M} UTC; last full "
            f"{e(g['period'])}: {e(g['compared'])}.</p>"
            f"<h2>What changed beyond noise</h2>{ul(g['changes'], 'Nothing moved beyond normal variation.')}"
            f"<h2>Targets met and missed</h2>"
            + (f"<table><tr><th>KPI</th><th>value</th><th>target</th><th></th></tr>{tg}</table>" if tg
               else "<p class=muted>No target set.</p>")
            + f"<h2>Cases: {g['open']:,} open, {g['overdue']:,} overdue</h2>"
            + table(g["cases_by_owner"], {"owner": "owner", "open": "open", "overdue": "overdue"})
            + f"<h2>Resolved in the last {e(g['period'])}: {len(g['resolved']):,}</h2>"
            + table(resolved, {"id": "case", "customer_id": "customer", "reason": "reason", "assignee": "by",
                               "closed_at": "closed"})
            + f"<h2>Actions due</h2><p>{g['cases_due']:,} open case(s) due within the next {e(g['period'])}.</p>"
            + table(g["plans_due"], {"title": "plan", "owner": "owner", "due_date": "due", "target": "target"})
            + f"<h2>Alerts</h2>{ul(g['alerts'], 'None raised.')}</body></html>")


def write(g: dict, out) -> tuple:
    """Write <out>.html and <out>.txt (out: a path with or without a suffix). Returns both paths."""
    from pathlib import Path

    out = Path(out)
    base = out.with_suffix("") if out.suffix in (".html", ".txt") else out
    base.parent.mkdir(parents=True, exist_ok=True)
    h, t = base.with_suffix(".html"), base.with_suffix(".txt")
    h.write_text(html_page(g), encoding="utf-8")
    t.write_text(text(g), encoding="utf-8")
    return h, t


def send(store, g: dict, retries: int | None = None, pause_s: float | None = None) -> dict:
    """Deliver the digest through every configured channel, once per dataset, period and day."""
    from . import channels

    cfg, _ = channels.config(store)
    d = storage.ds_id(store, g["dataset"])
    key = f"{d}:digest:{g['period']}:{g['made']:%Y-%m-%d}"
    channels.queue(store, d, [key], [c for c in channels.CHANNELS if c in cfg])
    payload = {"text": text(g), "html": html_page(g), "subject": g["title"]}
    kw = {k: v for k, v in (("retries", retries), ("pause_s", pause_s)) if v is not None}
    return channels.deliver(store, d, {key: payload}, cfg, **kw)
