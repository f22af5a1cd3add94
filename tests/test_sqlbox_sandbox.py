"""The SQL box's second wall (issue 19): the worker process on a read-only snapshot.

With the statement checks switched off, every attack of tests/test_sqlbox.py (and the new ones) is
still contained by the worker alone: no file read or written, no setting changed, no secret in a
message. Memory bombs and runaway queries kill their worker, never the test process (the app):
it stays small, answers within the limits, and the next query works. Snapshots are per dataset
version, built once, and never half-used. Limits here are small (512 MB, 10 s) so the tests run
fast; the time bounds asserted are generous (limit + 5 s) and say so."""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import cx
from cx import sqlbox
from cx.sqlbox import snapshot
from cx.sqlbox.errors import clean_message
from tests.conftest import ROOT
from tests.test_sqlbox import EVENTS, PLAN_READ, SECRET, state

MEM = 512  # MB per query in these tests
LIMIT = 10  # s
SLACK = 5  # s on top of a time limit: starting and killing a worker (generous on a shared 2-core machine)


@pytest.fixture
def box(tmp_path, write):
    s = cx.open(tmp_path / "box.duckdb")
    s.import_file(write("e.csv", EVENTS), dataset="t")
    yield s
    s.close()


@pytest.fixture
def secret_file(tmp_path):
    d = tmp_path / "private"
    d.mkdir()
    p = d / "secrets.toml"
    p.write_text(f"{SECRET}\nclient_secret = \"{SECRET}-2\"\n")
    return p


def guard_off(monkeypatch):
    """Only the worker stands between the statement and the data."""
    monkeypatch.setattr(sqlbox, "validate", lambda store, con, sql: ("SELECT", sql.strip().rstrip(";")))


def outcome(store, sql) -> str:
    """The text a user would see: the result's values, or the error message."""
    try:
        df = sqlbox.run(store, sql, dataset="t", max_memory_mb=MEM, timeout_s=LIMIT).frame
        return "RESULT " + str(df.rows())
    except cx.CXError as e:
        return "ERROR " + str(e)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def own_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def idle_workers(store) -> list[int]:
    return store._sqlbox.pool.pids() if store._sqlbox else []


# -- the worker alone contains every attack -----------------------------------------------------------
def attacks(secret: Path, out: Path) -> list[str]:
    d = secret.parent
    return [
        f"SELECT * FROM read_csv('{secret}')", f"SELECT * FROM read_csv_auto('{d}/*.toml')",
        f"SELECT content FROM read_text('{secret}')", f"SELECT * FROM read_blob('{secret}')",
        f"SELECT * FROM '{secret}'", f"SELECT * FROM glob('{d}/*')", "SELECT * FROM glob('/etc/*')",
        f"SELECT * FROM sniff_csv('{secret}')", "SELECT * FROM read_csv('/etc/passwd', sep=':')",
        PLAN_READ.format(path=secret, skip=0), PLAN_READ.format(path=secret, skip=1),
        PLAN_READ.format(path="/etc/passwd", skip=0),
        f"SELECT json_serialize_plan('SELECT zzz FROM glob(''{d}/*'')')",
        f"SELECT * FROM query('SELECT * FROM read_text(''{secret}'')')", f"SELECT * FROM query_table('{secret}')",
        "SELECT * FROM read_csv('https://example.com/x.csv')",
        f"ATTACH '{out}/evil.duckdb' AS evil", f"COPY (SELECT * FROM interactions) TO '{out}/leak.csv'",
        f"COPY interactions TO '{out}/leak2.csv' (FORMAT csv)", f"EXPORT DATABASE '{out}/export'",
        "INSTALL spatial", "LOAD spatial", "FORCE INSTALL httpfs FROM core_nightly", "SELECT st_point(1, 2)",
        "SET enable_external_access = true", "SET GLOBAL lock_configuration = false", "RESET memory_limit",
        "SET threads = 1", "PRAGMA threads = 1", "SELECT * FROM query('SET enable_external_access = true')",
        "SET allowed_directories = ['/']", "SELECT getenv('CX_TEST_SECRET')",
        "DELETE FROM interactions", "DROP TABLE interactions", "CREATE TABLE x AS SELECT 1", "CHECKPOINT",
        "UPDATE interactions SET amount = 0", "INSERT INTO interactions (customer_id) VALUES ('evil')",
        "WITH d AS (DELETE FROM interactions RETURNING *) SELECT count(*) FROM d",
        "SELECT * FROM secret_df",
    ]


def test_every_attack_is_contained_by_the_worker_alone(box, secret_file, tmp_path, monkeypatch):
    monkeypatch.setenv("CX_TEST_SECRET", SECRET)
    secret_df = __import__("polars").DataFrame({"s": [SECRET]})  # noqa: F841 - the bait
    out = tmp_path / "out"
    out.mkdir()
    before = state(box)
    guard_off(monkeypatch)
    for sql in attacks(secret_file, out):
        text = outcome(box, sql)
        assert SECRET not in text and "root:x:0:0" not in text, (sql, text)
        if text.startswith("ERROR"):  # messages never show a path
            assert str(secret_file.parent) not in text and "/etc" not in text, (sql, text)
    assert list(out.iterdir()) == []  # nothing written
    assert state(box) == before  # rows, catalog, settings, extensions, version
    assert "RESULT [(False, True, False)]" == outcome(  # and the worker is still locked down
        box, "SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), "
             "current_setting('autoload_known_extensions')")


def test_the_worker_process_itself_is_bounded(box, monkeypatch):
    monkeypatch.setenv("CX_TEST_SECRET", SECRET)
    sqlbox.run(box, "SELECT 1", dataset="t", max_memory_mb=MEM)
    (pid,) = idle_workers(box)
    env = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    assert SECRET not in env and "CX_TEST_SECRET" not in env  # nothing of the app's environment
    limits = Path(f"/proc/{pid}/limits").read_text()
    line = next(ln for ln in limits.splitlines() if ln.startswith("Max address space"))
    assert "unlimited" not in line  # RLIMIT_AS is set
    assert Path(os.readlink(f"/proc/{pid}/cwd")).parent == box._sqlbox.snapshots.tmp  # a private directory
    files = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    assert str(box.path) not in files  # the app's database is not open in the worker: a snapshot is


def test_error_messages_show_no_paths():
    assert clean_message('IO Error: Cannot open file "/home/ana/.streamlit/secrets.toml": denied\n'
                         'root:x:0:0') == 'IO Error: Cannot open file "<path>": denied'
    assert clean_message("Binder Error: x\nCandidate bindings: \"TOP\"") == "Binder Error: x"
    assert clean_message("Division 1/0 at ds_1.interactions") == "Division 1/0 at ds_1.interactions"
    assert clean_message("file:///etc/passwd and C:\\Users\\x") == "<path> and <path>"


# -- memory bombs and runaway queries kill the worker, never the app ------------------------------------
BOMBS = [
    "SELECT len(range(2000000000)) AS n",
    "SELECT repeat('x', 4294967295) AS s",
    "SELECT len(list_value(range(100000000), range(100000000), range(100000000))) AS n",
    "SELECT length(regexp_replace(repeat('ab', 500000000), 'a', 'c', 'g')) AS n",
    "SELECT list(range) AS l FROM range(2000000000)",
]


@pytest.mark.parametrize("bomb", BOMBS)
def test_a_memory_bomb_kills_its_worker_not_the_app(box, bomb):
    assert sqlbox.run(box, "SELECT 1 AS one", dataset="t", max_memory_mb=MEM).frame.item() == 1
    (pid,) = idle_workers(box)
    rss0, t0 = own_rss_mb(), time.monotonic()
    with pytest.raises(cx.QueryError, match=f"more than {MEM} MB of memory and was stopped"):
        sqlbox.run(box, bomb, dataset="t", max_memory_mb=MEM, timeout_s=LIMIT)
    assert time.monotonic() - t0 < LIMIT + SLACK
    assert not alive(pid)  # the worker is gone
    assert own_rss_mb() - rss0 < 200  # the app did not grow
    assert box.query("SELECT count(*) FROM interactions", dataset="t").item() == 4  # a fresh worker answers


def test_a_runaway_query_is_killed_at_the_time_limit(box):
    box.query("SELECT 1", dataset="t", timeout_s=2)
    (pid,) = idle_workers(box)
    t0 = time.monotonic()
    with pytest.raises(cx.QueryError, match="longer than 2 s and was stopped"):
        box.query("SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE (a.range * b.range) % 7 = 3",
                  dataset="t", timeout_s=2)
    assert time.monotonic() - t0 < 2 + SLACK
    assert not alive(pid)
    assert box.query("SELECT count(*) FROM interactions", dataset="t").item() == 4


def test_a_worker_that_grew_is_not_reused(box, monkeypatch):
    """DuckDB and the allocator keep memory after a big query (100-200 MB here, varying), and the
    budget is counted from the worker's start-up size: a worker that grew by more than a share of
    its budget (a quarter; 5 % = 20 MB in this test, so that the growth surely passes it) is ended
    rather than reused, and the next query gets the whole budget in a fresh worker."""
    from cx.sqlbox import pool

    monkeypatch.setattr(pool, "REUSE_GROWTH", 0.05)
    sqlbox.run(box, "SELECT 1", dataset="t", max_memory_mb=400)
    (small,) = idle_workers(box)  # a small query leaves its worker warm
    big = sqlbox.run(box, "SELECT count(*) AS n FROM (SELECT DISTINCT range FROM range(12000000))", dataset="t",
                     max_memory_mb=400, timeout_s=60)
    assert big.frame.item() == 12_000_000
    assert idle_workers(box) == [] and not alive(small)
    rows = sqlbox.run(box, "SELECT range, 'row ' || range AS s FROM range(1000000)", dataset="t",
                      max_memory_mb=400, timeout_s=60, max_rows=1_000_000)
    assert rows.frame.height == 1_000_000 and rows.frame["s"][999_999] == "row 999999"


def test_the_app_keeps_answering_while_bombs_run(box):
    """A runaway query (6 s) and memory bombs one after the other meanwhile; plain queries are
    answered all along, each well within a generous 5 s, and the app stays small."""
    rss0 = own_rss_mb()
    errors = []
    runaway_done = threading.Event()

    def runaway():
        try:
            sqlbox.run(box, "SELECT count(*) FROM range(100000000) a, range(100000000) b", dataset="t",
                       max_memory_mb=MEM, timeout_s=6)
        except cx.QueryError as e:
            errors.append(str(e))
        runaway_done.set()

    def bombs():
        while not runaway_done.is_set():
            for bomb in BOMBS:
                try:
                    sqlbox.run(box, bomb, dataset="t", max_memory_mb=MEM, timeout_s=LIMIT)
                except cx.QueryError as e:
                    errors.append(str(e))

    threads = [threading.Thread(target=runaway), threading.Thread(target=bombs)]
    for t in threads:
        t.start()
    answers = []
    while any(t.is_alive() for t in threads):
        t0 = time.monotonic()
        answers.append((box.query("SELECT sum(amount) FROM interactions", dataset="t").item(), time.monotonic() - t0))
    for t in threads:
        t.join()
    assert sum("longer than 6 s" in e for e in errors) == 1
    assert sum(f"more than {MEM} MB" in e for e in errors) >= len(BOMBS)
    assert len(answers) >= 3 and all(v == 160 and s < 5 for v, s in answers), answers
    assert own_rss_mb() - rss0 < 200


def test_workers_end_with_the_store_and_with_the_app(box, tmp_path):
    box.query("SELECT 1", dataset="t")
    (pid,) = idle_workers(box)
    box.close()
    assert not alive(pid)
    # the app killed with -9: its workers notice and exit (no orphans)
    code = ("import sys, time, cx\n"
            "s = cx.open(sys.argv[1])\n"
            "s.query('SELECT 1', dataset='t')\n"
            "print(s._sqlbox.pool.pids()[0], flush=True)\n"
            "time.sleep(120)\n")
    app = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "box.duckdb")], cwd=ROOT,
                           stdout=subprocess.PIPE, text=True)
    try:
        child = int(app.stdout.readline())
        assert alive(child)
    finally:
        app.kill()
        app.wait()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)


# -- snapshots --------------------------------------------------------------------------------------
def snapshot_dirs(store) -> list[str]:
    return sorted(p.name for p in store._sqlbox.snapshots.root.iterdir() if p.name.startswith("ds_"))


def test_a_snapshot_per_dataset_version(box, write):
    assert box.query("SELECT count(*) FROM interactions", dataset="t").item() == 4
    v = box.version("t")
    (first,) = snapshot_dirs(box)
    assert first.startswith(f"ds_{box.dataset('t').id}_v{v}_")
    assert Path(str(box.path) + ".sqlbox") == box._sqlbox.snapshots.root  # next to the database
    box.import_file(write("n.csv", "customer_id,timestamp,touchpoint\nn,2025-02-01,homepage\n"), dataset="t",
                    mode="append")
    assert box.query("SELECT count(*) FROM interactions", dataset="t").item() == 5  # the new version
    assert box.query("SELECT version FROM cx_meta.datasets", dataset="t").item() == v + 1
    (second,) = snapshot_dirs(box)  # the old one removed
    assert second.startswith(f"ds_{box.dataset('t').id}_v{v + 1}_")
    box.rename_dataset("t", "renamed")  # no version bump, but the name is in the snapshot
    assert box.query("SELECT name FROM cx_meta.datasets", dataset="renamed").item() == "renamed"


def test_other_datasets_are_not_reachable(box, write):
    box.import_file(write("o.csv", "customer_id,timestamp,touchpoint\nz,2025-01-01,homepage\n"), dataset="other")
    other = box.dataset("other").schema
    with pytest.raises(cx.QueryError, match="does not exist"):
        box.query(f"SELECT count(*) FROM {other}.interactions", dataset="t")
    assert box.query("SELECT name FROM cx_meta.datasets", dataset="t").rows() == [("t",)]
    assert box.query(f"SELECT count(*) FROM {other}.interactions", dataset="other").item() == 1
    # no dataset and no default dataset (notebooks): every dataset, by its ds_N name
    assert box.query(f"SELECT count(*) FROM {other}.interactions").item() == 1
    assert box.query("SELECT name FROM cx_meta.datasets ORDER BY id").rows() == [("t",), ("other",)]


def test_sessions_asking_at_once_build_the_snapshot_once(box, monkeypatch):
    builds = []
    real = snapshot.Snapshots._build

    def counting(self, store, ds_id):
        builds.append(ds_id)
        time.sleep(0.3)  # a slow copy: the others arrive meanwhile
        return real(self, store, ds_id)

    monkeypatch.setattr(snapshot.Snapshots, "_build", counting)
    got, errors = [], []

    def ask():
        try:
            got.append(box.query("SELECT count(*) FROM interactions", dataset="t").item())
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and got == [4] * 4 and len(builds) == 1


def test_a_failed_build_leaves_nothing_behind(box, monkeypatch):
    monkeypatch.setattr(snapshot, "META_TABLES", ("datasets", "no_such_table"))
    with pytest.raises(cx.QueryError, match="could not copy the dataset"):
        box.query("SELECT 1", dataset="t")
    assert [p.name for p in box._sqlbox.snapshots.root.iterdir()] == ["tmp"]
    monkeypatch.undo()
    assert box.query("SELECT count(*) FROM interactions", dataset="t").item() == 4


def test_a_build_killed_midway_is_never_used(box, tmp_path):
    """kill -9 of the app between the copy and its rename: the half-made directory is swept and the
    next app builds its own."""
    path = box.path
    box.close()
    code = ("import os, sys, time, cx\n"
            "def stop(*a):\n"
            "    print('copied', flush=True)\n"
            "    time.sleep(120)\n"
            "os.rename = stop\n"
            "s = cx.open(sys.argv[1])\n"
            "s.query('SELECT 1', dataset='t')\n")
    app = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout.readline().strip() == "copied"
    finally:
        app.kill()
        app.wait()
    root = Path(str(path) + ".sqlbox")
    assert [p.name for p in root.iterdir() if p.name.startswith(".build-")]  # left by the killed app
    s = cx.open(path)
    try:
        assert s.query("SELECT count(*) FROM interactions", dataset="t").item() == 4
        names = [p.name for p in root.iterdir()]
        assert not [n for n in names if n.startswith(".build-")] and len([n for n in names if n.startswith("ds_")]) == 1
    finally:
        s.close()


def test_an_in_memory_store_uses_a_private_directory(write):
    s = cx.open(":memory:")
    s.import_file(write("e.csv", EVENTS), dataset="t")
    assert s.query("SELECT count(*) FROM interactions", dataset="t").item() == 4
    root = s._sqlbox.snapshots.root
    assert root.exists() and oct(root.stat().st_mode & 0o777) == "0o700"
    s.close()
    assert not root.exists()


def test_the_spill_directory_is_the_only_writable_place_and_it_is_bounded(box, monkeypatch):
    """DuckDB keeps its temp directory writable after enable_external_access = false. Only a statement
    past the checks could write there (COPY and current_setting are refused), and no file can grow
    beyond the spill cap (RLIMIT_FSIZE; 1 MB here)."""
    monkeypatch.setattr(sqlbox, "MAX_TEMP_MB", 1)
    guard_off(monkeypatch)
    tmp = box.query("SELECT current_setting('temp_directory') AS t", dataset="t").item()
    assert Path(tmp).parent == box._sqlbox.snapshots.tmp
    with pytest.raises(cx.QueryError):
        box.query(f"COPY (SELECT repeat('x', 1000) AS s FROM range(5000)) TO '{tmp}/big.csv'", dataset="t")
    big = Path(tmp) / "big.csv"
    assert not big.exists() or big.stat().st_size <= 2**20
