"""The planted truth (truth.json): every parameter of the demo world and the effects as realised in
the generated data, for the planted-effect tests (tests/test_sample.py and the area tests that read
sample_data/truth.json). No random draws here.
"""
from __future__ import annotations

import math

import numpy as np

from cx.schema import STAGES

from .constants import (ANSWER_SD, CES_RESPONSE, CH, COMMENT_P, CSAT_BASE, CSAT_RESPONSE, DAY, DEATH_INCIDENT_P,
                        DEATH_TAIL_DAYS, DEP, DEPARTMENTS, EMP_DEPT, EMPLOYEE_SD, END, GROUP_NAMES, GROUPS,
                        INCIDENT_KINDS, INCONSISTENT_DEPARTMENT, N_EMPLOYEES, NPS_COEF, NPS_RESPONSE, PERSONA_MATCH,
                        PERSONAS, PURCHASE_TPS, SUPPORT_TPS, TOUCHPOINTS, TP, TRUST_WITH_NPS, WEEK, WINDOW_END,
                        WINDOW_START, YEAR)
from .state import World
from .themes import EFFORT_PHRASES, THEME_NAMES, THEMES

_BANDS = ("<6m", "6-24m", ">24m")


def _r(x, d=4):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), d)


def truth(w: World) -> dict:
    """The truth dict (its key order is the order of truth.json)."""
    p, ev, fb = w.people, w.events, w.feedback
    n, N = p.n, ev.cust.size
    first_purchase = w.purchases.first_purchase
    hs = ~np.isnan(ev.sentiment)
    n_p = np.bincount(ev.cust[np.isin(ev.tp, [TP[x] for x in PURCHASE_TPS]) & (np.nan_to_num(ev.amount) > 0)],
                      minlength=n)
    has_c = fb["theme"] >= 0
    theme_counts = {THEME_NAMES[i]: int(c) for i, c in enumerate(np.bincount(fb["theme"][has_c],
                                                                           minlength=len(THEME_NAMES)))}
    return {
        "generator": "cx.sample", "seed": int(w.seed), "n_customers": int(n),
        "window": {"start": WINDOW_START + "Z", "end": WINDOW_END + "Z"},
        "time_unit": "week",
        "counts": {"customers": int(n), "interactions": int(N), "feedback": int(fb["metric"].size),
                   "buyers": int((~np.isnan(first_purchase)).sum()), "purchases": int(n_p.sum()),
                   "interactions_per_customer": _r(N / n, 2),
                   "sentiment_share": _r(hs.mean(), 3), "comment_share": _r(has_c.mean(), 3),
                   "inbound_share": _r((ev.direction == 0).mean(), 3)},
        "groups": {g: {k: v for k, v in GROUPS[g].items()} for g in GROUP_NAMES},
        "group_shares_realised": {GROUP_NAMES[g]: _r((p.grp == g).mean(), 4) for g in range(len(GROUP_NAMES))},
        "personas": {"declared_equals_behaviour_prob": PERSONA_MATCH,
                     "declared_equals_behaviour_realised": _r((p.persona == p.grp).mean(), 4),
                     "otherwise": "a uniformly random other persona",
                     "display_names": {g: GROUPS[g]["display"] for g in GROUP_NAMES}},
        "purchases": _purchases(w),
        "loops": _loops(w),
        "bond": {"formula": "bond = (0.5*z(lambda quantile) + 0.5*z((1-p) quantile) + 0.5*N(0,1)) / sqrt(0.75) "
                            "+ group bond_offset; quantiles within the group's Gamma/Beta",
                 "corr_lambda": _r(np.corrcoef(p.bond, np.log(p.lam))[0, 1], 3),
                 "corr_survival": _r(np.corrcoef(p.bond, -np.log(p.p_drop))[0, 1], 3),
                 "drives": ["trust score (+0.9 per sd)", "NPS (+1.0)", "CSAT (+0.35)", "thank_you_email probability",
                            "loyalty_reward gift rate", "newsletter subscription",
                            "answer speed (delay x exp(-0.35 bond))",
                            "use activity rate (x exp(0.3 bond))", "sentiment (+0.1)"]},
        "incidents": {
            "kinds": {v[0]: {"touchpoint": v[1]} for v in INCIDENT_KINDS.values()},
            "at_dropout_purchase_prob_by_tenure": DEATH_INCIDENT_P,
            "base_prob_per_purchase": {g: GROUPS[g]["base_incident"] for g in GROUP_NAMES},
            "dead_customers_quiet_after_days": list(DEATH_TAIL_DAYS),
            "customers_with_incident": int(np.unique(ev.cust[ev.inc]).size),
            "incident_rows": int(ev.inc.sum()),
        },
        "forgiveness": _forgiveness(w),
        "departments": {"employees": N_EMPLOYEES, "employee_csat_sd": EMPLOYEE_SD, "answer_noise_sd": ANSWER_SD,
                        "realised_employee_effect_sd": {d: _r(np.std(ev.emp_effect[EMP_DEPT == DEP[d]]), 3)
                                                        for d in DEPARTMENTS},
                        "inconsistent_department": INCONSISTENT_DEPARTMENT,
                        "employee_ids": "E0001.. numbered by department in the order "
                                        + ", ".join(DEPARTMENTS)},
        "answers": _answers(w),
        "sentiment": _sentiment(w),
        "feedback": {
            "csat_response": CSAT_RESPONSE, "ces_response": CES_RESPONSE, "nps_response": NPS_RESPONSE,
            "trust_with_nps": TRUST_WITH_NPS, "comment_prob": COMMENT_P,
            "link_rule": "csat/ces rows follow the interaction they rate: same customer and touchpoint, the latest "
                         "such interaction before the answer",
            "csat_mean_by_touchpoint": _csat(w),
        },
        "nps": _nps(w),
        "trust": {"formula": "trust = clip(round(3.3 + 0.9*bond - 0.3*min(incidents_12m,2) + N(0,0.6)), 1, 5)",
                  "by_level": _trust(w, n_p)},
        "themes": {k: {"complaint": v["complaint"], "keywords": v["keywords"], "phrases": v["phrases"]}
                   for k, v in THEMES.items()},
        "theme_counts": theme_counts, "effort_phrases": EFFORT_PHRASES,
        "effort_theme": "long_wait_effort",
        "worst_touchpoint": "delivery",
    }


def _purchases(w: World) -> dict:
    """The purchase model and, per group, the realised mean repeats against the BG/NBD expectation."""
    p, fp, n_repeat = w.people, w.purchases.first_purchase, w.purchases.n_repeat
    T = END - fp
    bg = {}
    for g in range(len(GROUP_NAMES)):
        sel = (p.grp == g) & ~np.isnan(fp)
        if not sel.any():
            continue
        Tw = T[sel] / WEEK
        exp_x = (1 - np.exp(-p.lam[sel] * p.p_drop[sel] * Tw)) / p.p_drop[sel]
        bg[GROUP_NAMES[g]] = {"buyers": int(sel.sum()), "mean_repeat": _r(n_repeat[sel].mean(), 3),
                              "expected_mean_repeat_given_latents": _r(exp_x.mean(), 3),
                              "mean_lambda": _r(p.lam[sel].mean(), 4), "mean_p": _r(p.p_drop[sel].mean(), 4)}
    return {
        "model": "BG/NBD (Fader, Hardie & Lee 2005): lambda ~ Gamma(shape r, rate alpha) per week, "
                 "p ~ Beta(a, b); first purchase at the end of the pre-purchase journey; repeat purchases "
                 "after Exp(lambda) gaps; after each repeat purchase the customer drops out with "
                 "probability p (never at the first purchase). Exact: nothing else removes purchases.",
        "spend_model": "Gamma-Gamma: nu ~ Gamma(shape q, rate gamma) per customer; amount ~ Gamma(shape p, "
                       "rate nu), rounded to cents (min 0.01)",
        "purchase_rows": "one row per transaction: touchpoint in " + ", ".join(PURCHASE_TPS)
                         + " with amount > 0; refunds are separate refund_issued rows with amount < 0",
        "purchase_touchpoints": list(PURCHASE_TPS),
        "by_group": bg,
    }


def _loops(w: World) -> dict:
    """Loops: a move to an earlier stage on consecutive touchpoints of the same customer."""
    n, grp, persona, G = w.people.n, w.people.grp, w.people.persona, len(GROUP_NAMES)
    cust, stage = w.events.cust, w.events.stage
    same = np.r_[False, cust[1:] == cust[:-1]]
    back = same & np.r_[False, stage[1:] < stage[:-1]]
    looped = np.bincount(cust[back], minlength=n) > 0
    loops_n = np.bincount(cust[back], minlength=n)
    loop_by_grp = {GROUP_NAMES[g]: _r(looped[grp == g].mean()) for g in range(G) if (grp == g).any()}
    loop_by_persona = {PERSONAS[g]: _r(looped[persona == g].mean()) for g in range(G) if (persona == g).any()}
    return {"definition": "share of customers with at least one move to an earlier stage (order "
                          + " < ".join(STAGES) + ") between consecutive touchpoints",
            "planted_order": sorted(GROUP_NAMES, key=lambda g: GROUPS[g]["loop_rank"]),
            "rate_by_behaviour": loop_by_grp, "rate_by_persona": loop_by_persona,
            "realised_order_by_behaviour": sorted(loop_by_grp, key=lambda k: -loop_by_grp[k]),
            "realised_order_by_persona": sorted(loop_by_persona, key=lambda k: -loop_by_persona[k]),
            "mean_loops_per_customer": _r(loops_n.mean(), 3)}


def _forgiveness(w: World) -> dict:
    """First incident per customer, still active 90 days later (any interaction at or after +90d), by
    tenure band; baselines from buyers without any incident."""
    n, cust, t, t0 = w.people.n, w.events.cust, w.events.t, w.journey.t0
    last_t = np.full(n, -np.inf)
    np.maximum.at(last_t, cust, t)
    inc_ix = np.flatnonzero(w.events.inc)
    fc, fi = np.unique(cust[inc_ix], return_index=True)
    ft = t[inc_ix][fi]
    ten = ft - t0[fc]
    band = np.where(ten < 182.625 * DAY, 0, np.where(ten < 2 * YEAR, 1, 2))
    eligible = ft <= END - 90 * DAY
    active90 = last_t[fc] >= ft + 90 * DAY
    forg = {b: _r(active90[eligible & (band == i)].mean()) if (eligible & (band == i)).any() else None
            for i, b in enumerate(_BANDS)}
    forg_n = {b: int((eligible & (band == i)).sum()) for i, b in enumerate(_BANDS)}
    # baseline: buyers without any incident, 90 days after their first purchase
    has_inc = np.zeros(n, bool)
    has_inc[fc] = True
    fp = w.purchases.first_purchase
    elig0 = ~has_inc & ~np.isnan(fp) & (fp <= END - 90 * DAY)
    base_share = _r((last_t[elig0] >= fp[elig0] + 90 * DAY).mean()) if elig0.any() else None
    # per band baseline at the matching tenure: no-incident buyers observed at t0 + band midpoint
    base_band = {}
    for b, mid in zip(_BANDS, (90.0, 456.0, 1000.0)):
        ref = t0 + mid * DAY
        e = ~has_inc & ~np.isnan(fp) & (fp <= ref) & (ref <= END - 90 * DAY) & (last_t >= ref)
        base_band[b] = _r((last_t[e] >= ref[e] + 90 * DAY).mean()) if e.any() else None
    return {
        "definition": "customers with an incident: first incident at time t (t <= window end - 90 days), "
                      "tenure = t - first_seen; still active = any interaction at or after t + 90 days",
        "share_active_90d_by_tenure": forg, "n_by_tenure": forg_n,
        "no_incident_share_active_90d_after_first_purchase": base_share,
        "no_incident_share_active_90d_at_band_tenure": base_band,
    }


def _answers(w: World) -> dict:
    """Median answer times (minutes) by channel and department."""
    chc, depc, delay = w.answers
    ans = {c: _r(np.median(delay[chc == CH[c]]) / 60.0, 1) for c in ("phone", "chat", "email", "social")
           if (chc == CH[c]).any()}
    ans_dep = {d: _r(np.median(delay[depc == DEP[d]]) / 60.0, 1) for d in ("support", "billing")
               if (depc == DEP[d]).any()}
    return {"answer_touchpoint": "support_reply",
            "definition": "every inbound contact (" + ", ".join(SUPPORT_TPS) + ") is followed by one "
                          "outbound support_reply of the same customer, department and channel",
            "median_minutes_by_channel": ans, "median_minutes_by_department": ans_dep,
            "delay_model": "median phone 6 min, chat 1.5 h, social 4 h, email 8 h; x1.8 billing; "
                           "x exp(-0.35*bond); lognormal sd 0.8; email/social answers in office hours"}


def _sentiment(w: World) -> dict:
    """Mean sentiment by stage and by touchpoint (touchpoints with 30+ rows); the worst touchpoint."""
    sentiment, stage, tp = w.events.sentiment, w.events.stage, w.events.tp
    hs = ~np.isnan(sentiment)
    by_stage = {STAGES[s]: _r(sentiment[hs & (stage == s)].mean(), 3) for s in range(len(STAGES))
                if (hs & (stage == s)).any()}
    cnt_tp = np.bincount(tp[hs], minlength=len(TOUCHPOINTS))
    sum_tp = np.bincount(tp[hs], weights=sentiment[hs], minlength=len(TOUCHPOINTS))
    mean_tp = {TOUCHPOINTS[i]: _r(sum_tp[i] / cnt_tp[i], 3) for i in range(len(TOUCHPOINTS)) if cnt_tp[i] >= 30}
    worst = min(mean_tp, key=mean_tp.get) if mean_tp else None
    others = [v for k, v in mean_tp.items() if k != "delivery"]
    return {"by_stage": by_stage, "by_touchpoint": mean_tp, "worst_touchpoint": worst,
            "worst_mean": mean_tp.get(worst) if worst else None,
            "next_worst_mean": _r(min(others), 3) if others else None,
            "incident_effect": -0.65}


def _csat(w: World) -> dict:
    """Realised mean CSAT per touchpoint asked."""
    fm, fs, ftp = w.feedback["metric"], w.feedback["score"], w.feedback["tp"]
    csat_tp = {}
    for k in CSAT_BASE:
        s = fs[(fm == 1) & (ftp == TP[k])]
        if s.size:
            csat_tp[k] = _r(s.mean(), 3)
    return csat_tp


def _nps(w: World) -> dict:
    """NPS model and the realised NPS overall and by behaviour group."""
    fm, fs, grp = w.feedback["metric"], w.feedback["score"], w.people.grp
    nps = fs[fm == 0]
    nps_val = _r(100 * ((nps >= 9).mean() - (nps <= 6).mean()), 2) if nps.size else None
    nps_by = {}
    for g in range(len(GROUP_NAMES)):
        s = fs[(fm == 0) & (grp[w.feedback["cust"]] == g)]
        nps_by[GROUP_NAMES[g]] = _r(100 * ((s >= 9).mean() - (s <= 6).mean()), 2) if s.size else None
    return {"coefficients": NPS_COEF, "base_by_group": {g: GROUPS[g]["nps_base"] for g in GROUP_NAMES},
            "overall": nps_val, "by_behaviour": nps_by, "responses": int(nps.size),
            "worst_touchpoint": "delivery",
            "key_driver": "per-customer mean CSAT of delivery carries delivery_quality (0.9 per sd), which "
                          "drives NPS; delivery has the lowest mean CSAT"}


def _trust(w: World, n_p) -> dict:
    """Per rounded mean trust level (5+ customers): purchases per year of purchasing life, repeat share."""
    fb, n = w.feedback, w.people.n
    fm, fs = fb["metric"], fb["score"]
    trust_c = {}
    tm = fm == 3
    if tm.any():
        mean_trust = np.bincount(fb["cust"][tm], weights=fs[tm], minlength=n) / np.maximum(
            np.bincount(fb["cust"][tm], minlength=n), 1)
        has_t = np.bincount(fb["cust"][tm], minlength=n) > 0
        yrs = np.maximum((END - np.nan_to_num(w.purchases.first_purchase, nan=END)) / YEAR, 0.25)
        rate = n_p / yrs
        lvl = np.round(mean_trust)
        for v in range(1, 6):
            sel = has_t & (lvl == v)
            if sel.sum() >= 5:
                trust_c[str(v)] = {"customers": int(sel.sum()), "purchases_per_year": _r(rate[sel].mean(), 3),
                                   "repeat_share": _r((w.purchases.n_repeat[sel] > 0).mean(), 3)}
    return trust_c
