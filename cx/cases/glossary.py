"""The closed loop's terms (cx.glossary gathers them: hover help, the Glossary page, docs)."""
from __future__ import annotations

from ..terms import Term

_T = Term
GLOSSARY: tuple[Term, ...] = (
    _T("case", "Case", "Closed loop",
       "One customer, one reason, followed until it is done: opened by a rule on new data (a detractor, a low "
       "CSAT, high effort, an incident without follow-up, a valuable customer at risk, a negative comment), at "
       "most one open case per customer and reason, owned by the first matching routing rule, else the "
       "touchpoint's department, else the default owner; due = opened + the reason's SLA.",
       "cx.cases.evaluate", "cases"),
    _T("case_overdue", "Overdue case", "Closed loop",
       "An open case (new or in progress) past its due time; escalated once to the escalation owner. Age = days "
       "since the case opened.", "cx.cases.cases", "cases"),
    _T("time_to_first_action", "Time to first action", "Closed loop",
       "Per reason: the median of hours from a case's opening to the first change a person made to it (status, "
       "assignee, owner, priority or a note); cases nobody touched yet are left out (counted as not acted).",
       "cx.cases.outcomes.speed", "cases"),
    _T("closed_in_sla", "Closed within SLA", "Closed loop",
       "Per reason: cases closed (resolved or won't fix) at or before their due time ÷ cases that are due (due "
       "time passed, or closed), with a 95% Wilson interval. Open cases not yet due count neither way.",
       "cx.cases.outcomes.speed", "cases"),
    _T("case_outcomes", "Resolved vs not resolved", "Closed loop",
       "For cases whose 90 days after opening lie within the data: the share active again (a touchpoint the "
       "customer initiated), the share who bought again, and the mean next score (of the reason's metric) in "
       "those 90 days, resolved cases against the others (open or won't fix): the difference with its 95% "
       "interval (Newcombe; Welch's t for the score) and a test. An association, not proof: who gets "
       "resolved is not random.", "cx.cases.outcomes.compare", "cases"),
    _T("plan_progress", "Action plan progress", "Closed loop",
       "The plan's metric (mean CSAT of a driver, touchpoint or department; the spread of CSAT between a "
       "department's employees; NPS, CSAT or CES) since the plan started, against the same length of time "
       "before it (the baseline). Met = on the target's side; moved = a z-test of the two estimates at 95%.",
       "cx.cases.plans.progress", "cases"),
)
