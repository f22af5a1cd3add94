"""No markup from data or links reaches the page unescaped (issue 19, finding 4).

Every page and every tab is rendered on a dataset whose every text field is hostile (customer ids,
touchpoints, channels, departments, employees, gifts, personas, regions, tiers, attributes,
comments, metric names, a saved segment, a cluster name, the dataset's own name) and with hostile
values in every URL parameter the pages read; no link or image pointing at the attacker's host
may appear (tests/hostile.py renders what the browser would)."""
import pytest
from streamlit.testing.v1 import AppTest

import cx
from tests.conftest import ROOT
from tests.hostile import EVIL_HOST, evil, hostile_files, offenders

APP = str(ROOT / "app.py")
DS = evil("ds")[:80].rstrip()
SEG = evil("seg")[:80].rstrip()

PAGES = {
    "views/overview.py": [{}, {"period": "week"}],
    "views/journey.py": [{"tab": t} for t in ("Funnel", "Loops", "Paths", "Journey map")]
    + [{"tab": "Funnel", "fn_field": "touchpoint", "fn_breakdown": "persona"},
       {"tab": "Funnel", "fn_breakdown": "segment"}],
    "views/lifecycle.py": [{"tab": t} for t in ("Retention cohorts", "Lifecycle states")],
    "views/loyalty.py": [{"tab": t} for t in ("Scores", "Key drivers", "Trust", "Forgiveness",
                                              "Relationship quality")],
    "views/voc.py": [{"tab": t} for t in ("Themes", "Where", "Solicited vs unsolicited", "Over time", "Effort",
                                          "Sentiment check")],
    "views/segments.py": [{"tab": t} for t in ("Clusters", "Persona × behaviour", "Touchpoint-mix personas",
                                               "Choosing k", "Names & saved segments")],
    "views/value.py": [{"tab": t} for t in ("Lifetime value", "Trust the forecast", "Proactive outreach")],
    "views/customer.py": [{"customer": evil("c0")}, {"customer": evil("nobody")}, {}],
    "views/teams.py": [{}],
    "views/cases.py": [{"tab": t} for t in ("Inbox", "Did it work?", "Plans", "Alerts & targets", "Rules & channels",
                                            "Digest")] + [{"case": evil("case")}],
    "views/data.py": [{}],
    "views/sql.py": [{"sql": f"SELECT '{evil('sql')}' AS x"}, {"sql": evil("sqlbad")}],
    "views/story.py": [{"step": str(i)} for i in range(1, 9)],
    "views/glossary.py": [{}],
}
# the global filters' parameters, hostile on every run (values the data has, and values it has not)
HOSTILE_FILTERS = {"dataset": DS, "channel": evil("chan"), "persona": evil("persona"), "region": evil("nope"),
                   "tier": evil("tier"), "segment": SEG, "from": evil("from"), "to": "2025-03-01"}


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    files = hostile_files(d)
    s = cx.open(d / "app.duckdb")
    for kind, p in files.items():
        s.import_file(p, kind=kind, dataset=DS)
    cids = s.con.sql(f"SELECT DISTINCT customer_id FROM {s.dataset(DS).schema}.interactions "
                     "ORDER BY 1 LIMIT 40").pl()["customer_id"].to_list()
    s.save_segment(SEG, cids, dataset=DS)
    # names people type in the app: a cluster's name and a theme's label
    from cx import segments, voc

    res = segments.run(s, dataset=DS, filters=cx.Filters())
    s.set_cluster_name(segments.run_key(res.k, res.columns, 0, cx.Filters()), 0, evil("cluster")[:80], dataset=DS)
    summ = voc.theme_summary(s, dataset=DS)
    voc.set_theme_label(s, summ["terms"][0], evil("theme")[:80], dataset=DS)
    s.close()
    return d / "app.duckdb"


def test_the_hostile_dataset_is_hostile(hostile_db):
    """The fixture really carries the payload into the tables the pages read."""
    s = cx.open(hostile_db, read_only=True)
    try:
        ds = s.dataset(DS)
        for table, col in (("interactions", "customer_id"), ("interactions", "touchpoint"),
                           ("interactions", "channel"), ("customers", "persona"), ("feedback", "comment"),
                           ("feedback", "metric")):
            n = s.con.sql(f"SELECT count(*) FROM {ds.schema}.{table} WHERE {col} LIKE '%](http://{EVIL_HOST}%'"
                          ).fetchall()[0][0]
            assert n > 0, (table, col)
    finally:
        s.close()


def test_the_detector_sees_an_injection():
    """offenders() is not blind: a page that writes data into Markdown unescaped is caught, and
    the same text escaped by ui.text.md_escape is not."""
    from ui.text import md_escape

    def page(text):
        import streamlit as st
        st.markdown(text)
        st.caption(text)
        st.metric(text, text)

    bad = AppTest.from_function(page, args=(evil("x"),)).run()
    found = offenders(bad)
    assert any("markdown.body" in o and "/md" in o for o in found)
    assert any("/img.png" in o for o in found) and any("/bare" in o for o in found)
    assert any("metric.label" in o for o in found) and any("metric.body" in o or "metric.value" in o
                                                             for o in found)
    good = AppTest.from_function(page, args=(md_escape(evil("x")),)).run()
    assert offenders(good) == []


@pytest.mark.parametrize("page", list(PAGES))
def test_no_foreign_link_or_image_on_any_page(page, hostile_db, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("CX_DB", str(hostile_db))
    st.cache_resource.clear()
    st.cache_data.clear()
    found = {}
    # every view unfiltered (all of the data drawn), and the first one under hostile filters
    runs = [{"dataset": DS, **p} for p in PAGES[page]] + [{**HOSTILE_FILTERS, **PAGES[page][0]}]
    for params in runs:
        at = AppTest.from_file(APP, default_timeout=180)
        for k, v in params.items():
            at.query_params[k] = v
        at.switch_page(page).run()
        assert not at.exception, (page, params, at.exception)
        bad = offenders(at)
        if bad:
            found[str({k: v[:40] for k, v in params.items() if k != "dataset"})] = bad
    st.cache_resource.clear()
    assert not found, "\n".join(f"{p}: {o}" for p, bad in found.items() for o in bad)


def test_the_import_flow_shows_hostile_names_as_text(app_db):
    """The Data page with a file whose name, headers and values are hostile: the preview, the
    mapping editor, the check's report and the import's summary show them as text."""
    import polars as pl

    from tests.conftest import ROOT as _  # noqa: F401  (the app's root is on sys.path)

    s = cx.open(app_db)
    s.create_dataset("other")  # a dataset exists, so the demo does not load
    s.close()
    body = pl.DataFrame({"customer_id": [evil("c1"), "c2", "c3"], "timestamp": ["2025-01-02T10:00:00Z",
                                                                                 evil("when"), "2025-01-03"],
                         "touchpoint": [evil("tp"), "homepage", "order"], evil("col"): ["x", "y", "z"]}
                        ).write_csv().encode()
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/data.py").run()
    at.file_uploader[0].set_value((evil("file").replace("/", "_") + ".csv", body, "text/csv")).run()
    assert not at.exception, at.exception
    assert offenders(at) == []
    at.button(key="check").click().run()
    assert not at.exception, at.exception
    assert offenders(at) == []
    at.text_input(key="import_newname").set_value(evil("newds")[:80]).run()
    at.button(key="do_import").click().run()
    assert not at.exception, at.exception
    assert any("accepted" in x.value for x in at.success)
    assert offenders(at) == []
