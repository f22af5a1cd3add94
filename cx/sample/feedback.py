"""Feedback of the demo customers: CSAT after touchpoints, CES after checkout and support contacts,
NPS (with trust) on relationship surveys, unsolicited ratings after purchases and incidents, and
comments whose theme and wording follow the score and the incident behind it.

Draw order matters: :func:`feedback` runs the parts in the one order the demo data was made with.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from .constants import (ANSWER_SD, CES_BASE, CES_RESPONSE, CH, COMMENT_P, CSAT_BASE, CSAT_RESPONSE, DAY,
                        DEPARTMENTS, END, GROUP_NAMES, HOUR, METRICS, MIN, NPS_COEF, NPS_RESPONSE, PURCHASE_TPS,
                        TOUCHPOINTS, TP, TRUST_WITH_NPS, YEAR)
from .rows import Choice, gp
from .state import Events, People
from .themes import CLOSERS, CONTEXTS, NEG_THEME_P, OPENERS, POS_THEME_P, THEME_NAMES, THEMES

NPS, CSAT, CES, TRUST, RATING = range(5)  # metric codes (METRICS)


def feedback(rng, people: People, ev: Events) -> dict:
    """Feedback rows as arrays (cust, t, metric, score, tp, ch, inc, kind, comment, theme, polarity),
    cut to the window and sorted by customer and time."""
    emp_e = np.where(ev.emp >= 0, ev.emp_effect[np.maximum(ev.emp, 0)], 0.0)
    parts = [_csat(rng, people, ev, emp_e), _ces(rng, people, ev, emp_e)]
    parts += _nps_and_trust(rng, people, ev)
    parts.append(_ratings(rng, people, ev))
    fb = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    fb["t"] = np.round(fb["t"])
    keep = fb["t"] <= END
    fb = {k: v[keep] for k, v in fb.items()}
    key = fb["cust"].astype(np.int64) * (1 << 28) + fb["t"].astype(np.int64)
    order = np.argsort(key, kind="stable")
    fb = {k: v[order] for k, v in fb.items()}
    fb["comment"], fb["theme"], fb["polarity"] = _comments(rng, fb)
    return fb


def _by_touchpoint(base_of: dict, response_of: dict):
    """(base score, response probability) per touchpoint code (nan, 0 where not asked)."""
    base = np.full(len(TOUCHPOINTS), np.nan)
    resp = np.zeros(len(TOUCHPOINTS))
    for k, v in base_of.items():
        base[TP[k]] = v
        resp[TP[k]] = response_of[k]
    return base, resp


def _csat(rng, people: People, ev: Events, emp_e) -> dict:
    """CSAT (1-5) a few hours after the touchpoints of CSAT_BASE, with the touchpoint's response rate."""
    cust, tp, bond = ev.cust, ev.tp, people.bond
    base, resp = _by_touchpoint(CSAT_BASE, CSAT_RESPONSE)
    m = np.flatnonzero(rng.random(cust.size) < resp[tp])
    sd = np.array([ANSWER_SD[d] for d in DEPARTMENTS])[np.maximum(ev.dep[m], 0)]
    lat = (base[tp[m]] + 0.35 * bond[cust[m]] + gp("csat_offset", people.grp)[cust[m]] + emp_e[m]
           + np.where(tp[m] == TP["delivery"], 0.9 * people.dq[cust[m]], 0.0) - 1.6 * ev.inc[m]
           - 0.5 * (ev.follow[m] > 0) + sd * rng.standard_normal(m.size))
    score = np.clip(np.round(lat), 1, 5)
    delay = np.exp(rng.normal(np.log(5 * HOUR), 1.0, m.size)) + 10 * MIN
    fch = np.where(ev.ch[m] == CH["mobile_app"], CH["mobile_app"], CH["email"])
    return dict(cust=cust[m], t=ev.t[m] + delay, metric=np.full(m.size, CSAT), score=score, tp=tp[m], ch=fch,
                inc=ev.inc[m], kind=ev.kind[m])


def _ces(rng, people: People, ev: Events, emp_e) -> dict:
    """CES (1-7) after checkout and support contacts: lower after follow-ups and incidents."""
    cust, tp, bond = ev.cust, ev.tp, people.bond
    base, resp = _by_touchpoint(CES_BASE, CES_RESPONSE)
    m = np.flatnonzero(rng.random(cust.size) < resp[tp])
    grp_ces = np.where(people.grp[cust[m]] == GROUP_NAMES.index("support_heavy"), -0.6, 0.0)
    lat = (base[tp[m]] + 0.3 * bond[cust[m]] + grp_ces - 1.1 * (ev.follow[m] > 0) - 1.2 * ev.inc[m]
           + 0.5 * emp_e[m] + 0.9 * rng.standard_normal(m.size))
    score = np.clip(np.round(lat), 1, 7)
    delay = np.exp(rng.normal(np.log(4 * HOUR), 1.0, m.size)) + 10 * MIN
    return dict(cust=cust[m], t=ev.t[m] + delay + 1.0, metric=np.full(m.size, CES), score=score, tp=tp[m],
                ch=np.where(ev.ch[m] == CH["mobile_app"], CH["mobile_app"], CH["email"]), inc=ev.inc[m],
                kind=ev.kind[m])


def _nps_and_trust(rng, people: People, ev: Events) -> list[dict]:
    """NPS (0-10) on relationship surveys, from bond, delivery quality and the incidents and late
    deliveries of the 365 days before the answer; trust (1-5) with half of them."""
    cust, t, kind, bond = ev.cust, ev.t, ev.kind, people.bond
    m = np.flatnonzero((ev.tp == TP["survey_invite"]) & (rng.random(cust.size) < NPS_RESPONSE))
    tr = t[m] + np.exp(rng.normal(np.log(6 * HOUR), 1.2, m.size)) + 5 * MIN
    # incidents and late deliveries in the 365 days before the answer
    key_all = cust.astype(np.int64) * (1 << 28) + t.astype(np.int64)
    inc_ix = np.flatnonzero(ev.inc)
    late_ix = np.flatnonzero(kind == 1)
    kq = cust[m].astype(np.int64) * (1 << 28) + tr.astype(np.int64)
    kq0 = cust[m].astype(np.int64) * (1 << 28) + np.maximum(tr - YEAR, 0).astype(np.int64)
    n_inc = np.searchsorted(key_all[inc_ix], kq, "right") - np.searchsorted(key_all[inc_ix], kq0, "left")
    n_late = np.searchsorted(key_all[late_ix], kq, "right") - np.searchsorted(key_all[late_ix], kq0, "left")
    c = cust[m]
    lat = (gp("nps_base", people.grp)[c] + NPS_COEF["bond"] * bond[c] + NPS_COEF["delivery_quality"] * people.dq[c]
           + NPS_COEF["incidents_12m"] * np.minimum(n_inc, 2) + NPS_COEF["late_deliveries_12m"] * np.minimum(n_late, 2)
           + NPS_COEF["noise_sd"] * rng.standard_normal(m.size))
    score = np.clip(np.round(lat), 0, 10)
    last_kind = np.zeros(m.size, dtype=np.int64)
    # the kind of the latest incident within the year (for comment themes)
    j = np.searchsorted(key_all[inc_ix], kq, "right") - 1
    okj = (n_inc > 0) & (j >= 0)
    last_kind[okj] = kind[inc_ix[j[okj]]]
    nps = dict(cust=c, t=tr, metric=np.zeros(m.size, np.int64), score=score, tp=np.full(m.size, -1),
               ch=np.full(m.size, CH["email"]), inc=n_inc > 0, kind=last_kind)
    mt = rng.random(m.size) < TRUST_WITH_NPS
    lat = 3.3 + 0.9 * bond[c] - 0.3 * np.minimum(n_inc, 2) + 0.6 * rng.standard_normal(m.size)
    trust = dict(cust=c[mt], t=tr[mt] + 40.0, metric=np.full(mt.sum(), TRUST),
                 score=np.clip(np.round(lat), 1, 5)[mt], tp=np.full(mt.sum(), -1),
                 ch=np.full(mt.sum(), CH["email"]), inc=(n_inc > 0)[mt], kind=last_kind[mt])
    return [nps, trust]


def _ratings(rng, people: People, ev: Events) -> dict:
    """Unsolicited ratings (1-5): after purchases (rarely) and after incidents (often, and negative)."""
    cust, inc, N = ev.cust, ev.inc, ev.cust.size
    is_p = np.isin(ev.tp, [TP[x] for x in PURCHASE_TPS]) & (np.nan_to_num(ev.amount) > 0)
    m = np.flatnonzero((is_p & (rng.random(N) < 0.03)) | (inc & (rng.random(N) < 0.3)))
    lat = (4.1 + 0.4 * people.bond[cust[m]] - 2.3 * inc[m] + 0.3 * people.dq[cust[m]]
           + 0.9 * rng.standard_normal(m.size))
    return dict(cust=cust[m], t=ev.t[m] + rng.uniform(0.2, 5, m.size) * DAY, metric=np.full(m.size, RATING),
                score=np.clip(np.round(lat), 1, 5), tp=ev.tp[m],
                ch=np.where(rng.random(m.size) < 0.6, CH["web"], CH["social"]), inc=inc[m], kind=ev.kind[m])


def _context_of_touchpoint() -> np.ndarray:
    """Feedback context (index into CONTEXTS) per touchpoint code; the last slot (code -1, surveys)
    and unlisted touchpoints are "relationship"."""
    ctx_of_tp = np.full(len(TOUCHPOINTS) + 1, CONTEXTS.index("relationship"))
    for k in ("delivery",):
        ctx_of_tp[TP[k]] = CONTEXTS.index("delivery")
    for k in ("support_call", "support_chat", "support_email", "onboarding_call", "complaint"):
        ctx_of_tp[TP[k]] = CONTEXTS.index("support")
    ctx_of_tp[TP["billing_question"]] = CONTEXTS.index("billing")
    for k in ("order_placed", "checkout", "partner_order", "phone_order", "app_login"):
        ctx_of_tp[TP[k]] = CONTEXTS.index("order")
    ctx_of_tp[TP["store_purchase"]] = CONTEXTS.index("store")
    return ctx_of_tp


def _comments(rng, fb):
    """(comment text or None, theme code or -1, polarity 0 negative / 1 mixed / 2 positive or -1)."""
    M = fb["cust"].size
    metric, score, kind = fb["metric"], fb["score"], fb["kind"]
    has = rng.random(M) < np.array([COMMENT_P[k] for k in METRICS])[metric]
    # polarity from score on the metric's scale: 0 negative, 1 mixed, 2 positive
    pol = np.select(
        [metric == NPS, metric == CES],
        [np.where(score <= 6, 0, np.where(score <= 8, 1, 2)), np.where(score <= 3, 0, np.where(score <= 5, 1, 2))],
        np.where(score <= 2, 0, np.where(score == 3, 1, 2)))
    ctx = _context_of_touchpoint()[fb["tp"]]
    neg_t = Choice([[NEG_THEME_P[c].get(th, 0.0) for th in THEME_NAMES] for c in CONTEXTS])
    pos_t = Choice([[POS_THEME_P[c].get(th, 0.0) for th in THEME_NAMES] for c in CONTEXTS])
    neg = neg_t(rng, ctx)
    pos = pos_t(rng, ctx)
    # the incident behind the answer sets the complaint; low effort scores complain about effort
    by_kind = np.array([-1, THEME_NAMES.index("late_delivery"), THEME_NAMES.index("billing_error"),
                        THEME_NAMES.index("app_crash")])
    neg = np.where((kind > 0) & (rng.random(M) < 0.85), by_kind[kind], neg)
    neg = np.where((metric == CES) & (rng.random(M) < 0.85), THEME_NAMES.index("long_wait_effort"), neg)
    pos = np.where(metric == CES, np.where(rng.random(M) < 0.6, THEME_NAMES.index("easy_app"),
                                           THEME_NAMES.index("helpful_staff")), pos)
    comment = _wording(rng, M, neg, pos, pol, has)
    theme_neg = np.where(pol <= 1, neg, -1)
    theme_pos = np.where(pol >= 1, pos, -1)
    return comment, np.where(has, np.where(pol == 2, theme_pos, theme_neg), -1), np.where(has, pol, -1)


def _wording(rng, M, neg, pos, pol, has) -> pl.Series:
    """Comment texts: opener + the negative phrase, the positive one, or "positive, but negative",
    + "." + closer, by polarity; first letter upper case; None where ``has`` is False."""
    n_ph = np.array([len(THEMES[th]["phrases"]) for th in THEME_NAMES])
    off = np.cumsum(n_ph) - n_ph
    phrases = pl.Series([p for th in THEME_NAMES for p in THEMES[th]["phrases"]], dtype=pl.Utf8)
    pneg = off[neg] + np.floor(rng.random(M) * n_ph[neg]).astype(np.int64)
    ppos = off[pos] + np.floor(rng.random(M) * n_ph[pos]).astype(np.int64)
    o_all = [(pn, s) for pn in ("neg", "mix", "pos") for s in OPENERS[pn]]
    c_all = [(pn, s) for pn in ("neg", "mix", "pos") for s in CLOSERS[pn]]
    o_n = np.array([len(OPENERS[p]) for p in ("neg", "mix", "pos")])
    c_n = np.array([len(CLOSERS[p]) for p in ("neg", "mix", "pos")])
    o_off, c_off = np.cumsum(o_n) - o_n, np.cumsum(c_n) - c_n
    oi = o_off[pol] + np.floor(rng.random(M) * o_n[pol]).astype(np.int64)
    ci = c_off[pol] + np.floor(rng.random(M) * c_n[pol]).astype(np.int64)
    opens = pl.Series([s for _, s in o_all], dtype=pl.Utf8)
    closes = pl.Series([s for _, s in c_all], dtype=pl.Utf8)
    df = pl.DataFrame({
        "o": opens.gather(pl.Series(oi.astype(np.uint32))),
        "pn": phrases.gather(pl.Series(pneg.astype(np.uint32))),
        "pp": phrases.gather(pl.Series(ppos.astype(np.uint32))),
        "c": closes.gather(pl.Series(ci.astype(np.uint32))),
        "pol": pl.Series(pol.astype(np.int64)),
        "has": pl.Series(has),
    })
    body = (pl.when(pl.col("pol") == 0).then(pl.col("pn"))
            .when(pl.col("pol") == 2).then(pl.col("pp"))
            .otherwise(pl.concat_str([pl.col("pp"), pl.lit(", but "), pl.col("pn")])))
    df = df.with_columns(pl.concat_str([pl.col("o"), body, pl.lit("."), pl.col("c")]).alias("x"))
    df = df.with_columns((pl.col("x").str.slice(0, 1).str.to_uppercase() + pl.col("x").str.slice(1)).alias("x"))
    return df.select(pl.when(pl.col("has")).then(pl.col("x")).otherwise(None)).to_series().alias("comment")
