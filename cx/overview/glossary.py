"""The Overview's terms (cx.glossary gathers them)."""
from __future__ import annotations

from ..terms import Term

# ----------------------------------------------------------------------------- glossary
_T = Term
GLOSSARY: tuple[Term, ...] = (
    _T("repeat_rate", "Repeat-purchase rate", "Overview",
       "Per period: buyers whose first purchase (in the filtered data) was in an earlier period ÷ customers "
       "who bought in the period.", "cx.profile.purchase_activity", "overview"),
    _T("retention", "Retention", "Overview",
       "Per period: the share of the previous period's active customers who are active again = returning ÷ "
       "(returning + dormant) of the life-cycle states.", "cx.overview.period_series", "lifecycle"),
    _T("scorecard", "KPI cards", "Overview",
       "Each card compares the last two full periods (weeks or months; a period the data covers only partly "
       "is never compared) and draws the last 12 as a sparkline. Status: improving or declining only when the "
       "change is beyond chance (a test at 95%: see Change beyond chance); steady when it could be chance; "
       "too few to compare when either period has fewer than 30 answers. The change carries its margin "
       "(-5 ± 19 pts). Average CLV (bootstrap interval over buyers) and relationship health cover the whole "
       "filtered history.", "cx.overview.scorecard", "overview"),
    _T("change_test", "Change beyond chance", "Overview",
       "A change between two periods is called a change when a test says it is unlikely to be sampling noise "
       "(p < 0.05): NPS by a z-test on the promoter/detractor (multinomial) variances; shares (CSAT top-2-box, "
       "retention, repeat rate) by a two-proportion z-test with Newcombe's interval; CES by Welch's t-test; "
       "active customers by the exact Poisson test; revenue by a z-test with a compound-Poisson variance (the "
       "sum of customers' squared revenue). 'Could be chance' means the difference is within what two samples "
       "of the same population would show. Intervals: Wilson for shares, t for means, exact Poisson for "
       "counts, bootstrap over customers for average CLV.", "cx.stats.nps_change", "overview"),
    _T("control_chart", "Control chart", "Overview",
       "A KPI's full periods with limits from its own history: a p-chart for shares (p̄ ± 3√(p̄(1−p̄)/n) with "
       "each period's n), an individuals (XmR) chart otherwise (mean ± 2.66 × the mean moving range). A period "
       "outside the limits, or ending 8 in a row on one side of the centre or 6 in a row going one way, is "
       "unusual for the process.", "cx.overview.kpi_history", "overview"),
    _T("core_elements", "Four core elements", "Overview",
       "Engagement (active customers, revenue), success (CSAT, CES), life cycle (retention, active "
       "customers) and loyalty (NPS, repeat-purchase rate, retention): declining if any of its metrics "
       "declines beyond chance, improving if one improves beyond chance and none declines, steady otherwise.",
       "cx.overview.core_elements", "overview"),
    _T("movers", "What changed", "Overview",
       "Active customers and revenue per channel and per persona in the last two full periods, each group "
       "tested (exact Poisson, compound-Poisson z); because many groups are scanned, only those that pass "
       "Benjamini-Hochberg at a 5% false-discovery rate are reported, largest first. When none passes: "
       "nothing changed beyond normal variation.", "cx.overview.movers", "overview"),
)
