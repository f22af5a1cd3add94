"""The customers and their way to and through purchases: latent traits, the pre-purchase journey
(sessions of discover, then consider/evaluate with loops), the first purchase, BG/NBD repeat
purchases, the purchase rows and the sessions before repeats.

Each step takes the one random generator of :func:`cx.sample.generate` and draws in a fixed order;
the steps must run in the order ``generate`` calls them (the demo data depends on it).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from cx.schema import STAGES

from .constants import (AGE_P, CATALOG, CH, CHANNELS, COMBO, COMBOS, DAY, DEATH_TAIL_DAYS, END, GROUP_NAMES,
                        GROUPS, HOUR, PERSONA_MATCH, REGION_P, REGIONS, STAKEHOLDER_P, STAKEHOLDERS, TOUCHPOINTS,
                        TP, TP_DEP, TP_STAFFED, WEEK)
from .rows import Choice, Rows, employee, expand, gp, gp2, into_hours, mix_table, within_cumsum
from .state import Journey, People, Purchases

S_C, S_E = STAGES.index("consider"), STAGES.index("evaluate")
# channel mixes of each group by purpose (call with group codes)
CH_MIX = {k: mix_table(k, CHANNELS) for k in ("discover", "browse", "evaluate", "buy", "use", "support")}


def _tp_choice() -> Choice:
    tp_table = np.zeros((len(COMBOS), len(TOUCHPOINTS)))
    for (st, ch), d in CATALOG.items():
        for tpn, w in d.items():
            tp_table[COMBO[(st, ch)], TP[tpn]] = w
    return Choice(tp_table)


def _combo_idx() -> np.ndarray:
    idx = np.full((len(STAGES), len(CHANNELS)), -1, dtype=np.int64)
    for (st, ch), i in COMBO.items():
        idx[STAGES.index(st), CH[ch]] = i
    return idx


# the touchpoint of a browsing row: TP_CHOICE(rng, COMBO_IDX[stage, channel])
TP_CHOICE = _tp_choice()
COMBO_IDX = _combo_idx()
DIGITAL = np.zeros(len(CHANNELS), bool)
DIGITAL[[CH["web"], CH["mobile_app"], CH["social"]]] = True


def draw_people(rng, n: int) -> People:
    """Latent traits (group, BG/NBD and Gamma-Gamma latents, bond, delivery quality) and declared
    attributes of n customers."""
    G = len(GROUP_NAMES)
    grp = rng.choice(G, size=n, p=np.array([GROUPS[g]["share"] for g in GROUP_NAMES]))
    growth = 2.0  # acquisition density rises linearly, 3x at the end vs the start
    u = rng.random(n)
    x = (-1.0 + np.sqrt(1.0 + 2.0 * growth * u * (1.0 + growth / 2.0))) / growth
    t0_raw = x * (END - 3 * DAY)
    r_, al = gp2("bgnbd", "r", grp), gp2("bgnbd", "alpha", grp)
    a_, b_ = gp2("bgnbd", "a", grp), gp2("bgnbd", "b", grp)
    lam = rng.gamma(r_, 1.0 / al)  # purchases per week
    p_drop = rng.beta(a_, b_)
    nu = rng.gamma(gp2("gamma_gamma", "q", grp), 1.0 / gp2("gamma_gamma", "gamma", grp))
    p_gg = gp2("gamma_gamma", "p", grp)
    z_lam = special.ndtri(np.clip(special.gammainc(r_, al * lam), 1e-9, 1 - 1e-9))
    z_surv = -special.ndtri(np.clip(special.betainc(a_, b_, p_drop), 1e-9, 1 - 1e-9))
    bond = (0.5 * z_lam + 0.5 * z_surv + 0.5 * rng.standard_normal(n)) / math.sqrt(0.75) + gp("bond_offset", grp)
    dq = rng.standard_normal(n)  # latent delivery quality experienced by this customer
    buyer = rng.random(n) < gp("buyer_prob", grp)
    match = rng.random(n) < PERSONA_MATCH
    persona = np.where(match, grp, (grp + 1 + rng.integers(0, G - 1, n)) % G)
    region = rng.choice(len(REGIONS), size=n, p=np.array(REGION_P))
    age = Choice([AGE_P[g] for g in GROUP_NAMES])(rng, grp)
    stakeholder = rng.choice(len(STAKEHOLDERS), size=n, p=np.array(STAKEHOLDER_P))
    return People(grp=grp, t0_raw=t0_raw, lam=lam, p_drop=p_drop, nu=nu, p_gg=p_gg, bond=bond, dq=dq, buyer=buyer,
                  persona=persona, region=region, age=age, stakeholder=stakeholder)


def browse_session(rng, R: Rows, cust, start, stage0, ch0, stage1, ch1, n_rows, sess):
    """Rows of sessions: first row (stage0, ch0), the others (stage1, ch1); returns
    (end time per session, touchpoint per row, position of the row in its session)."""
    owner, pos = expand(n_rows)
    st = np.where(pos == 0, stage0[owner], stage1[owner])
    ch = np.where(pos == 0, ch0[owner], ch1[owner])
    tp = TP_CHOICE(rng, COMBO_IDX[st, ch])
    gaps = rng.exponential(100.0, owner.size) + 15.0
    t = start[owner] + within_cumsum(gaps, n_rows)
    R.add(cust[owner], t, tp, ch=ch, sess=sess[owner])
    end = np.zeros(cust.size)
    np.maximum.at(end, owner, t)
    return end, tp, pos


def pre_purchase(rng, R: Rows, people: People) -> Journey:
    """Session k of every customer with more than k pre-purchase sessions: the first is a discover
    touchpoint then browsing; the later ones move between consider and evaluate (loops)."""
    grp, buyer, n = people.grp, people.buyer, people.n
    rows_mean = gp("rows_per_session", grp)
    n_pre = np.where(buyer, 1 + rng.poisson(np.maximum(gp("pre_sessions", grp) - 1, 0)),
                     1 + rng.poisson(gp("nb_sessions", grp)))
    gap_days = np.where(buyer, gp("session_gap_days", grp), gp("nb_gap_days", grp))
    p_to_e, p_back = gp("p_to_evaluate", grp), gp("p_back", grp)
    state = np.full(n, S_C)
    prev_end = np.zeros(n)
    acq_tp = np.zeros(n, dtype=np.int64)
    t0 = np.zeros(n)
    for k in range(int(n_pre.max())):
        act = np.flatnonzero(n_pre > k)
        if act.size == 0:
            break
        g = grp[act]
        if k == 0:
            ch0 = CH_MIX["discover"](rng, g)
            start = np.round(into_hours(rng, people.t0_raw[act], ch0))
            t0[act] = start
            st0 = np.full(act.size, STAGES.index("discover"))
            # landing after the discover touchpoint: the group's browse channel (digital)
            alt = CH_MIX["browse"](rng, g)
            alt = np.where(DIGITAL[alt], alt, CH["web"])
            ch1 = np.where((ch0 == CH["store"]) | (ch0 == CH["partner"]), ch0,
                           np.where(DIGITAL[ch0] & (rng.random(act.size) < 0.5), ch0, alt))
            st1 = np.full(act.size, S_C)
            nr = np.where(DIGITAL[ch1], 1 + rng.poisson(rows_mean[act]), 2)
        else:
            cur = state[act]
            u = rng.random(act.size)
            new = np.where(cur == S_C, np.where(u < p_to_e[act], S_E, S_C), np.where(u < p_back[act], S_C, S_E))
            state[act] = new
            gap = (rng.exponential(gap_days[act]) + 0.02) * DAY
            ch0 = np.where(new == S_E, CH_MIX["evaluate"](rng, g), CH_MIX["browse"](rng, g))
            start = into_hours(rng, prev_end[act] + gap, ch0)
            st0 = new
            ch1, st1 = ch0, new
            nr = np.where(DIGITAL[ch0], 1 + rng.poisson(np.maximum(rows_mean[act] - 1, 0.1)), 1)
        end, tp, pos = browse_session(rng, R, act, start, st0, ch0, st1, ch1, nr, R.sessions(act.size))
        if k == 0:
            acq_tp[act] = tp[pos == 0]
        prev_end[act] = end
    return Journey(t0=t0, end=prev_end, acq_tp=acq_tp, gap_days=gap_days)


def _first_purchase(rng, people: People, journey: Journey):
    """(buyers, first purchase time, channel) for the buyers whose first purchase is in the window."""
    bix = np.flatnonzero(people.buyer)
    gap = (rng.exponential(journey.gap_days[bix]) + 0.02) * DAY
    pch = CH_MIX["buy"](rng, people.grp[bix])
    T1 = into_hours(rng, journey.end[bix] + gap, pch)
    ok = T1 <= END - HOUR
    return bix[ok], T1[ok], pch[ok]


def _bgnbd(rng, people: People, bix, T1):
    """Exact BG/NBD repeats after the first purchases (dropout only after a repeat purchase):
    (customer, time, purchase number) per purchase and the dropout time per customer."""
    pc, pt, pk = [bix], [T1], [np.zeros(bix.size, dtype=np.int64)]
    died_at = np.full(people.n, np.nan)
    cur_t = np.full(people.n, np.nan)
    cur_t[bix] = T1
    idx = bix
    k = 1
    while idx.size:
        nxt = cur_t[idx] + rng.exponential(1.0 / people.lam[idx]) * WEEK
        keep = nxt <= END
        idx, nxt = idx[keep], nxt[keep]
        if idx.size == 0:
            break
        pc.append(idx)
        pt.append(nxt)
        pk.append(np.full(idx.size, k))
        cur_t[idx] = nxt
        die = rng.random(idx.size) < people.p_drop[idx]
        died_at[idx[die]] = nxt[die]
        idx = idx[~die]
        k += 1
    return np.concatenate(pc), np.concatenate(pt), np.concatenate(pk), died_at


def _channels(rng, grp, p_cust, p_t, first, pch):
    """Purchase channel: the first purchase from its session, repeats by preference; offline channels
    (store, phone) only inside opening hours, otherwise online. Returns (channel, click & collect)."""
    p_ch = np.empty(p_cust.size, dtype=np.int64)
    p_ch[first] = pch
    rep = np.flatnonzero(~first)
    c = CH_MIX["buy"](rng, grp[p_cust[rep]])
    offline = (c == CH["store"]) | (c == CH["phone"])
    inside = into_hours(rng, p_t[rep], c) == p_t[rep]
    alt = np.where(grp[p_cust[rep]] == GROUP_NAMES.index("loyal_regular"), CH["mobile_app"],
                   np.where(rng.random(rep.size) < 0.5, CH["mobile_app"], CH["web"]))
    p_ch[rep] = np.where(offline & ~inside, alt, c)
    # click & collect: a store customer ordering out of opening hours orders in the app and
    # collects in store (the delivery row is on the store channel)
    pickup = np.zeros(p_cust.size, bool)
    pickup[rep] = (c == CH["store"]) & ~inside
    p_ch[rep] = np.where(pickup[rep], CH["mobile_app"], p_ch[rep])
    return p_ch, pickup


def purchases(rng, people: People, journey: Journey) -> Purchases:
    """Every purchase (first, then BG/NBD repeats), the dropouts and their quiet tail, channels and
    Gamma-Gamma amounts. Draws only: the rows are added by :func:`purchase_rows`."""
    n = people.n
    bix, T1, pch = _first_purchase(rng, people, journey)
    first_purchase = np.full(n, np.nan)
    first_purchase[bix] = T1
    p_cust, p_t, p_k, died_at = _bgnbd(rng, people, bix, T1)
    n_purch = np.bincount(p_cust, minlength=n)
    dead = ~np.isnan(died_at)
    tail = rng.uniform(*DEATH_TAIL_DAYS, n) * DAY
    active_end = np.where(dead, died_at + tail, END)
    p_is_death = dead[p_cust] & (p_t == died_at[p_cust])
    p_ch, pickup = _channels(rng, people.grp, p_cust, p_t, p_k == 0, pch)
    p_amount = np.maximum(np.round(rng.gamma(people.p_gg[p_cust], 1.0 / people.nu[p_cust]), 2), 0.01)
    return Purchases(cust=p_cust, t=p_t, k=p_k, ch=p_ch, amount=p_amount, pickup=pickup, is_death=p_is_death,
                     buyers=bix, first_purchase=first_purchase, died_at=died_at, dead=dead, active_end=active_end,
                     n_purch=n_purch, n_repeat=np.maximum(n_purch - 1, 0))


def purchase_rows(rng, R: Rows, pur: Purchases) -> None:
    """One purchase row per purchase (online: order_placed with checkout, cart and product page rows
    before it in the same session; offline: store_purchase, partner_order, phone_order)."""
    for chn in ("web", "mobile_app", "store", "partner", "phone"):
        m = np.flatnonzero(pur.ch == CH[chn])
        if m.size == 0:
            continue
        cu, tt = pur.cust[m], pur.t[m]
        sess = R.sessions(m.size)
        if chn in ("web", "mobile_app"):
            g2 = rng.exponential(90.0, m.size) + 20.0
            g1 = rng.exponential(120.0, m.size) + 30.0
            R.add(cu, tt, TP["order_placed"], ch=CH[chn], amount=pur.amount[m], sess=sess)
            co = (rng.random(m.size) < 0.3) | (chn == "web")  # one-tap orders in the app
            R.add(cu[co], (tt - g2)[co], TP["checkout"], ch=CH[chn], sess=sess[co])
            ca = (rng.random(m.size) < 0.6) | (chn == "web")
            R.add(cu[ca], (tt - g2 - g1)[ca], TP["cart_add"], ch=CH[chn], sess=sess[ca])
            pp = rng.random(m.size) < 0.15
            R.add(cu[pp], (tt - g2 - g1 - rng.exponential(150.0, m.size) - 20.0)[pp], TP["product_page"],
                  ch=CH[chn], sess=sess[pp])
        else:
            tpn = {"store": "store_purchase", "partner": "partner_order", "phone": "phone_order"}[chn]
            R.add(cu, tt, TP[tpn], amount=pur.amount[m], sess=sess,
                  emp=employee(rng, np.full(m.size, TP_DEP[TP[tpn]])) if TP_STAFFED[TP[tpn]] else -1)


def before_repeats(rng, R: Rows, people: People, pur: Purchases) -> None:
    """Before a repeat purchase (more than a day after the previous one): a re-evaluation session
    (use -> evaluate, a loop) and a promo email, each with the group's probability."""
    grp, p_cust, p_t = people.grp, pur.cust, pur.t
    rows_mean = gp("rows_per_session", grp)
    rep_prev_t = np.full(p_t.size, np.nan)
    order = np.lexsort((p_t, p_cust))
    oc, ot = p_cust[order], p_t[order]
    same = np.r_[False, oc[1:] == oc[:-1]]
    prev = np.r_[np.nan, ot[:-1]]
    rep_prev_t[order] = np.where(same, prev, np.nan)
    gapk = p_t - rep_prev_t
    has_gap = (pur.k != 0) & (gapk > DAY)
    m = np.flatnonzero(has_gap & (rng.random(p_t.size) < gp("re_eval", grp)[p_cust]))
    if m.size:
        cu = p_cust[m]
        lead = np.minimum(rng.uniform(0.3, 6.0, m.size) * DAY, 0.6 * gapk[m])
        ch0 = CH_MIX["evaluate"](rng, grp[cu])
        st = np.full(m.size, S_E)
        start = p_t[m] - lead
        nr = np.where(DIGITAL[ch0], 1 + rng.poisson(np.maximum(rows_mean[cu] - 1, 0.1)), 1)
        browse_session(rng, R, cu, start, st, ch0, st, ch0, nr, R.sessions(m.size))
    m = np.flatnonzero(has_gap & (rng.random(p_t.size) < gp("promo_before", grp)[p_cust]))
    R.add(p_cust[m], p_t[m] - np.minimum(rng.uniform(2 * HOUR, 3 * DAY, m.size), 0.5 * gapk[m]), TP["promo_email"])
