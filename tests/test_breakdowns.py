"""Breakdowns carry their uncertainty (issue 22, item 4): every group's interval, groups tested
against the rest with the false-discovery rate controlled, small groups never ranked."""
import pytest

from cx import loyalty, stats


def _answers(groups: dict) -> str:
    """feedback rows: group (the touchpoint) -> list of NPS scores."""
    lines = ["customer_id,timestamp,metric,score,touchpoint"]
    i = 0
    for g, scores in groups.items():
        for s in scores:
            i += 1
            lines.append(f"c{i},2025-01-{1 + i % 28:02d},nps,{s},{g}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def fb(store, write):
    store.import_file(write("e.csv", "customer_id,timestamp,touchpoint\nc1,2025-01-01,homepage\n"), dataset="b")
    groups = {"delivery": [0] * 30 + [10] * 10,  # NPS -50 from 40
              "store": [10] * 25 + [8] * 10 + [3] * 5,  # NPS +50 from 40
              "web": [10] * 15 + [8] * 10 + [3] * 15,  # NPS 0 from 40
              "phone": [10] * 5 + [2] * 3}  # 8 answers: too few to rank
    store.import_file(write("f.csv", _answers(groups)), kind="feedback", dataset="b")
    return store


def test_each_group_has_its_interval_and_is_tested_against_the_rest(fb):
    bd = loyalty.score_summary(fb, "nps", by="touchpoint", dataset="b")
    by = {r["group"]: r for r in bd.iter_rows(named=True)}
    d = by["delivery"]
    e = stats.nps(10, 30, 40)
    assert d["value"] == -50 and d["low"] == pytest.approx(e.low) and d["high"] == pytest.approx(e.high)
    rest = stats.nps_change(25 + 15 + 5, 5 + 15 + 3, 88, 10, 30, 40)
    assert d["vs_rest"] == pytest.approx(rest.diff) and d["p_value"] == pytest.approx(rest.p_value)
    assert d["differs"] == "below" and by["store"]["differs"] == "above" and by["web"]["differs"] == ""
    # 8 answers: shown with its interval, never tested or ranked
    assert by["phone"]["low_n"] and by["phone"]["differs"] == "" and by["phone"]["p_value"] is None
    assert by["phone"]["low"] is not None


def test_the_drill_down_opens_on_the_worst_significant_group(fb):
    bd = loyalty.score_summary(fb, "nps", by="touchpoint", dataset="b")
    # delivery is below the rest beyond chance: first; then by score; the 8-answer group last
    assert loyalty.worst_first(bd) == ["delivery", "web", "store", "phone"]


# -- key drivers with their honesty ------------------------------------------------------------------
def test_noise_is_not_a_driver_and_fix_first_needs_a_clear_lead():
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(5)
    n = 400
    strong = rng.integers(1, 6, n).astype(float)  # drives the outcome
    weak = rng.integers(1, 6, n).astype(float)  # unrelated to it
    y = np.clip(2 * strong + rng.normal(0, 1.5, n), 0, 10)
    rows = []
    for i in range(n):
        rows += [(f"c{i}", "delivery", strong[i] - 1.5, 1, y[i]), (f"c{i}", "website", weak[i], 1, y[i])]
    long = pl.DataFrame(rows, schema=["customer_id", "touchpoint", "m", "k", "y"], orient="row")
    kd = loyalty.fit_drivers(long)
    d = {r["touchpoint"]: r for r in kd["drivers"].iter_rows(named=True)}
    assert d["delivery"]["distinguishable"] and not d["website"]["distinguishable"]
    assert d["delivery"]["importance_low"] < d["delivery"]["importance"] < d["delivery"]["importance_high"]
    s = kd["summary"].row(0, named=True)
    assert s["fix_first"] == "delivery" and s["verdict"].startswith("Fix delivery first")
    assert s["r2_low"] < s["r2"] < s["r2_high"]


def test_the_demos_planted_worst_touchpoint_is_the_one_to_fix(demo, truth):
    kd = loyalty.key_drivers(demo, dataset="demo")
    s = kd["summary"].row(0, named=True)
    assert s["fix_first"] == truth["worst_touchpoint"] == "delivery"
    d = kd["drivers"]
    assert d.filter(d["touchpoint"] == "delivery")["distinguishable"][0]
    assert (~d["distinguishable"]).sum() >= 1  # some rated touchpoints do not move NPS: flagged, not ranked
