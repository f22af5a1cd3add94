"""Trust: customers by their latest trust answer, against their NPS and repurchase rate."""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import is_purchase
from ..filters import Filters
from ..store import CXError
from .base import MIN_N, latest


def _trust_customers(d: Data) -> ibis.Table:
    """Per customer with a trust answer: trust (latest answer, rounded to a level), nps (latest NPS
    answer or null), purchases (rows with amount > 0), repurchased (2+ purchases; null for non-buyers)."""
    if not d.has("feedback"):
        raise CXError("Trust needs a feedback table with a 'trust' metric (answers to a trust question).")
    f = d.feedback
    tr = f.filter((f.metric == "trust") & f.score.notnull() & f.customer_id.notnull())
    tr = latest(tr).select("customer_id", trust=_.score.round().cast("int64"))
    nps = latest(f.filter((f.metric == "nps") & f.score.notnull() & f.customer_id.notnull()))
    nps = nps.select(_nc="customer_id", nps=nps.score.cast("float64"))
    t = d.interactions
    p = t.filter(is_purchase(d, t)).group_by("customer_id").aggregate(_np=_.count()).rename(_pc="customer_id")
    j = tr.left_join(nps, tr.customer_id == nps._nc).drop("_nc")
    j = j.left_join(p, j.customer_id == p._pc).drop("_pc")
    purchases = j._np.fill_null(0)
    return j.mutate(purchases=purchases, repurchased=ibis.cases((purchases >= 2, 1.0), (purchases == 1, 0.0),
                                                                else_=ibis.null("float64"))).drop("_np")


@uses_data
def trust_levels(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Per trust level (the customer's latest `trust` answer, rounded): customers, n_nps (of them with
    an NPS answer), nps (% promoters − % detractors of their latest NPS answers), buyers (1+
    purchases), repurchase_rate (share of buyers with 2+ purchases), purchases_per_customer,
    low_n (customers < 30)."""
    j = _trust_customers(d)
    g = j.group_by("trust").aggregate(
        customers=_.count(), n_nps=_.nps.count(),
        nps=100.0 * (ibis.ifelse(_.nps >= 9, 1.0, 0.0).sum() - ibis.ifelse(_.nps <= 6, 1.0, 0.0).sum())
        / _.nps.count().nullif(0),
        buyers=(_.purchases > 0).sum(), repurchase_rate=_.repurchased.mean(),
        purchases_per_customer=_.purchases.cast("float64").mean())
    df = g.mutate(low_n=g.customers < MIN_N).order_by("trust").to_polars()
    if df.height == 0:
        raise CXError("There are no answers with metric 'trust' in this data: trust analysis needs a trust "
                      "question in the feedback (e.g. 'How much do you trust us?' on 1–5).")
    return df


@uses_data
def trust_members(d: Data, level: int, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """The customers of one trust level: customer_id, trust, nps, purchases, repurchased."""
    j = _trust_customers(d)
    return j.filter(j.trust == int(level)).order_by("customer_id").to_polars()
