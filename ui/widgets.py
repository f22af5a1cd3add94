"""What pages draw with: charts and tables (recorded for the HTML report), links to a customer,
text made safe for Markdown, progress bars, and the click on a chart."""
from __future__ import annotations

import threading

import plotly.graph_objects as go
import streamlit as st

from cx import fmt, report

from .frame import presenting, view
from .text import md_escape  # noqa: F401  (re-exported)
from .store import current_dataset


def customer_url(customer_id: str) -> str:
    """The link to one customer's view (customer 360), for st.column_config.LinkColumn and
    markdown links: `customer?customer=ID&dataset=DS`."""
    from urllib.parse import urlencode

    return "customer?" + urlencode({"customer": customer_id, "dataset": current_dataset() or ""})


PRESENT_MAX_HEIGHT = 460  # px: with the title, the sentence and the navigation, fits 720 px (16:9, 1280×720)


def chart(fig, key: str, caption: str | None = None, help: str | None = None, **kwargs):  # noqa: A002
    """Draw a plotly figure (bigger in presentation mode), with its caption (and `help`: the
    caption's hover text, e.g. glossary.help_text(key)); recorded for the view's HTML report.
    Every chart has plotly's own "download as PNG" button."""
    config = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2, "filename": key}}
    if presenting():  # a 16:9 projector: larger type, a chart that fits the screen, no toolbar over the legend
        fig = go.Figure(fig)
        size = fig.layout.height or 340
        fig.update_layout(font_size=17, title_font_size=24, height=min(int(size * 1.35), PRESENT_MAX_HEIGHT))
        fig.update_xaxes(tickfont_size=16)
        fig.update_yaxes(tickfont_size=16)
        config["displayModeBar"] = False
    out = st.plotly_chart(fig, key=key, config=config, **kwargs)
    if caption and not presenting():  # one idea per screen: the chart and its sentence, not the fine print
        st.caption(caption, help=help or None)
    view().add_figure(fig, caption or "")
    return out


def table(df, key: str, title: str = "", caption: str | None = None, file_name: str | None = None,
          links: bool = False, height=None, shown_as=None, machine_csv: bool = False, **column_config) -> None:
    """Show a table with a formula-safe CSV download (the table toolbar's own export is off:
    client.disableDataExport); `links=True` makes a customer list: one click on a row opens that
    customer's view, and customer_id is a link to it.
    `shown_as`: a small frame to show instead, as a static table whose long text wraps (the CSV and
    the page export keep `df`)."""
    import polars as pl

    from cx.export import to_csv_bytes

    shown, ids = df, None
    if links and "customer_id" in df.columns:
        ids = df["customer_id"].head(1000).to_list()
        shown = df.head(1000).with_columns(pl.Series("customer_id", [customer_url(c) if c is not None else None
                                                                     for c in ids]))
        column_config["customer_id"] = st.column_config.LinkColumn(
            "customer", display_text=r"customer=([^&]+)", help="Click a row to open this customer's view")
    if shown_as is not None:  # a static table: its cells are Markdown, so text from data is escaped
        st.table(shown_as.with_columns(pl.col(pl.Utf8).map_elements(md_escape, return_dtype=pl.Utf8)),
                 hide_index=True)
    else:
        # readable headers ("predicted CLV", not predicted_clv); the CSV keeps the machine names
        for c in shown.columns:
            cfg = column_config.get(c)
            if cfg is None:
                column_config[c] = report.header(c)
            elif isinstance(cfg, dict) and not cfg.get("label"):
                column_config[c] = {**cfg, "label": report.header(c)}
        # a customer list opens a customer in one click: any cell (or the row's box) of their row
        pick = dict(key=f"{key}_open", on_select="rerun", selection_mode=["single-cell", "single-row"]) if ids else {}
        ev = st.dataframe(shown, hide_index=True, height=height or "auto", column_config=column_config,
                          placeholder="–", **pick)  # a missing value reads as a dash, not "None"
        if ids:
            open_clicked_customer(ev, ids)
    c1, c2 = st.columns([4, 1])
    hint = "Click a customer's row to open their view." if ids and shown_as is None else ""
    if caption or hint:
        c1.caption(" ".join(x for x in (caption, hint) if x))
    c2.download_button("CSV", lambda: to_csv_bytes(df, readable=not machine_csv), file_name=file_name or f"{key}.csv",
                       mime="text/csv", key=f"{key}_csv", icon=":material/download:", on_click="ignore",
                       help="Download this table as CSV: " + ("its columns as named." if machine_csv else
                            "the first row has the column names as shown, the second the names scripts use.")
                            + " Cells a spreadsheet would run as formulas are neutralised.")
    view().add_table(df, title=title, caption=caption or "", formats=_formats(column_config),
                     labels={c: cfg["label"] for c, cfg in column_config.items()
                             if isinstance(cfg, dict) and cfg.get("label")})


def open_clicked_customer(event, ids: list) -> None:
    """Open the customer view for the row clicked in a customer list (a cell or the row's box)."""
    sel = getattr(event, "selection", None) or {}
    rows = list(sel.get("rows") or []) + [r for r, _ in (sel.get("cells") or [])]
    if rows and 0 <= rows[0] < len(ids) and ids[rows[0]] is not None:
        st.switch_page("views/customer.py",
                       query_params={"customer": str(ids[rows[0]]), "dataset": current_dataset() or ""})


def _formats(column_config: dict) -> dict[str, str]:
    """column -> the number format a table shows it in ("percent", "%.2f" ...), for the HTML report."""
    out = {}
    for c, cfg in column_config.items():
        if isinstance(cfg, dict):
            fmt = (cfg.get("type_config") or {}).get("format")
            if isinstance(fmt, str):
                out[c] = fmt
    return out


def progress_callback(bar):
    """A cx progress callback drawing on `bar`, callable from cx's polling thread too."""
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    ctx = get_script_run_ctx()

    def cb(fraction: float, message: str) -> None:
        if threading.current_thread() is not threading.main_thread():
            add_script_run_ctx(threading.current_thread(), ctx)
        bar.progress(min(max(fraction, 0.0), 1.0), text=md_escape(message))  # file names are data

    return cb


def clicked_points(event) -> list[dict]:
    """The points of a click (selection) on a plotly chart drawn with on_select="rerun", or [] when
    nothing is selected."""
    try:
        return list(event["selection"]["points"]) if event else []
    except (KeyError, TypeError, AttributeError):
        return []


fmt_int = fmt.integer
fmt_money = fmt.money
fmt_date = fmt.day
