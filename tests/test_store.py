import pytest

import cx


def test_datasets_create_rename_delete(store, write):
    assert store.dataset_names() == []
    store.create_dataset("a")
    with pytest.raises(cx.CXError, match="exists already"):
        store.create_dataset("a")
    store.rename_dataset("a", "b")
    assert store.dataset_names() == ["b"]
    with pytest.raises(cx.DatasetNotFound, match="no dataset named 'a'"):
        store.dataset("a")
    p = write("e.csv", "customer_id,timestamp,touchpoint\nc1,2025-01-01,homepage\n")
    store.import_file(p, dataset="b")
    assert store.datasets().select("name", "version", "interactions").rows() == [("b", 1, 1)]
    store.delete_dataset("b")
    assert store.dataset_names() == []
    assert store.con.sql("SELECT count(*) FROM duckdb_schemas() WHERE schema_name LIKE 'ds_%'").fetchall()[0][0] == 0


def test_default_path_and_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CX_DB", str(tmp_path / "x" / "my.duckdb"))
    assert cx.default_db_path() == tmp_path / "x" / "my.duckdb"
    s = cx.open()
    assert s.path == tmp_path / "x" / "my.duckdb" and s.path.exists()
    s.close()


def test_missing_table_is_a_clear_message(store):
    store.create_dataset("e")
    with pytest.raises(cx.CXError, match="has no feedback table yet"):
        store.table("feedback", "e")


def test_second_process_gets_a_clear_busy_message(store):
    import subprocess
    import sys

    code = ("import cx, sys\ntry:\n    cx.open(sys.argv[1])\nexcept cx.DatabaseBusy as e:\n"
            "    print('BUSY', e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(store.path)], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.startswith("BUSY") and "in use by another process" in out.stdout


def test_threads_each_get_their_own_cursor(store, write):
    import threading

    store.import_file(write("e.csv", "customer_id,timestamp,touchpoint\nc1,2025-01-01,homepage\n"), dataset="t")
    seen, errors = [], []
    together = threading.Barrier(4)  # all four alive at once: a finished thread's cursor id can be reused

    def work():
        try:
            seen.append((id(store.con), store.table("interactions", "t").count().to_polars()))
            together.wait(30)
        except Exception as e:  # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert not errors and len({s[0] for s in seen}) == 4 and all(s[1] == 1 for s in seen)


def test_duckdb_memory_limit_leaves_room_for_the_python_side(monkeypatch, caplog):
    """Half the machine's memory by default (DuckDB's own 80 % got a 106M-touchpoint preparation
    killed), CX_DUCKDB_MEMORY as a size or a share; anything else is refused with a warning."""
    import os

    from cx.store import memory_limit

    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    monkeypatch.delenv("CX_DUCKDB_MEMORY", raising=False)
    assert memory_limit() == f"{int(total_mb / 2)}MiB"
    s = cx.open(":memory:")
    got = s.con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert abs(float(got.split()[0]) * {"GiB": 1024, "MiB": 1}[got.split()[1]] - total_mb / 2) < 0.01 * total_mb, got
    monkeypatch.setenv("CX_DUCKDB_MEMORY", "3gb")
    assert memory_limit() == "3GB"
    assert cx.open(":memory:").con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0] == "2.7 GiB"
    monkeypatch.setenv("CX_DUCKDB_MEMORY", "25%")
    assert memory_limit() == f"{int(total_mb / 4)}MiB"
    monkeypatch.setenv("CX_DUCKDB_MEMORY", "3GB'; ATTACH 'x")
    assert memory_limit() == f"{int(total_mb / 2)}MiB" and "is not a size" in caplog.text
