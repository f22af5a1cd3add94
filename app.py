"""CX Loop: entry point. Page config, navigation and the shared sidebar (dataset, filters)."""
import logging

import streamlit as st

from ui.cache import new_run
from ui.frame import begin_view, navigation_pages, presentation_style, presenting, run_safely, share_and_export
from ui.sidebar import sidebar
from ui.store import get_store
from ui.text import md_escape

logging.basicConfig(level=logging.INFO)
st.set_page_config(page_title="CX Loop", page_icon="🔁", layout="wide")
new_run()


def build_pages() -> dict:
    """Every page of the app, by navigation section."""
    return {
        "Explore": [
            st.Page("views/overview.py", title="Overview", icon=":material/monitoring:", url_path="overview",
                    default=True),
            st.Page("views/journey.py", title="Journey", icon=":material/route:", url_path="journey"),
            st.Page("views/lifecycle.py", title="Life cycle", icon=":material/autorenew:", url_path="lifecycle"),
            st.Page("views/loyalty.py", title="Loyalty & trust", icon=":material/favorite:", url_path="loyalty"),
            st.Page("views/voc.py", title="Voice of the customer", icon=":material/forum:", url_path="voc"),
        ],
        "Customers": [
            st.Page("views/segments.py", title="Segments", icon=":material/group_work:", url_path="segments"),
            st.Page("views/value.py", title="Value", icon=":material/payments:", url_path="value"),
            st.Page("views/customer.py", title="Customer view", icon=":material/person_search:", url_path="customer"),
            st.Page("views/teams.py", title="Teams", icon=":material/groups:", url_path="teams"),
        ],
        "Act": [  # the closed loop (cx.cases)
            st.Page("views/cases.py", title="Cases", icon=":material/task_alt:", url_path="cases"),
        ],
        "Data": [
            st.Page("views/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
            st.Page("views/sql.py", title="SQL", icon=":material/terminal:", url_path="sql"),
        ],
        "Help": [
            st.Page("views/story.py", title="Journey story", icon=":material/slideshow:", url_path="story"),
            st.Page("views/glossary.py", title="Glossary", icon=":material/menu_book:", url_path="glossary"),
        ],
    }


PAGES = navigation_pages(build_pages)  # built once per process, copied per run

page = st.navigation(PAGES, position="hidden" if presenting() else "sidebar", expanded=True)
try:
    get_store()
    st.session_state["filters"] = sidebar()
except Exception as e:  # noqa: BLE001 - never a traceback, even when the database cannot open
    logging.getLogger("cxloop").exception("sidebar failed")
    st.error(f"The database could not be opened: {md_escape(e)}")
    st.stop()
begin_view(page.title)
if presenting():
    presentation_style()
run_safely(page)
share_and_export(page)
