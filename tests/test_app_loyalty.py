"""AppTest of the Loyalty & trust page on the demo data: every tab draws, the charts carry the numbers."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, plotly_charts

APP = str(ROOT / "app.py")



charts = plotly_charts


def visit(at, tab: str):
    at.session_state["tab"] = tab
    at.run()
    assert not at.exception, at.exception
    assert not at.error and not at.warning, [e.value for e in (*at.error, *at.warning)]
    return charts(at)


def test_loyalty_page_on_demo(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    at.switch_page("views/loyalty.py").run()
    assert not at.exception, at.exception
    assert not at.error and not at.warning, [e.value for e in (*at.error, *at.warning)]
    m = {x.label: x.value for x in at.metric}
    assert m["NPS"] == "+15" and m["CSAT"] == "65%"
    nps_help = next(x.help for x in at.metric if x.label == "NPS")
    assert nps_help.startswith("Net Promoter Score")  # the glossary's definition
    c = charts(at)
    # lazy tabs: only the open one (Scores) computed its charts
    assert "Repurchase rate by trust level" not in c and "Key drivers: importance × performance" not in c
    # NPS has no touchpoint: its default breakdown is by persona (Loyal Regulars recommend most)
    pb = c["NPS by persona"]["data"][0]
    vals = {cd[0]: v for cd, v in zip(pb["customdata"], pb["x"])}
    assert max(vals, key=vals.get) == "Loyal Regular"
    trend = c["NPS over time"]
    assert len(trend["data"][0]["x"]) == 16  # quarters from Q1 2023 to Q4 2026 (the first answers come in 2023)
    assert sum(trend["data"][1]["customdata"]) + sum(trend["data"][2]["customdata"]) == 1598
    dist = c["How customers answered (NPS)"]["data"][0]
    assert dist["x"] == [str(i) for i in range(11)] and sum(dist["y"]) == pytest.approx(1.0)
    # key drivers: delivery top left (most important, below-average performance)
    q = visit(at, "Key drivers")["Key drivers: importance × performance"]
    fix = next(t for t in q["data"] if t["name"] == "Fix first")
    assert "delivery" in fix["text"]
    i = fix["text"].index("delivery")
    assert fix["y"][i] == max(y for t in q["data"] for y in t["y"])
    # trust: repurchase rate rises with trust
    c = visit(at, "Trust")
    rep = c["Repurchase rate by trust level"]["data"][0]
    assert rep["x"] == ["1", "2", "3", "4", "5"] and rep["y"] == sorted(rep["y"])
    nps = c["Recommendation (NPS) by trust level"]["data"][0]
    assert nps["y"] == sorted(nps["y"])
    # forgiveness: long tenure forgives more, below the no-incident bar
    fg = visit(at, "Forgiveness")["Still active 90 days after a first incident"]["data"][0]
    assert fg["x"] == ["< 6 months", "6–24 months", "> 24 months", "no incident"]
    assert fg["y"] == sorted(fg["y"])
    # health vs retention: ten deciles, the top half retains more than the bottom half
    hr = visit(at, "Relationship quality")["90-day retention by relationship-health decile"]["data"]
    ret = next(t for t in hr if t["name"] == "retained 90 days")["y"]
    health = next(t for t in hr if t["name"] == "mean health (0–100)")["y"]
    assert health == sorted(health)
    assert len(ret) == 10 and sum(ret[5:]) > sum(ret[:5])
    assert next(x.help for x in at.metric if x.label == "Health").startswith("0–100 per customer")
    # the weakest relationships, linked to the customer view
    tables = [d for d in at.dataframe if "health" in d.value.columns and "customer_id" in d.value.columns]
    assert tables and all(str(u).startswith("customer?customer=") for u in tables[0].value["customer_id"])


def test_loyalty_opens_from_a_shared_link(app_db):
    """?tab=Scores&ly_metric=CSAT&ly_by_csat=channel opens that view (tab and choices are bound to the URL)."""
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/loyalty.py")
    at.query_params["tab"] = "Scores"
    at.query_params["ly_metric"] = "CSAT"
    at.query_params["ly_by_csat"] = "channel"
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="ly_metric").value == "csat"
    c = charts(at)
    assert "CSAT over time" in c and "CSAT by channel" in c
    at2 = AppTest.from_file(APP, default_timeout=180).run()
    at2.switch_page("views/loyalty.py")
    at2.query_params["tab"] = "Key drivers"
    at2.query_params["ly_outcome"] = "Repurchase within 90 days"
    at2.run()
    assert not at2.exception, at2.exception
    assert at2.radio(key="ly_outcome").value == "repurchase"
    assert "Key drivers: importance × performance" in charts(at2) and "NPS over time" not in charts(at2)


def test_loyalty_breakdown_and_drill(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/loyalty.py").run()
    at.radio(key="ly_metric").set_value("csat").run()
    assert at.selectbox(key="ly_by_csat").value == "touchpoint"
    assert not at.exception, at.exception
    bars = charts(at)["CSAT by touchpoint"]["data"][0]
    labels = [cd[0] for cd in bars["customdata"]]
    vals = dict(zip(labels, bars["x"]))
    assert min(vals, key=vals.get) == "delivery" and vals["delivery"] == pytest.approx(46.62, abs=0.01)
    at.selectbox(key="ly_by_pick").set_value("delivery")
    at.toggle(key="ly_by_pick_show").set_value(True).run()
    tables = [d.value for d in at.dataframe if "customer_id" in d.value.columns and "mean_score" in d.value.columns]
    assert tables and tables[0].shape[0] > 100
    assert tables[0]["customer_id"].str.startswith("customer?customer=").all()
    at.selectbox(key="ly_by_csat").set_value("department").run()
    assert not at.exception
    labels = [cd[0] for cd in charts(at)["CSAT by department (of the rated interaction)"]["data"][0]["customdata"]]
    assert {"logistics", "support", "billing"} <= set(labels)


def test_loyalty_page_without_feedback(app_db, tmp_path):
    """Interactions only (no feedback, no incidents): every tab says what data it needs, nothing crashes."""
    import cx

    f = tmp_path / "e.csv"
    f.write_text("customer_id,timestamp,touchpoint,channel,amount\n"
                 "a,2025-01-06T09:00:00Z,social_ad,social,\na,2025-01-07T10:00:00Z,order_placed,web,100\n"
                 "b,2025-01-08T08:00:00Z,homepage,web,\n")
    s = cx.open(app_db)
    s.import_file(f, dataset="tiny")
    s.close()
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/loyalty.py").run()
    text = []
    for tab in ("Scores", "Key drivers", "Trust", "Forgiveness", "Relationship quality"):
        at.session_state["tab"] = tab
        at.run()
        assert not at.exception and not at.error, at.exception or [e.value for e in at.error]
        text += [*(i.value for i in at.info), *(w.value for w in at.warning)]
    text = " ".join(text)
    assert "feedback" in text and "trust" in text and "incident" in text
