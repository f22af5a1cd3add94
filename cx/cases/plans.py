"""Action plans: an action linked to what it should move (a key driver or a touchpoint: its mean CSAT;
a department: its mean CSAT or the spread of CSAT between its employees; a KPI: NPS, CSAT, CES),
with an owner, a target and a due date; and the metric since the plan started against its target.

Progress compares the metric over the plan's life (start .. the data's end) with the same length of
time before it started (the baseline), tested with cx.stats (NPS: multinomial z-test; CSAT top-2-box:
Newcombe; means: Welch's t). A plan has met its target when its value since the start is on the
target's side; whether it *moved* is the test's say. Plans live in cx_meta.loop_plans, versioned.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from .. import stats
from ..data import Data
from ..filters import Filters
from ..store import CXError, _now
from . import storage
from .rules import data_end
from .storage import StaleVersion, bump, history_rows

LINKS = {"driver": "key driver", "touchpoint": "touchpoint", "department": "department", "kpi": "KPI"}
METRICS = {"nps": ("NPS", "up"), "csat": ("CSAT", "up"), "ces": ("CES", "up"),
           "csat_mean": ("mean CSAT (1–5)", "up"), "employee_sd": ("spread of CSAT between employees", "down")}
PLAN_STATUSES = ("open", "done", "dropped")
PLAN_COLUMNS = ("id", "title", "link_kind", "link_value", "metric", "better", "baseline", "target", "owner",
                "start_date", "due_date", "status", "source", "created_at", "created_by", "version", "updated_at",
                "updated_by")


def default_metric(link_kind: str, link_value: str) -> str:
    if link_kind == "kpi":
        if link_value not in ("nps", "csat", "ces"):
            raise CXError("A plan linked to a KPI follows NPS, CSAT or CES (the scores an action moves directly).")
        return link_value
    return "csat_mean"


def plans(store, dataset: str | None, status: str | None = None) -> pl.DataFrame:
    """The dataset's plans (open first, by due date), with overdue (open past its due date)."""
    q = f"SELECT {', '.join(PLAN_COLUMNS)} FROM cx_meta.loop_plans WHERE dataset_id = $d"
    params = {"d": storage.ds_id(store, dataset)}
    if status:
        q += " AND status = $s"
        params["s"] = status
    df = store.con.sql(q + " ORDER BY status = 'open' DESC, due_date, id", params=params).pl()
    return df.with_columns(overdue=(pl.col("status") == "open") & (pl.col("due_date") < pl.lit(_now().date())))


def create_plan(store, dataset: str | None, title: str, link_kind: str, link_value: str, target: float,
                owner: str, due_date: date, who: str, metric: str | None = None, start_date: date | None = None,
                source: str = "", baseline: float | None = None, now: datetime | None = None) -> int:
    """A new open plan; its baseline is measured now unless given. Returns its id."""
    title = (title or "").strip()[:200]
    if not title:
        raise CXError("A plan needs a title (what will be done).")
    if link_kind not in LINKS:
        raise CXError(f"A plan is linked to a {', '.join(LINKS.values())}.")
    if not (link_value or "").strip():
        raise CXError(f"Say which {LINKS[link_kind]} the plan should move.")
    metric = metric or default_metric(link_kind, link_value)
    if metric not in METRICS:
        raise CXError(f"'{metric}' is not a metric a plan can follow ({', '.join(METRICS)}).")
    if not (owner or "").strip():
        raise CXError("A plan needs an owner.")
    try:
        target = float(target)
    except (TypeError, ValueError):
        raise CXError("A plan needs a target value (a number).") from None
    who = storage._who(who)
    now = now or _now()
    start_date = start_date or now.date()
    if due_date is None or due_date < start_date:
        raise CXError("The due date comes after the plan's start.")
    d = storage.ds_id(store, dataset)
    if baseline is None:
        plan = {"link_kind": link_kind, "link_value": link_value, "metric": metric, "start_date": start_date}
        baseline = progress(Data.open(store, dataset, Filters()), plan, series_too=False)["baseline"].value
    with store.transaction() as cur:
        pid = cur.sql("SELECT nextval('cx_meta.loop_ids')").fetchall()[0][0]
        cur.sql("INSERT INTO cx_meta.loop_plans VALUES ($id, $d, $t, $lk, $lv, $m, $b, $base, $tg, $o, $s, $due, "
                "'open', $src, $now, $w, 1, $now, $w)",
                params={"id": pid, "d": d, "t": title, "lk": link_kind, "lv": link_value.strip(), "m": metric,
                        "b": METRICS[metric][1], "base": baseline, "tg": target, "o": owner.strip()[:120],
                        "s": start_date, "due": due_date, "src": source, "now": now, "w": who})
        history_rows(cur, d, "plan", [pid], who, "created", None, title, now)
        bump(cur, d)
    return int(pid)


def update_plan(store, dataset: str | None, plan_id: int, version: int, who: str, status: str | None = None,
                target: float | None = None, owner: str | None = None, due_date: date | None = None,
                note: str | None = None) -> int:
    """Change a plan as read at `version`; StaleVersion when someone saved it since."""
    who = storage._who(who)
    if status is not None and status not in PLAN_STATUSES:
        raise CXError(f"A plan is {', '.join(PLAN_STATUSES)}.")
    now = _now()
    d = storage.ds_id(store, dataset)
    with store.transaction() as cur:
        r = cur.sql(f"SELECT {', '.join(PLAN_COLUMNS)} FROM cx_meta.loop_plans WHERE dataset_id = $d AND id = $i",
                    params={"d": d, "i": int(plan_id)}).pl()
        if not r.height:
            raise CXError(f"There is no plan {plan_id}.")
        row = r.row(0, named=True)
        if row["version"] != version:
            raise StaleVersion(storage._stale_message("plan", (row["updated_by"], row["updated_at"])))
        new = {"status": status, "target": None if target is None else float(target),
               "owner": (owner or "").strip() or None, "due_date": due_date}
        changes = [(k, row[k], v) for k, v in new.items() if v is not None and v != row[k]]
        if note and note.strip():
            changes.append(("note", None, note.strip()[:5000]))
        if not changes:
            return version
        sets = {k: v for k, _, v in changes if k != "note"}
        cols = "".join(f"{k} = ${k}, " for k in sets)
        cur.sql(f"UPDATE cx_meta.loop_plans SET {cols}version = version + 1, updated_at = $now, updated_by = $w "
                "WHERE id = $i", params={**sets, "now": now, "w": who, "i": int(plan_id)})
        for k, old, v in changes:
            history_rows(cur, d, "plan", [plan_id], who, k, old, v, now)
        bump(cur, d)
    return version + 1


# -- the metric of a plan ---------------------------------------------------------------------------------
def _answers(d: Data, plan: dict, lo: datetime, hi: datetime, monthly: bool = False) -> pl.DataFrame:
    """n, s (Σscore), q (Σscore²), p (promoters), dt (detractors), t2 (top-2-box) of the plan's answers in
    [lo, hi): one row, or one per month (column period) when `monthly`."""
    kind, value, metric = plan["link_kind"], plan["link_value"], plan["metric"]
    m = "csat" if metric == "csat_mean" else metric
    if kind == "department":
        from ..teams import linked_feedback_expr

        f = linked_feedback_expr(d, metrics=(m,))
        f = f.filter(f.department == value)
    else:
        if not d.has("feedback"):
            raise CXError("This plan's metric needs a feedback table (survey answers).")
        f = d.table("feedback")
        f = f.filter(f.metric == m)
        if kind in ("driver", "touchpoint"):
            f = f.filter(f.touchpoint == value)
    f = f.filter(f.score.notnull() & (f.timestamp >= lo) & (f.timestamp < hi))
    if monthly:
        f = f.mutate(period=f.timestamp.truncate("M").cast("date"))
    sc = f.score.cast("float64")
    aggs = dict(n=f.count(), s=sc.sum(), q=(sc * sc).sum(), p=(sc >= 9).sum(), dt=(sc <= 6).sum(), t2=(sc >= 4).sum())
    if monthly:
        return f.group_by("period").aggregate(**aggs).order_by("period").to_polars().fill_null(0)
    return f.aggregate(**aggs).to_polars().fill_null(0)


def _estimate(metric: str, a: dict) -> stats.Estimate:
    n = int(a["n"] or 0)
    if metric == "nps":
        return stats.nps(int(a["p"]), int(a["dt"]), n)
    if metric == "csat":
        e = stats.rate(int(a["t2"]), n)
        pct = lambda v: None if v is None else 100 * v  # noqa: E731
        return stats.Estimate(pct(e.value), pct(e.low), pct(e.high), e.n)
    return stats.mean(n, float(a["s"] or 0), float(a["q"] or 0))


def measure(d: Data, plan: dict, lo: datetime, hi: datetime) -> stats.Estimate:
    """The plan's metric over [lo, hi), with its interval (the spread between employees: without one)."""
    if plan["metric"] == "employee_sd":
        from .. import teams

        rep = teams.report(d.with_filters(Filters(start=lo.date(), end=(hi - timedelta(days=1)).date())))
        dep = rep["departments"].filter(pl.col("department") == plan["link_value"])
        sd = dep["employee_sd"][0] if dep.height else None
        return stats.Estimate(sd, None, None, int(dep["csat_n"][0]) if dep.height else 0)
    return _estimate(plan["metric"], _answers(d, plan, lo, hi).row(0, named=True))


def monthly(d: Data, plan: dict, lo: datetime, hi: datetime) -> pl.DataFrame:
    """The plan's metric per month in [lo, hi): period, value, low, high, n (one query)."""
    schema = {"period": pl.Date, "value": pl.Float64, "low": pl.Float64, "high": pl.Float64, "n": pl.Int64}
    if plan["metric"] == "employee_sd":
        return pl.DataFrame(schema=schema)
    rows = []
    for a in _answers(d, plan, lo, hi, monthly=True).iter_rows(named=True):  # one row per month
        e = _estimate(plan["metric"], a)
        rows.append({"period": a["period"], "value": e.value, "low": e.low, "high": e.high, "n": e.n})
    return pl.DataFrame(rows, schema=schema)


@dataclass(frozen=True)
class Progress:
    baseline: stats.Estimate
    current: stats.Estimate
    series: pl.DataFrame  # period, value, low, high, n (months from before the start to the data's end)
    start: datetime
    end: datetime | None


def progress(d: Data, plan: dict, months_before: int = 6, series_too: bool = True) -> dict:
    """{"baseline": the metric over the same length of time before the start, "current": since the start
    (to the data's end), "series": per month, "met": on the target's side (None without a value),
    "moved": "better" / "worse" / "could be chance" / "too early" by the change's test, "sentence"}."""
    end = data_end(d)
    start = datetime.combine(plan["start_date"], datetime.min.time())
    if end is None or end <= start:
        span = timedelta(days=90)
        cur = stats.Estimate(None, None, None, 0)
    else:
        span = max(end - start, timedelta(days=30))
        cur = measure(d, plan, start, end + timedelta(seconds=1))
    base = measure(d, plan, start - span, start)
    m0 = (start - timedelta(days=31 * months_before)).replace(day=1)
    series = monthly(d, plan, m0, (end or start) + timedelta(seconds=1)) if series_too else None
    target, better = plan.get("target"), METRICS[plan["metric"]][1]
    met = None
    if cur.value is not None and target is not None:
        met = cur.value >= target if better == "up" else cur.value <= target
    moved = _moved(base, cur, better)
    label = METRICS[plan["metric"]][0]
    f = (lambda v: "–" if v is None else f"{v:.2f}") if plan["metric"] in ("csat_mean", "employee_sd", "ces") \
        else (lambda v: "–" if v is None else f"{v:.0f}")
    of = "" if plan["link_kind"] == "kpi" else f" of {plan['link_value']}"  # "NPS", not "NPS of nps"
    sentence = (f"{label}{of}: {f(base.value)} before the plan (n = {base.n:,}), {f(cur.value)} "
                f"since it started (n = {cur.n:,})" + (f"; target {f(target)}: " + ("met" if met else "not met")
                                                       if target is not None and met is not None else "")
                + f"; {moved}.")
    return {"baseline": base, "current": cur, "series": series, "met": met, "moved": moved, "sentence": sentence,
            "start": start.date(), "end": end}


def progress_of(store, plan_id: int, dataset: str | None = None) -> dict:
    """:func:`progress` of a stored plan."""
    p = plans(store, dataset).filter(pl.col("id") == int(plan_id))
    if not p.height:
        raise CXError(f"There is no plan {plan_id}.")
    return progress(Data.open(store, dataset, Filters()), p.row(0, named=True))


def _moved(base: stats.Estimate, cur: stats.Estimate, better: str) -> str:
    if base.value is None or cur.value is None:
        return "too early to tell"
    if base.low is None or cur.low is None:
        return "moved " + ("the right way" if (cur.value - base.value) * (1 if better == "up" else -1) > 0 else
                           "the wrong way") + " (no interval for this metric)"
    # two independent estimates: a z-test of their difference from the intervals' half-widths
    import math

    se = math.hypot((base.high - base.low) / 3.92, (cur.high - cur.low) / 3.92)
    if se == 0 or base.n < stats.MIN_N or cur.n < stats.MIN_N:
        return "too few answers to tell"
    z = (cur.value - base.value) / se
    if abs(z) < 1.96:
        return "no change beyond chance yet"
    good = (z > 0) == (better == "up")
    return "moved the right way, beyond chance" if good else "moved the wrong way, beyond chance"


def seed_demo_plans(store, dataset: str, end: datetime, now: datetime) -> int:
    """The demo's plans: detractor call-backs (NPS, reached its target), fix delivery first (its CSAT did
    not move), coach billing (the inconsistent department, running). Baselines and targets are read
    from the demo's data, so the story matches what the data shows."""
    d = Data.open(store, dataset, Filters())
    made = 0
    specs = [
        ("Call back every detractor within 2 days", "kpi", "nps", "nps", end - timedelta(days=330), "Kim Laurent",
         "overview", "done", 0.6),
        ("Fix delivery first: courier SLA and proactive delay messages", "driver", "delivery", "csat_mean",
         end - timedelta(days=240), "logistics", "key drivers", "open", None),
        ("Coach the billing team to one standard", "department", "billing", "employee_sd",
         end - timedelta(days=45), "billing", "teams", "open", None),
    ]
    for title, kind, value, metric, start, owner, source, status, share in specs:
        plan = {"link_kind": kind, "link_value": value, "metric": metric, "start_date": start.date()}
        try:
            pr = progress(d, plan, series_too=False)
        except CXError:
            continue
        b, c = pr["baseline"].value, pr["current"].value
        if b is None:
            continue
        if share is not None and c is not None:  # reached: a target between the baseline and what happened
            target = round(b + share * (c - b), 1)
        elif metric == "employee_sd":
            target = round(b * 0.6, 2)
        else:
            target = round(b + 0.4, 1)
        due = (start + timedelta(days=120)).date() if status != "open" or kind != "department" \
            else (now + timedelta(days=60)).date()
        pid = create_plan(store, dataset, title, kind, value, target, owner, due, "Kim Laurent", metric=metric,
                          start_date=start.date(), source=source, baseline=b, now=start)
        if status != "open":
            p = plans(store, dataset).filter(pl.col("id") == pid).row(0, named=True)
            update_plan(store, dataset, pid, p["version"], "Kim Laurent", status=status,
                        note="Target reached: NPS since the start is above it.")
        made += 1
    return made
