"""The frame around every page: navigation, the page header, presentation mode, the share & export
block and friendly errors; and the record of what a view shows (for its HTML report)."""
from __future__ import annotations

import copy
import logging
import traceback
from pathlib import Path

import streamlit as st

import cx
from cx import filters as flt
from cx import report

from .store import current_dataset
from .text import md_escape

log = logging.getLogger("cxloop")


_PAGES: dict | None = None  # section -> [st.Page], built by the first run of the process
_PAGE_BY_PATH: dict[str, st.Page] = {}


def navigation_pages(build) -> dict:
    """The app's st.Page objects, built once per process by `build()` (each st.Page costs
    file-system calls and an icon check: 7 ms a run for 13 pages) and returned as copies:
    st.navigation marks the page it returns as runnable on the object itself, so sessions running
    at once must not share the objects they pass to it."""
    global _PAGES
    if _PAGES is None:
        built = build()
        _PAGE_BY_PATH.update({f"{p._page.parent.name}/{p._page.name}": p for ps in built.values() for p in ps
                              if isinstance(getattr(p, "_page", None), Path)})
        _PAGES = built
    return {section: [copy.copy(p) for p in ps] for section, ps in _PAGES.items()}


def page_link(path: str, **kwargs):
    """st.page_link to a view ("views/value.py") given as its st.Page object when the app's
    navigation has been built (a path is resolved on the file system on every call)."""
    return st.page_link(_PAGE_BY_PATH.get(path, path), **kwargs)


def page_header(title: str, explanation: str) -> None:
    """The page's title and what it shows; in presentation mode the title alone (one idea per
    screen: the explanation is for the reader at a desk)."""
    st.title(title)
    if not presenting():
        st.caption(explanation)


def page_frame(title: str, explanation: str) -> flt.Filters:
    """The top of an analysis page: title, one-line explanation; stops with a hint when there is
    no dataset yet. Returns the global filters of the sidebar."""
    page_header(title, explanation)
    v = view()
    v.title = title
    f = st.session_state.get("filters") or flt.Filters()
    v.subtitle = f"{explanation} Dataset: {current_dataset() or '–'}; filters: {f.describe()}."
    if current_dataset() is None:
        st.info("There is no data yet. Import a file on the **Data** page to begin.")
        st.stop()
    return st.session_state["filters"]


# -- what a view shows: charts and tables, recorded for the HTML report --------------------
def presenting() -> bool:
    """Presentation mode (?present=1): no sidebar, bigger text and charts, for a projector."""
    return st.query_params.get("present") == "1"


def view() -> report.View:
    v = st.session_state.get("_view")
    if v is None:
        v = st.session_state["_view"] = report.View("CX Loop")
    return v


def begin_view(title: str) -> None:
    st.session_state["_view"] = report.View(title)


def presentation_style() -> None:
    """Presentation mode: hide the sidebar and Streamlit's chrome, enlarge text; an exit button.
    (Static CSS only: no data is ever rendered as HTML.)"""
    st.html("""<style>
    [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"] {display: none;}
    .block-container, [data-testid="stMainBlockContainer"] {padding-top: 0.6rem; max-width: 100%;}
    [data-testid="stMarkdownContainer"] p, [data-testid="stCaptionContainer"] {font-size: 1.35rem !important;}
    h1 {font-size: 2.3rem !important; padding-top: 0 !important;} [data-testid="stMetricValue"] {font-size: 3rem !important;}
    [data-testid="stMetricLabel"] p {font-size: 1.3rem !important;}
    h3 {font-size: 2.1rem !important;} h4 {font-size: 1.7rem !important; line-height: 1.35 !important;}
    </style>""")
    if st.button("Exit presentation", icon=":material/close_fullscreen:", key="present_exit", type="tertiary",
                 shortcut="Esc", help="Back to the normal view (Esc)"):
        del st.query_params["present"]
        st.rerun()


def _start_presenting() -> None:
    if st.session_state.get("present_toggle"):
        st.query_params["present"] = "1"
        st.session_state["present_toggle"] = False


def share_and_export(page) -> None:
    """The sidebar's last block: presentation mode, the link to this exact view, and the view as
    a self-contained HTML report."""
    if presenting():
        return
    with st.sidebar:
        st.divider()
        st.markdown("**Share & present**")
        st.toggle("Presentation mode", key="present_toggle", on_change=_start_presenting,
                  help="Hides the sidebar and enlarges text and charts for a projector. A link with "
                       "…&present=1 opens it too.")
        url = st.context.url or ""
        from urllib.parse import urlencode

        query = urlencode(dict(st.query_params.items()))
        if url:
            link = url.split("?")[0] + (f"?{query}" if query else "")
            st.caption("Link to this view (filters, dataset and the page's choices):")
            st.code(link, language=None, wrap_lines=True)
        else:
            link = ""
        v = view()
        if v.items:
            st.download_button("Download this view (HTML)", lambda: report.html_report(v, link=link),
                               file_name=f"cxloop_{page.url_path or 'view'}.html", mime="text/html",
                               icon=":material/description:", key="export_html", on_click="ignore",
                               help="A self-contained report of this page's charts and tables, which opens "
                                    "offline in any browser.")
        st.caption("CX Loop · open-source customer-experience analytics")


def run_safely(page) -> None:
    """Run a page; a CXError becomes its message, anything else a friendly note (logged)."""
    try:
        page.run()
    except cx.CXError as e:
        st.warning(md_escape(e))
    except Exception as e:  # noqa: BLE001 - the app never shows a traceback
        log.error("page %s failed:\n%s", getattr(page, "title", "?"), traceback.format_exc())
        st.error(f"Sorry, this view could not be drawn ({type(e).__name__}: {md_escape(str(e)[:300])}). "
                 "The details are in the server log.")
