"""Relationship quality: two-way dialogue, time to answer, exchange of value and recognition per
customer, their health score, and health against later retention (without look-ahead)."""
from __future__ import annotations

import math

import ibis
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import initiated, is_purchase, journey_window
from ..filters import Filters
from .base import MIN_N, seconds

HEALTH_WEIGHTS = {"dialogue": 0.25, "responsiveness": 0.25, "exchange": 0.25, "recognition": 0.25}


def _answered_contacts(t: ibis.Table, answer_touchpoints: tuple | None, max_answer_days: int) -> ibis.Table:
    """Inbound contacts with `_m`, the minutes to their answer (null when unanswered). An inbound
    contact is an inbound touchpoint handled by a department, on a channel where that department
    answers (has at least one answer there); its answer is the next outbound touchpoint (one of
    `answer_touchpoints` when given) of the same customer, channel and department, at or after it
    and within `max_answer_days`."""
    c = t.filter(t.direction.notnull() & t.department.notnull())
    is_answer = c.direction == "outbound"
    if answer_touchpoints:
        is_answer = is_answer & c.touchpoint.isin(list(answer_touchpoints))
    c = c.mutate(_ats=ibis.ifelse(is_answer, c.timestamp, ibis.null("timestamp")))
    pairs = c.filter(c._ats.notnull()).select(_pch="channel", _pdep="department").distinct()
    w = journey_window(("customer_id", "channel", "department"), preceding=0, following=None)
    c = c.mutate(_next=c._ats.min().over(w))
    c = c.filter(c.direction == "inbound")
    c = c.semi_join(pairs, [c.channel == pairs._pch, c.department == pairs._pdep])
    mins = seconds(c._next, c.timestamp) / 60.0
    return c.mutate(_m=ibis.ifelse(c._next.notnull() & (mins <= max_answer_days * 1440.0), mins,
                                   ibis.null("float64")))


@uses_data
def answer_times(d: Data, by: str = "channel", answer_touchpoints: tuple | None = None, max_answer_days: int = 7,
                 filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Time to answer an inbound contact (see `_answered_contacts`), per channel or department:
    group, contacts, answered, answered_share, median_minutes (over answered contacts), low_n
    (answered < 30)."""
    if by not in ("channel", "department"):
        raise ValueError("by is 'channel' or 'department'")
    t = d.interactions
    c = _answered_contacts(t, answer_touchpoints, max_answer_days)
    g = c.group_by(group=c[by]).aggregate(contacts=_.count(), answered=_._m.count(), median_minutes=_._m.median())
    g = g.mutate(answered_share=g.answered / g.contacts, low_n=g.answered < MIN_N)
    return g.select("group", "contacts", "answered", "answered_share", "median_minutes", "low_n").order_by(
        [ibis.desc("contacts"), "group"]).to_polars()


def _relationship_expr(d: Data, t: ibis.Table, answer_touchpoints: tuple | None = None,
                       max_answer_days: int = 7) -> ibis.Table:
    """Per customer (see `relationship`), over the interactions `t`."""
    x = t.mutate(_in=ibis.ifelse(t.direction == "inbound", 1, 0), _dir=ibis.ifelse(t.direction.notnull(), 1, 0),
                 _give=ibis.ifelse(t.value_given.notnull() & (t.direction.isnull() | (t.direction == "outbound")), 1, 0),
                 _buy=ibis.ifelse(is_purchase(d, t), 1, 0))
    base = x.group_by("customer_id").aggregate(touchpoints=_.count(), contacts=_._dir.sum(), inbound=_._in.sum(),
                                               gives=_._give.sum(), purchases=_._buy.sum())
    c = _answered_contacts(t, answer_touchpoints, max_answer_days)
    ans = c.group_by(_ac="customer_id").aggregate(inbound_contacts=_.count(), answered=_._m.count(),
                                                  median_answer_minutes=_._m.median())
    # recognition: channels where the customer is identified (a purchase, a contact handled by a
    # department or an employee there)
    ident = (t.amount.notnull() | is_purchase(d, t) | t.department.notnull() | t.employee_id.notnull()).fill_null(False)
    ch = t.filter(t.channel.notnull()).mutate(_id=ibis.ifelse(ident, 1, 0))
    ch = ch.group_by(["customer_id", "channel"]).aggregate(_n=_.count(), _idf=_._id.max())
    ch = ch.group_by(_rc="customer_id").aggregate(channels=_.count(), _tot=_._n.sum(),
                                                  _idn=(_._n * _._idf).sum())
    j = base.left_join(ans, base.customer_id == ans._ac).drop("_ac")
    j = j.left_join(ch, j.customer_id == ch._rc).drop("_rc")
    # a component the dataset cannot measure at all is absent (null), never a zero: no value_given
    # anywhere -> no exchange of value; no channel, or nothing that identifies a customer (no purchase,
    # no handled contact) anywhere -> no recognition
    have = t.aggregate(_has_give=t.value_given.notnull().any(), _has_ch=(t.channel.notnull().any() & ident.any()))
    j = j.cross_join(have)
    inbound_share = j.inbound / j.contacts.nullif(0)
    ident_share = j._idn / j._tot.nullif(0)
    channels = j.channels.fill_null(0)
    j = j.mutate(inbound_share=inbound_share, identified_share=ident_share, channels=channels,
                 multichannel=channels >= 2, inbound_contacts=j.inbound_contacts.fill_null(0),
                 answered=j.answered.fill_null(0))
    g, p = j.gives.cast("float64"), j.purchases.cast("float64")
    dialogue = 100.0 * (1.0 - (j.inbound_share - 0.5).abs() * 2.0)
    respons = 100.0 * (-math.log(2.0) * j.median_answer_minutes / 1440.0).exp()
    exchange = ibis.ifelse(j._has_give.fill_null(False),
                           ibis.ifelse((g + p) > 0, 100.0 * ibis.least(g, p) / ibis.greatest(g, p), 0.0),
                           ibis.null("float64"))
    recog = ibis.ifelse(j._has_ch.fill_null(False),
                        100.0 * (0.5 * j.identified_share.fill_null(0.0) + 0.5 * ibis.ifelse(channels >= 2, 1.0, 0.0)),
                        ibis.null("float64"))
    j = j.mutate(dialogue=dialogue, responsiveness=respons, exchange=exchange, recognition=recog)
    num = sum(ibis.ifelse(j[k].notnull(), w * j[k], 0.0) for k, w in HEALTH_WEIGHTS.items())
    den = sum(ibis.ifelse(j[k].notnull(), w, 0.0) for k, w in HEALTH_WEIGHTS.items())
    j = j.mutate(health=num / den.nullif(0.0))  # no component measurable: no health score
    return j.select("customer_id", "touchpoints", "contacts", "inbound", "inbound_share", "inbound_contacts",
                    "answered", "median_answer_minutes", "gives", "purchases", "identified_share", "channels",
                    "multichannel", *HEALTH_WEIGHTS, "health")


@uses_data
def relationship(d: Data, answer_touchpoints: tuple | None = None, max_answer_days: int = 7,
                 filters: Filters | None = None, dataset: str | None = None,
                 weakest: int | None = None) -> pl.DataFrame:
    """Relationship quality per customer (all their filtered interactions):
    - two-way dialogue: contacts (touchpoints with a direction), inbound_share (inbound / contacts);
      median_answer_minutes over their inbound contacts handled by a department (inbound rows with a
      department): the answer is the next outbound touchpoint of the same customer, channel and
      department (restricted to `answer_touchpoints` when given) within `max_answer_days`;
      inbound_contacts, answered;
    - exchange of value: gives (touchpoints with a value_given, not inbound) vs purchases (amount > 0);
    - recognition: identified_share (share of their touchpoints on channels where they are identified:
      a channel on which they made a purchase or had a contact handled by a department or an
      employee), channels, multichannel (seen on 2+ channels).
    Components scaled 0–100: dialogue = 100·(1 − 2·|inbound_share − 0.5|) (balanced two-way =
    100); responsiveness = 100·2^(−median answer hours / 24) (half-life one day); exchange =
    100·min(gives, purchases)/max(gives, purchases) (0 when neither); recognition =
    50·identified_share + 50·[2+ channels]. health = weighted mean of the components present
    (weights HEALTH_WEIGHTS, each 0.25; a missing component, e.g. no inbound contact, is left out).
    A component the dataset cannot measure is null for everyone (no value_given anywhere: no
    exchange; no channel, or no purchase or handled contact anywhere: no recognition); with none
    present, health is null.
    One row per customer by customer_id; with `weakest`, only that many customers, lowest health first."""
    t = d.interactions
    r = _relationship_expr(d, t, answer_touchpoints, max_answer_days)
    if weakest is not None:
        return r.order_by(["health", "customer_id"]).limit(int(weakest)).to_polars()
    return r.order_by("customer_id").to_polars()


@uses_data
def relationship_summary(d: Data, answer_touchpoints: tuple | None = None, max_answer_days: int = 7,
                         filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """One row over all customers of `relationship`: customers, inbound_share (pooled: inbound /
    contacts), median_answer_minutes (over all answered inbound contacts' customer medians),
    answered_share (answered / inbound contacts), gives, purchases, gives_per_purchase,
    identified_share (mean over customers), multichannel_share, and the mean of each component and
    of health (with health_n, the customers with a score, and health_sq, the mean of its square:
    its interval, cx.stats.mean)."""
    t = d.interactions
    r = _relationship_expr(d, t, answer_touchpoints, max_answer_days)
    return r.aggregate(
        customers=_.count(), inbound_share=_.inbound.sum() / _.contacts.sum().nullif(0),
        median_answer_minutes=_.median_answer_minutes.median(),
        answered_share=_.answered.sum() / _.inbound_contacts.sum().nullif(0),
        gives=_.gives.sum(), purchases=_.purchases.sum(),
        gives_per_purchase=_.gives.sum() / _.purchases.sum().nullif(0),
        identified_share=_.identified_share.mean(),
        multichannel_share=ibis.ifelse(_.multichannel, 1.0, 0.0).mean(),
        **{k: _[k].mean() for k in HEALTH_WEIGHTS}, health=_.health.mean(),
        health_n=_.health.count(), health_sq=(_.health * _.health).mean()).to_polars()


def _health_retention_expr(d: Data, days, lookback_days, answer_touchpoints, max_answer_days):
    t = d.interactions
    ref = t.aggregate(_ref=t.timestamp.max() - ibis.interval(days=days))
    tr = t.cross_join(ref)
    before = tr.filter(tr.timestamp < tr._ref).drop("_ref")
    own = initiated(tr)
    recent = tr.filter(own & (tr.timestamp < tr._ref) & (tr.timestamp >= tr._ref - ibis.interval(days=lookback_days)))
    recent = recent.select(_rc="customer_id").distinct()
    after = tr.filter(own & (tr.timestamp >= tr._ref) & (tr.timestamp <= tr._ref + ibis.interval(days=days)))
    after = after.select(_ac="customer_id").distinct()
    r = _relationship_expr(d, before, answer_touchpoints, max_answer_days)
    r = r.semi_join(recent, r.customer_id == recent._rc)
    r = r.left_join(after, r.customer_id == after._ac)
    r = r.mutate(retained=r._ac.notnull()).drop("_ac")
    return r.mutate(decile=ibis.ntile(10).over(order_by=[r.health, r.customer_id]) + 1)


@uses_data
def health_retention(d: Data, days: int = 90, lookback_days: int = 365, answer_touchpoints: tuple | None = None,
                     max_answer_days: int = 7, filters: Filters | None = None,
                     dataset: str | None = None) -> pl.DataFrame:
    """Relationship health vs 90-day retention, without look-ahead: reference date = last interaction −
    `days`; health (see `relationship`) is computed on the interactions before the reference only;
    customers = those active (a touchpoint not marked outbound) in the `lookback_days` before it;
    retained = active (a touchpoint not marked outbound) from the reference to reference + `days`
    (inclusive: the last interaction).
    Per decile of health (1 = least healthy): decile, customers, health (mean), min_health,
    max_health, retention (share retained), the mean of each component, low_n."""
    r = _health_retention_expr(d, days, lookback_days, answer_touchpoints, max_answer_days)
    g = r.group_by("decile").aggregate(
        customers=_.count(), health=_.health.mean(), min_health=_.health.min(), max_health=_.health.max(),
        retention=ibis.ifelse(_.retained, 1.0, 0.0).mean(), **{k: _[k].mean() for k in HEALTH_WEIGHTS})
    return g.mutate(low_n=g.customers < MIN_N).order_by("decile").to_polars()


@uses_data
def health_members(d: Data, decile: int, days: int = 90, lookback_days: int = 365,
                   answer_touchpoints: tuple | None = None, max_answer_days: int = 7,
                   filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """The customers of one health decile of `health_retention`: customer_id, health, its components,
    retained."""
    r = _health_retention_expr(d, days, lookback_days, answer_touchpoints, max_answer_days)
    r = r.filter(r.decile == int(decile))
    return r.select("customer_id", "health", *HEALTH_WEIGHTS, "retained").order_by(
        ["health", "customer_id"]).to_polars()



@uses_data
def answer_touchpoint_options(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Outbound touchpoints handled by a department (candidates for "the answer" to an inbound
    contact): touchpoint, touchpoints (volume), largest first."""
    t = d.interactions
    t = t.filter((t.direction == "outbound") & t.department.notnull())
    return t.group_by("touchpoint").aggregate(touchpoints=_.count()).order_by(
        [ibis.desc("touchpoints"), "touchpoint"]).to_polars()
