"""AppTest: the Segments page draws the clusters, the crosstab and a group, saves a segment that then
filters every page from the sidebar."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, plotly_charts, shown

APP = str(ROOT / "app.py")



charts = plotly_charts


def visit(at, tab: str) -> dict:
    at.session_state["tab"] = tab
    at.run()
    assert not at.exception, at.exception
    return charts(at)


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
    assert next(m.help for m in at.metric if m.label == "Stability (ARI)").startswith("Adjusted Rand index")
    c = charts(at)
    assert "Choosing k: three scores side by side" not in c  # lazy tabs: only Clusters drew
    sizes = c["Customers per behaviour cluster"]["data"][0]
    assert sum(sizes["x"]) == 5000 and len(sizes["x"]) == 6
    heat = c["What sets each cluster apart (z-scores)"]["data"][0]
    assert len(heat["x"]) == 6 and any("service contacts" in y for y in heat["y"])
    pca = c["Customers in two dimensions (PCA)"]["data"]
    assert len(pca) == 6 and sum(len(t["x"]) for t in pca) == 5000
    k = visit(at, "Choosing k")["Choosing k: three scores side by side"]["data"][0]
    assert k["x"] == list(range(2, 11))
    assert any("silhouette" in d.value.columns for d in at.dataframe)
    cross = visit(at, "Persona × behaviour")["Persona × behaviour: where each declared persona really sits"]
    cross = cross["data"][0]
    assert len(cross["y"]) == 6  # six declared personas
    assert all(abs(sum(row) - 1) < 1e-9 for row in cross["z"])
    # the group: a persona, then its largest behaviour cluster
    at.selectbox(key="sg_persona").set_value("Researcher").run()
    assert not at.exception, at.exception
    fn = charts(at)["Their stage funnel"]["data"][0]
    members = next(d.value for d in at.dataframe if "persona" in d.value.columns and "cluster" in d.value.columns)
    assert set(members["persona"]) == {"Researcher"}
    assert members["customer_id"].str.startswith("customer?customer=").all()  # linked to the customer view
    head = next(m.value for m in at.markdown if m.value.startswith("**Researcher ×"))
    n_members = int(head.split("·")[-1].split()[0].replace(",", ""))
    assert n_members > 400 and len(members) == min(n_members, 1000)  # the persona's largest cluster first
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
    visit(at, "Names & saved segments")
    saved = next(d.value for d in at.dataframe if list(d.value.columns) == ["segment", "customers"])
    assert saved["segment"].tolist() == ["Core researchers"] and saved["customers"].tolist() == [n_members]
    at.switch_page("views/overview.py").run()
    seg = at.sidebar.selectbox(key="f_segment_demo")
    assert seg.options == ["all customers", "Core researchers"]
    before = {m.label: m.value for m in at.metric}
    seg.set_value("Core researchers").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric} != before
    assert at.query_params["segment"] in ("Core researchers", ["Core researchers"])
    assert any("segment: Core researchers" in shown(c.value) for c in at.sidebar.caption)
    # ... and this page too: only the segment's customers are clustered
    at.switch_page("views/segments.py").run()
    # AppTest keeps the URL across pages: the tab opened last is still in it and wins over session state
    at.session_state["tab"] = at.query_params["tab"] = "Clusters"
    at.run()
    assert not at.exception, at.exception
    sizes = charts(at)["Customers per behaviour cluster"]["data"][0]
    assert sum(sizes["x"]) == n_members
    # ... and the loyalty page offers the saved segment as a breakdown
    at.switch_page("views/loyalty.py").run()
    assert not at.exception, at.exception
    assert "saved segment" in at.selectbox(key="ly_by_nps").options  # formatted labels
    at.selectbox(key="ly_by_nps").set_value("segment").run()
    assert not at.exception, at.exception
    bars = charts(at)["NPS by saved segment"]["data"][0]
    assert [cd[0] for cd in bars["customdata"]] == ["Core researchers"]  # the sidebar filters to it too


def test_segments_open_from_a_shared_link(app_db):
    """?tab=Choosing%20k&sg_k=4 opens the k tab with four clusters (tab and k are bound to the URL)."""
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("views/segments.py")
    at.query_params["tab"] = "Choosing k"
    at.query_params["sg_k"] = "4"
    at.run()
    assert not at.exception, at.exception
    assert metric(at, "Clusters (k)") == "4"
    c = charts(at)
    assert "Customers per behaviour cluster" not in c
    k = c["Choosing k: three scores side by side"]["data"]
    assert k[0]["x"] == list(range(2, 11))


def test_touchpoint_mix_personas_tab(app_db):
    """The NMF tab: one recipe per declared persona, the persona × recipe heatmap, the recipes and
    the customers who behave like another persona (linked, exportable, savable)."""
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("views/segments.py")
    at.query_params["tab"] = "Touchpoint-mix personas"
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert metric(at, "Recipes (k)") == "6"
    agree = float(metric(at, "Behave as declared").rstrip("%")) / 100
    assert 0.65 <= agree <= 0.85  # planted: about 81% declare the persona they behave like
    odd = int(metric(at, "Behave like another persona").replace(",", ""))
    heat = charts(at)["Declared persona × touchpoint recipe"]["data"][0]
    assert len(heat["y"]) == 6 and len(heat["x"]) == 6
    assert all(abs(sum(row) - 1) < 1e-9 for row in heat["z"])
    assert max(max(row) for row in heat["z"]) > 0.6  # each persona mostly follows one recipe
    # the recipes: a static table (names wrap), formatted for reading
    recipes = next(t.value for t in at.table if "agreement" in t.value.columns)
    assert sorted(recipes["persona"]) == sorted(heat["y"])
    assert sum(int(n.replace(",", "")) for n in recipes["customers"]) == 5000
    assert all(v.endswith("%") for v in recipes["agreement"])
    assert any("(store)" in shown(n) for n in recipes["top touchpoints"])  # named by channel and touchpoint
    members = next(d.value for d in at.dataframe if "behaves_like" in d.value.columns)
    assert len(members) == min(odd, 1000)
    assert (members["behaves_like"] != members["declared"]).all()
    assert members["strength"].is_monotonic_decreasing
    assert members["customer_id"].str.startswith("customer?customer=").all()
    at.button(key="sg_mix_save").click().run()
    assert not at.exception, at.exception
    assert any(f"({odd:,} customers)" in s.value for s in at.success)
