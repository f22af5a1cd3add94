"""Streamlit-side helpers, by concern: store (the server's store and the chosen dataset), cache
(results and figures computed once), sidebar (dataset and filters, in the URL), frame (navigation,
page header, presentation mode, share & export, friendly errors), widgets (charts, tables, links,
progress, chart clicks), text (Markdown-safe text). Pages import what they draw with from here."""
from .cache import call, clear_results, figure, figures, version_changed
from .frame import page_frame, page_header, page_link, presenting, view
from .store import current_dataset, duckdb_only, get_store, on_duckdb, switch_dataset
from .text import md_escape
from .widgets import chart, clicked_points, customer_url, fmt_date, fmt_int, fmt_money, progress_callback, table

__all__ = ["call", "clear_results", "version_changed", "figure", "figures", "page_frame", "page_header", "page_link", "presenting", "view",
           "current_dataset", "duckdb_only", "get_store", "on_duckdb", "switch_dataset", "md_escape", "chart",
           "clicked_points", "customer_url", "fmt_date", "fmt_int", "fmt_money", "progress_callback", "table"]
