"""AppTest: the Value page and the customer view draw real numbers on the demo data."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, plotly_charts

APP = str(ROOT / "app.py")



charts = plotly_charts


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_value_page(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/value.py").run()
    assert not at.exception, at.exception
    assert not [w.value for w in at.warning], [w.value for w in at.warning]
    assert int(metric(at, "Buyers").replace(",", "")) > 3000
    top = float(metric(at, "Top 10% hold").rstrip("%"))
    assert 15 < top < 60
    ch = charts(at)
    hist = ch["Predicted lifetime value per customer (next 12 months)"]
    assert sum(hist["data"][0]["y"]) > 3000  # every buyer is in the histogram
    conc = ch["How concentrated is value?"]
    assert conc["data"][1]["y"][-1] == pytest.approx(1.0)
    by = ch["Value per customer by persona"]
    assert len(by["data"][1]["x"]) >= 4 and min(by["data"][1]["y"]) > 0
    assert "Past value vs predicted value" in ch
    assert "Who is still with us, and what are they worth?" in ch
    assert not any("Holdout" in (t or "") for t in ch)  # lazy tabs: only the open tab draws
    top = next(d.value for d in at.dataframe if "expected_spend" in d.value.columns)
    assert top["customer_id"].iloc[0].startswith("customer?customer=")
    assert top["predicted_clv"].is_monotonic_decreasing
    # the holdout check is in its tab, and close in total
    at.session_state["tab"] = "Trust the forecast"
    at.run()
    assert not at.exception, at.exception
    ch = charts(at)
    bars = ch["Holdout check: predicted vs actual repeat purchases"]
    assert bars["data"][0]["x"] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    track = ch["Holdout check: cumulative repeat purchases"]
    actual, predicted = track["data"][0]["y"][-1], track["data"][1]["y"][-1]
    assert abs(predicted / actual - 1) < 0.10
    assert any("actual_mean" in d.value.columns for d in at.dataframe)
    # the outreach list links to the customer view and is exportable
    at.session_state["tab"] = "Proactive outreach"
    at.run()
    assert not at.exception, at.exception
    n_risk = int(metric(at, "Valuable customers at risk").replace(",", ""))
    assert n_risk > 10
    out = next(d for d in at.dataframe if "value_at_risk" in d.value.columns)
    assert out.value["customer_id"].iloc[0].startswith("customer?customer=")
    assert out.value["value_at_risk"].is_monotonic_decreasing
    downloads = at.get("download_button")
    assert any(b.proto.id and "val_outreach_csv" in b.proto.id for b in downloads)
    # a download hands over the file without rerunning the page (no race with the page's own rerun)
    assert {b.proto.label for b in downloads} >= {"CSV", "Download this view (HTML)"}
    assert all(b.proto.ignore_rerun for b in downloads)


def test_value_page_breakdowns(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/value.py").run()
    at.selectbox(key="vby").set_value("cohort").run()
    assert not at.exception, at.exception
    by = charts(at)["Value per customer by cohort"]
    assert by["data"][0]["x"] == sorted(by["data"][0]["x"])  # cohorts in time order
    at.selectbox(key="vby").set_value("segment").run()
    assert not at.exception, at.exception  # without segments: a note, the rest of the page stays


def test_value_opens_from_a_shared_link(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/value.py")
    at.query_params["tab"] = "Trust the forecast"
    at.query_params["vh"] = "24"
    at.query_params["vu"] = "month"
    at.query_params["hw"] = "13"
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["tab"] == "Trust the forecast"
    assert at.select_slider(key="vh").value == "24" and at.radio(key="vu").value == "M"
    ch = charts(at)
    assert "Holdout check: cumulative repeat purchases" in ch and "How concentrated is value?" not in ch
    assert len(ch["Holdout check: cumulative repeat purchases"]["data"][0]["x"]) == 13  # 13 weeks held out
    assert any("time unit month" in m.value or "time unit M" in m.value for m in at.markdown)


def test_customer_view_from_a_link(app_db):
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["customer"] = "C000002"
    at.run()
    at.switch_page("views/customer.py").run()
    assert not at.exception, at.exception
    assert any("C000002" in s.value for s in at.subheader)
    tl = charts(at)["Every touchpoint, by channel"]
    names = {d["name"] for d in tl["data"]}
    assert {"purchase", "feedback"} <= names
    n_points = sum(len(d["x"]) for d in tl["data"] if d["name"] != "feedback")
    assert n_points == int(metric(at, "Touchpoints").replace(",", ""))
    assert metric(at, "Persona") == "Researcher"
    assert metric(at, "P(alive)").endswith("%")
    assert metric(at, "Predicted CLV, 12 months") != "–"
    # searching and picking another customer keeps it in the URL
    at.text_input(key="cu_query").set_value("C00001").run()
    sb = next(s for s in at.selectbox if s.label == "Customer")
    other = next(o for o in sb.options if o != "C000002")
    sb.set_value(other).run()
    assert not at.exception, at.exception
    assert at.query_params["customer"] == [other] or at.query_params["customer"] == other
