"""Glossary: every number in the app, defined once (the same text as the hover help)."""
import streamlit as st

from cx import glossary
from ui import page_header

page_header("Glossary", "Every number in CX Loop and exactly how it is computed. The same definitions "
            "appear when you hover over a card or chart, and in the README.")
q = st.text_input("Search", key="gl_q", bind="query-params", placeholder="e.g. NPS, loop, retention",
                  help="Matches names and definitions.").strip().lower()
areas = [a for a in glossary.AREAS if any(t.area == a for t in glossary.TERMS)]
for area in areas:
    terms = [t for t in glossary.TERMS if t.area == area
             and (not q or q in t.name.lower() or q in t.definition.lower())]
    if not terms:
        continue
    st.subheader(area)
    for t in terms:
        with st.container(border=True):
            st.markdown(f"**{t.name}**")
            st.markdown(t.definition)
            where = f"Computed by `{t.api}`"
            url = "/" if t.page == "overview" else f"/{t.page}"
            st.caption(where + (f" · shown on the [{t.page} page]({url})" if t.page else ""))
