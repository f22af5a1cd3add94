"""What follows each purchase: incidents (late delivery, wrong charge, outage; forgiveness is planted
by putting an incident at the dropout purchase with a probability that falls with tenure),
deliveries, the contacts and complaints an incident brings, returns and refunds, thank-you emails
and onboarding after the first purchase.

Draw order matters: :func:`after_purchases` runs the steps in the one order the demo data was made with.
"""
from __future__ import annotations

import numpy as np

from .constants import CH, DAY, DEATH_INCIDENT_P, DEP, HOUR, TP, YEAR
from .journeys import CH_MIX
from .rows import Rows, contact, employee, gp, into_hours, sigmoid
from .state import Journey, People, Purchases

LATE, WRONG_CHARGE, OUTAGE = 1, 2, 3  # incident kinds (INCIDENT_KINDS)


def support_touchpoint(ch_s):
    """The support touchpoint of a contact on channel ch_s (phone: call, chat: chat, else email)."""
    return np.select([ch_s == CH["phone"], ch_s == CH["chat"]], [TP["support_call"], TP["support_chat"]],
                     TP["support_email"])


def incident_kinds(rng, people: People, journey: Journey, pur: Purchases):
    """Incident kind per purchase (0 = none): at the dropout purchase with the tenure band's
    probability, otherwise with the group's base rate; late delivery for shipped orders (more likely
    with poor delivery quality), else an outage (likelier in the app) or a wrong charge."""
    p_cust, p_t, p_ch = pur.cust, pur.t, pur.ch
    tenure_p = p_t - journey.t0[p_cust]
    band_p = np.where(tenure_p < 182.625 * DAY, 0, np.where(tenure_p < 2 * YEAR, 1, 2))
    death_p = np.array(list(DEATH_INCIDENT_P.values()))[band_p]
    base_p = gp("base_incident", people.grp)[p_cust]
    has_inc = rng.random(p_t.size) < np.where(pur.is_death, death_p, base_p)
    ships = (p_ch != CH["store"])
    u = rng.random(p_t.size)
    p_late = np.where(ships, sigmoid(0.6 - 0.5 * people.dq[p_cust]), 0.0)
    p_out = np.where(p_ch == CH["mobile_app"], 0.25, 0.12)
    inc_kind = np.where(u < p_late, LATE, np.where(rng.random(p_t.size) < p_out, OUTAGE, WRONG_CHARGE))
    inc_kind = np.where(~ships & (inc_kind == LATE), WRONG_CHARGE, inc_kind)
    return np.where(has_inc, inc_kind, 0), ships


def deliveries(rng, R: Rows, pur: Purchases, inc_kind, ships):
    """A delivery row after every shipped purchase (late ones 3-9 days later, flagged as incidents);
    returns (shipped purchases, late among them, delivery times)."""
    d = np.flatnonzero(ships)
    late = inc_kind[d] == LATE
    t_del = into_hours(rng, pur.t[d] + rng.uniform(0.8, 4.0, d.size) * DAY + late * rng.uniform(3, 9, d.size) * DAY,
                       "delivery")
    R.add(pur.cust[d], t_del, TP["delivery"], ch=np.where(pur.pickup[d], CH["store"], pur.ch[d]),
          emp=employee(rng, np.full(d.size, DEP["logistics"])), inc=late, kind=np.where(late, LATE, 0))
    return d, late, t_del


def wrong_charges(rng, R: Rows, grp, pur: Purchases, inc_kind) -> list:
    """Wrong charge: an inbound billing question flagged as incident (answered later), mostly refunded."""
    m = np.flatnonzero(inc_kind == WRONG_CHARGE)
    t_bq = pur.t[m] + rng.uniform(1, 10, m.size) * DAY
    bq_ch = CH_MIX["support"](rng, grp[pur.cust[m]])
    t_bq = into_hours(rng, t_bq, bq_ch)
    contacts = [contact(pur.cust[m], t_bq, TP["billing_question"], bq_ch, inc=True, kind=WRONG_CHARGE)]
    rf = rng.random(m.size) < 0.7
    R.add(pur.cust[m][rf], (t_bq + rng.uniform(1, 5, m.size) * DAY)[rf], TP["refund_issued"],
          amount=-np.round(np.minimum(pur.amount[m], rng.uniform(5, 40, m.size)), 2)[rf])
    return contacts


def outages(rng, R: Rows, pur: Purchases, inc_kind) -> list:
    """Outage: the app fails for them shortly after the purchase; half of them chat to support."""
    m = np.flatnonzero(inc_kind == OUTAGE)
    t_out = pur.t[m] + rng.uniform(0.05, 2.0, m.size) * DAY
    R.add(pur.cust[m], t_out, TP["app_login"], inc=True, kind=OUTAGE, sess=R.sessions(m.size))
    sc = rng.random(m.size) < 0.5
    return [contact(pur.cust[m][sc], into_hours(rng, t_out[sc] + rng.uniform(0.1, 6, sc.sum()) * HOUR, "chat"),
                    TP["support_chat"], CH["chat"])]


def late_contacts(rng, grp, pur: Purchases, d, late, t_del) -> list:
    """Late delivery: a support contact chasing the parcel (45%) or a complaint after it (20%)."""
    m = d[late]
    cu = pur.cust[m]
    uu = rng.random(m.size)
    sc = uu < 0.45
    ch_s = CH_MIX["support"](rng, grp[cu])
    tp_s = support_touchpoint(ch_s)
    t_s = into_hours(rng, t_del[late] - rng.uniform(0.5, 3, m.size) * DAY, ch_s)  # chasing the parcel
    contacts = [contact(cu[sc], t_s[sc], tp_s[sc], ch_s[sc])]
    cp = (uu >= 0.45) & (uu < 0.65)
    ch_c = np.where(rng.random(m.size) < 0.6, CH["email"], np.where(rng.random(m.size) < 0.5, CH["social"],
                                                                      CH["phone"]))
    contacts.append(contact(cu[cp], into_hours(rng, t_del[late] + rng.uniform(0.1, 2, m.size) * DAY, ch_c)[cp],
                            TP["complaint"], ch_c[cp]))
    return contacts


def returns(rng, R: Rows, pur: Purchases, inc_kind, ships, d, t_del) -> None:
    """Returns of 4% of the shipped purchases without incident, refunded in full (60%) or in part."""
    delivered_at = np.full(pur.t.size, np.nan)
    delivered_at[d] = t_del
    m = np.flatnonzero(ships & (inc_kind == 0) & (rng.random(pur.t.size) < 0.04))
    t_ret = delivered_at[m] + rng.uniform(2, 12, m.size) * DAY
    R.add(pur.cust[m], into_hours(rng, t_ret, "browse"), TP["return_request"], sess=R.sessions(m.size))
    full = rng.random(m.size) < 0.6
    amt = pur.amount[m]
    R.add(pur.cust[m], t_ret + rng.uniform(2, 6, m.size) * DAY, TP["refund_issued"],
          amount=-np.round(np.where(full, amt, amt * rng.uniform(0.2, 0.6, m.size)), 2))


def thanks_and_onboarding(rng, R: Rows, people: People, pur: Purchases) -> None:
    """Thank-you emails (value given, more for a strong bond); after the first purchase an
    onboarding email and, with the group's probability, an onboarding call."""
    m = np.flatnonzero(rng.random(pur.t.size) < 0.35 * sigmoid(1.3 * people.bond[pur.cust] - 0.3))
    R.add(pur.cust[m], into_hours(rng, pur.t[m] + rng.uniform(2 * HOUR, 2 * DAY, m.size), "send"),
          TP["thank_you_email"])
    bix, fp = pur.buyers, pur.first_purchase
    R.add(bix, fp[bix] + rng.uniform(1 * HOUR, 1 * DAY, bix.size), TP["onboarding_email"])
    m = bix[rng.random(bix.size) < gp("onboarding_call", people.grp)[bix]]
    R.add(m, into_hours(rng, fp[m] + rng.uniform(1, 7, m.size) * DAY, "phone"), TP["onboarding_call"],
          emp=employee(rng, np.full(m.size, DEP["support"])))


def after_purchases(rng, R: Rows, people: People, journey: Journey, pur: Purchases) -> list:
    """Rows after the purchases; returns the inbound contacts they bring (answered in cx.sample.life)."""
    inc_kind, ships = incident_kinds(rng, people, journey, pur)
    d, late, t_del = deliveries(rng, R, pur, inc_kind, ships)
    contacts = wrong_charges(rng, R, people.grp, pur, inc_kind)
    contacts += outages(rng, R, pur, inc_kind)
    contacts += late_contacts(rng, people.grp, pur, d, late, t_del)
    returns(rng, R, pur, inc_kind, ships, d, t_del)
    thanks_and_onboarding(rng, R, people, pur)
    return contacts
