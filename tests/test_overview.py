"""The leadership view: exact KPI cards, statuses, core elements and movers on a hand-built file."""
import polars as pl
import pytest

from cx import overview, profile

# three full months (1 Jan .. 31 Mar 2025): who is active and who buys is chosen by hand
EVENTS = """customer_id,timestamp,touchpoint,channel,amount
a,2025-01-01T09:00:00Z,homepage,web,
a,2025-01-10T09:00:00Z,order_placed,web,100
b,2025-01-20T09:00:00Z,homepage,store,
a,2025-02-03T09:00:00Z,homepage,web,
c,2025-02-10T09:00:00Z,order_placed,store,50
a,2025-03-05T09:00:00Z,order_placed,web,30
c,2025-03-06T09:00:00Z,order_placed,store,20
d,2025-03-31T18:00:00Z,homepage,app,
"""


@pytest.fixture
def tiny(store, write):
    store.import_file(write("e.csv", EVENTS), dataset="t")
    return store


def test_period_series_exact(tiny):
    s = overview.period_series(tiny, "month", dataset="t")
    assert [str(p) for p in s["period"]] == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert s["active_customers"].to_list() == [2, 2, 3]
    assert s["revenue"].to_list() == [100, 50, 50]
    # retention: Feb keeps a of {a, b} (50%); Mar keeps a and c of {a, c} (100%); Jan has no previous
    assert s["retention"].to_list() == [None, 50.0, 100.0]
    # repeat buyers: Feb's only buyer (c) is new; in Mar both buyers bought before
    assert s["repeat_rate"].to_list() == [0.0, 0.0, 100.0]
    assert "nps" not in s.columns  # no feedback table


def test_scorecard_cards_status_and_needs(tiny):
    sc = overview.scorecard(tiny, "month", dataset="t")
    by = {r["key"]: r for r in sc.iter_rows(named=True)}
    assert (by["active_customers"]["value"], by["active_customers"]["previous"]) == (3, 2)
    # 2 -> 3 active customers could be chance (exact Poisson test p = 1): steady, not improving
    assert by["active_customers"]["delta"] == 1 and by["active_customers"]["status"] == "steady"
    assert by["active_customers"]["p_value"] == pytest.approx(1.0)
    assert by["active_customers"]["note"] == "+1 ± 4: could be chance (within normal variation)"
    assert by["revenue"]["delta"] == 0 and by["revenue"]["status"] == "steady"
    # retention 50% -> 100% of two customers: too few to compare, not coloured
    assert by["retention"]["value"] == 100 and by["retention"]["status"] == "few"
    assert by["retention"]["note"] == "2 customers: too few to compare" and by["retention"]["n"] == 2
    assert by["active_customers"]["spark"] == [2, 2, 3]
    assert str(by["revenue"]["period"]) == "2025-03-01"
    for k in ("nps", "csat", "ces"):
        assert by[k]["value"] is None and "feedback" in by[k]["needs"]
    assert overview.fmt_delta("pct", 50.0) == "+50 pts" and overview.fmt_delta("money", -2500) == "-2.5k"


def test_a_partial_last_month_is_not_compared(store, write):
    store.import_file(write("e.csv", EVENTS + "d,2025-04-02T10:00:00Z,homepage,app,\n"), dataset="t")
    s = overview.period_series(store, "month", dataset="t")
    assert str(s["period"][-1]) == "2025-03-01"  # April has two days of data: left out


def test_core_elements(tiny):
    el = overview.core_elements(overview.scorecard(tiny, "month", dataset="t"))
    st = dict(zip(el["element"], el["status"]))
    assert st == {"Engagement": "steady", "Success": "unknown", "Life cycle": "steady", "Loyalty": "steady"}
    assert ("Active customers steady at 3 (the change could be chance)"
            in el.filter(pl.col("element") == "Engagement")["sentence"][0])


def test_movers_in_words(tiny):
    mv = overview.movers(tiny, "month", dataset="t")
    top = mv.row(0, named=True)
    # revenue: web 0 -> 30 and store 50 -> 20 (total 50): store's -30 and web's +30 are the largest moves
    assert (top["metric"], top["dimension"]) == ("revenue", "channel") and abs(top["change"]) == 30
    # every group is tested; with these few customers nothing is beyond chance (Benjamini-Hochberg)
    assert not mv["significant"].any()
    assert ("Active customers with channel app rose by 1 ± 2 (0 → 1) in March 2025: could be chance."
            in mv["sentence"].to_list())


def test_purchase_activity(tiny):
    pa = profile.purchase_activity(tiny, dataset="t", period="month")
    assert pa["buyers"].to_list() == [1, 1, 2] and pa["repeat_buyers"].to_list() == [0, 0, 2]


# -- signal, not noise (issue 22): the colours mean a change beyond chance -------------------------------
def _programme(seed: int, months: int = 12, shift_last: bool = False):
    """A small programme with nothing changing: 300 customers each active with the same chance every
    month (some buy), 60 NPS, 60 CSAT and 60 CES answers a month from the same distributions. With
    shift_last, the last month's NPS answers come from a population 30 points happier, 400 of them."""
    import numpy as np

    rng = np.random.default_rng(seed)
    inter, fb = [], []
    for m in range(months):
        start = f"2024-{m + 1:02d}" if m < 12 else f"2025-{m - 11:02d}"
        for c in range(300):
            if rng.random() < 0.6:
                day = int(rng.integers(1, 28))
                inter.append(f"c{c},{start}-{day:02d}T10:00:00Z,homepage,web,")
                if rng.random() < 0.3:
                    inter.append(f"c{c},{start}-{day:02d}T11:00:00Z,order_placed,web,{rng.gamma(2, 40):.2f}")
        last = shift_last and m == months - 1
        n_nps = 400 if last else 60
        probs = [0.15, 0.25, 0.60] if last else [0.30, 0.30, 0.40]  # detractor, passive, promoter
        for k in range(n_nps):
            kind = rng.choice(3, p=probs)
            score = [int(rng.integers(0, 7)), int(rng.integers(7, 9)), int(rng.integers(9, 11))][kind]
            fb.append(f"c{k % 300},{start}-{int(rng.integers(1, 28)):02d}T12:00:00Z,nps,{score}")
        for k in range(60):
            fb.append(f"c{k},{start}-{int(rng.integers(1, 28)):02d}T12:00:00Z,csat,{rng.choice(5, p=[.05, .1, .2, .35, .3]) + 1}")
            fb.append(f"c{k},{start}-{int(rng.integers(1, 28)):02d}T12:00:00Z,ces,{rng.choice(7, p=[.05, .05, .1, .15, .25, .2, .2]) + 1}")
    # the data covers every month whole (a partial first or last month is never compared)
    import calendar

    end = calendar.monthrange(int(start[:4]), int(start[5:7]))[1]
    inter += ["c0,2024-01-01T00:00:00Z,homepage,web,", f"c0,{start}-{end}T23:59:00Z,homepage,web,"]
    return ("customer_id,timestamp,touchpoint,channel,amount\n" + "\n".join(inter) + "\n",
            "customer_id,timestamp,metric,score\n" + "\n".join(fb) + "\n")


def test_with_nothing_changing_about_five_percent_of_card_months_are_coloured(store, write):
    """Fixed thresholds coloured ~90% of such card-months; tests at 95% colour about 5%."""
    coloured = total = 0
    for seed in range(3):
        inter, fb = _programme(seed)
        ds = f"p{seed}"
        store.import_file(write(f"i{seed}.csv", inter), dataset=ds)
        store.import_file(write(f"f{seed}.csv", fb), kind="feedback", dataset=ds)
        ch = overview.changes(store, "month", dataset=ds)
        known = ch.filter(pl.col("status") != "unknown")
        total += known.height
        coloured += known.filter(pl.col("status").is_in(["improving", "declining"])).height
    assert total >= 3 * 10 * 6  # 10 month pairs x at least 6 cards x 3 programmes
    assert coloured / total <= 0.10, (coloured, total)


def test_a_planted_shift_is_found_and_small_samples_are_said_to_be_small(store, write):
    inter, fb = _programme(7, shift_last=True)
    store.import_file(write("i.csv", inter), dataset="shift")
    store.import_file(write("f.csv", fb), kind="feedback", dataset="shift")
    sc = overview.scorecard(store, "month", dataset="shift", with_model=False)
    by = {r["key"]: r for r in sc.iter_rows(named=True)}
    nps = by["nps"]
    assert nps["status"] == "improving" and nps["n"] == 400 and nps["n_previous"] == 60
    assert nps["delta_low"] > 0 and ": beyond chance (p = 0.004)" in nps["note"]
    assert nps["value_low"] < nps["value"] < nps["value_high"]
    assert by["csat"]["status"] in ("steady", "improving", "declining") and by["csat"]["n"] == 60
    # the same scorecard one week at a time: 60 answers a month is ~14 a week, too few to compare
    wk = {r["key"]: r for r in overview.scorecard(store, "week", dataset="shift", with_model=False).iter_rows(named=True)}
    assert wk["csat"]["status"] == "few" and wk["csat"]["note"].endswith("answers: too few to compare")


def test_kpi_history_has_control_limits(store, write):
    inter, fb = _programme(3, shift_last=True)
    store.import_file(write("i.csv", inter), dataset="h")
    store.import_file(write("f.csv", fb), kind="feedback", dataset="h")
    h = overview.kpi_history(store, "nps", "month", dataset="h")
    assert h.height == 12 and (h["low"] < h["value"]).all() and (h["value"] < h["high"]).all()
    # an NPS chart: limits from each month's own n (60, then 400 in the planted month)
    assert h["center"].n_unique() == 1 and h["upper"][-1] < h["upper"][-2]
    assert h["signal"][-1].startswith("above the upper control limit")
    r = overview.kpi_history(store, "csat", "month", dataset="h")  # a share: a p-chart, limits per period
    assert r["center"][0] == pytest.approx(r["value"].mean(), rel=0.05)  # both in percent
    assert overview.kpi_history(store, "avg_clv", "month", dataset="h").height == 0
