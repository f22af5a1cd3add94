"""AppTest of the Voice of the customer page on the demo data: the charts carry the numbers."""
import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")


@pytest.fixture
def app_db(tmp_path, monkeypatch):
    path = tmp_path / "app.duckdb"
    monkeypatch.setenv("CX_DB", str(path))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield path
    st.cache_resource.clear()
    st.cache_data.clear()


def _charts(at) -> dict:
    out = {}
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        title = ((spec.get("layout") or {}).get("title") or {}).get("text")
        out[title] = spec
    return out


def test_voc_page_on_the_demo(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    at.switch_page("views/voc.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Comments"].replace(",", "")) > 5000
    assert float(metrics["Sentiment ↔ score"].split("=")[1]) > 0.5
    charts = _charts(at)
    bars = charts["Themes: mentions and mood"]["data"][0]
    assert 6 <= len(bars["y"]) <= 24 and min(bars["x"]) > 0
    # the billing complaint is a theme of its own, with negative sentiment (colour = mean sentiment)
    billing = [i for i, cd in enumerate(bars["customdata"]) if "invoice" in cd[0]]
    assert billing and bars["marker"]["color"][billing[0]] < 0
    stacked = charts["Theme × sentiment"]["data"]
    assert [t["name"] for t in stacked] == ["negative", "neutral", "positive"]
    sums = [sum(v) for v in zip(*(t["x"] for t in stacked))]
    assert all(abs(s - 1) < 1e-6 for s in sums)
    where = charts["Sentiment by touchpoint"]["data"][0]
    by_tp = dict(zip(where["y"], where["x"]))
    assert by_tp["delivery"] < by_tp["order_placed"]  # the planted worst touchpoint
    src = charts["Solicited vs unsolicited: what they talk about"]["data"]
    assert {t["name"] for t in src} == {"solicited", "unsolicited"}
    trend = charts["Sentiment over time"]["data"]
    assert len(trend[0]["x"]) > 12
    effort = charts["Effort language: what customers had to go through"]["data"][0]
    assert dict(zip(effort["y"], effort["x"]))["on hold"] > 100
    curve = charts["Comment sentiment follows the score"]["data"]
    for line in curve:
        ys = [y for y in line["y"] if y is not None]
        assert ys[-1] > ys[0], line["name"]
    # example comments of the selected theme, linked to the customer view
    ex = [d for d in at.dataframe if "mention_sentiment" in d.value.columns]
    assert ex and len(ex[0].value) > 0  # AppTest gives pandas frames
    assert ex[0].value["customer"].str.startswith("customer?customer=").any()


def test_voc_page_switches_dimension_and_k(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/voc.py").run()
    at.radio(key="voc_dim").set_value("stage").run()
    assert not at.exception, at.exception
    stage = _charts(at)["Sentiment by stage"]["data"][0]
    assert "use" in stage["y"] and "purchase" in stage["y"]
    at.selectbox(key="voc_k").set_value(9).run()
    assert not at.exception, at.exception
    assert len(_charts(at)["Themes: mentions and mood"]["data"][0]["y"]) == 9
