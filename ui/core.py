"""The app frame: the store, the dataset and filter sidebar, caching and friendly errors."""
from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import logging
import threading
import traceback
import weakref
from collections import OrderedDict
from datetime import date
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

import cx
from cx import filters as flt
from cx import report
from cx.ingest import ensure_demo

log = logging.getLogger("cxloop")


@st.cache_resource(show_spinner="Opening the database…")
def get_store() -> cx.Store:
    """The store of this server: DuckDB by default (the demo loads by itself), or the backend of
    $CX_BACKEND (cx.connect): on Spark the app reads the lake's tables and cannot import."""
    store = cx.connect()
    if on_duckdb(store):
        ensure_demo(store)
        sweep_staging()
    return store


def on_duckdb(store=None) -> bool:
    return (store or get_store()).backend_name == "duckdb"


def duckdb_only(what: str) -> bool:
    """On another backend, say that `what` is DuckDB-only and return True (the page then stops)."""
    store = get_store()
    if on_duckdb(store):
        return False
    st.info(f"{what} is DuckDB-only. This app runs on Spark ({store.url}): its metrics are computed where the "
            "tables live, which are read, never written. Run CX Loop without CX_BACKEND to use it.",
            icon=":material/cloud:")
    return True


def switch_dataset(name: str | None) -> None:
    """Make `name` the dataset of the sidebar on the next run."""
    st.session_state["switch_dataset"] = name
    st.session_state["dataset"] = name


def current_dataset() -> str | None:
    return st.session_state.get("dataset")


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


def new_run() -> None:
    """Called first thing on every script run (app.py): per-run memos start afresh."""
    st.session_state["_run_id"] = st.session_state.get("_run_id", 0) + 1


def dataset_version(ds: str | None) -> int:
    """The dataset's version, read once per script run (every call() of the run shares it)."""
    memo = st.session_state.setdefault("_versions", {})
    run = st.session_state.get("_run_id")
    if run is None or memo.get("run") != run:
        memo.clear()
        memo["run"] = run
        _results_for(get_store())
    if ds not in memo:
        memo[ds] = get_store().version(ds)
    return memo[ds]


def call(fn, *args, **kwargs):
    """Run a cx function (store, *args, dataset=..., **kwargs), cached per dataset version."""
    ds = current_dataset()
    version = dataset_version(ds)
    return _cached(f"{fn.__module__}:{fn.__qualname__}", ds, version, args, tuple(sorted(kwargs.items())))


# The results are shared as they are (polars frames, small dicts and dataclasses), never pickled
# and unpickled on every rerun (a 300k-row frame costs ~0.3 s per rerun as st.cache_data); pages
# and cx functions never mutate them (polars frames are immutable).
RESULT_ENTRIES = 512
_RESULTS: dict = {}  # key -> result, oldest first
_RESULTS_LOCK = threading.Lock()
_COMPUTING: dict[str, threading.Lock] = {}  # key -> the lock of its computation in progress
_RESULTS_STORE = [lambda: None]  # weak reference to the store the results were computed on
_MISS = object()


def _cached(qualname: str, dataset: str, version: int, args: tuple, kwargs: tuple):
    """The cache behind call(). Arguments made of plain values (str, numbers, dates, None,
    tuples, lists, frozen dataclasses such as Filters) are keyed by value (:func:`_key`) in the
    process's result dict: a hit is one dict lookup (Streamlit's per-call key machinery was 5 % of
    a warm rerun), and a key is computed once however many sessions ask for it at once. Anything
    else goes through st.cache_resource and Streamlit's own (slower) hasher."""
    try:
        key = _key((qualname, dataset, version, args, kwargs))
    except _Unkeyable:
        return _cached_hashed(qualname, dataset, version, args, kwargs)
    hit = _RESULTS.get(key, _MISS)
    if hit is not _MISS:
        return hit
    with _RESULTS_LOCK:
        lock = _COMPUTING.setdefault(key, threading.Lock())
    try:
        with lock:  # a second session asking for the same key waits for the first one's result
            hit = _RESULTS.get(key, _MISS)
            if hit is _MISS:
                hit = _run_cx(qualname, dataset, args, kwargs)
                with _RESULTS_LOCK:
                    _RESULTS[key] = hit
                    while len(_RESULTS) > RESULT_ENTRIES:
                        _RESULTS.pop(next(iter(_RESULTS)))
    finally:
        with _RESULTS_LOCK:
            _COMPUTING.pop(key, None)
    return hit


def _results_for(store) -> None:
    """Empty the result dict when the store changed (st.cache_resource was cleared, e.g. by a
    test, and get_store() opened a new one): its keys hold dataset versions, not the store."""
    if _RESULTS_STORE[0]() is not store:
        with _RESULTS_LOCK:
            _RESULTS.clear()
            _RESULTS_STORE[0] = weakref.ref(store)


def _run_cx(qualname: str, dataset: str, args: tuple, kwargs: tuple):
    mod, name = qualname.split(":")
    fn = getattr(importlib.import_module(mod), name)
    return fn(get_store(), *args, dataset=dataset, **dict(kwargs))


@st.cache_resource(show_spinner=False, max_entries=128)
def _cached_hashed(qualname: str, dataset: str, version: int, args: tuple, kwargs: tuple):
    return _run_cx(qualname, dataset, args, kwargs)


def _clear_cached() -> None:
    with _RESULTS_LOCK:
        _RESULTS.clear()
    _cached_hashed.clear()


_cached.clear = _clear_cached


def _key(x, refs: list | None = None) -> str:
    """A cache key for `x`. Plain values (None, str, numbers, dates; tuples, lists and dicts of
    them; frozen dataclasses such as Filters) are keyed by value. With `refs`, any other object is
    keyed by identity and a weak reference to it is appended to `refs` (so the caller can tell
    when it is gone); without, or when it cannot be weakly referenced, _Unkeyable is raised."""
    if x is None or isinstance(x, (str, int, float, date)):  # bool is an int; datetime a date
        return f"{type(x).__name__}:{x!r}"
    if isinstance(x, (tuple, list)):
        return f"{type(x).__name__}(" + ",".join(_key(v, refs) for v in x) + ")"
    if isinstance(x, dict):
        return "dict(" + ",".join(f"{_key(k)}={_key(v, refs)}" for k, v in sorted(x.items(), key=lambda kv: str(kv[0]))) + ")"
    if dataclasses.is_dataclass(x) and not isinstance(x, type) and type(x).__dataclass_params__.frozen:
        return (f"{type(x).__module__}.{type(x).__qualname__}("
                + ",".join(f"{fl.name}={_key(getattr(x, fl.name), refs)}" for fl in dataclasses.fields(x)) + ")")
    if refs is not None:
        try:
            refs.append(weakref.ref(x))
        except TypeError:
            raise _Unkeyable from None
        return f"id:{id(x)}"
    raise _Unkeyable


class _Unkeyable(Exception):
    pass


# -- figures, built once per input ---------------------------------------------------------
# Building a plotly figure costs more CPU than the rest of a warm rerun together (the validators
# behind update_layout), and a page's inputs are the very objects _cached() shares between
# sessions and reruns. So a chart function's figure is kept per input *object* (held by weak
# reference: a frame that is dropped, or a new frame at the same address, is never mistaken for
# the old one) and shared as it is. Views never change a figure they are given; chart() copies
# one before enlarging it for presentation mode.
_FIGURES: OrderedDict = OrderedDict()
_FIGURES_LOCK = threading.Lock()
_FIGURES_MAX = 256


def figure(fn, *args, **kwargs):
    """fn(*args, **kwargs), a plotly figure, memoised per input object (see above). Arguments that
    can be neither compared by value nor weakly referenced turn the memo off for that call."""
    refs: list = []
    try:
        key = (fn, _key((args, kwargs), refs))
    except _Unkeyable:
        return fn(*args, **kwargs)
    with _FIGURES_LOCK:
        hit = _FIGURES.get(key)
        if hit is not None and all(r() is not None for r in hit[0]):
            _FIGURES.move_to_end(key)
            return hit[1]
    fig = fn(*args, **kwargs)
    if isinstance(fig, go.Figure):
        with _FIGURES_LOCK:
            _FIGURES[key] = (refs, fig)
            _FIGURES.move_to_end(key)
            while len(_FIGURES) > _FIGURES_MAX:
                _FIGURES.popitem(last=False)
    return fig


class figures:  # noqa: N801 - used like a module
    """A chart module whose functions are memoised by figure(): `vc = figures(cx.charts.value)`,
    then `vc.clv_histogram(df, horizon)` as before."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name: str):
        fn = getattr(self._module, name)
        return functools.partial(figure, fn) if callable(fn) and not isinstance(fn, type) else fn


def _qp_list(key: str) -> list[str]:
    v = st.query_params.get(key)
    return [x for x in v.split(",") if x] if v else []


def sidebar() -> flt.Filters:
    """Dataset picker and global filters; returns the filters. Filters live in the URL too."""
    store = get_store()
    names = store.dataset_names()
    with st.sidebar:
        if not names:
            st.info("No dataset yet: import one on the Data page.")
            st.session_state["dataset"] = None
            return flt.Filters()
        ss = st.session_state
        if ss.get("switch_dataset") in names:
            ss["dataset_picker"] = ss.pop("switch_dataset")
        if ss.get("dataset_picker") not in names:
            ss.pop("dataset_picker", None)
            wanted = st.query_params.get("dataset")
            ss["dataset_picker"] = wanted if wanted in names else names[0]
        ds = st.selectbox("Dataset", names, key="dataset_picker",
                          help="Each dataset holds its own interactions, customers and feedback.")
        st.session_state["dataset"] = ds
        opts = _cached("cx.filters:options", ds, dataset_version(ds), (), ())
        st.markdown("**Filters**")
        f = flt.Filters.from_params(st.query_params)
        if opts.min_date and opts.max_date:
            lo, hi = opts.min_date, opts.max_date
            start = max(min(f.start or lo, hi), lo)
            end = min(max(f.end or hi, lo), hi)
            rng = st.date_input("Date range", value=(start, end), min_value=lo, max_value=hi,
                                key=f"f_dates_{ds}", help="Touchpoints and feedback within these days.")
            if isinstance(rng, (tuple, list)) and len(rng) == 2:
                start, end = rng
            f = f.with_(start=start if start != lo else None, end=end if end != hi else None)
        sel = {}
        for key, label, values in [("channels", "Channel", opts.channels),
                                   *[(n, n.capitalize(), opts.values.get(n, ())) for n in flt.CUSTOMER_FILTERS]]:
            if not values:
                continue
            default = [v for v in getattr(f, key) if v in values]
            sel[key] = tuple(st.multiselect(label, values, default=default, key=f"f_{key}_{ds}",
                                            placeholder="all"))
        f = f.with_(**sel)
        f = f.with_(segment=_segment_picker(store, ds, f.segment))
        st.caption(f"Showing: {md_escape(f.describe())}")
    sync_params({"dataset": ds, **f.to_params()}, owned=SIDEBAR_PARAMS)
    return f


ALL_CUSTOMERS = "all customers"


def _segment_picker(store, ds: str, wanted: str | None) -> str | None:
    """The 'Segment' selectbox (saved segments of cx.segments), shown when the dataset has any."""
    try:
        names = _cached("cx.segments:saved", ds, dataset_version(ds), (), ())["segment"].to_list()
    except Exception:  # noqa: BLE001 - an old read-only database without the table: no picker
        names = []
    if not names:
        return None
    key = f"f_segment_{ds}"
    if st.session_state.get(key) not in (None, ALL_CUSTOMERS, *names):
        st.session_state.pop(key)
    opts = [ALL_CUSTOMERS, *names]
    pick = st.selectbox("Segment", opts, index=opts.index(wanted) if wanted in names else 0, key=key,
                        help="A segment saved on the Segments page: every page shows its members only.")
    return None if pick == ALL_CUSTOMERS else pick


SIDEBAR_PARAMS = ("dataset", "from", "to", "channel", *flt.CUSTOMER_FILTERS, "segment")


def sync_params(params: dict, owned) -> None:
    """Write `params` into the URL, removing the `owned` keys that are not in it; other keys (a
    page's own choices, `customer=`) stay, so a copied link opens the same view."""
    qp = st.query_params
    for k in owned:
        if k not in params and k in qp:
            del qp[k]
    for k, v in params.items():
        if qp.get(k) != v:
            qp[k] = v


def customer_url(customer_id: str) -> str:
    """The link to one customer's view (customer 360), for st.column_config.LinkColumn and
    markdown links: `customer?customer=ID&dataset=DS`."""
    from urllib.parse import urlencode

    return "customer?" + urlencode({"customer": customer_id, "dataset": current_dataset() or ""})


def page_header(title: str, explanation: str) -> None:
    st.title(title)
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


def chart(fig, key: str, caption: str | None = None, help: str | None = None, **kwargs):  # noqa: A002
    """Draw a plotly figure (bigger in presentation mode), with its caption (and `help`: the
    caption's hover text, e.g. glossary.help_text(key)); recorded for the view's HTML report.
    Every chart has plotly's own "download as PNG" button."""
    if presenting():
        fig = go.Figure(fig)
        size = fig.layout.height or 340
        fig.update_layout(font_size=17, title_font_size=24, height=int(size * 1.35))
    out = st.plotly_chart(fig, key=key, config={"displaylogo": False, "toImageButtonOptions": {
        "format": "png", "scale": 2, "filename": key}}, **kwargs)
    if caption:
        st.caption(caption, help=help or None)
    view().add_figure(fig, caption or "")
    return out


def table(df, key: str, title: str = "", caption: str | None = None, file_name: str | None = None,
          links: bool = False, height=None, shown_as=None, **column_config) -> None:
    """Show a table with a formula-safe CSV download (the table toolbar's own export is off:
    client.disableDataExport); `links=True` turns customer_id into a link to the customer view.
    `shown_as`: a small frame to show instead, as a static table whose long text wraps (the CSV and
    the page export keep `df`)."""
    import polars as pl

    from cx.export import to_csv_bytes

    shown = df
    if links and "customer_id" in df.columns:
        shown = df.head(1000).with_columns(pl.Series("customer_id", [customer_url(c) if c is not None else None for c in
                                                                     df["customer_id"].head(1000).to_list()]))
        column_config["customer_id"] = st.column_config.LinkColumn(
            "customer", display_text=r"customer=([^&]+)", help="Open the customer view")
    if shown_as is not None:
        st.table(shown_as, hide_index=True)  # its frame carries its own headers
    else:
        # readable headers ("predicted CLV", not predicted_clv); the CSV keeps the machine names
        for c in shown.columns:
            cfg = column_config.get(c)
            if cfg is None:
                column_config[c] = report.header(c)
            elif isinstance(cfg, dict) and not cfg.get("label"):
                column_config[c] = {**cfg, "label": report.header(c)}
        st.dataframe(shown, hide_index=True, height=height or "auto", column_config=column_config,
                     placeholder="–")  # a missing value reads as a dash, not "None"
    c1, c2 = st.columns([4, 1])
    if caption:
        c1.caption(caption)
    c2.download_button("CSV", lambda: to_csv_bytes(df), file_name=file_name or f"{key}.csv", mime="text/csv",
                       key=f"{key}_csv", icon=":material/download:", on_click="ignore",
                       help="Download this table as CSV (cells that a spreadsheet would run as formulas are "
                            "neutralised).")
    view().add_table(df, title=title, caption=caption or "")


def presentation_style() -> None:
    """Presentation mode: hide the sidebar and Streamlit's chrome, enlarge text; an exit button.
    (Static CSS only: no data is ever rendered as HTML.)"""
    st.html("""<style>
    [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"] {display: none;}
    .block-container, [data-testid="stMainBlockContainer"] {padding-top: 1.2rem; max-width: 100%;}
    [data-testid="stMarkdownContainer"] p, [data-testid="stCaptionContainer"] {font-size: 1.35rem !important;}
    h1 {font-size: 3rem !important;} [data-testid="stMetricValue"] {font-size: 3rem !important;}
    [data-testid="stMetricLabel"] p {font-size: 1.3rem !important;}
    </style>""")
    if st.button("Exit presentation", icon=":material/close_fullscreen:", key="present_exit"):
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


def progress_callback(bar):
    """A cx progress callback drawing on `bar`, callable from cx's polling thread too."""
    import threading

    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    ctx = get_script_run_ctx()

    def cb(fraction: float, message: str) -> None:
        if threading.current_thread() is not threading.main_thread():
            add_script_run_ctx(threading.current_thread(), ctx)
        bar.progress(min(max(fraction, 0.0), 1.0), text=md_escape(message))  # file names are data

    return cb


def md_escape(text) -> str:
    """User text made safe for st.markdown: Markdown and HTML characters are escaped, so a file name
    or a comment shows as written (no links, images or formatting it did not ask for)."""
    import re

    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~:$])", r"\\\1", str(text)).replace("\n", " ")


def sweep_staging(max_age_hours: float = 24) -> int:
    """Delete upload staging folders (cx_upload_*) older than `max_age_hours`: files abandoned when a
    browser closed in the middle of an import. Returns how many were removed."""
    import shutil
    import tempfile
    import time
    from pathlib import Path

    n = 0
    for d in Path(tempfile.gettempdir()).glob("cx_upload_*"):
        try:
            if time.time() - d.stat().st_mtime > max_age_hours * 3600:
                shutil.rmtree(d, ignore_errors=True)
                n += 1
        except OSError:
            pass
    return n


def fmt_int(v) -> str:
    return "–" if v is None else f"{int(v):,}"


def fmt_money(v) -> str:
    if v is None:
        return "–"
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:,.1f}{suf}"
    return f"{v:,.0f}"


def fmt_date(v) -> str:
    return v.strftime("%d %b %Y") if isinstance(v, date) else "–"
