"""Transactions, defined once (cx.expr.is_purchase): a row with an amount > 0, or a row of a
declared purchase touchpoint whatever its amount. A $0 order counts, a cart does not."""
import polars as pl
import pytest

from cx import profile
from cx.expr import is_purchase

ORDERS = """customer_id,timestamp,touchpoint,amount
a,2025-01-06T09:00:00Z,cart_add,
a,2025-01-06T09:05:00Z,order_placed,0
a,2025-02-06T09:05:00Z,order_placed,25
b,2025-01-08T08:00:00Z,cart_add,
b,2025-01-08T08:01:00Z,checkout,
c,2025-01-15T12:00:00Z,purchase,
c,2025-01-20T12:00:00Z,gift_card,10
d,2025-01-21T12:00:00Z,refund_issued,-10
"""


@pytest.fixture
def orders(store, write):
    store.import_file(write("o.csv", ORDERS), dataset="o")
    return store


def test_a_zero_dollar_order_is_a_purchase_and_a_cart_is_not(orders):
    d = orders.data("o")
    assert d.purchase_touchpoints == ("order_placed", "purchase")
    t = d.interactions
    got = t.mutate(p=is_purchase(d, t)).select("customer_id", "touchpoint", "p").to_polars().sort(
        "customer_id", "touchpoint")
    bought = {(r["customer_id"], r["touchpoint"]) for r in got.filter(pl.col("p")).iter_rows(named=True)}
    assert bought == {("a", "order_placed"), ("c", "purchase"), ("c", "gift_card")}
    k = profile.kpis(d).row(0, named=True)
    assert (k["purchases"], k["purchasers"], k["revenue"]) == (4, 2, 25.0)


def test_purchase_rules_are_editable_and_bump_the_version(orders):
    v0 = orders.version("o")
    assert ("order", True) in orders.purchase_rules("o") and ("cart", False) in orders.purchase_rules("o")
    assert orders.set_purchase_rules([("order", True), ("cart", True)], "o") == ["cart_add", "order_placed"]
    assert orders.version("o") == v0 + 1
    k = profile.kpis(orders, dataset="o").row(0, named=True)
    assert (k["purchases"], k["purchasers"]) == (5, 3)  # a's cart and 2 orders, b's cart, c's gift card
    with pytest.raises(Exception, match="keyword"):
        orders.set_purchase_rules([(" ", True)], "o")


def test_without_rules_amounts_alone_decide(orders):
    orders.set_purchase_rules([], "o")
    d = orders.data("o")
    assert d.purchase_touchpoints == ()
    assert profile.kpis(d)["purchases"][0] == 2  # the $25 order and the gift card


def test_transactions_without_amounts_give_the_purchase_side_of_value(store, write):
    """An event log whose purchases are events with no revenue: expected purchases and P(alive) from
    BG/NBD, no money figure (absent, not zero), the repeat-purchase card works."""
    import random

    from cx import clv, overview

    rng = random.Random(3)
    rows = ["user_id,event_time,event"]
    for i in range(60):
        day = rng.randrange(1, 60)
        for k in range(rng.randrange(1, 5)):
            rows.append(f"u{i},2025-01-01T10:00:00Z,page_view")
            rows.append(f"u{i},2025-{1 + (day + 20 * k) // 28 % 6:02d}-{1 + (day + 20 * k) % 28:02d}T12:00:00Z,purchase")
    rows.append("u0,2025-06-30T23:00:00Z,page_view")
    store.import_file(write("ev.csv", "\n".join(rows) + "\n"), dataset="ev")
    vm = clv.customer_value(store, dataset="ev")
    assert not vm.money and vm.customers.height == 60
    assert vm.customers["predicted_clv"].null_count() == 60 and vm.customers["p_alive"].null_count() == 0
    assert vm.customers["expected_purchases"].min() > 0
    assert any("Lifetime value in money is not shown" in n for n in vm.notes)
    with pytest.raises(Exception, match="needs amounts"):
        clv.value_by(store, "purchase_channel", dataset="ev")
    sc = overview.scorecard(store, "month", dataset="ev")
    by = {r["key"]: r for r in sc.iter_rows(named=True)}
    assert by["avg_clv"]["value"] is None and by["avg_clv"]["needs"]
    assert by["revenue"]["value"] is None and by["revenue"]["needs"]
    # the repeat-purchase rate comes from the purchase events: a value in every month with buyers
    rr = overview.period_series(store, "month", dataset="ev")["repeat_rate"].to_list()
    assert rr[:5] == [0.0, pytest.approx(100 * 22 / 47), pytest.approx(100 * 29 / 34), 100.0, 100.0]
