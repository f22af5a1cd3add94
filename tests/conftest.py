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


def copy_demo(demo_db: Path, dest: Path) -> Path:
    """A private, writable copy of the session's demo database (and its WAL, if any)."""
    import shutil

    shutil.copy(demo_db, dest)
    wal = demo_db.with_name(demo_db.name + ".wal")
    if wal.exists():
        shutil.copy(wal, dest.with_name(dest.name + ".wal"))
    return dest


@pytest.fixture(autouse=True)
def _no_user_db(tmp_path, monkeypatch):
    # never touch the user's real database from tests
    if "CX_DB" not in os.environ:
        monkeypatch.setenv("CX_DB", str(tmp_path / "default.duckdb"))


@pytest.fixture(autouse=True)
def _no_background_preparation(monkeypatch):
    # the app prepares every page's default view in a background thread after an import or on a
    # new version (ui.prepare): off in tests unless a test turns it on (tests/test_prepare.py)
    monkeypatch.setenv("CX_PREPARE", "0")


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


@pytest.fixture(scope="module")
def demo(demo_db):
    """The demo dataset, opened read-only once per test module (planted-effect tests)."""
    s = cx.open(demo_db, read_only=True)
    yield s
    s.close()


@pytest.fixture(scope="module")
def truth():
    """What the demo generator planted (sample_data/truth.json)."""
    import json

    return json.loads((ROOT / "sample_data" / "truth.json").read_text())


def plotly_charts(at) -> dict:
    """An AppTest run's plotly charts by title: {title: the figure's JSON spec}."""
    import json

    out = {}
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        out[((spec.get("layout") or {}).get("title") or {}).get("text")] = spec
    return out


def shown(markdown: str) -> str:
    """The text a reader sees of a Markdown body that escapes data (ui.text.md_escape): the
    backslashes before punctuation removed."""
    import re

    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>~:$])", r"\1", markdown)
