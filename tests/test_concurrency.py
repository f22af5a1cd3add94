"""Several sessions importing and querying at once: imports into a dataset are serialised, readers
always see one complete version (never a mix, never a half-written table), no row is lost."""
import subprocess
import sys
import threading
import time

import pytest

import cx
from tests.conftest import ROOT

N_FILES = 6


def _file(write, i: int, n: int):
    rows = "".join(f"c{i}_{k},2025-01-{1 + k % 28:02d}T10:00:00Z,mark{i},web,{k}\n" for k in range(n))
    return write(f"v{i}.csv", "customer_id,timestamp,touchpoint,channel,amount\n" + rows)


def _sizes():
    return {i: 400 + 137 * i for i in range(N_FILES + 1)}


def _run_threads(targets):
    errors = []

    def wrap(fn):
        def inner():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
        return inner

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    return threads, errors


def test_replace_imports_and_readers_at_once(store, write):
    sizes = _sizes()
    files = {i: _file(write, i, n) for i, n in sizes.items()}
    store.import_file(files[0], dataset="t")
    v0 = store.version("t")
    done = threading.Event()
    seen: list[tuple] = []

    def writer(ids):
        def go():
            for i in ids:
                rep = store.import_file(files[i], dataset="t", mode="replace")
                assert rep.accepted == sizes[i] and rep.rejected == 0
        return go

    def reader_sqlbox():
        last_version = -1
        while not done.is_set():
            df = store.query("SELECT (SELECT version FROM cx_meta.datasets WHERE name = 't') AS version, "
                             "touchpoint, count(*) AS n, count(DISTINCT customer_id) AS customers, "
                             "sum(amount) AS total FROM interactions GROUP BY touchpoint", dataset="t")
            assert df.height == 1, f"a mix of versions: {df}"  # one file's rows only
            version, mark, n, customers, total = df.row(0)
            i = int(mark.removeprefix("mark"))
            assert n == customers == sizes[i] and total == sizes[i] * (sizes[i] - 1) / 2, df
            assert version >= last_version
            last_version = version
            seen.append((version, i))

    def reader_ibis():
        while not done.is_set():
            t = store.table("interactions", "t")
            df = t.group_by("touchpoint").aggregate(n=t.count()).to_polars()
            assert df.height == 1, f"a mix of versions: {df}"
            assert df["n"][0] == sizes[int(df["touchpoint"][0].removeprefix("mark"))]

    ids = list(range(1, N_FILES + 1))
    writers, werr = _run_threads([writer(ids[0::3]), writer(ids[1::3]), writer(ids[2::3])])
    readers, rerr = _run_threads([reader_sqlbox, reader_sqlbox, reader_ibis])
    for t in writers:
        t.join(120)
    done.set()
    for t in readers:
        t.join(60)
    assert not werr, werr
    assert not rerr, rerr
    assert store.version("t") == v0 + N_FILES  # every import committed, one after the other
    assert len(seen) > 0
    assert store.imports("t").height == N_FILES + 1


def test_append_imports_from_many_threads_lose_no_row(store, write):
    sizes = _sizes()
    files = {i: _file(write, i, n) for i, n in sizes.items()}
    store.import_file(files[0], dataset="t")
    threads, errors = _run_threads([
        (lambda i=i: store.import_file(files[i], dataset="t", mode="append")) for i in range(1, N_FILES + 1)])
    counts = []
    while any(t.is_alive() for t in threads):
        counts.append(store.query("SELECT count(*) FROM interactions", dataset="t").item())
        time.sleep(0.01)
    for t in threads:
        t.join()
    assert not errors, errors
    total = store.query("SELECT touchpoint, count(*) AS n FROM interactions GROUP BY 1 ORDER BY 1", dataset="t")
    assert dict(total.iter_rows()) == {f"mark{i}": n for i, n in sizes.items()}
    # every count a reader saw is a sum of whole files (a complete version)
    possible = {sizes[0]}
    for i in range(1, N_FILES + 1):
        possible |= {p + sizes[i] for p in possible}
    assert set(counts) <= possible


def test_two_stores_on_one_file_in_one_process_serialise_imports(tmp_path, write):
    """A notebook opening the app's file in the same process shares DuckDB's instance: imports
    through either store must not fail with a write-write conflict."""
    sizes = _sizes()
    files = {i: _file(write, i, n) for i, n in sizes.items()}
    a, b = cx.open(tmp_path / "x.duckdb"), cx.open(tmp_path / "x.duckdb")
    try:
        a.import_file(files[0], dataset="t")
        threads, errors = _run_threads(
            [(lambda i=i, s=(a if i % 2 else b): s.import_file(files[i], dataset="t", mode="append"))
             for i in range(1, 5)])
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert a.query("SELECT count(*) FROM interactions", dataset="t").item() == sum(sizes[i] for i in range(5))
    finally:
        a.close()
        b.close()


def test_a_second_process_gets_a_clear_busy_message(tmp_path, write):
    db = tmp_path / "busy.duckdb"
    s = cx.open(db)
    s.import_file(_file(write, 0, 10), dataset="t")
    try:
        out = subprocess.run([sys.executable, "-m", "cx", "--db", str(db), "import", str(_file(write, 1, 5)),
                              "--dataset", "t"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.returncode != 0
        assert "in use by another process" in (out.stderr + out.stdout)
        assert s.query("SELECT count(*) FROM interactions", dataset="t").item() == 10
    finally:
        s.close()


# -- kill -9 during a long query (tests/test_kill.py covers a killed import) ------------------------
KILL_SCRIPT = r"""
import sys, threading, time
import cx
s = cx.open(sys.argv[1])
if sys.argv[2] == "import":  # an append import running beside the query
    threading.Thread(target=lambda: s.import_file(sys.argv[3], dataset="t", mode="append"), daemon=True).start()
    time.sleep(0.5)
print("querying", flush=True)
s.query("SELECT count(*) FROM interactions a, range(100000000) b WHERE (a.amount * b.range) % 7 = 3",
        dataset="t", timeout_s=300)
print("finished", flush=True)
"""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    import polars as pl

    p = tmp_path_factory.mktemp("killq") / "big.csv"
    n = 3_000_000  # its import takes several seconds, so the kill lands inside it on a fast machine too
    pl.DataFrame({"customer_id": pl.int_range(0, n, eager=True).cast(pl.Utf8).str.replace(r"^", "k"),
                  "timestamp": ["2025-03-01T10:00:00Z"] * n, "touchpoint": ["big"] * n,
                  "amount": pl.int_range(0, n, eager=True).cast(pl.Float64)}).write_csv(p)
    return p


@pytest.mark.parametrize("beside", ["nothing", "import"])
def test_sigkill_during_a_long_query_keeps_the_committed_data(tmp_path, write, big_csv, beside):
    import signal

    db = tmp_path / "q.duckdb"
    s = cx.open(db)
    s.import_file(_file(write, 0, 300), dataset="t")
    version, before = s.version("t"), s.query("SELECT * FROM interactions ORDER BY _seq", dataset="t")
    s.close()
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(db), beside, str(big_csv)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "querying", proc.stderr.read()
    time.sleep(1.5)  # inside the query (and the import's read, when there is one)
    assert proc.poll() is None, "the query ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    s = cx.open(db)  # reopens clean: the last committed version, whole
    try:
        if beside == "import" and s.version("t") == version + 1:  # the import committed before the kill
            n = s.query("SELECT count(*) AS n FROM interactions", dataset="t")["n"][0]
            assert n == before.height + 3_000_000
            version += 1
            assert s.query("SELECT * FROM interactions ORDER BY _seq LIMIT 300", dataset="t").equals(before)
        else:
            assert s.version("t") == version
            assert s.query("SELECT * FROM interactions ORDER BY _seq", dataset="t").equals(before)
        assert s.con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%__new'").fetchall()[0][0] == 0
        rep = s.import_file(_file(write, 1, 5), dataset="t", mode="append")
        assert rep.accepted == 5 and s.version("t") == version + 1
    finally:
        s.close()
