"""The sidebar: dataset picker and global filters, kept in the URL so a copied link opens the same
view."""
from __future__ import annotations

import streamlit as st

from cx import filters as flt

from .cache import _cached, dataset_version
from .store import get_store
from .text import md_escape


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
        opts = _cached("cx.profile:filter_options", ds, dataset_version(ds), (), ())
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
        extra = {n: v for n, v in opts.values.items() if n not in flt.CUSTOMER_FILTERS}
        if extra:  # the dataset's other customer attributes (an event log's acquisition_channel ...)
            held = dict(f.attributes)
            chosen = {}
            with st.expander("More customer attributes", expanded=any(held.get(n) for n in extra)):
                for n, values in extra.items():
                    default = [v for v in held.get(n, ()) if v in values]
                    chosen[n] = st.multiselect(n, values, default=default, key=f"f_a_{n}_{ds}", placeholder="all")
            f = f.with_(attributes=chosen)
        f = f.with_(segment=_segment_picker(store, ds, f.segment))
        st.caption(f"Showing: {md_escape(f.describe())}")
    sync_params({"dataset": ds, **f.to_params()},
                owned=(*SIDEBAR_PARAMS, *[k for k in st.query_params if k.startswith(flt.ATTRIBUTE_PARAM)]))
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
