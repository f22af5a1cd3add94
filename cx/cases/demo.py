"""The demo dataset's closed-loop history, built when the demo loads, from the loaded data and with its
own seeded RNG (the shipped sample files and cx.sample's draws are untouched), so that a workshop
can show the whole loop: a year of cases opened by the default rules, most resolved within their
SLA, some late, some closed as won't fix, some still open and escalated; the last two weeks' cases
in the inbox now (new, in progress, a few overdue); three action plans (one that reached its target,
one that did not move, one running); KPI targets and alert rules.

The planted effect, said plainly: among the detractor cases, the ones marked "resolved" were chosen
with a higher probability for customers who *were* active again in the 90 days after (0.8 against
0.3). So "Did it work?" finds that resolved detractors were retained more: it demonstrates the
measurement on a known answer; it is not evidence that calling detractors back works.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from ..data import Data
from ..filters import Filters
from ..store import _now
from .evaluate import _departments, escalate, evaluate, owners
from .outcomes import WINDOW_DAYS, case_outcomes
from .rules import can_run, data_end, default_rules, route_expr, triggers
from .storage import SYSTEM, bump, registered

DEMO_SEED = 20_240_601
HISTORY_DAYS = 365
CURRENT_DAYS = 14
P_RESOLVE = {"retained": 0.8, "lost": 0.3, "other": 0.6}  # the planted effect (detractors only)
PEOPLE = {"support": ["Ana Silva", "Ben Okafor", "Chen Wei"], "logistics": ["Dana Novak", "Eli Haddad"],
          "billing": ["Fatima Rahman", "Goran Petrov"], "sales": ["Hana Sato"], "store": ["Ivo Costa"],
          "marketing": ["Jonas Berg"]}
CX_TEAM = ["Kim Laurent", "Lena Fischer"]
NOTES = {"resolved": ["Called the customer, apologised and refunded the shipping.",
                      "Sent a replacement; the customer thanked us.",
                      "Explained the charge and credited the difference.",
                      "Walked them through the app fix on the phone."],
         "wont_fix": ["Could not reach the customer after three tries.", "Duplicate of an earlier complaint.",
                      "Customer asked not to be contacted."]}


def seed_demo(store, dataset: str = "demo", now: datetime | None = None, seed: int = DEMO_SEED) -> dict:
    """Build the demo's closed-loop history (see the module docstring). Returns counts."""
    from .alerts import seed_demo_alerts
    from .plans import seed_demo_plans

    now = now or _now()
    rng = np.random.default_rng(seed)
    d = Data.open(store, dataset, Filters())
    end = data_end(d)
    rules = default_rules()
    own, _ = owners(store, d.name)
    parts = []
    for reason, rule in rules.items():
        if reason == "valuable_at_risk" or can_run(d, reason) is not None:
            continue  # at-risk customers are a state of now: the ordinary rule run below opens them
        tr = triggers(d, reason, {**rule, "lookback_days": HISTORY_DAYS}, end)
        if tr.height:
            parts.append(tr.with_columns(reason=pl.lit(reason)))
    allt = pl.concat(parts).sort(["reason", "customer_id", "event_at", "trigger_key"])
    current_from = end - timedelta(days=CURRENT_DAYS)
    hist = allt.filter(pl.col("event_at") < current_from).group_by(["reason", "customer_id"], maintain_order=True).first()
    cur = allt.filter(pl.col("event_at") >= current_from).group_by(["reason", "customer_id"], maintain_order=True).last()
    cur = cur.join(hist.select("reason", "customer_id"), on=["reason", "customer_id"], how="anti")
    cases = pl.concat([hist.with_columns(current=pl.lit(False)), cur.with_columns(current=pl.lit(True))])
    deps = _departments(d, cases["touchpoint"].drop_nulls().unique().to_list())
    cases = cases.with_columns(department=pl.coalesce("department", pl.col("touchpoint").replace_strict(
        deps, default=None, return_dtype=pl.Utf8)))
    cases = _lifecycle(d, cases, rules, own, end, now, rng)
    _insert(store, d.dataset.id, cases)
    plans = seed_demo_plans(store, d.name, end, now)
    seed_demo_alerts(store, d.name, end)
    ev = evaluate(store, d.name, now=now)  # today's valuable customers at risk, and anything newer
    escalate(store, d.name, now)
    return {"cases": cases.height, "plans": plans, "opened_now": sum(ev.opened.values())}


def _lifecycle(d, c: pl.DataFrame, rules: dict, own: dict, end, now, rng) -> pl.DataFrame:
    """Statuses, owners, people and timestamps of the demo's cases (vectorised draws, one seed)."""
    n = c.height
    sla = c["reason"].replace_strict({k: float(r["sla_days"]) for k, r in rules.items()}).to_numpy()
    hist = ~c["current"].to_numpy()
    shift = (now - end) if now > end else timedelta(0)
    ev = c["event_at"].to_numpy().astype("datetime64[us]")
    opened = ev + (rng.uniform(0.05, 0.6, n) * 86_400e6).astype("timedelta64[us]")
    opened = np.where(hist, opened, opened + np.timedelta64(int(shift.total_seconds() * 1e6), "us"))
    # the planted effect: detractors who were active again are resolved more often
    probe = c.select(pl.int_range(0, n).alias("id"), "customer_id", "reason",
                     pl.Series("opened_at", opened), status=pl.lit("new"))
    retained = case_outcomes(d, probe, WINDOW_DAYS).select("id", "retained")
    known = dict(zip(retained["id"].to_list(), retained["retained"].to_list()))
    is_det = (c["reason"] == "detractor").to_numpy()
    p = np.array([P_RESOLVE["other"] if not is_det[i] or i not in known else
                  P_RESOLVE["retained" if known[i] else "lost"] for i in range(n)])
    u = rng.random((n, 8))
    day = 86_400e6
    resolved = u[:, 0] < np.where(hist, p, 0.2)
    wont = ~resolved & (u[:, 1] < np.where(hist, 0.85, 0.0))
    still = ~resolved & ~wont
    in_prog = still & (u[:, 2] < np.where(hist, 0.6, 0.45))
    late = u[:, 3] < 0.15
    first = opened + (sla * np.where(resolved, u[:, 4] * 0.45 + 0.05, u[:, 4] * 1.3 + 0.2) * day).astype("timedelta64[us]")
    closed_after = np.where(resolved, np.where(late, 1.05 + u[:, 5] * 1.4, 0.3 + u[:, 5] * 0.65), 0.5 + u[:, 5] * 1.5)
    closed = opened + (sla * closed_after * day).astype("timedelta64[us]")
    closed = np.maximum(closed, first + np.timedelta64(3600 * 10**6, "us"))
    nowu = np.datetime64(now, "us")
    cap = ~hist & (closed > nowu)  # today's cases cannot close in the future: left in progress
    resolved &= ~cap
    in_prog |= cap
    acted = resolved | wont | in_prog
    first = np.where(acted, np.minimum(first, nowu), np.datetime64("NaT"))
    closed = np.where(resolved | wont, closed, np.datetime64("NaT"))
    status = np.where(resolved, "resolved", np.where(wont, "wont_fix", np.where(in_prog, "in_progress", "new")))
    due = opened + (sla * day).astype("timedelta64[us]")
    owner = c.select(route_expr(own))[:, 0].to_list()
    pool = [PEOPLE.get(o, CX_TEAM) for o in owner]
    assignee = [pl_[int(x * len(pl_))] if a else None for pl_, x, a in zip(pool, u[:, 6], acted)]
    note = [NOTES[s][int(x * len(NOTES[s]))] if s in NOTES else None for s, x in zip(status, u[:, 7])]
    return c.with_columns(
        pl.Series("opened_at", opened), pl.Series("due_at", due), pl.Series("first_action_at", first),
        pl.Series("closed_at", closed), pl.Series("status", status), pl.Series("owner", owner, pl.Utf8),
        pl.Series("assignee", assignee, pl.Utf8), pl.Series("note", note, pl.Utf8),
        priority=pl.col("reason").replace_strict({k: r["priority"] for k, r in rules.items()}))


def _insert(store, dataset_id: int, c: pl.DataFrame) -> None:
    """The cases, their marks and every history row, in one transaction."""
    with store.transaction() as cur:
        ids = [r[0] for r in cur.sql("SELECT nextval('cx_meta.loop_ids') FROM range($n)",
                                     params={"n": c.height}).fetchall()]
        c = c.with_columns(pl.Series("id", ids, pl.Int64))
        h = pl.concat([
            c.select("id", changed_at="opened_at", who=pl.lit(SYSTEM), field=pl.lit("opened"), old=pl.lit(None, pl.Utf8),
                     new="owner"),
            c.filter(pl.col("assignee").is_not_null()).select(
                "id", changed_at="first_action_at", who="assignee", field=pl.lit("assignee"), old=pl.lit(None, pl.Utf8),
                new="assignee"),
            c.filter(pl.col("first_action_at").is_not_null()).select(
                "id", changed_at="first_action_at", who="assignee", field=pl.lit("status"), old=pl.lit("new"),
                new=pl.lit("in_progress")),
            c.filter(pl.col("note").is_not_null()).select(
                "id", changed_at=pl.col("closed_at") - pl.duration(minutes=5), who="assignee", field=pl.lit("note"),
                old=pl.lit(None, pl.Utf8), new="note"),
            c.filter(pl.col("closed_at").is_not_null()).select(
                "id", changed_at="closed_at", who="assignee", field=pl.lit("status"), old=pl.lit("in_progress"), new="status"),
        ], how="vertical_relaxed")
        last = h.sort("changed_at").group_by("id").agg(version=pl.len(), updated_at=pl.col("changed_at").last(),
                                                updated_by=pl.col("who").last())
        c = c.join(last, on="id")
        with registered(cur, "cx_demo_cases", c.select(
                "id", "customer_id", "reason", "trigger_key", "event_at", "detail", "touchpoint", "department",
                "owner", "assignee", "priority", "status", "opened_at", "due_at", "first_action_at", "closed_at",
                "version", "updated_at", "updated_by")), registered(cur, "cx_demo_history", h):
            cur.sql("INSERT INTO cx_meta.loop_cases (id, dataset_id, customer_id, reason, trigger_key, event_at, "
                    "detail, touchpoint, department, owner, assignee, priority, status, opened_at, due_at, "
                    "first_action_at, closed_at, version, updated_at, updated_by) SELECT id, $d, customer_id, reason, "
                    "trigger_key, event_at, detail, touchpoint, department, owner, assignee, priority, status, "
                    "opened_at, due_at, first_action_at, closed_at, version, updated_at, updated_by FROM cx_demo_cases "
                    "ON CONFLICT DO NOTHING", params={"d": dataset_id})
            cur.sql("INSERT INTO cx_meta.loop_history SELECT $d, 'case', id, changed_at, who, field, old, new "
                    "FROM cx_demo_history", params={"d": dataset_id})
            cur.sql("INSERT OR REPLACE INTO cx_meta.loop_marks SELECT $d, customer_id, reason, max(event_at) "
                    "FROM cx_demo_cases GROUP BY ALL", params={"d": dataset_id})
        bump(cur, dataset_id)
