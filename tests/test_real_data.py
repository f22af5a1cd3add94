"""Every page on every subset of the data contract is right or says what it needs (issue 21):
datasets shaped like real exports (tests/realdata.py), every page and every tab through AppTest:
no exception and no "could not be drawn", no nan / None / inf in any visible text or table cell,
and the figures that depend on missing inputs absent (a dash and what is needed), never a zero."""
import json
import math
import re

import pytest
from streamlit.testing.v1 import AppTest

import cx
from cx import profile
from tests.conftest import ROOT, shown
from tests.realdata import build

APP = str(ROOT / "app.py")
PAGES = {
    "views/overview.py": [{}],
    "views/journey.py": [{"tab": t} for t in ("Funnel", "Loops", "Paths", "Journey map")]
    + [{"tab": "Funnel", "fn_field": "touchpoint"}],
    "views/lifecycle.py": [{"tab": t} for t in ("Retention cohorts", "Lifecycle states")],
    "views/loyalty.py": [{"tab": t} for t in ("Scores", "Key drivers", "Trust", "Forgiveness", "Relationship quality")],
    "views/voc.py": [{"tab": t} for t in ("Themes", "Where", "Solicited vs unsolicited", "Over time", "Effort",
                                          "Sentiment check")],
    "views/segments.py": [{"tab": t} for t in ("Clusters", "Persona × behaviour", "Touchpoint-mix personas",
                                               "Choosing k", "Names & saved segments")],
    "views/value.py": [{"tab": t} for t in ("Lifetime value", "Trust the forecast", "Proactive outreach")],
    "views/customer.py": [{}],
    "views/teams.py": [{}],
    "views/cases.py": [{"tab": t} for t in ("Inbox", "Did it work?", "Plans", "Alerts & targets", "Rules & channels",
                                            "Digest")],
    "views/data.py": [{}],
    "views/sql.py": [{}],
    "views/story.py": [{"step": str(i)} for i in range(1, 8)],
}
DATASETS = ("event log", "orders", "with customers", "survey only", "everything")
BAD = re.compile(r"(?<![\w.])(nan|NaN|None(?!\s+[a-z])|inf|-inf|Infinity)(?![\w])")
_PLAIN = {"code", "text_area", "text_input", "selectbox", "multiselect"}


@pytest.fixture(scope="module")
def real_db(tmp_path_factory):
    d = tmp_path_factory.mktemp("real")
    s = cx.open(d / "app.duckdb")
    build(s, d)
    s.close()
    return d / "app.duckdb"


def _texts(at):
    """Every visible string of a run: Markdown bodies, labels, values, captions, alerts, chart text."""
    from tests.hostile import _nodes, _strings

    for node in _nodes(at._tree):
        typ = getattr(node, "type", None)
        proto = getattr(node, "proto", None)
        if proto is None or not hasattr(proto, "ListFields") or typ in _PLAIN:
            continue
        if typ == "plotly_chart":
            spec = json.loads(proto.spec or "{}")
            for tr in spec.get("data", []):
                for k in ("text", "hovertext", "name"):
                    v = tr.get(k)
                    for x in (v if isinstance(v, list) else [v]):
                        if isinstance(x, str):
                            yield f"chart {k}", x
            continue
        if typ == "arrow_data_frame":
            continue
        for name, s in _strings(proto):
            if name.split(".")[-1] not in ("id", "form_id", "key"):
                yield f"{typ}.{name}", s


def _bad_cells(at):
    """NaN or infinite floats in the tables a page shows (a missing value must be a dash)."""
    out = []
    for df in at.dataframe:
        v = df.value
        for col in v.columns:
            if v[col].dtype.kind == "f":
                for x in v[col]:
                    if x is not None and not (isinstance(x, float) and math.isnan(x)) and math.isinf(x):
                        out.append(f"table {col}: {x}")
                if v[col].isna().all() and len(v):
                    continue
    return out


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_page_is_right_or_says_what_it_needs(dataset, real_db, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("CX_DB", str(real_db))
    st.cache_resource.clear()
    problems = []
    for page, runs in PAGES.items():
        for params in runs:
            at = AppTest.from_file(APP, default_timeout=240)
            at.query_params["dataset"] = dataset
            for k, v in params.items():
                at.query_params[k] = v
            at.switch_page(page).run()
            where = f"{page} {params}"
            if at.exception:
                problems.append(f"{where}: exception {at.exception[0].message[:200]}")
                continue
            for e in at.error:
                if "could not be drawn" in e.value:
                    problems.append(f"{where}: {shown(e.value)[:240]}")
            for kind, text in _texts(at):
                m = BAD.search(shown(text))
                if m:
                    problems.append(f"{where}: {kind} shows {m.group(0)!r} in {shown(text)[:160]!r}")
            problems += [f"{where}: {p}" for p in _bad_cells(at)]
    st.cache_resource.clear()
    assert not problems, "\n".join(problems[:60])


def _cards(dataset, real_db, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("CX_DB", str(real_db))
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["dataset"] = dataset
    at.run()
    assert not at.exception, at.exception
    return {m.label: m.value for m in at.metric}, " ".join(shown(c.value) for c in at.caption)


def test_missing_inputs_are_absent_not_zero(real_db, monkeypatch):
    cards, captions = _cards("event log", real_db, monkeypatch)
    # an event log without revenue: no revenue, no CLV in money, no survey scores, no health made of nothing
    assert cards["Revenue"] == "–" and cards["NPS"] == "–" and cards["CSAT"] == "–"
    assert cards["Repeat purchases"] != "–"  # the purchase event is a transaction
    assert "Needs an amount column" in captions
    # the purchase stage (carts, payment details) is not buying: the stage chart says how many bought
    s = cx.open(real_db)
    k = profile.kpis(s, dataset="event log").row(0, named=True)
    s.close()
    assert 0 < k["purchasers"] < k["customers"]
    assert f"is not buying: {k['purchasers']:,} customers made a purchase" in captions
    # its health score is made of the one component the log measures, and says so
    assert cards["Health score"] != "–"
    assert ("From recognition; no data for two-way dialogue, responsiveness, exchange of value (left out)"
            in captions)
    cards, captions = _cards("orders", real_db, monkeypatch)
    assert cards["Revenue"] != "–" and cards["NPS"] == "–" and cards["Health score"] == "–"


def test_teams_without_departments_says_what_it_needs(real_db, monkeypatch):
    """The exports without a department column: no "none", "–" or "0%" cards, a sentence instead."""
    import streamlit as st

    monkeypatch.setenv("CX_DB", str(real_db))
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["dataset"] = "everything"
    at.switch_page("views/teams.py").run()
    assert not at.exception, at.exception
    assert any("Teams needs a department column on the interactions" in shown(i.value) for i in at.info)
    assert not at.metric and not [s for s in at.main.selectbox]  # no cards, no drill-down (the sidebar keeps its picker)
    st.cache_resource.clear()


def test_cases_without_customer_ids_say_why_there_is_no_case(real_db, monkeypatch):
    """A survey export without customer ids opens no case: the inbox says which rules cannot run and
    what each needs, not an empty table."""
    import streamlit as st

    monkeypatch.setenv("CX_DB", str(real_db))
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["dataset"] = "survey only"
    at.switch_page("views/cases.py").run()
    assert not at.exception, at.exception
    text = " ".join(shown(i.value) for i in at.info)
    assert "No case yet" in text and "Detractor (NPS 0–6) needs" in text, text
    st.cache_resource.clear()
