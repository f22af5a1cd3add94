"""AppTest of the Voice of the customer page on the demo data: the charts carry the numbers."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, plotly_charts

APP = str(ROOT / "app.py")



_charts = plotly_charts


def visit(at, tab: str) -> dict:
    at.session_state["tab"] = tab
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return _charts(at)


def test_voc_page_on_the_demo(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    at.switch_page("views/voc.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Comments"].replace(",", "")) > 5000
    assert float(metrics["Sentiment ↔ score"].split("=")[1]) > 0.5
    assert next(m.help for m in at.metric if m.label == "Sentiment ↔ score").startswith("Pearson correlation")
    charts = _charts(at)
    assert "Sentiment by touchpoint" not in charts  # lazy tabs: only Themes computed
    bars = charts["Themes: mentions and mood"]["data"][0]
    assert 6 <= len(bars["y"]) <= 24 and min(bars["x"]) > 0
    # the billing complaint is a theme of its own, with negative sentiment (colour = mean sentiment)
    billing = [i for i, cd in enumerate(bars["customdata"]) if "invoice" in cd[0]]
    assert billing and bars["marker"]["color"][billing[0]] < 0
    stacked = charts["Theme × sentiment"]["data"]
    assert [t["name"] for t in stacked] == ["negative", "neutral", "positive"]
    sums = [sum(v) for v in zip(*(t["x"] for t in stacked))]
    assert all(abs(s - 1) < 1e-6 for s in sums)
    # example comments of the selected theme, linked to the customer view
    ex = [d for d in at.dataframe if "mention_sentiment" in d.value.columns]
    assert ex and len(ex[0].value) > 0  # AppTest gives pandas frames
    assert ex[0].value["customer_id"].str.startswith("customer?customer=").any()
    where = visit(at, "Where")["Sentiment by touchpoint"]["data"][0]
    by_tp = dict(zip(where["y"], where["x"]))
    assert by_tp["delivery"] < by_tp["order_placed"]  # the planted worst touchpoint
    src = visit(at, "Solicited vs unsolicited")["Solicited vs unsolicited: what they talk about"]["data"]
    assert {t["name"] for t in src} == {"solicited", "unsolicited"}
    trend = visit(at, "Over time")["Sentiment over time"]["data"]
    assert len(trend[0]["x"]) > 12
    effort = visit(at, "Effort")["Effort language: what customers had to go through"]["data"][0]
    assert dict(zip(effort["y"], effort["x"]))["on hold"] > 100
    ec = next(d.value for d in at.dataframe if "sentiment" in d.value.columns and "comment" in d.value.columns)
    assert len(ec) > 0 and ec["customer_id"].str.startswith("customer?customer=").any()
    curve = visit(at, "Sentiment check")["Comment sentiment follows the score"]["data"]
    for line in curve:
        ys = [y for y in line["y"] if y is not None]
        assert ys[-1] > ys[0], line["name"]


def test_voc_page_switches_dimension_and_k(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/voc.py").run()
    at.session_state["tab"] = "Where"
    at.run()
    at.radio(key="voc_dim").set_value("stage").run()
    assert not at.exception, at.exception
    stage = _charts(at)["Sentiment by stage"]["data"][0]
    assert "use" in stage["y"] and "purchase" in stage["y"]
    at.selectbox(key="voc_k").set_value("9").run()
    assert not at.exception, at.exception
    assert len(_charts(at)["Themes by stage"]["data"][0]["y"]) == 9


def test_voc_opens_from_a_shared_link(app_db):
    """?tab=Where&voc_dim=channel&voc_k=9 opens that view (tab and choices are bound to the URL)."""
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/voc.py")
    at.query_params["tab"] = "Where"
    at.query_params["voc_dim"] = "channel"
    at.query_params["voc_k"] = "9"
    at.run()
    assert not at.exception, at.exception
    charts = _charts(at)
    assert "Themes: mentions and mood" not in charts
    assert "web" in charts["Sentiment by channel"]["data"][0]["y"]
    assert at.selectbox(key="voc_k").value == "9"
