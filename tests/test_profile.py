"""Exact numbers on a hand-built dataset, with and without filters."""
from datetime import date

import pytest

from cx import Filters, profile

EVENTS = """customer_id,timestamp,touchpoint,channel,amount,direction
a,2025-01-06T09:00:00Z,social_ad,social,,
a,2025-01-06T09:05:00Z,homepage,web,,inbound
a,2025-01-07T10:00:00Z,order_placed,web,100,inbound
a,2025-01-20T10:00:00Z,return_request,store,-40,inbound
b,2025-01-08T08:00:00Z,homepage,web,,
b,2025-01-14T08:00:00Z,pricing_page,web,,
b,2025-01-21T08:00:00Z,newsletter,email,,outbound
c,2025-01-15T12:00:00Z,order_placed,store,60,
"""
CUSTOMERS = "customer_id,persona,region\na,Researcher,North\nb,Bargain hunter,South\nc,Researcher,South\n"


@pytest.fixture
def tiny(store, write):
    store.import_file(write("e.csv", EVENTS), dataset="t")
    store.import_file(write("c.csv", CUSTOMERS), dataset="t")
    return store


def test_kpis(tiny):
    k = profile.kpis(tiny, None, "t").row(0, named=True)
    assert (k["customers"], k["touchpoints"], k["purchases"], k["purchasers"], k["revenue"]) == (3, 8, 2, 2, 120.0)


def test_filters_by_channel_date_and_persona(tiny):
    k = profile.kpis(tiny, Filters(channels=("web",)), "t").row(0, named=True)
    assert (k["customers"], k["touchpoints"], k["revenue"]) == (2, 4, 100.0)
    k = profile.kpis(tiny, Filters(start=date(2025, 1, 8), end=date(2025, 1, 14)), "t").row(0, named=True)
    assert (k["customers"], k["touchpoints"]) == (1, 2)  # end day inclusive
    k = profile.kpis(tiny, Filters(persona=("Researcher",)), "t").row(0, named=True)
    assert (k["customers"], k["touchpoints"], k["revenue"]) == (2, 5, 120.0)
    k = profile.kpis(tiny, Filters(persona=("Researcher",), region=("South",)), "t").row(0, named=True)
    assert (k["customers"], k["touchpoints"]) == (1, 1)


def test_by_stage_in_journey_order(tiny):
    df = profile.by_stage(tiny, None, "t")
    assert df.rows() == [("discover", 1, 1), ("consider", 2, 2), ("evaluate", 1, 1), ("purchase", 2, 2),
                         ("use", 2, 2)]


def test_by_channel_and_activity(tiny):
    df = profile.by_channel(tiny, None, "t")
    assert df.select("channel", "touchpoints", "customers").rows() == [("web", 4, 2), ("store", 2, 2),
                                                                      ("email", 1, 1), ("social", 1, 1)]
    assert df["share"].sum() == pytest.approx(1.0)
    w = profile.activity(tiny, None, "t", period="week")
    # week of 20 Jan: a returned something (active); b only received a newsletter (not active)
    # data from Mon 6 Jan 09:00 to Tue 21 Jan: the first week is complete, the last is partial
    assert w.drop("revenue_sq").rows() == [(date(2025, 1, 6), 2, 4, 100.0, False),
                                           (date(2025, 1, 13), 2, 2, 60.0, False),
                                           (date(2025, 1, 20), 1, 2, -40.0, True)]
    m = profile.activity(tiny, None, "t", period="month")
    assert m.drop("revenue_sq").rows() == [(date(2025, 1, 1), 3, 8, 120.0, True)]
    # revenue_sq: per customer, their revenue in the period, squared, summed (the total's variance)
    assert w["revenue_sq"].to_list() == [100.0 ** 2, 60.0 ** 2, 40.0 ** 2]
    assert m["revenue_sq"].to_list() == [60.0 ** 2 + 60.0 ** 2]  # a: 100 - 40, c: 60


def test_filter_url_round_trip():
    f = Filters(start=date(2025, 1, 1), channels=("web", "store"), persona=("Researcher",))
    assert Filters.from_params(f.to_params()) == f
    assert Filters.from_params({"from": "garbage", "channel": ""}) == Filters()
