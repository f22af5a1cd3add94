"""Teams: departments and employees, the people who deliver the experience.

Definitions (one each; the page, the CLI and the tests call these functions):

- **Linked feedback**: a CSAT or CES answer names a customer and the touchpoint it rates, not the
  department or employee. It is linked to the interaction it rates: the same customer and
  touchpoint, the latest such interaction at or before the answer (ties: the later row in file
  order); that interaction's department and employee_id are the answer's. Answers without a
  customer, a touchpoint or such an interaction stay unlinked (counted in :func:`link_summary`).
  Linking looks at all the interactions (the date filter applies to the answers, not to the
  interaction an answer rates).
- **CSAT** (1–5): mean score of the linked answers, and top-2-box share (4 or 5).
  **CES** (1–7, 7 = easy): mean score, and share easy (5–7).
- **Contact**: an inbound touchpoint handled by a department (direction = inbound, department set).
  **Resolution rate** (first-contact resolution): share of contacts not followed by another
  contact of the same customer with the same department within 7 days (strictly after it).
- **Incident rate**: share of the department's (employee's) touchpoints with incident = true.
- **Employee interval**: 95% t-interval of the mean CSAT, mean ± t(0.975, n−1)·s/√n (n ≥ 2).
- **Shrunk mean** (empirical Bayes, normal–normal): the department mean m plus B·(employee mean −
  m), B = τ² / (τ² + σ²/n), where σ² is the department's pooled within-employee variance of
  answers and τ² = max(0, var(employee means) − mean(σ²/n)) the between-employee variance
  (method of moments over the department's employees with n ≥ 2). Small samples are pulled
  towards the department mean, so they do not rank first by luck.
- **Ranking**: only employees with n ≥ min_n (default 20) answers are ranked, by the shrunk mean
  (ties by the interval's lower bound); the others are shown, unranked.
- **Consistency**: per department, the between-employee standard deviation of CSAT, τ (the spread
  of employee means with the sampling noise removed), next to the raw sd of the ranked employees'
  means; across departments, the sd of the department mean CSATs. A department is **flagged**
  inconsistent when its τ is the largest and at least 1.5 times the median τ of the other
  departments (departments with at least 3 employees with n ≥ min_n take part).
"""
from __future__ import annotations

import math

import ibis
import polars as pl
from ibis import _

from .data import Data, uses_data
from .expr import journey_window
from .filters import Filters
from .store import CXError
from .terms import Term

METRICS = ("csat", "ces")
SCALE = {"csat": (1, 5), "ces": (1, 7)}
RESOLUTION_DAYS = 7
MIN_N = 20
FLAG_RATIO = 1.5
KINDS = ("feedback", "contacts", "unresolved", "incidents")


def _need_columns(d: Data, cols=("department",)) -> None:
    have = set(d.cols("interactions"))
    missing = [c for c in cols if c not in have]
    if missing:
        raise CXError(f"The Teams view needs a {' and a '.join(missing)} column in the interactions "
                      "(which department / employee handled each touchpoint).")


@uses_data
def linked_feedback_expr(d: Data, filters: Filters | None = None, dataset: str | None = None,
                         metrics: tuple[str, ...] = METRICS):
    """CSAT/CES answers with the department and employee of the interaction they rate (see the module
    docstring): customer_id, timestamp, metric, score, touchpoint, department, employee_id, linked."""
    if not d.has("feedback"):
        raise CXError("CSAT and CES per team need a feedback table (metric csat/ces, with the touchpoint "
                      "rated): import one on the Data page.")
    fb = d.feedback
    fb = fb.filter(fb.metric.isin(list(metrics)) & fb.score.notnull())
    i = d.table("interactions")
    cols = set(i.columns)
    i = i.select(_c=i.customer_id, _tp=i.touchpoint, _its=i.timestamp, _iseq=i._seq,
                 department=i.department if "department" in cols else ibis.null("string"),
                 employee_id=i.employee_id if "employee_id" in cols else ibis.null("string"))
    j = fb.left_join(i, [fb.customer_id == i._c, fb.touchpoint == i._tp, i._its <= fb.timestamp])
    w = ibis.window(group_by=j._seq, order_by=[ibis.desc(j._its), ibis.desc(j._iseq)])
    j = j.mutate(_rn=ibis.row_number().over(w))
    j = j.filter(j._rn == 0)
    return j.select("customer_id", "timestamp", "metric", "score", "touchpoint", "department", "employee_id",
                    linked=j._its.notnull())


@uses_data
def link_summary(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Per metric (csat, ces): answers, linked (to an interaction), with_department, with_employee."""
    j = linked_feedback_expr(d)
    return (j.group_by("metric").aggregate(answers=_.count(), linked=_.linked.sum(),
                                           with_department=_.department.count(),
                                           with_employee=_.employee_id.count())
            .order_by("metric").to_polars())


def _contacts(d: Data):
    """Interactions with is_contact and resolved (see the module docstring)."""
    t = d.interactions
    c = t.filter((t.direction == "inbound") & t.department.notnull())
    c = c.mutate(_next=c.timestamp.lead().over(journey_window(("customer_id", "department"))))
    return c.mutate(resolved=c._next.isnull() | (c._next > c.timestamp + ibis.interval(days=RESOLUTION_DAYS)))


@uses_data
def stats_expr(d: Data, filters: Filters | None = None, dataset: str | None = None):
    """One Ibis expression: per (department, employee_id) pair (employee_id null for rows without
    one), the sufficient statistics every team number is computed from:
    touchpoints, incidents, incident_known (rows where incident is not null), contacts, resolved,
    csat_n, csat_sum, csat_sumsq, csat_top2_n (answers 4-5), ces_n, ces_sum, ces_easy_n (answers 5-7).
    An employee who works in two departments has one row per department."""
    _need_columns(d, ("department", "employee_id"))
    keys = ["department", "employee_id"]
    t = d.interactions
    t = t.filter(t.department.notnull())
    ops = t.group_by(keys).aggregate(touchpoints=_.count(), incidents=(_.incident == True).sum(),  # noqa: E712
                                     incident_known=_.incident.count())
    c = _contacts(d)
    res = c.group_by(keys).aggregate(contacts=_.count(), resolved=_.resolved.sum())
    j = linked_feedback_expr(d)
    j = j.filter(j.department.notnull())
    is_c, is_e = j.metric == "csat", j.metric == "ces"
    sc = j.score.cast("float64")
    scores = j.group_by(keys).aggregate(
        csat_n=is_c.sum(), csat_sum=sc.sum(where=is_c), csat_sumsq=(sc * sc).sum(where=is_c),
        csat_top2_n=(is_c & (sc >= 4)).sum(), ces_n=is_e.sum(), ces_sum=sc.sum(where=is_e),
        ces_easy_n=(is_e & (sc >= 5)).sum())
    # null-safe keys: employee_id may be null (rows of a department without an employee)
    def k(x):
        return x.mutate(_e=x.employee_id.fill_null("\x00"))

    ops, res, scores = k(ops), k(res), k(scores)
    out = ops.left_join(res.drop("employee_id"), [ops.department == res.department, ops._e == res._e])
    out = out.select(*keys, "_e", "touchpoints", "incidents", "incident_known", "contacts", "resolved")
    # feedback can only rate an interaction of the department, so every scores row has an ops row
    # (unless the filters cut the rated interaction away: those answers are dropped with it)
    out = out.left_join(scores.drop("employee_id"), [out.department == scores.department, out._e == scores._e])
    counts = ["contacts", "resolved", "csat_n", "csat_top2_n", "ces_n", "ces_easy_n"]
    return out.select(*keys, "touchpoints", "incidents", "incident_known",
                      *[out[n].fill_null(0).name(n) for n in counts],
                      *[out[n].name(n) for n in ("csat_sum", "csat_sumsq", "ces_sum")])


def _rates(df: pl.DataFrame) -> pl.DataFrame:
    """Means, variances and rates from the sufficient statistics (exact: ratios of sums)."""
    n = pl.col("csat_n")
    return df.with_columns(
        incident_rate=pl.when(pl.col("incident_known") > 0).then(pl.col("incidents") / pl.col("touchpoints")),
        resolution_rate=pl.when(pl.col("contacts") > 0).then(pl.col("resolved") / pl.col("contacts")),
        csat_mean=pl.when(n > 0).then(pl.col("csat_sum") / n),
        csat_var=pl.when(n > 1).then(((pl.col("csat_sumsq") - pl.col("csat_sum") ** 2 / n) / (n - 1)).clip(0)),
        csat_top2=pl.when(n > 0).then(pl.col("csat_top2_n") / n),
        ces_mean=pl.when(pl.col("ces_n") > 0).then(pl.col("ces_sum") / pl.col("ces_n")),
        ces_easy=pl.when(pl.col("ces_n") > 0).then(pl.col("ces_easy_n") / pl.col("ces_n")),
    )


_SUMS = ["touchpoints", "incidents", "incident_known", "contacts", "resolved", "csat_n", "csat_sum", "csat_sumsq",
         "csat_top2_n", "ces_n", "ces_sum", "ces_easy_n"]
DEPARTMENT_COLUMNS = ["department", "touchpoints", "incidents", "incident_rate", "contacts", "resolved",
                      "resolution_rate", "csat_n", "csat_mean", "csat_var", "csat_top2", "ces_n", "ces_mean",
                      "ces_easy", "employees"]
EMPLOYEE_COLUMNS = ["employee_id", "department", "csat_n", "csat_mean", "csat_var", "csat_top2", "ces_n",
                    "ces_mean", "ces_easy", "touchpoints", "incidents", "incident_rate", "contacts", "resolved",
                    "resolution_rate"]


def _eb(emp: pl.DataFrame, dep: pl.DataFrame, min_n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Empirical Bayes per department on the small employee frame (Python maths on ~100s of rows).
    Returns (employees with ci/shrunk, departments with sigma/employee_sd/employee_sd_raw/ranked)."""
    from scipy import stats

    rows, drows = [], []
    for d, g in emp.group_by("department", maintain_order=True):
        d = d[0]
        m_row = dep.filter(pl.col("department") == d)
        m = m_row["csat_mean"][0] if m_row.height else None
        g2 = g.filter((pl.col("csat_n") >= 2) & pl.col("csat_var").is_not_null())
        dof = float((g2["csat_n"] - 1).sum()) if g2.height else 0.0
        sigma2 = float(((g2["csat_n"] - 1) * g2["csat_var"]).sum() / dof) if dof > 0 else None
        tau2 = None
        if sigma2 is not None and g2.height >= 3:
            tau2 = max(0.0, float(g2["csat_mean"].var()) - float((sigma2 / g2["csat_n"]).mean()))
        ranked_means = g.filter(pl.col("csat_n") >= min_n)["csat_mean"]
        drows.append({"department": d, "sigma": math.sqrt(sigma2) if sigma2 is not None else None,
                      "employee_sd": math.sqrt(tau2) if tau2 is not None else None,
                      "employee_sd_raw": float(ranked_means.std()) if ranked_means.len() >= 2 else None,
                      "ranked_employees": int(ranked_means.len())})
        for r in g.iter_rows(named=True):  # a few hundred employees at most: modelling on a small frame
            n, mean, var = r["csat_n"], r["csat_mean"], r["csat_var"]
            lo = hi = shrunk = None
            if n and n >= 2 and var is not None:
                h = stats.t.ppf(0.975, n - 1) * math.sqrt(var / n)
                lo, hi = mean - h, mean + h
            if n and mean is not None:
                if tau2 is not None and m is not None:
                    b = tau2 / (tau2 + sigma2 / n) if (tau2 + sigma2 / n) > 0 else 0.0
                    shrunk = m + b * (mean - m)
                else:
                    shrunk = mean
            rows.append({"department": d, "employee_id": r["employee_id"], "csat_ci_low": lo, "csat_ci_high": hi,
                         "csat_shrunk": shrunk})
    schema = {"department": pl.Utf8, "employee_id": pl.Utf8, "csat_ci_low": pl.Float64,
              "csat_ci_high": pl.Float64, "csat_shrunk": pl.Float64}
    e = emp.join(pl.DataFrame(rows, schema=schema), on=["department", "employee_id"], how="left")
    dschema = {"department": pl.Utf8, "sigma": pl.Float64, "employee_sd": pl.Float64,
               "employee_sd_raw": pl.Float64, "ranked_employees": pl.Int64}
    return e, pl.DataFrame(drows, schema=dschema)


def _flag(d: pl.DataFrame) -> pl.DataFrame:
    """Flag the department whose between-employee sd is the largest and >= FLAG_RATIO x the median
    of the others (departments with >= 3 ranked employees and an estimate take part)."""
    ok = d.filter((pl.col("ranked_employees") >= 3) & pl.col("employee_sd").is_not_null())
    flagged = None
    if ok.height >= 2:
        top = ok.sort("employee_sd", descending=True)
        med = float(top["employee_sd"][1:].median())
        if top["employee_sd"][0] >= FLAG_RATIO * med and top["employee_sd"][0] > 0:
            flagged = top["department"][0]
    return d.with_columns(inconsistent=pl.col("department") == pl.lit(flagged, pl.Utf8),
                          consistency_assessed=pl.col("department").is_in(ok["department"].to_list()))


@uses_data
def report(d: Data, min_n: int = MIN_N, filters: Filters | None = None, dataset: str | None = None) -> dict:
    """Everything the Teams page shows, from one query (:func:`stats_expr`): {"departments": frame,
    "employees": frame, "consistency": dict} as returned by :func:`departments`, :func:`employees`
    and :func:`consistency`."""
    if min_n < 1:
        raise CXError("The minimum sample per employee is at least 1 answer.")
    raw = stats_expr(d).to_polars()
    dep = _rates(raw.group_by("department").agg(*[pl.col(c).sum() for c in _SUMS],
                                                 employees=pl.col("employee_id").drop_nulls().n_unique()))
    dep = dep.select(DEPARTMENT_COLUMNS).sort("department")
    emp = _rates(raw.filter(pl.col("employee_id").is_not_null())).select(EMPLOYEE_COLUMNS)
    e, spread = _eb(emp, dep, min_n)
    dep = _flag(dep.join(spread, on="department", how="left").with_columns(pl.col("ranked_employees").fill_null(0)))
    e = e.with_columns(ranked=pl.col("csat_n") >= min_n)
    r = (e.filter(pl.col("ranked")).sort(["csat_shrunk", "csat_ci_low", "employee_id"],
                                         descending=[True, True, False], nulls_last=True)
         .with_row_index("rank", offset=1).select("department", "employee_id", pl.col("rank").cast(pl.Int64)))
    e = e.join(r, on=["department", "employee_id"], how="left")
    e = e.sort(["rank", "csat_shrunk", "employee_id"], descending=[False, True, False], nulls_last=True)
    has = dep.filter(pl.col("csat_n") > 0)
    ces = dep.filter(pl.col("ces_n") > 0)
    flagged = dep.filter(pl.col("inconsistent"))
    ok = dep.filter(pl.col("consistency_assessed") & ~pl.col("inconsistent"))
    cons = {"departments": has.height,
            "csat_sd_across_departments": float(has["csat_mean"].std()) if has.height >= 2 else None,
            "ces_sd_across_departments": float(ces["ces_mean"].std()) if ces.height >= 2 else None,
            "inconsistent": flagged["department"][0] if flagged.height else None,
            "inconsistent_employee_sd": float(flagged["employee_sd"][0]) if flagged.height else None,
            "others_median_employee_sd": float(ok["employee_sd"].median()) if ok.height else None}
    return {"departments": dep, "employees": e, "consistency": cons}


@uses_data
def departments(d: Data, min_n: int = MIN_N, filters: Filters | None = None,
                dataset: str | None = None) -> pl.DataFrame:
    """Per department: touchpoints, incidents, incident_rate, contacts, resolved, resolution_rate,
    csat_n, csat_mean, csat_var, csat_top2, ces_n, ces_mean, ces_easy, employees, sigma (within-
    employee sd of answers), employee_sd (τ: between-employee sd of CSAT, noise removed),
    employee_sd_raw (sd of the means of employees with n ≥ min_n), ranked_employees,
    inconsistent (the flagged department), consistency_assessed. Definitions: module docstring."""
    return report(d, min_n)["departments"]


@uses_data
def consistency(d: Data, min_n: int = MIN_N, filters: Filters | None = None,
                dataset: str | None = None) -> dict:
    """Summary: departments (with CSAT answers), csat_sd_across_departments (sd of department mean
    CSAT), ces_sd_across_departments, inconsistent (the flagged department or None), its
    employee_sd and the median employee_sd of the others."""
    return report(d, min_n)["consistency"]


@uses_data
def employees(d: Data, min_n: int = MIN_N, department: str | None = None, filters: Filters | None = None,
              dataset: str | None = None) -> pl.DataFrame:
    """Per employee and department: employee_id, department, csat_n, csat_mean, csat_var, csat_top2,
    ces_n, ces_mean, ces_easy (their linked answers), touchpoints, incidents, incident_rate, contacts,
    resolved, resolution_rate, csat_ci_low/high (95% t-interval), csat_shrunk (empirical-Bayes
    mean), ranked (csat_n ≥ min_n), rank (1 = best shrunk mean among all ranked employees, null when
    not ranked). Sorted by rank, then the unranked by shrunk mean."""
    e = report(d, min_n)["employees"]
    return e if department is None else e.filter(pl.col("department") == department)


@uses_data
def team_members(d: Data, department: str | None = None, employee_id: str | None = None, kind: str = "feedback",
                 filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """The customers behind a department's (or an employee's) bar. kind: "feedback" (customers whose
    linked CSAT/CES answers rate it: answers, csat_mean, ces_mean), "contacts" (inbound contacts:
    contacts, unresolved), "unresolved" (customers with at least one contact followed by another
    within 7 days), "incidents" (customers with an incident there: incidents). Plus last (latest
    timestamp). Ordered by customer_id."""
    if kind not in KINDS:
        raise CXError(f"Customers of a team are listed by {', '.join(KINDS)}, not '{kind}'.")
    if department is None and employee_id is None:
        raise CXError("Pick a department or an employee.")

    def pick(t):
        p = []
        if department is not None:
            p.append(t.department == department)
        if employee_id is not None:
            p.append(t.employee_id == employee_id)
        return t.filter(p)

    if kind == "feedback":
        j = pick(linked_feedback_expr(d))
        s = j.score.cast("float64")
        out = j.group_by("customer_id").aggregate(answers=_.count(), csat_mean=s.mean(where=j.metric == "csat"),
                                                  ces_mean=s.mean(where=j.metric == "ces"), last=_.timestamp.max())
    elif kind in ("contacts", "unresolved"):
        c = pick(_contacts(d))
        out = c.group_by("customer_id").aggregate(contacts=_.count(), unresolved=(~_.resolved).sum(),
                                                  last=_.timestamp.max())
        if kind == "unresolved":
            out = out.filter(out.unresolved > 0)
    else:
        t = pick(d.interactions)
        t = t.filter(t.incident == True)  # noqa: E712
        out = t.group_by("customer_id").aggregate(incidents=_.count(), last=_.timestamp.max())
    return out.order_by("customer_id").to_polars()


# ----------------------------------------------------------------------------- glossary
_T = Term
GLOSSARY: tuple[Term, ...] = (
    _T("linked_feedback", "Answers linked to a team", "Teams",
       "A CSAT or CES answer is linked to the interaction it rates: same customer and touchpoint, the "
       "latest at or before the answer (ties: later file order); that interaction's department and "
       "employee are the answer's. Share linked = linked answers ÷ answers.",
       "cx.teams.link_summary", "teams"),
    _T("team_csat", "CSAT by department / employee", "Teams",
       "Mean of the linked CSAT answers (1–5) with a 95% t-interval, and the top-2-box share "
       "(answers 4 or 5).",
       "cx.teams.report", "teams"),
    _T("team_ces", "CES by department / employee", "Teams",
       "Mean of the linked CES answers (1–7, 7 = easy), and the share easy (answers 5–7).",
       "cx.teams.report", "teams"),
    _T("resolution_rate", "First-contact resolution", "Teams",
       "Contacts = inbound touchpoints handled by a department. Resolution rate = share of contacts "
       "not followed by another contact of the same customer with the same department within 7 days "
       "(strictly after it).",
       "cx.teams.report", "teams"),
    _T("incident_rate", "Incident rate", "Teams",
       "Share of the department's (employee's) touchpoints with incident = true.",
       "cx.teams.report", "teams"),
    _T("employee_shrunk_mean", "Employee shrunk CSAT", "Teams",
       "Empirical Bayes (normal–normal): department mean m + B·(employee mean − m), B = τ² ÷ (τ² + σ²/n), "
       "σ² the pooled within-employee variance, τ² the between-employee variance (method of moments). "
       "Employees with at least min_n answers (default 20) are ranked by it.",
       "cx.teams.report", "teams"),
    _T("employee_sd", "Spread between employees", "Teams",
       "Per department, τ: the standard deviation of its employees' mean CSAT with the sampling noise "
       "removed (departments with at least 3 employees with answers).",
       "cx.teams.report", "teams"),
    _T("consistency_flag", "Inconsistent department", "Teams",
       "The department whose between-employee sd τ is the largest and at least 1.5 × the median τ of the "
       "other departments (departments with at least 3 ranked employees take part).",
       "cx.teams.consistency", "teams"),
    _T("csat_spread", "CSAT spread across departments", "Teams",
       "Standard deviation of the departments' mean CSAT (1–5): how much the experience depends on "
       "which department serves the customer.",
       "cx.teams.consistency", "teams"),
    _T("team_customers", "Customers behind a team number", "Teams",
       "The customers of a department (or employee) who rated it, contacted it, contacted it again "
       "within 7 days, or had an incident there.",
       "cx.teams.team_members", "teams"),
)
