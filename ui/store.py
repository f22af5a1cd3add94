"""The store of this server and the dataset the sidebar has chosen."""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import streamlit as st

import cx
from cx.ingest import ensure_demo
from cx.journey import kernels


@st.cache_resource(show_spinner="Opening the database…")
def get_store() -> cx.Store:
    """The store of this server: DuckDB by default (the demo loads by itself), or the backend of
    $CX_BACKEND (cx.connect): on Spark the app reads the lake's tables and cannot import."""
    store = cx.connect()
    if on_duckdb(store):
        ensure_demo(store)
        sweep_staging()
        # the journey kernels' compiled code, loaded (or compiled, the first time on a machine) off
        # the page's thread, so the first funnel does not wait for it
        threading.Thread(target=kernels.warm_up, name="cx-kernels-warm-up", daemon=True).start()
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


def sweep_staging(max_age_hours: float = 24) -> int:
    """Delete upload staging folders (cx_upload_*) older than `max_age_hours`: files abandoned when a
    browser closed in the middle of an import. Returns how many were removed."""
    n = 0
    for d in Path(tempfile.gettempdir()).glob("cx_upload_*"):
        try:
            if time.time() - d.stat().st_mtime > max_age_hours * 3600:
                shutil.rmtree(d, ignore_errors=True)
                n += 1
        except OSError:
            pass
    return n
