import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cx  # noqa: E402


@pytest.fixture
def store(tmp_path):
    s = cx.open(tmp_path / "cx.duckdb")
    yield s
    s.close()


@pytest.fixture
def write(tmp_path):
    def _w(name: str, data: bytes | str) -> Path:
        p = tmp_path / name
        p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return p

    return _w


def rows_of(store, kind="interactions", dataset="t"):
    ds = store.dataset(dataset)
    return store.con.sql(f"SELECT * FROM {ds.schema}.{kind} ORDER BY 1, 2").pl()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """A database with the shipped demo dataset imported (shared by read-only tests)."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    s = cx.open(path)
    from cx.ingest import ensure_demo

    assert ensure_demo(s)
    s.close()
    return path


@pytest.fixture(autouse=True)
def _no_user_db(tmp_path, monkeypatch):
    # never touch the user's real database from tests
    if "CX_DB" not in os.environ:
        monkeypatch.setenv("CX_DB", str(tmp_path / "default.duckdb"))


@pytest.fixture
def app_db(tmp_path, monkeypatch):
    """A fresh database for the app under AppTest (CX_DB, caches cleared, so the app opens this one;
    with no dataset in it the app loads the demo by itself)."""
    import streamlit as st

    path = tmp_path / "app.duckdb"
    monkeypatch.setenv("CX_DB", str(path))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield path
    st.cache_resource.clear()
    st.cache_data.clear()
