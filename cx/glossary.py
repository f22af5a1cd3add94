"""One glossary: every metric's definition, in one place. It feeds the hover help of the app's
cards and charts, the Glossary page, and the README's metric section (`python -m cx glossary`
prints it; a test checks that the README carries exactly that text).

Each definition says what the function computes (the function named in `api` is the one
definition of the metric, used by every page, the CLI and the tests)."""
from __future__ import annotations

from .terms import Term

AREAS = ("Dataset", "Journey", "Life cycle", "Loyalty & trust", "Teams", "Segments", "Value",
         "Voice of the customer", "Overview")


_T = Term
TERMS: tuple[Term, ...] = (
    # -- Dataset ------------------------------------------------------------------------------
    _T("customers", "Customers", "Dataset",
       "Distinct customer_id with at least one touchpoint (after the filters).", "cx.profile.kpis", "overview"),
    _T("touchpoints", "Touchpoints", "Dataset", "Rows of interactions: every recorded touchpoint.",
       "cx.profile.kpis", "overview"),
    _T("purchases", "Purchases", "Dataset", "Touchpoints with amount > 0.", "cx.profile.kpis", "overview"),
    _T("buying_share", "Buying customers", "Dataset",
       "Customers with at least one purchase ÷ customers.", "cx.profile.kpis", "overview"),
    _T("revenue", "Revenue", "Dataset", "Sum of amount over all touchpoints (refunds count negative).",
       "cx.profile.kpis", "overview"),
    _T("active_customers", "Active customers", "Dataset",
       "Per day / week (from Monday) / month: customers with a touchpoint they initiated, i.e. not marked "
       "outbound (receiving a newsletter is not activity). A first or last period the data covers only "
       "partly is flagged `partial`.", "cx.profile.activity", "overview"),
    _T("stage_reach", "Stage reach", "Dataset",
       "Per stage, in journey order: customers with at least one touchpoint in it, and touchpoints.",
       "cx.profile.by_stage", "overview"),
    _T("channel_mix", "Channel mix", "Dataset", "Per channel: touchpoints, customers, share of touchpoints.",
       "cx.profile.by_channel", "overview"),
    # -- Journey ------------------------------------------------------------------------------
    _T("funnel", "Ordered funnel", "Journey",
       "Steps are stages or touchpoints, a step may be an any-of group. Entry: any occurrence of step 1. Each "
       "next step is its first occurrence strictly after the previous step, ordered by (timestamp, file "
       "order), all within the conversion window measured from the entry (inclusive). Each customer (or "
       "session) counts once, at the furthest step any of its entries reached (a later entry that gets "
       "further wins; among equals the earliest). Per step: count, conversion from previous and from first, "
       "median and p90 time from the previous step of the winning entries. Breakdown: the entry's channel or "
       "any customers column, top N + Other + (unknown).", "cx.journey.funnel", "journey"),
    _T("funnel_trend", "Funnel trend", "Journey",
       "Per week or month of the winning entry: entries, completed (reached the last step), conversion = "
       "completed ÷ entries.", "cx.journey.funnel_trend", "journey"),
    _T("dropoffs", "Drop-offs", "Journey",
       "The customers whose furthest step is k (they never reached step k + 1 within the window), with entry "
       "and last-step times; exportable.", "cx.journey.funnel_dropoffs", "journey"),
    _T("transitions", "Transitions", "Journey",
       "Consecutive touchpoints of a customer in (timestamp, file order), at stage level or for the top N "
       "touchpoints (rest = Other), repeats optionally collapsed: count, customers, probability = count ÷ "
       "transitions out of the source. A back-edge goes to an earlier stage (discover < consider < evaluate < "
       "purchase < use).", "cx.journey.transitions", "journey"),
    _T("step_sankey", "Step Sankey", "Journey",
       "The first N steps of every journey, step i → i+1, with (end) for journeys that stop: loops unrolled.",
       "cx.journey.step_sankey", "journey"),
    _T("loop_rate", "Loop rate", "Journey",
       "Share of customers with at least one return to an earlier stage (stage-collapsed consecutive "
       "touchpoints). Loops per customer: the mean number of returns.", "cx.journey.loop_metrics", "journey"),
    _T("reevaluation_rate", "Re-evaluation rate", "Journey",
       "Share of customers with a use → evaluate transition.", "cx.journey.loop_metrics", "journey"),
    _T("cycle_days", "Repeat-purchase cycle", "Journey",
       "Median days between consecutive purchase days (amount > 0) of the same customer.",
       "cx.journey.loop_metrics", "journey"),
    _T("loop_exit_rate", "Loop exit rate", "Journey",
       "Share of customers with no activity in the last N days before the data's last day; N = the 90th "
       "percentile of inter-purchase gaps in days unless given (90 when nobody bought twice).",
       "cx.journey.loop_metrics", "journey"),
    _T("paths", "Paths", "Journey",
       "Top N sequences of stages per customer (repeats collapsed, truncated to 8 with …): customers, share, "
       "purchase conversion.", "cx.journey.paths", "journey"),
    _T("channel_switching", "Channel switching", "Journey",
       "Share of customers seen on 2+ channels; the top hand-offs (consecutive touchpoints on different "
       "channels); purchase conversion of cross- vs single-channel customers.", "cx.journey.channel_switching",
       "journey"),
    _T("journey_map", "Journey map", "Journey",
       "Stage × touchpoint grid: volume, customers, mean sentiment; from feedback on the same touchpoint, CSAT "
       "(top-2-box %, 1–5) and CES (mean, 1–7).", "cx.journey.journey_map", "journey"),
    _T("emotion_curve", "Emotion curve", "Journey",
       "Mean interaction sentiment per stage, in journey order.", "cx.journey.emotion_curve", "journey"),
)

OVERVIEW_TERMS: tuple[Term, ...] = (
    # -- Overview -------------------------------------------------------------------------------
    _T("repeat_rate", "Repeat-purchase rate", "Overview",
       "Per period: buyers whose first purchase (in the filtered data) was in an earlier period ÷ customers "
       "who bought in the period.", "cx.profile.purchase_activity", "overview"),
    _T("retention", "Retention", "Overview",
       "Per period: the share of the previous period's active customers who are active again = returning ÷ "
       "(returning + dormant) of the life-cycle states.", "cx.overview.period_series", "lifecycle"),
    _T("scorecard", "KPI cards", "Overview",
       "Each card compares the last two full periods (weeks or months; a period the data covers only partly "
       "is never compared) and draws the last 12 as a sparkline. Status: improving or declining when the "
       "change is at least 2% of the previous value (or 2 NPS points, 1 CSAT or retention point, 0.05 CES), "
       "steady otherwise. Average CLV and relationship health cover the whole filtered history.",
       "cx.overview.scorecard", "overview"),
    _T("core_elements", "Four core elements", "Overview",
       "Engagement (active customers, revenue), success (CSAT, CES), life cycle (retention, active "
       "customers) and loyalty (NPS, repeat-purchase rate, retention): declining if any of its metrics "
       "declines, improving if one improves and none declines, steady otherwise.",
       "cx.overview.core_elements", "overview"),
    _T("movers", "What changed", "Overview",
       "Active customers and revenue per channel and per persona in the last two full periods: the groups "
       "with the largest change relative to the total, in words.", "cx.overview.movers", "overview"),
)

# The other areas keep their definitions next to the functions that compute them: each module
# has GLOSSARY = ({"key", "name", "definition", "api", "page"}, ...).
_AREA_MODULES = (("Life cycle", "lifecycle"), ("Loyalty & trust", "loyalty"), ("Teams", "teams"),
                 ("Segments", "segments"), ("Value", "clv"), ("Voice of the customer", "voc"))


def _module_terms() -> tuple[Term, ...]:
    import importlib

    out = []
    for area, mod in _AREA_MODULES:
        for d in getattr(importlib.import_module(f"cx.{mod}"), "GLOSSARY", ()):
            if isinstance(d, Term):  # the one shape (areas move to it one by one)
                out.append(d)
            else:
                out.append(Term(d["key"], d["name"], area, d["definition"], d.get("api", ""), d.get("page", "")))
    return tuple(out)


TERMS = TERMS + _module_terms() + OVERVIEW_TERMS
_BY_KEY = {t.key: t for t in TERMS}
assert len(_BY_KEY) == len(TERMS), "duplicate glossary keys"
assert all(t.area in AREAS for t in TERMS)


def term(key: str) -> Term:
    return _BY_KEY[key]


def help_text(key: str) -> str:
    """The hover help of a card or chart: the definition (and where it is computed)."""
    t = _BY_KEY.get(key)
    return "" if t is None else f"{t.definition}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """The README's metric section: one table per area."""
    out = []
    for area in AREAS:
        terms = [t for t in TERMS if t.area == area]
        if not terms:
            continue
        out += [f"### {area}", "", "| metric | definition | function |", "| --- | --- | --- |"]
        out += [f"| {t.name} | {_cell(t.definition)} | `{t.api}` |" for t in terms]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
