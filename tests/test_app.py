"""Streamlit AppTest: the app starts, pages draw real numbers, the Data page imports a file."""
import pytest
from streamlit.testing.v1 import AppTest

import cx
from tests.conftest import ROOT, plotly_charts, shown

APP = str(ROOT / "app.py")  # absolute: AppTest resolves relative paths against the test file

EVENTS = """customer_id,timestamp,touchpoint,channel,amount
a,2025-01-06T09:00:00Z,social_ad,social,
a,2025-01-06T09:05:00Z,homepage,web,
a,2025-01-07T10:00:00Z,order_placed,web,100
b,2025-01-08T08:00:00Z,homepage,web,
c,2025-01-15T12:00:00Z,order_placed,store,60
"""



def db_with(app_db, tmp_path, dataset: str, csv_text: str):
    """The app database with one dataset imported from this interactions CSV (so the demo does not
    load)."""
    f = tmp_path / f"{dataset}.csv"
    f.write_text(csv_text)
    s = cx.open(app_db)
    s.import_file(f, dataset=dataset)
    s.close()
    return app_db


@pytest.fixture
def tiny_db(app_db, tmp_path):
    """The app database holding only the tiny dataset (so the demo does not load)."""
    return db_with(app_db, tmp_path, "tiny", EVENTS)


def new_app():
    at = AppTest.from_file(APP, default_timeout=120)
    return at


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_app_starts_on_the_demo_data(app_db):
    at = new_app().run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox[0].value == "demo"
    assert "5,000 customers, 160,658 touchpoints" in " ".join(c.value for c in at.caption)
    # the charts carry data: the stage chart has the five stages in journey order, everyone discovered
    import json

    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert titles == ["Activity over time", "Customers reaching each stage"]
    stages = specs[1]["data"][0]
    assert stages["x"] == ["discover", "consider", "evaluate", "purchase", "use"] and stages["y"][0] == 5000
    # the leadership cards: every KPI has data on the demo; the four core elements; what changed
    labels = [m.label for m in at.metric]
    assert labels == ["Active customers", "Revenue", "Retention", "Repeat purchases", "NPS", "CSAT", "CES",
                      "Average CLV", "Health score"]
    assert all(m.value != "–" for m in at.metric)
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    assert len(badges) == 4 and all(any(w in b for w in ("improving", "steady", "declining")) for b in badges)
    # what changed: every channel and persona is tested; on the demo's last month none moved beyond chance
    assert any("Nothing changed beyond normal variation in" in shown(m.value) for m in at.markdown)
    # the week view: 10 NPS answers against 15 are too few to compare, and the card says so uncoloured
    at.segmented_control(key="period").set_value("week").run()
    nps = next(m for m in at.metric if m.label == "NPS")
    assert nps.proto.delta == "" and any("10 answers: too few to compare" in shown(c.value) for c in at.caption)


from tests.test_overview import EVENTS as QUARTER  # noqa: E402  (the same hand-built quarter)


@pytest.fixture
def quarter_db(app_db, tmp_path):
    """Three full months chosen by hand (the same file as tests/test_overview.py)."""
    f = tmp_path / "q.csv"
    f.write_text(QUARTER)
    s = cx.open(app_db)
    s.import_file(f, dataset="quarter")
    s.close()
    return app_db


def test_overview_cards_on_a_tiny_dataset(quarter_db):
    at = new_app().run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox[0].value == "quarter"  # no demo: the database already had a dataset
    cards = {m.label: m for m in at.metric}
    # deltas carry their margin; none is coloured (each could be chance), retention has too few customers
    assert cards["Active customers"].value == "3" and cards["Active customers"].proto.delta == "+1 ± 4"
    assert cards["Revenue"].value == "50" and cards["Revenue"].proto.delta == "+0 ± 121"
    assert cards["Retention"].value == "100%" and cards["Retention"].proto.delta == ""
    assert any("2 customers: too few to compare" in shown(c.value) for c in at.caption)
    assert cards["Repeat purchases"].value == "100%"
    assert cards["NPS"].value == "–"  # no feedback: the card says what it needs
    assert any("Needs feedback answers with metric = nps" in c.value for c in at.caption)
    assert "March 2025" in " ".join(c.value for c in at.caption)
    # a filter in the sidebar changes the numbers (and lives in the URL)
    at.sidebar.multiselect(key="f_channels_quarter").set_value(["store"]).run()
    assert not at.exception, at.exception
    cards = {m.label: m for m in at.metric}
    # store touchpoints end on 6 March: March is partial now, so February is the month shown
    assert cards["Active customers"].value == "1" and cards["Revenue"].value == "50"
    assert "February 2025" in " ".join(c.value for c in at.caption)
    assert at.query_params["channel"] in ("store", ["store"])


def test_data_page_upload_map_check_import(tiny_db):
    at = new_app().run()
    at.switch_page("views/data.py").run()
    assert not at.exception
    body = ("user,when,what,where\nu1,2025-02-01 10:00,homepage,web\nu2,not a date,pricing_page,web\n"
            "u3,2025-02-03 09:00,order_placed,store\n").encode()
    at.file_uploader[0].set_value(("visits.csv", body, "text/csv")).run()
    assert not at.exception, at.exception
    assert at.radio(key=next(k for k in _keys(at) if k.startswith("kind_"))).value == "interactions"
    # the suggested mapping found user and when; map 'what' and 'where' by hand
    at.selectbox(key=_key(at, "map_", "_touchpoint")).set_value("what")
    at.selectbox(key=_key(at, "map_", "_channel")).set_value("where").run()
    at.button(key="check").click().run()
    assert not at.exception, at.exception
    assert (metric(at, "Rows read"), metric(at, "Accepted"), metric(at, "Rejected")) == ("3", "2", "1")
    errors = next(d.value for d in at.dataframe if list(d.value.columns) == ["row", "column", "value", "problem"])
    assert errors.to_dict("records") == [{"row": 3, "column": "when", "value": "not a date",
                                          "problem": "cannot read as a date/time"}]
    at.text_input(key="import_newname").set_value("visits").run()
    at.button(key="do_import").click().run()
    assert not at.exception, at.exception
    assert any("2 accepted" in s.value for s in at.success)
    assert at.sidebar.selectbox[0].options == ["tiny", "visits"]
    assert at.sidebar.selectbox[0].value == "visits"


def _keys(at):
    return [w.key for w in at.main if getattr(w, "key", None)] + \
        [w.key for w in at.radio] + [w.key for w in at.selectbox]


def _key(at, prefix, suffix):
    return next(w.key for w in at.selectbox if w.key and w.key.startswith(prefix) and w.key.endswith(suffix))


def test_bad_upload_is_a_message_not_a_traceback(tiny_db):
    at = new_app().run()
    at.switch_page("views/data.py").run()
    at.file_uploader[0].set_value(("empty.csv", b"", "text/csv")).run()
    assert not at.exception
    assert any("empty" in e.value for e in at.error)


def test_journey_page_tabs_carry_the_data(app_db):
    at = new_app().run()  # loads the demo by itself
    at.switch_page("views/journey.py").run()
    assert not at.exception, at.exception

    def charts():
        return plotly_charts(at)

    # Funnel (the tab open by default; the others are lazy: nothing of theirs is computed)
    by_title = charts()
    fn = by_title["Ordered funnel"]["data"][0]
    assert fn["type"] == "funnel" and fn["y"] == ["1. discover", "2. consider", "3. evaluate", "4. purchase"]
    assert fn["x"] == sorted(fn["x"], reverse=True) and fn["x"][0] == 5000
    assert fn["texttemplate"].startswith("%{value:,}")  # 5,000 on the bar, as everywhere else
    # the funnel's table: readable headers (the CSV keeps the machine names), a dash for a missing value
    import json

    grid = next(d for d in at.dataframe if "conversion_from_previous" in d.value.columns)
    labels = {c: v.get("label") for c, v in json.loads(grid.proto.columns).items()}
    assert labels["conversion_from_previous"] == "conversion from previous" and labels["step"] == "step"
    assert grid.proto.placeholder == "–" and grid.value["median hours from previous"].isna()[0]
    assert not at.get("graphviz_chart") and "Journey map" not in by_title
    trend = by_title["Conversion by entry month"]["data"][0]
    assert len(trend["x"]) >= 40 and all(0 <= y <= 1 for y in trend["y"])
    lost = next(m.value for m in at.metric if m.label == "Dropped there")
    assert int(lost.replace(",", "")) == fn["x"][0] - fn["x"][1]
    # Loops: the DOT graph has every stage and red back-edges such as use -> evaluate
    at.session_state["tab"] = "Loops"
    at.run()
    assert not at.exception, at.exception
    dot = at.get("graphviz_chart")[0].proto.spec
    assert all(f'"{s}"' in dot for s in ("discover", "consider", "evaluate", "purchase", "use"))
    assert '"use" -> "evaluate"' in dot and "↩" in dot
    loops = next(d.value for d in at.dataframe if "loop_rate" in d.value.columns)
    rates = dict(zip(loops["persona"], loops["loop_rate"]))
    assert rates["Window Shopper"] == min(rates.values()) and rates["Researcher"] == max(rates.values())
    # Paths: ten variants, largest first
    at.session_state["tab"] = "Paths"
    at.run()
    paths = charts()["The 10 most common paths (repeats collapsed)"]["data"][0]
    assert len(paths["y"]) == 10 and paths["x"] == sorted(paths["x"])  # drawn bottom-up
    # Journey map: delivery is the reddest cell; the emotion curve dips at evaluate and use
    at.session_state["tab"] = "Journey map"
    at.run()
    assert not at.exception, at.exception
    by_title = charts()
    jm = by_title["Journey map"]["data"][0]
    cells = {t.split("<br>")[0]: z for row_t, row_z in zip(jm["text"], jm["z"]) for t, z in zip(row_t, row_z) if t}
    assert min((z, k) for k, z in cells.items() if z is not None)[1] == "delivery"
    curve = by_title["Emotion curve: how customers feel along the loop"]["data"][0]
    s = dict(zip(curve["x"], curve["y"]))
    assert s["evaluate"] < s["consider"] and s["purchase"] > s["evaluate"] and s["use"] < s["purchase"]

def test_journey_tab_opens_from_a_shared_link(app_db):
    """?tab=Loops in the URL opens the Loops tab (the tab is bound to the query parameters)."""
    at = new_app().run()
    at.switch_page("views/journey.py")
    at.query_params["tab"] = "Loops"
    at.run()
    assert not at.exception, at.exception
    assert at.get("graphviz_chart") and not any(
        '"Ordered funnel"' in c.proto.spec for c in at.get("plotly_chart"))


def test_story_walks_forward_and_back_with_real_charts(app_db):
    import json

    at = new_app().run()
    at.switch_page("views/story.py").run()
    assert not at.exception, at.exception
    assert at.get("graphviz_chart") and any("went back to an earlier stage" in m.value for m in at.markdown)
    next_button = next(b for b in at.button if b.key == "story_next")
    next_button.click().run()
    assert not at.exception, at.exception
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["layout"]["title"]["text"] == "Discover to purchase within 30 days"
    assert fig["data"][0]["x"][0] == 5000
    assert any("Of 5,000 customers who discovered us" in m.value for m in at.markdown)
    for _ in range(4):  # to step 6: the key drivers
        next(b for b in at.button if b.key == "story_next").click().run()
    assert not at.exception, at.exception
    assert any("Fix delivery first" in shown(m.value) for m in at.markdown)  # the honest verdict (issue 22)
    next(b for b in at.button if b.key == "story_back").click().run()
    assert any(m.value.startswith("#### Across") for m in at.markdown)  # step 5: what they say


def test_glossary_page_searches_the_one_glossary(app_db):
    at = new_app().run()
    at.switch_page("views/glossary.py").run()
    assert not at.exception, at.exception
    at.text_input(key="gl_q").set_value("loop rate").run()
    shown = [m.value for m in at.markdown]
    assert "**Loop rate**" in shown and "**Revenue**" not in shown


def test_journey_funnel_choices_come_from_a_shared_link(app_db):
    """The funnel's choices live in the URL: a copied link opens the same funnel."""
    import json

    at = new_app().run()
    at.switch_page("views/journey.py")
    for k, v in {"fn_window": "7d", "fn_breakdown": "persona", "fn_period": "week"}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="fn_window").value == "7d" and at.selectbox(key="fn_breakdown").value == "persona"
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert "Conversion by entry week" in titles


def test_story_step_from_a_shared_link(app_db):
    at = new_app().run()
    at.switch_page("views/story.py")
    at.query_params["step"] = "4"
    at.run()
    assert not at.exception, at.exception
    assert any(m.value.startswith("#### Feelings dip at") for m in at.markdown)


def test_navigation_pages_are_built_once_and_links_point_at_registered_pages(app_db):
    """The st.Page objects are built by the process's first run and copied per run (st.navigation
    marks its page runnable on the object); the overview's "Details" links are given those pages
    (no file-system lookup per link) and land on the cards' own pages."""
    from ui import frame as core

    at = new_app().run()
    assert not at.exception, at.exception
    built = core._PAGES
    assert built is not None and sum(len(ps) for ps in built.values()) == 14  # 13 pages and Cases
    again = new_app().run()
    assert not again.exception and core._PAGES is built  # not rebuilt
    copies = core.navigation_pages(lambda: pytest.fail("rebuilt"))
    assert all(c is not p and c.url_path == p.url_path for section in built
               for c, p in zip(copies[section], built[section]))
    every = [e.proto for e in at.get("page_link")]
    links = [ln for ln in every if ln.label == "Details"]
    assert len(links) == 9
    assert {ln.page for ln in every if ln.label != "Details"} == {"cases"}  # the urgent cases open on Cases
    assert {ln.page for ln in links} <= {"journey", "lifecycle", "loyalty", "value", ""}
    assert all(ln.page_script_hash for ln in links)
    assert "value" in {ln.page for ln in links} and "loyalty" in {ln.page for ln in links}
