"""Running the rules: new cases from the triggers (one open case per customer and reason), routed to
an owner, due by the reason's SLA; overdue cases escalated. Run after every import (the hook, which
never fails an import: cx.cases.hook) and by ``python -m cx cases --evaluate``.

Idempotent: per customer and reason, ``cx_meta.loop_marks`` keeps the latest trigger already seen;
only later triggers count, so running twice on the same data opens nothing new. A trigger for a
customer who already has an open case of that reason advances the mark and opens nothing (the open
case covers it). Everything is written in one transaction.

A run also records what it ran on (the ``last_evaluation`` setting: the dataset version and a
fingerprint of the rules, the owners and the code, written in the same transaction as the cases):
the next run on the same stamp finds no trigger it has not seen, so it only escalates (a cron
re-run costs a query, not the rules: 10M touchpoints 7 s -> 0.1 s). ``force=True`` runs the rules
anyway (the marks still open nothing twice).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from ..data import Data
from ..filters import Filters
from ..store import CXError, _now
from . import storage
from .rules import REASONS, can_run, check_rules, data_end, default_owners, route_expr, triggers
from .storage import SYSTEM, bump, history_rows, registered


@dataclass
class Evaluation:
    """What one run of the rules did."""
    opened: dict = field(default_factory=dict)  # reason -> cases opened
    covered: dict = field(default_factory=dict)  # reason -> triggers of customers with an open case
    skipped: dict = field(default_factory=dict)  # reason -> why it did not run (what it needs)
    escalated: int = 0
    seconds: float = 0.0
    unchanged: bool = False  # the data, rules and owners were those of the last run: the rules did not run

    def summary(self) -> str:
        parts = [f"{REASONS[k].label}: {n:,} opened" + (f" ({self.covered.get(k, 0):,} covered by open cases)"
                                                        if self.covered.get(k) else "")
                 for k, n in self.opened.items()]
        parts += [f"{REASONS[k].label}: not run ({why})" for k, why in self.skipped.items()]
        tail = f"; {self.escalated:,} overdue case(s) escalated" if self.escalated else ""
        if self.unchanged:
            return "the data, rules and owners are those of the last run: nothing new to open" + tail
        return "; ".join(parts) + tail if parts or tail else "no new trigger since the last run: nothing opened"


def rules(store, dataset: str | None) -> tuple[dict, int]:
    """The dataset's case rules (defaults merged) and their version."""
    value, version = storage.setting(store, dataset, "rules", {})
    return check_rules(value), version


def owners(store, dataset: str | None) -> tuple[dict, int]:
    value, version = storage.setting(store, dataset, "owners", {})
    return {**default_owners(), **(value or {})}, version


def _departments(d: Data, touchpoints: list[str]) -> dict:
    """touchpoint -> the department that handles it most often (for routing feedback cases)."""
    if not touchpoints or not d.has("interactions", "department"):
        return {}
    t = d.table("interactions")
    t = t.filter(t.touchpoint.isin(touchpoints) & t.department.notnull())
    g = t.group_by(["touchpoint", "department"]).aggregate(n=t.count()).to_polars()
    g = g.sort(["touchpoint", "n", "department"], descending=[False, True, False]).unique("touchpoint", keep="first")
    return dict(zip(g["touchpoint"].to_list(), g["department"].to_list()))


def collect(d: Data, rule_set: dict, end) -> tuple[pl.DataFrame, dict]:
    """Every enabled rule's triggers, latest per customer and reason: reason, customer_id, event_at,
    trigger_key, detail, touchpoint, department, triggers (how many events it stands for); and the
    rules skipped, with why."""
    parts, skipped = [], {}
    for reason, rule in rule_set.items():
        if not rule["enabled"]:
            continue
        why = can_run(d, reason)
        if why is None:
            try:
                tr = triggers(d, reason, rule, end)
            except CXError as e:
                why = str(e)
        if why is not None:
            skipped[reason] = why
            continue
        if tr.height:
            parts.append(tr.with_columns(reason=pl.lit(reason)))
    if not parts:
        return pl.DataFrame(schema={"reason": pl.Utf8, **{k: v for k, v in TRIGGER_COLS.items()}}), skipped
    allt = pl.concat(parts, how="vertical_relaxed")
    latest = (allt.sort(["event_at", "trigger_key"]).group_by(["reason", "customer_id"], maintain_order=True)
              .agg(pl.all().last(), triggers=pl.len()))
    return latest, skipped


LAST_RUN = "last_evaluation"  # the loop setting holding the last run's stamp (see the module docstring)
TRIGGER_COLS = {"customer_id": pl.Utf8, "event_at": pl.Datetime("us"), "trigger_key": pl.Utf8, "detail": pl.Utf8,
                "touchpoint": pl.Utf8, "department": pl.Utf8, "triggers": pl.UInt32}


def _stamp(d: Data, rule_set: dict, own: dict) -> str:
    """What a run's outcome depends on: the dataset version, the rules, the owners and the code."""
    from ..results import code_version

    text = json.dumps([d.dataset.id, d.version, rule_set, own, code_version()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def last_run(store, dataset: str | None = None) -> dict:
    """What the last run recorded: {"stamp": ..., "skipped": {reason: what it needs}}; {} before any run."""
    value, _ = storage.setting(store, dataset, LAST_RUN, {})
    return value if isinstance(value, dict) else {}


def evaluate(store, dataset: str | None = None, now: datetime | None = None, who: str = SYSTEM,
             force: bool = False) -> Evaluation:
    """Run the dataset's rules (see the module docstring) and escalate overdue cases. `now`: the wall
    clock the SLA counts from (default: now, UTC). Unless `force`, a run on the data, rules and
    owners of the last run only escalates."""
    import time

    t0 = time.time()
    now = now or _now()
    d = Data.open(store, dataset, Filters())
    ev = Evaluation()
    rule_set, _ = rules(store, d.name)
    own, _ = owners(store, d.name)
    stamp = _stamp(d, rule_set, own)
    last = last_run(store, d.name)
    if not force and last.get("stamp") == stamp:
        ev.unchanged, ev.skipped = True, dict(last.get("skipped") or {})
        ev.escalated = escalate(store, d.name, now, own)
        ev.seconds = time.time() - t0
        return ev
    end = data_end(d)
    if end is None:
        ev.skipped = {k: "data with timestamps" for k in rule_set}
        return ev
    latest, ev.skipped = collect(d, rule_set, end)
    if latest.height:
        need = latest.filter(pl.col("department").is_null() & pl.col("touchpoint").is_not_null())
        deps = _departments(d, need["touchpoint"].unique().to_list())
        latest = latest.with_columns(department=pl.coalesce(
            "department", pl.col("touchpoint").replace_strict(deps, default=None, return_dtype=pl.Utf8)))
    _write(store, d.dataset.id, latest, rule_set, own, now, who, ev, {"stamp": stamp, "skipped": ev.skipped})
    ev.escalated = escalate(store, d.name, now, own)
    ev.seconds = time.time() - t0
    return ev


def _write(store, dataset_id: int, latest: pl.DataFrame, rule_set: dict, own: dict, now, who, ev,
           last_run: dict) -> None:
    cooldown = {k: float(r.get("cooldown_days", 0) or 0) for k, r in rule_set.items()}
    sla = {k: float(r["sla_days"]) for k, r in rule_set.items()}
    prio = {k: r["priority"] for k, r in rule_set.items()}
    with store.transaction() as cur:
        if latest.height:
            with registered(cur, "cx_loop_new", latest.select("reason", "customer_id", "event_at", "trigger_key",
                                                              "detail", "touchpoint", "department", "triggers")):
                fresh = cur.sql(
                    "SELECT n.*, m.last_event_at, o.id IS NOT NULL AS has_open FROM cx_loop_new n "
                    "LEFT JOIN cx_meta.loop_marks m ON m.dataset_id = $d AND m.customer_id = n.customer_id "
                    "AND m.reason = n.reason "
                    "LEFT JOIN (SELECT DISTINCT ON (customer_id, reason) id, customer_id, reason FROM cx_meta.loop_cases "
                    "WHERE dataset_id = $d AND status IN ('new', 'in_progress')) o "
                    "ON o.customer_id = n.customer_id AND o.reason = n.reason",
                    params={"d": dataset_id}).pl()
            cool = pl.col("reason").replace_strict(cooldown, default=0.0, return_dtype=pl.Float64)
            fresh = fresh.filter(pl.col("last_event_at").is_null()
                                 | (pl.col("event_at") > pl.col("last_event_at") + pl.duration(days=1) * cool))
            new = fresh.filter(~pl.col("has_open"))
            for reason in fresh["reason"].unique().to_list():
                ev.opened[reason] = int(new.filter(pl.col("reason") == reason).height)
                ev.covered[reason] = int(fresh.filter((pl.col("reason") == reason) & pl.col("has_open")).height)
            if new.height:
                new = new.with_columns(
                    owner=route_expr(own),
                    priority=pl.col("reason").replace_strict(prio, return_dtype=pl.Utf8),
                    due_at=pl.lit(now) + pl.duration(days=1) * pl.col("reason").replace_strict(
                        sla, return_dtype=pl.Float64),
                    detail=pl.when(pl.col("triggers") > 1).then(
                        pl.col("detail") + pl.format(" (and {} earlier in the window)", pl.col("triggers") - 1))
                    .otherwise(pl.col("detail")))
                with registered(cur, "cx_loop_open", new.select("reason", "customer_id", "event_at", "trigger_key",
                                                                "detail", "touchpoint", "department", "owner",
                                                                "priority", "due_at")):
                    ids = cur.sql(
                        "INSERT INTO cx_meta.loop_cases (id, dataset_id, customer_id, reason, trigger_key, event_at, "
                        "detail, touchpoint, department, owner, assignee, priority, status, opened_at, due_at, version, "
                        "updated_at, updated_by) SELECT nextval('cx_meta.loop_ids'), $d, customer_id, reason, "
                        "trigger_key, event_at, detail, touchpoint, department, owner, NULL, priority, 'new', $now, "
                        "due_at, 1, $now, $who FROM cx_loop_open ON CONFLICT DO NOTHING RETURNING id, owner",
                        params={"d": dataset_id, "now": now, "who": who}).fetchall()
                history_rows(cur, dataset_id, "case", [i for i, _ in ids], who, "opened", None,
                             [o for _, o in ids], now)
            if fresh.height:
                with registered(cur, "cx_loop_marks", fresh.select("customer_id", "reason", "event_at")):
                    cur.sql("INSERT OR REPLACE INTO cx_meta.loop_marks SELECT $d, customer_id, reason, event_at "
                            "FROM cx_loop_marks", params={"d": dataset_id})
        cur.sql("INSERT OR REPLACE INTO cx_meta.loop_settings VALUES ($d, $k, $v, 1, $t, $w)",  # no history: a system record
                params={"d": dataset_id, "k": LAST_RUN, "v": json.dumps(last_run, sort_keys=True), "t": now, "w": who})
        bump(cur, dataset_id)


def escalate(store, dataset: str | None, now: datetime | None = None, own: dict | None = None) -> int:
    """Escalate open cases past their due time (once each) to the escalation owner. Returns how many."""
    now = now or _now()
    own = own or owners(store, dataset)[0]
    to = own.get("escalation_owner") or default_owners()["escalation_owner"]
    d = storage.ds_id(store, dataset)
    with store.transaction() as cur:
        ids = [r[0] for r in cur.sql(
            "UPDATE cx_meta.loop_cases SET escalated_to = $to, escalated_at = $now, version = version + 1, "
            "updated_at = $now, updated_by = $who WHERE dataset_id = $d AND status IN ('new', 'in_progress') "
            "AND due_at < $now AND escalated_at IS NULL RETURNING id",
            params={"to": to, "now": now, "who": SYSTEM, "d": d}).fetchall()]
        history_rows(cur, d, "case", ids, SYSTEM, "escalated_to", None, to, now)
        if ids:
            bump(cur, d)
    return len(ids)


def when_due(opened: datetime, sla_days: float) -> datetime:
    return opened + timedelta(days=float(sla_days))
