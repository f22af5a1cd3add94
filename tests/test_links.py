"""Every choice on a page lives in the shareable link (issue 25, item 4).

For every widget with a key on every page and tab: its proto carries the query-parameter binding
(so the browser writes the choice into the URL as it changes: tests/test_browser.py watches one do
it), and opening a link that holds another value restores that value. The exemptions are actions
or identities, each with its reason."""
import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")
PAGES = {
    "views/overview.py": [{}],
    "views/journey.py": [{"tab": t} for t in ("Funnel", "Loops", "Paths", "Journey map")],
    "views/lifecycle.py": [{"tab": t} for t in ("Retention cohorts", "Lifecycle states")],
    "views/loyalty.py": [{"tab": t} for t in ("Scores", "Key drivers", "Trust", "Forgiveness", "Relationship quality")],
    "views/voc.py": [{"tab": t} for t in ("Themes", "Where", "Over time")],
    "views/segments.py": [{"tab": t} for t in ("Clusters", "Persona × behaviour", "Touchpoint-mix personas")],
    "views/value.py": [{"tab": t} for t in ("Lifetime value", "Trust the forecast", "Proactive outreach")],
    "views/teams.py": [{}],
    "views/cases.py": [{"tab": t} for t in ("Inbox", "Did it work?", "Plans", "Alerts & targets", "Rules & channels",
                                            "Digest")],
    "views/story.py": [{}],
    "views/glossary.py": [{}],
}
CHOICES = ("radio", "selectbox", "multiselect", "slider", "select_slider", "checkbox", "toggle", "number_input",
           "date_input", "text_input", "button_group")
EXEMPT = {
    "present_toggle": "an action: it puts present=1 in the link itself",
    "dataset_picker": "the sidebar writes dataset= itself (ui.sidebar.sync_params)",
    "sg_delete_pick": "a segment chosen for deletion: an action",
}
EXEMPT_PREFIX = {"f_": "the sidebar's filters: written to the link by ui.sidebar.sync_params",
                 "cu_pick_": "the customer shown is customer= in the link",
                 "cs_pick_": "the case shown is case= in the link",
                 "cs_st_": "a case's new status: an edit, saved with its button",
                 "cs_pr_": "a case's new priority: an edit, saved with its button",
                 "cs_as_": "a case's new assignee: an edit, saved with its button",
                 "cx_actor_": "who acts (a name for the record of changes), not a view",
                 "cx_team_": "the team of who acts, not a view"}


def _widgets(at):
    out = {}
    for t in CHOICES:
        for w in at.get(t):
            k = getattr(w, "key", None) or getattr(getattr(w, "proto", None), "id", None) and None
            if k:
                out[k] = (t, w)
    return out


def _exempt(key: str) -> bool:
    # *_save_name: a name typed to save a segment (an action, not a view)
    # *_plan_*: an action plan being written (saved with its button, an action, not a view)
    return (key in EXEMPT or any(key.startswith(p) for p in EXEMPT_PREFIX) or key.endswith("_save_name")
            or "_plan_" in key)


@pytest.fixture(scope="module")
def demo_app(demo_db, tmp_path_factory):
    from tests.conftest import copy_demo

    return copy_demo(demo_db, tmp_path_factory.mktemp("links") / "app.duckdb")


@pytest.mark.parametrize("page", list(PAGES))
def test_every_choice_is_bound_to_the_link(page, demo_app, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("CX_DB", str(demo_app))
    st.cache_resource.clear()
    unbound = []
    for params in PAGES[page]:
        at = AppTest.from_file(APP, default_timeout=240)
        for k, v in params.items():
            at.query_params[k] = v
        at.switch_page(page).run()
        assert not at.exception, at.exception
        for key, (typ, w) in _widgets(at).items():
            if _exempt(key):
                continue
            if getattr(w.proto, "query_param_key", "") != key:
                unbound.append(f"{params} {typ} {key}")
    assert not unbound, "choices not in the link:\n" + "\n".join(unbound)


def _other_value(typ, w):
    """A valid value other than the current one, as the link holds it (the label as shown)."""
    if typ in ("radio", "selectbox", "select_slider", "button_group"):
        opts = list(getattr(w, "options", []) or [])
        cur = w.format_func(w.value) if hasattr(w, "format_func") and w.value is not None else w.value
        for o in opts:
            if str(o) != str(cur):
                return str(o)
    if typ in ("checkbox", "toggle"):
        return "false" if w.value else "true"
    if typ in ("slider", "number_input") and isinstance(w.value, (int, float)) and not isinstance(w.value, bool):
        step = getattr(w.proto, "step", 1) or 1
        v = w.value + step if w.value + step <= getattr(w.proto, "max", w.value + step) else w.value - step
        return str(int(v) if isinstance(w.value, int) else v)
    return None


@pytest.mark.parametrize("page", ["views/journey.py", "views/lifecycle.py", "views/loyalty.py", "views/value.py",
                                  "views/teams.py", "views/voc.py"])
def test_opening_a_link_restores_each_choice(page, demo_app, monkeypatch):
    """For each single-valued choice: a link carrying another valid value opens on that value."""
    import streamlit as st

    monkeypatch.setenv("CX_DB", str(demo_app))
    st.cache_resource.clear()
    failed, checked = [], 0
    for params in PAGES[page]:
        at = AppTest.from_file(APP, default_timeout=240)
        for k, v in params.items():
            at.query_params[k] = v
        at.switch_page(page).run()
        for key, (typ, w) in _widgets(at).items():
            if _exempt(key) or key == "tab":
                continue
            val = _other_value(typ, w)
            if val is None:
                continue
            again = AppTest.from_file(APP, default_timeout=240)
            for k, v in {**params, key: val}.items():
                again.query_params[k] = v
            again.switch_page(page).run()
            assert not again.exception, (key, val, again.exception)
            now = _widgets(again).get(key)
            if now is None:
                continue  # the new value hides the widget (e.g. a choice that switches a section off)
            shown = now[1].value
            if typ in ("radio", "selectbox", "select_slider", "button_group") and hasattr(now[1], "format_func"):
                shown = now[1].format_func(shown) if shown is not None else shown
            ok = (str(shown).lower() == val.lower() or (isinstance(shown, (int, float)) and str(shown) == val)
                  or (isinstance(shown, dt.date) and shown.isoformat() == val))
            checked += 1
            if not ok:
                failed.append(f"{params} {typ} {key}: link {val!r}, page {shown!r}")
    assert checked >= 2, checked
    assert not failed, "\n".join(failed)
