"""Continuous processes over a buyer's active life (first purchase to dropout + quiet tail, or the
window end): use sessions, support contacts and billing questions with follow-ups for the same
issue, an outbound answer to every inbound contact, newsletters, promo emails to prospects,
loyalty rewards and yearly relationship surveys.

Draw order matters: :func:`active_life` runs the steps in the one order the demo data was made with.
"""
from __future__ import annotations

import numpy as np

from cx.schema import STAGES

from .constants import CH, DAY, DEP, END, GROUP_NAMES, HOUR, MIN, MONTH, TP, TP_DEP, TP_STAFFED, VG, YEAR
from .incidents import support_touchpoint
from .journeys import CH_MIX, COMBO_IDX, TP_CHOICE
from .rows import Rows, contact, employee, expand, gp, into_hours, sigmoid, within_cumsum
from .state import Answers, Journey, People, Purchases

S_U = STAGES.index("use")


class _Life:
    """The buyers (``bl``), the start of their active life and its length."""

    def __init__(self, pur: Purchases):
        self.is_b = ~np.isnan(pur.first_purchase)
        self.bl = np.flatnonzero(self.is_b)
        self.start = pur.first_purchase[self.bl]
        self.span = np.maximum(pur.active_end[self.bl] - self.start, 0.0)


def poisson_times(rng, owners, a, span_, rate_per_month):
    """A Poisson process per owner over [a, a + span_): (owner per event, event time)."""
    cnt = rng.poisson(span_ / MONTH * rate_per_month)
    o = np.repeat(owners, cnt)
    tt = np.repeat(a, cnt) + rng.random(o.size) * np.repeat(span_, cnt)
    return o, tt


def use_sessions(rng, R: Rows, people: People, life: _Life) -> None:
    """Use sessions (rate rises with the bond): in the app an app_login first, then usage rows."""
    grp, bl = people.grp, life.bl
    o, tt = poisson_times(rng, bl, life.start, life.span, gp("use_per_month", grp)[bl] * np.exp(0.3 * people.bond[bl]))
    ch0 = CH_MIX["use"](rng, grp[o])
    tt = into_hours(rng, tt, ch0)
    nr = 1 + rng.poisson(0.6, o.size)
    sess = R.sessions(o.size)
    app = ch0 == CH["mobile_app"]
    R.add(o[app], tt[app], TP["app_login"], sess=sess[app])
    st = np.full(o.size, S_U)
    owner, pos = expand(nr)
    keep = ~(app[owner] & (pos == 0))
    gaps = rng.exponential(100.0, owner.size) + 15.0
    trow = tt[owner] + within_cumsum(gaps, nr)
    tpr = TP_CHOICE(rng, COMBO_IDX[st[owner], ch0[owner]])
    R.add(o[owner][keep], trow[keep], tpr[keep], ch=ch0[owner][keep], sess=sess[owner][keep])


def support_contacts(rng, people: People, life: _Life) -> list:
    """Support contacts and billing questions at the group's monthly rates."""
    grp, bl = people.grp, life.bl
    o, tt = poisson_times(rng, bl, life.start, life.span, gp("support_per_month", grp)[bl])
    ch_s = CH_MIX["support"](rng, grp[o])
    contacts = [contact(o, into_hours(rng, tt, ch_s), support_touchpoint(ch_s), ch_s)]
    o, tt = poisson_times(rng, bl, life.start, life.span, gp("billing_per_month", grp)[bl])
    ch_s = CH_MIX["support"](rng, grp[o])
    contacts.append(contact(o, into_hours(rng, tt, ch_s), TP["billing_question"], ch_s))
    return contacts


def follow_ups(rng, grp, contacts: list) -> list:
    """Repeated contacts for the same issue (two levels; complaints less often): half escalate to
    the phone, social moves to email. Returns the follow-up blocks (level 1, then level 2)."""
    fu_p = gp("followup", grp)
    out, level = [], list(contacts)
    for lvl in range(2):
        nxt = []
        for (cu, tt, tpc, chc, incc, kindc, folc) in level:
            m = rng.random(cu.size) < fu_p[cu] * np.where(tpc == TP["complaint"], 0.3, 1.0)
            if not m.any():
                continue
            esc = rng.random(m.sum()) < 0.5
            ch2 = np.where(esc, CH["phone"], np.where(chc[m] == CH["social"], CH["email"], chc[m]))
            tp2 = np.where(tpc[m] == TP["billing_question"], TP["billing_question"], support_touchpoint(ch2))
            t2 = into_hours(rng, tt[m] + rng.uniform(2 * HOUR, 3 * DAY, m.sum()), ch2)
            nxt.append(contact(cu[m], t2, tp2, ch2, follow=lvl + 1))
        out.extend(nxt)
        level = nxt
    return out


def answer(rng, R: Rows, bond, contacts: list) -> Answers:
    """All contacts as inbound rows, each followed by an outbound support_reply after a delay
    (by channel, slower in billing, faster for a strong bond; email/social in office hours)."""
    cu = np.concatenate([c[0] for c in contacts])
    tt = np.concatenate([c[1] for c in contacts])
    tpc = np.concatenate([c[2] for c in contacts]).astype(np.int64)
    chc = np.concatenate([c[3] for c in contacts]).astype(np.int64)
    incc = np.concatenate([c[4] for c in contacts])
    kindc = np.concatenate([c[5] for c in contacts])
    folc = np.concatenate([c[6] for c in contacts])
    depc = TP_DEP[tpc].astype(np.int64)
    empc = np.where(TP_STAFFED[tpc], employee(rng, depc), -1)
    med = np.select([chc == CH["phone"], chc == CH["chat"], chc == CH["social"]], [6 * MIN, 1.5 * HOUR, 4 * HOUR],
                    8 * HOUR)
    delay = med * np.exp(0.8 * rng.standard_normal(cu.size)) * np.where(depc == DEP["billing"], 1.8, 1.0) \
        * np.exp(-0.35 * bond[cu]) + 60.0
    t_ans = tt + delay
    t_ans = np.where((chc == CH["email"]) | (chc == CH["social"]), into_hours(rng, t_ans, "office"), t_ans)
    same_emp = (chc == CH["phone"]) | (rng.random(cu.size) < 0.5)
    emp_ans = np.where(same_emp & (empc >= 0), empc, employee(rng, np.where(depc < 0, DEP["support"], depc)))
    # a contact and its answer are kept or cut together (window end, a dead customer's last day)
    R.add(cu, tt, tpc, ch=chc, emp=empc, sess=R.sessions(cu.size), inc=incc, kind=kindc, follow=folc, anchor=t_ans,
          tmax=t_ans)
    R.add(cu, t_ans, TP["support_reply"], ch=chc, dep=depc, emp=emp_ans, follow=folc)
    return Answers(chc, depc, delay)


def mailings(rng, R: Rows, people: People, journey: Journey, pur: Purchases, life: _Life) -> None:
    """Monthly newsletters to subscribers (deals for bargain hunters), promo emails courting
    prospects until the first purchase, loyalty rewards (gifts, more for a strong bond) and a
    relationship survey invite 90 days into the life, then yearly."""
    grp, bond, bl, active_end = people.grp, people.bond, life.bl, pur.active_end
    sub = bl[rng.random(bl.size) < gp("newsletter", grp)[bl] * sigmoid(0.5 * bond[bl])]
    m0 = np.ceil(pur.first_purchase[sub] / MONTH)
    m1 = np.floor(active_end[sub] / MONTH)
    cnt = np.maximum(m1 - m0 + 1, 0).astype(np.int64)
    owner, pos = expand(cnt)
    tn = (m0[owner] + pos) * MONTH + 2 * DAY + rng.uniform(8 * HOUR, 10 * HOUR, owner.size)
    deals = np.where(grp[sub[owner]] == GROUP_NAMES.index("bargain_hunter"), VG["discount"], VG["content"])
    R.add(sub[owner], tn, TP["newsletter"], vg=deals)
    pa = journey.t0
    pe = np.where(life.is_b, pur.first_purchase, np.minimum(journey.end + 30 * DAY, END))
    o, tt = poisson_times(rng, np.arange(people.n), pa, np.maximum(pe - pa, 0), gp("promo_per_month", grp))
    R.add(o, into_hours(rng, tt, "send"), TP["promo_email"])
    o, tt = poisson_times(rng, bl, life.start, life.span, 0.025 * np.exp(0.9 * bond[bl]))
    R.add(o, into_hours(rng, tt, "send"), TP["loyalty_reward"])
    s0 = life.start + 90 * DAY
    cnt = np.where(active_end[bl] >= s0, np.floor((active_end[bl] - s0) / YEAR) + 1, 0).astype(np.int64)
    owner, pos = expand(cnt)
    ts = s0[owner] + pos * YEAR + rng.uniform(-20, 20, owner.size) * DAY
    ts = into_hours(rng, ts, "send")
    R.add(bl[owner], ts, TP["survey_invite"])


def active_life(rng, R: Rows, people: People, journey: Journey, pur: Purchases, contacts: list) -> Answers:
    """Rows over the buyers' active lives; answers every contact (those after purchases included)."""
    life = _Life(pur)
    use_sessions(rng, R, people, life)
    contacts = contacts + support_contacts(rng, people, life)
    contacts = contacts + follow_ups(rng, people.grp, contacts)
    answers = answer(rng, R, people.bond, contacts)
    mailings(rng, R, people, journey, pur, life)
    return answers
