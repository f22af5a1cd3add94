"""The funnel with its uncertainty (issue 22, items 4 and 6)."""
from datetime import date

import pytest

from cx import journey, stats


def _log(groups: dict) -> str:
    """An event log: per channel, (entrants, reaching step 2, reaching step 3), in January 2025 and,
    with a second tuple, February 2025."""
    rows = ["customer_id,timestamp,touchpoint,channel"]
    i = 0
    for ch, months in groups.items():
        for m, (n1, n2, n3) in enumerate(months, start=1):
            for k in range(n1):
                i += 1
                rows.append(f"c{i},2025-{m:02d}-03T10:00:00Z,homepage,{ch}")
                if k < n2:
                    rows.append(f"c{i},2025-{m:02d}-03T11:00:00Z,cart_add,{ch}")
                if k < n3:
                    rows.append(f"c{i},2025-{m:02d}-03T12:00:00Z,order_placed,{ch}")
    return "\n".join(rows) + "\n"


STEPS = ["homepage", "cart_add", "order_placed"]


@pytest.fixture
def log(store, write):
    store.import_file(write("e.csv", _log({"web": [(100, 60, 40), (100, 60, 20)], "store": [(100, 50, 10), (100, 50, 10)],
                                           "app": [(10, 9, 9), (10, 9, 9)]})), dataset="f")
    return store


def test_each_step_has_a_wilson_interval(log):
    f = journey.with_intervals(journey.funnel(log, STEPS, dataset="f"))
    r = f.row(2, named=True)
    assert r["count"] == 98 and r["entered"] == 420
    e = stats.rate(98, 420)
    assert r["conversion_low"] == pytest.approx(e.low) and r["conversion_high"] == pytest.approx(e.high)
    p = stats.rate(98, 238)
    assert r["previous_low"] == pytest.approx(p.low) and f.row(0, named=True)["conversion_low"] < 1


def test_breakdown_groups_are_tested_against_the_rest(log):
    f = journey.with_intervals(journey.funnel(log, STEPS, breakdown="channel", dataset="f"))
    last = {r["channel"]: r for r in f.filter(f["step"] == 3).iter_rows(named=True)}
    # web converts 60/200, store 20/200: both differ from the rest beyond chance; app has 20 entrants
    assert last["web"]["differs"] == "above" and last["store"]["differs"] == "below"
    assert last["app"]["differs"] == "" and last["app"]["p_value"] is None
    ch = stats.rate_change(20 + 18, 220, 60, 200)
    assert last["web"]["vs_rest"] == pytest.approx(ch.diff) and last["web"]["p_value"] == pytest.approx(ch.p_value)


def test_two_periods_step_by_step(log):
    cmp = journey.compare_periods(log, STEPS, (date(2025, 1, 1), date(2025, 1, 31)),
                                  (date(2025, 2, 1), date(2025, 2, 28)), dataset="f")
    r = cmp.row(2, named=True)
    assert (r["count_a"], r["count_b"]) == (59, 39)  # web's orders fell from 40 to 20
    assert r["conversion_a"] == pytest.approx(59 / 210) and r["diff"] == pytest.approx(39 / 210 - 59 / 210)
    assert r["significant"] and r["high"] < 0
    assert not cmp.row(1, named=True)["significant"]  # carts did not move
    assert journey.last_two_months(date(2025, 2, 28)) == ((date(2025, 1, 1), date(2025, 1, 31)),
                                                         (date(2025, 2, 1), date(2025, 2, 28)))
    assert journey.last_two_months(date(2025, 3, 5)) == ((date(2025, 1, 1), date(2025, 1, 31)),
                                                        (date(2025, 2, 1), date(2025, 2, 28)))
