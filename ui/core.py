"""The app frame: the store, the dataset and filter sidebar, caching and friendly errors."""
from __future__ import annotations

import importlib
import logging
import traceback
from datetime import date

import streamlit as st

import cx
from cx import filters as flt
from cx.ingest import ensure_demo

log = logging.getLogger("cxloop")


@st.cache_resource(show_spinner="Opening the database…")
def get_store() -> cx.Store:
    store = cx.open()
    ensure_demo(store)
    return store


def switch_dataset(name: str | None) -> None:
    """Make `name` the dataset of the sidebar on the next run."""
    st.session_state["switch_dataset"] = name
    st.session_state["dataset"] = name


def current_dataset() -> str | None:
    return st.session_state.get("dataset")


def call(fn, *args, **kwargs):
    """Run a cx function (store, *args, dataset=..., **kwargs), cached per dataset version."""
    ds = current_dataset()
    version = get_store().version(ds)
    return _cached(f"{fn.__module__}:{fn.__qualname__}", ds, version, args, tuple(sorted(kwargs.items())))


@st.cache_data(show_spinner=False, max_entries=512)
def _cached(qualname: str, dataset: str, version: int, args: tuple, kwargs: tuple):
    mod, name = qualname.split(":")
    fn = getattr(importlib.import_module(mod), name)
    return fn(get_store(), *args, dataset=dataset, **dict(kwargs))


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
        opts = _cached("cx.filters:options", ds, store.version(ds), (), ())
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
        st.caption(f"Showing: {f.describe()}")
    sync_params({"dataset": ds, **f.to_params()}, owned=SIDEBAR_PARAMS)
    return f


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


def customer_table(df, height: int | None = None, rows: int = 500, **column_config) -> None:
    """Show a table of customers whose `customer_id` opens the customer view (first `rows`)."""
    import polars as pl

    df = df.head(rows)
    if "customer_id" in df.columns:
        df = df.with_columns(pl.Series("customer_id", [customer_url(c) for c in df["customer_id"].to_list()]))
        column_config["customer_id"] = st.column_config.LinkColumn(
            "customer", display_text=r"customer=([^&]+)", help="Open the customer view")
    st.dataframe(df, hide_index=True, height=height or "auto", column_config=column_config)


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
    if current_dataset() is None:
        st.info("There is no data yet. Import a file on the **Data** page to begin.")
        st.stop()
    return st.session_state["filters"]


def run_safely(page) -> None:
    """Run a page; a CXError becomes its message, anything else a friendly note (logged)."""
    try:
        page.run()
    except cx.CXError as e:
        st.warning(str(e))
    except Exception as e:  # noqa: BLE001 - the app never shows a traceback
        log.error("page %s failed:\n%s", getattr(page, "title", "?"), traceback.format_exc())
        st.error(f"Sorry, this view could not be drawn ({type(e).__name__}: {str(e)[:300]}). "
                 "The details are in the server log.")


def progress_callback(bar):
    """A cx progress callback drawing on `bar`, callable from cx's polling thread too."""
    import threading

    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    ctx = get_script_run_ctx()

    def cb(fraction: float, message: str) -> None:
        if threading.current_thread() is not threading.main_thread():
            add_script_run_ctx(threading.current_thread(), ctx)
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    return cb


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
