"""Defaults come from the data and never need a table the dataset lacks (issue 21)."""
import pytest

import cx
from cx import journey
from tests.realdata import build


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    d = tmp_path_factory.mktemp("defaults")
    s = cx.open(d / "x.duckdb")
    build(s, d)
    yield s
    s.close()


def test_default_funnel_steps_read_like_a_journey(real, demo):
    # an event log: the steps customers meet first, in their order, ending at the purchase event
    assert journey.default_steps(real, dataset="event log") == ["page_view", "product_view", "purchase"]
    steps = journey.default_steps(demo, dataset="demo")
    assert steps[-1] == "order_placed" and len(steps) == 3  # the demo's most common order touchpoint last
    f = journey.funnel(demo, steps, dataset="demo")
    assert f["count"].to_list() == sorted(f["count"].to_list(), reverse=True) and f["count"][2] > 100


def test_breakdowns_offered_are_the_ones_the_data_has(real, demo):
    # platform -> channel; the log's own columns are breakdowns too (no customers table)
    assert journey.breakdown_options(real, dataset="event log") == ["channel", "acquisition_channel", "user_cohort"]
    assert journey.breakdown_options(real, dataset="orders") == []  # no channel, no customers table
    opts = journey.breakdown_options(real, dataset="with customers")
    assert opts[:2] == ["channel", "direction"] and "persona" in opts and "region" in opts
    assert "segment" not in opts
    for b in journey.breakdown_options(demo, dataset="demo"):
        journey.funnel(demo, ["discover", "purchase"], field="stage", breakdown=b, dataset="demo")  # all work


def test_funnels_take_up_to_twenty_steps(demo):
    tps = ["social_ad", "search_ad", "homepage", "category_browse", "product_page", "reviews_read", "compare_products",
           "pricing_page", "wishlist_add", "cart_add", "checkout", "order_placed", "delivery", "onboarding_email",
           "app_login", "feature_usage", "support_chat", "support_reply", "loyalty_reward", "order_placed"]
    f = journey.funnel(demo, tps, dataset="demo")
    assert f.height == 20 and f["step"].to_list() == list(range(1, 21))
