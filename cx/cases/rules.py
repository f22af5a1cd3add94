"""The rules that open cases: one per reason, each with its SLA, priority and parameters (editable per
dataset; these are the defaults), and the triggers each finds in the data (Ibis over the data
handle, no filters: a rule sees the whole dataset).

A trigger is one event that calls for a case: customer_id, event_at (when it happened in the data),
trigger_key (the row it came from), detail (in words), touchpoint and department (for routing).
Only events within ``lookback_days`` of the data's last timestamp are considered (new data, not
the whole history), and a customer gets at most one open case per reason (see cx.cases.evaluate).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import ibis
import polars as pl

from ..data import Data
from ..store import CXError


@dataclass(frozen=True)
class Reason:
    key: str
    label: str
    sla_days: float
    priority: str
    params: dict  # the rule's own parameters (defaults)
    needs: str  # what data the rule needs, said when it is missing


REASONS = {r.key: r for r in (
    Reason("detractor", "Detractor (NPS 0–6)", 2, "high", {"max_score": 6},
           "feedback answers with metric nps and a customer_id"),
    Reason("low_csat", "Low CSAT (1–2)", 3, "medium", {"max_score": 2},
           "feedback answers with metric csat and a customer_id"),
    Reason("high_effort", "High effort (CES 1–2 of 7)", 5, "medium", {"max_score": 2},
           "feedback answers with metric ces (1–7, 7 = easy) and a customer_id"),
    Reason("incident_no_followup", "Incident without follow-up", 2, "high", {"followup_days": 3},
           "interactions with incident and direction columns (a follow-up is an outbound touchpoint)"),
    Reason("valuable_at_risk", "Valuable customer at risk", 7, "high", {"cooldown_days": 30},
           "purchases with amounts (the outreach list of the Value page)"),
    Reason("negative_comment", "Negative comment", 5, "low", {"max_sentiment": -0.5},
           "feedback comments (their sentiment is scored at import)"),
)}
LOOKBACK_DAYS = 30
DEFAULT_OWNER = "CX team"
ESCALATION_OWNER = "Head of CX"
TRIGGER_SCHEMA = {"customer_id": pl.Utf8, "event_at": pl.Datetime("us"), "trigger_key": pl.Utf8, "detail": pl.Utf8,
                  "touchpoint": pl.Utf8, "department": pl.Utf8}


def reason_label(reason: str) -> str:
    """A reason's words ("Low CSAT (1–2)"), not its key (low_csat); an unknown key as it is."""
    return REASONS[reason].label if reason in REASONS else reason


REASON_LABELS = {k: r.label for k, r in REASONS.items()}  # for polars' replace_strict


def default_rules() -> dict:
    """reason -> {enabled, sla_days, priority, lookback_days, **params}: every rule on."""
    return {k: {"enabled": True, "sla_days": r.sla_days, "priority": r.priority, "lookback_days": LOOKBACK_DAYS,
                **r.params} for k, r in REASONS.items()}


def default_owners() -> dict:
    """Routing: rules [{reason, department, owner}] (first match wins; "*" matches anything), then
    the touchpoint's department, then default_owner; overdue cases escalate to escalation_owner."""
    return {"routing": [], "default_owner": DEFAULT_OWNER, "escalation_owner": ESCALATION_OWNER}


def check_rules(rules: dict) -> dict:
    """The rules merged over the defaults, checked (a clear message naming the rule and field)."""
    out = default_rules()
    for key, r in (rules or {}).items():
        if key not in REASONS:
            raise CXError(f"There is no case rule '{key}' (rules: {', '.join(REASONS)}).")
        merged = {**out[key], **(r or {})}
        for f in ("sla_days", "lookback_days"):
            try:
                v = float(merged[f])
            except (TypeError, ValueError):
                raise CXError(f"Rule {REASONS[key].label}: {f.replace('_', ' ')} must be a number of days.") from None
            if not 0 < v <= 3650:
                raise CXError(f"Rule {REASONS[key].label}: {f.replace('_', ' ')} must be between 0 and 3650 days.")
            merged[f] = v
        if merged["priority"] not in ("high", "medium", "low"):
            raise CXError(f"Rule {REASONS[key].label}: priority is high, medium or low.")
        for p, default in REASONS[key].params.items():
            try:
                merged[p] = float(merged[p])
            except (TypeError, ValueError):
                raise CXError(f"Rule {REASONS[key].label}: {p.replace('_', ' ')} must be a number.") from None
        merged["enabled"] = bool(merged["enabled"])
        out[key] = merged
    return out


def route(reason: str, department: str | None, owners: dict) -> str:
    """The owner of a new case: the first routing rule that matches, else the department, else the
    default owner."""
    for r in owners.get("routing") or []:
        if r.get("reason", "*") in ("*", reason, None, "") and r.get("department", "*") in ("*", department, None, ""):
            if r.get("owner"):
                return str(r["owner"])
    return department or owners.get("default_owner") or DEFAULT_OWNER


def route_expr(owners: dict) -> pl.Expr:
    """:func:`route` as a polars expression over the columns reason and department (no row loop)."""
    out = pl.coalesce(pl.col("department"), pl.lit(owners.get("default_owner") or DEFAULT_OWNER))
    for r in reversed(owners.get("routing") or []):  # the first matching rule wins: applied last
        if not r.get("owner"):
            continue
        cond = pl.lit(True)
        if r.get("reason") not in ("*", None, ""):
            cond = cond & (pl.col("reason") == r["reason"])
        if r.get("department") not in ("*", None, ""):
            cond = cond & (pl.col("department") == r["department"])
        out = pl.when(cond).then(pl.lit(str(r["owner"]))).otherwise(out)
    return out


# -- triggers -------------------------------------------------------------------------------------------
def data_end(d: Data):
    """The last timestamp of the dataset's interactions (or feedback): the rules' "now" in data time."""
    ends = []
    for kind in ("interactions", "feedback"):
        if d.has(kind):
            t = d.table(kind)
            ends.append(t.aggregate(e=t.timestamp.max()).to_polars()["e"][0])
    ends = [e for e in ends if e is not None]
    return max(ends) if ends else None


def _answers(d: Data, metric: str, max_score: float, since):
    f = d.table("feedback")
    f = f.filter((f.metric == metric) & f.score.notnull() & (f.score <= max_score) & f.customer_id.notnull()
                 & (f.timestamp > since))
    return f


def _from_feedback(f, label: str, prefix: str):
    cols = f.columns
    comment = f.comment if "comment" in cols else ibis.null("string")
    tp = f.touchpoint if "touchpoint" in cols else ibis.null("string")
    x = f.score.cast("float64")
    # a whole score as a whole number ("NPS 3", not "NPS 3.0"); a sentiment keeps one decimal
    score = ibis.ifelse(x == x.round(0), x.round(0).cast("int64").cast("string"), x.round(1).cast("string")) \
        if "score" in cols else ibis.literal("")
    detail = ibis.literal(label) + score + ibis.ifelse(comment.notnull() & (comment.strip() != ""),
                                                       ": " + comment.substr(0, 160), "")
    return f.select(customer_id=f.customer_id.cast("string"), event_at=f.timestamp,
                    trigger_key=ibis.literal(prefix) + f._seq.cast("string"), detail=detail,
                    touchpoint=tp, department=ibis.null("string"))


def triggers(d: Data, reason: str, rule: dict, end) -> pl.DataFrame:
    """The events in the last `lookback_days` before `end` that call for a case of this reason (see
    the module docstring); an empty frame when the data cannot say (:func:`can_run` says why)."""
    since = end - timedelta(days=float(rule["lookback_days"]))
    empty = pl.DataFrame(schema=TRIGGER_SCHEMA)
    if can_run(d, reason) is not None:
        return empty
    if reason in ("detractor", "low_csat", "high_effort"):
        metric = {"detractor": "nps", "low_csat": "csat", "high_effort": "ces"}[reason]
        label = {"detractor": "NPS ", "low_csat": "CSAT ", "high_effort": "CES "}[reason]
        e = _from_feedback(_answers(d, metric, float(rule["max_score"]), since), label, f"fb{metric}:")
    elif reason == "negative_comment":
        from ..voc.comments import ensure_scored

        f = ensure_scored(d).table("feedback")
        f = f.filter(f.customer_id.notnull() & f.sentiment.notnull() & (f.sentiment <= float(rule["max_sentiment"]))
                     & (f.timestamp > since))
        e = _from_feedback(f.mutate(score=f.sentiment), "sentiment ", "fbtext:")
    elif reason == "incident_no_followup":
        days = float(rule["followup_days"])
        t = d.table("interactions")
        inc = t.filter((t.incident == True) & (t.timestamp > since)  # noqa: E712
                       & (t.timestamp <= end - timedelta(days=days)))
        # only outbound touchpoints after `since` can follow an incident after it: 143k of 3.6M rows at 10M
        fu = t.filter((t.direction == "outbound") & (t.timestamp > since)).select(_c=t.customer_id, _ts=t.timestamp)
        inc = inc.anti_join(fu, [inc.customer_id == fu._c, fu._ts > inc.timestamp,
                                 fu._ts <= inc.timestamp + ibis.interval(seconds=int(days * 86400))])
        dep = inc.department if "department" in inc.columns else ibis.null("string")
        e = inc.select(customer_id=inc.customer_id.cast("string"), event_at=inc.timestamp,
                       trigger_key="ix:" + inc._seq.cast("string"),
                       detail="incident at " + inc.touchpoint + f", no outbound contact within {days:g} days",
                       touchpoint=inc.touchpoint, department=dep.cast("string"))
    elif reason == "valuable_at_risk":
        from ..clv import outreach

        o = outreach(d, details=False)  # the list of the Value page, without its display columns
        if not o.height:
            return empty
        day = end.replace(hour=0, minute=0, second=0, microsecond=0)
        return o.select(pl.col("customer_id").cast(pl.Utf8), event_at=pl.lit(day).cast(pl.Datetime("us")),
                        trigger_key=pl.lit(f"risk:{day:%Y-%m-%d}:") + pl.col("customer_id").cast(pl.Utf8),
                        detail=pl.format("value at risk {}: {}", pl.col("value_at_risk").round(0), pl.col("reasons")),
                        touchpoint=pl.lit(None, pl.Utf8), department=pl.lit(None, pl.Utf8))
    else:
        raise CXError(f"There is no case rule '{reason}'.")
    return e.to_polars().cast(TRIGGER_SCHEMA)


def _answers_with_ids(d: Data) -> bool:
    """Whether any feedback answer names its customer (a survey export without ids has the column, empty)."""
    f = d.table("feedback")
    return bool(f.filter(f.customer_id.notnull()).limit(1).count().to_pyarrow().as_py())


def can_run(d: Data, reason: str) -> str | None:
    """None when the dataset has what the rule needs; else what it needs, in words."""
    need = REASONS[reason].needs
    if reason in ("detractor", "low_csat", "high_effort", "negative_comment"):
        if not d.has("feedback", "customer_id") or not d.has("feedback", "score") and reason != "negative_comment":
            return need
        if reason == "negative_comment" and not d.has("feedback", "comment"):
            return need
        return None if _answers_with_ids(d) else need  # the column kept by the contract, but every id empty
    if reason == "incident_no_followup":
        return None if d.has("interactions", "incident") and d.has("interactions", "direction") else need
    if reason == "valuable_at_risk":
        return None if d.has("interactions", "amount") else need
    return need
