"""AppTest: the Segments page draws the clusters, the crosstab and a group, saves a segment that then
filters every page from the sidebar."""
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


def charts(at):
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return {s["layout"].get("title", {}).get("text"): s for s in specs}


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_segments_page(app_db):
    at = AppTest.from_file(APP, default_timeout=240).run()
    assert not at.exception, at.exception
    at.switch_page("views/segments.py").run()
    assert not at.exception, at.exception
    assert not at.error and not at.warning, [e.value for e in at.error] + [w.value for w in at.warning]
    assert metric(at, "Clusters (k)") == "6"  # automatic: the planted six behaviours
    assert 0.9 <= float(metric(at, "Stability (ARI)")) <= 1.0
    c = charts(at)
    sizes = c["Customers per behaviour cluster"]["data"][0]
    assert sum(sizes["x"]) == 5000 and len(sizes["x"]) == 6
    heat = c["What sets each cluster apart (z-scores)"]["data"][0]
    assert len(heat["x"]) == 6 and any("service contacts" in y for y in heat["y"])
    pca = c["Customers in two dimensions (PCA)"]["data"]
    assert len(pca) == 6 and sum(len(t["x"]) for t in pca) == 5000
    cross = c["Persona × behaviour: where each declared persona really sits"]["data"][0]
    assert len(cross["y"]) == 6  # six declared personas
    assert all(abs(sum(row) - 1) < 1e-9 for row in cross["z"])
    k = c["Choosing k: three scores side by side"]["data"][0]
    assert k["x"] == list(range(2, 11))
    # the group: a persona, then its largest behaviour cluster
    at.selectbox(key="sg_persona").set_value("Researcher").run()
    assert not at.exception, at.exception
    fn = charts(at)["Their stage funnel"]["data"][0]
    members = next(d.value for d in at.dataframe if "persona" in d.value.columns and "cluster" in d.value.columns)
    assert set(members["persona"]) == {"Researcher"}
    head = next(m.value for m in at.markdown if m.value.startswith("**Researcher ×"))
    n_members = int(head.split("·")[-1].split()[0].replace(",", ""))
    assert n_members > 400 and len(members) == min(n_members, 500)  # the persona's largest cluster first
    assert fn["x"][0] == n_members and fn["y"][0] == "1. discover"  # everyone discovered
    assert fn["x"] == sorted(fn["x"], reverse=True)
    # NPS and CLV from their modules when present, else a note naming the module
    assert any(m.label == "NPS" for m in at.metric) or any("cx.loyalty" in c.value for c in at.caption)
    assert any(m.label == "Mean predicted CLV" for m in at.metric) or any("cx.clv" in c.value for c in at.caption)
    # save it: it becomes a sidebar filter that every page honours
    at.text_input(key="sg_save_name").set_value("Core researchers").run()
    at.button(key="sg_save").click().run()
    assert not at.exception, at.exception
    assert any("Saved 'Core researchers'" in s.value for s in at.success)
    at.switch_page("views/overview.py").run()
    seg = at.sidebar.selectbox(key="f_segment_demo")
    assert seg.options == ["all customers", "Core researchers"]
    before = {m.label: m.value for m in at.metric}
    seg.set_value("Core researchers").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric} != before
    assert at.query_params["segment"] in ("Core researchers", ["Core researchers"])
    assert any("segment: Core researchers" in c.value for c in at.sidebar.caption)
    # ... and this page too: only the segment's customers are clustered
    at.switch_page("views/segments.py").run()
    assert not at.exception, at.exception
    sizes = charts(at)["Customers per behaviour cluster"]["data"][0]
    assert sum(sizes["x"]) == n_members
