"""CX Loop: entry point. Page config, navigation and the shared sidebar (dataset, filters)."""
import logging

import streamlit as st

from ui.core import get_store, run_safely, sidebar

logging.basicConfig(level=logging.INFO)
st.set_page_config(page_title="CX Loop", page_icon="🔁", layout="wide")

PAGES = {
    "Explore": [
        st.Page("views/overview.py", title="Overview", icon=":material/monitoring:", url_path="overview", default=True),
        st.Page("views/journey.py", title="Journey", icon=":material/route:", url_path="journey"),
    ],
    "Data": [
        st.Page("views/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
    ],
}

page = st.navigation(PAGES)
try:
    get_store()
    st.session_state["filters"] = sidebar()
except Exception as e:  # noqa: BLE001 - never a traceback, even when the database cannot open
    logging.getLogger("cxloop").exception("sidebar failed")
    st.error(f"The database could not be opened: {e}")
    st.stop()
with st.sidebar:
    st.divider()
    st.caption("CX Loop · open-source customer-experience analytics")
run_safely(page)
