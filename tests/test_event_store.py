"""The customer-ordered event store (cx.eventstore.build_events): merged by an append into exactly
the store a fresh import of both files builds (row for row, codes included), survives a kill -9
during its build (the previous version stays usable and right), and its build time is in the import
report."""
import signal
import subprocess
import sys
import textwrap
import time

import polars as pl
import pytest

import cx
from cx import journey as J
from cx.data import of
from cx.journey import kernels as K
from tests.conftest import ROOT

HEAD = "customer_id,timestamp,touchpoint,stage,channel,session_id,amount\n"
FIRST = HEAD + ("b,2025-01-02T09:00:00Z,social_ad,discover,social,S1,\n"
                "a,2025-01-01T09:00:00Z,social_ad,discover,social,S1,\n"
                "a,2025-01-01T10:00:00Z,product_page,consider,web,S1,\n"
                "b,2025-01-02T09:00:00Z,product_page,consider,web,S1,\n")
SECOND = HEAD + ("a,2025-01-01T10:00:00Z,pricing_page,evaluate,web,S1,\n"  # ties a's consider: after it (file order)
                 "c,2025-01-03T09:00:00Z,order_placed,purchase,store,,40\n"
                 "b,2025-01-01T08:00:00Z,homepage,consider,email,,\n"      # before b's first rows
                 "a,2025-01-05T09:00:00Z,order_placed,purchase,web,S2,99\n")
STEPS = ["discover", "consider", "evaluate", "purchase"]


def events_frame(s, dataset):
    """The event store decoded (customer, timestamp, touchpoint, stage, channel, amount), in its row order."""
    ds = s.dataset(dataset)
    return s.con.sql(f"""
        SELECT k.customer_id, e.timestamp, dt.value AS touchpoint, e.stage, dc.value AS channel, e.amount
        FROM {ds.schema}._events e JOIN {ds.schema}._events_customers k USING (c)
        LEFT JOIN (SELECT * FROM {ds.schema}._events_dict WHERE dim = 'touchpoint') dt ON dt.code = e.touchpoint
        LEFT JOIN (SELECT * FROM {ds.schema}._events_dict WHERE dim = 'channel') dc ON dc.code = e.channel
        ORDER BY e.c, e.timestamp, e._seq""").pl()


def store_row(s, dataset):
    ds = s.dataset(dataset)
    return s.con.sql("SELECT version, rows FROM cx_meta.event_stores WHERE dataset_id = $id",
                     params={"id": ds.id}).fetchall()


def test_append_rebuilds_the_store_as_a_fresh_import_of_both_files(store, write):
    store.import_file(write("a.csv", FIRST), dataset="appended")
    store.import_file(write("b.csv", SECOND), dataset="appended", mode="append")
    store.import_file(write("ab.csv", FIRST + SECOND[len(HEAD):]), dataset="fresh")
    assert store_row(store, "appended") == [(store.version("appended"), 8)]
    assert store_row(store, "fresh") == [(store.version("fresh"), 8)]
    got, want = events_frame(store, "appended"), events_frame(store, "fresh")
    assert got.height == want.height == 8
    assert got.equals(want)
    assert got["customer_id"].to_list() == ["a"] * 4 + ["b"] * 3 + ["c"]
    assert got.filter(pl.col("customer_id") == "a")["touchpoint"].to_list() == [
        "social_ad", "product_page", "pricing_page", "order_placed"]
    for name in ("appended", "fresh"):
        d = of(store, dataset=name)
        ev = d.events()
        assert ev is not None and len(ev.col("starts")) == 4  # three customers
        fast = J.funnel(store, STEPS, field="stage", dataset=name)
        with K.off():
            slow = J.funnel(store, STEPS, field="stage", dataset=name)
        assert fast.equals(slow)
        assert fast["count"].to_list() == [2, 2, 1, 1]  # a: all four; b: discover, consider


def raw_store(s, dataset):
    """The event store's three tables as they are stored (codes, not values), in row order."""
    sch = s.dataset(dataset).schema
    return (s.con.sql(f"SELECT * FROM {sch}._events ORDER BY c, timestamp, _seq").pl(),
            s.con.sql(f"SELECT * FROM {sch}._events_customers ORDER BY c").pl(),
            s.con.sql(f"SELECT * FROM {sch}._events_dict ORDER BY dim, code").pl())


MERGE_CASES = {
    # new customers sorting before, between and after the old ones; new touchpoints and channels
    # between the old values; the appended file adds columns the first lacked (direction, incident)
    "renumbered": ("customer_id,timestamp,touchpoint,channel\nb,2025-01-02,m_tp,web\nd,2025-01-03,m_tp,store\n"
                   "d,2025-01-01,z_tp,web\n",
                   "customer_id,timestamp,touchpoint,channel,direction,incident,amount\n"
                   "a,2025-01-05,a_tp,email,inbound,true,5\nc,2025-01-02,n_tp,phone,outbound,false,\n"
                   "e,2025-01-01,m_tp,web,,,7\nb,2025-01-02,m_tp,aaa,inbound,,\n"),
    # nothing new to number: the old rows keep their codes, new rows interleave by time (and file order)
    "same codes": ("customer_id,timestamp,touchpoint,channel,session_id\na,2025-01-02,x,web,S1\n"
                   "b,2025-01-03,y,store,\n",
                   "customer_id,timestamp,touchpoint,channel,session_id\nb,2025-01-01,x,web,S9\n"
                   "a,2025-01-02,y,store,S1\na,2025-01-01,x,web,\n"),
    # the first file has no channel column at all: the append brings the dimension
    "new dimension": ("customer_id,timestamp,touchpoint\nb,2025-01-02,x\n",
                      "customer_id,timestamp,touchpoint,channel\na,2025-01-01,y,web\nb,2025-01-01,x,store\n"),
}


@pytest.mark.parametrize("case", list(MERGE_CASES))
def test_an_append_merges_into_the_store_a_fresh_build_makes(store, write, case, monkeypatch):
    first, second = MERGE_CASES[case]
    from cx import eventstore

    merged = []
    real = eventstore._merge
    monkeypatch.setattr(eventstore, "_merge", lambda *a: merged.append(1) or real(*a))
    store.import_file(write("1.csv", first), dataset="t")
    store.import_file(write("2.csv", second), dataset="t", mode="append")
    assert merged == [1] and store_row(store, "t")[0][0] == store.version("t")  # merged, not rebuilt
    got = raw_store(store, "t")
    with store.transaction() as con:  # the same interactions built from scratch
        eventstore.build_events(con, store.dataset("t"), store.version("t"))
    assert merged == [1]
    want = raw_store(store, "t")
    for g, w in zip(got, want):
        assert g.equals(w), (g, w)
    assert got[0].height == len(first.splitlines()) + len(second.splitlines()) - 2
    steps = ["m_tp", "a_tp"] if case == "renumbered" else ["x", "y"]
    store.__dict__.pop("_event_builds", None)
    fast = J.funnel(store, steps, field="touchpoint", dataset="t")
    with K.off():
        slow = J.funnel(store, steps, field="touchpoint", dataset="t")
    assert fast.equals(slow)


def test_import_report_shows_the_build_time(store, write):
    rep = store.import_file(write("a.csv", FIRST), dataset="t")
    assert rep.events_seconds is not None and 0 < rep.events_seconds < rep.seconds
    assert "building the journey event store" in rep.summary()
    cust = store.import_file(write("c.csv", "customer_id,persona\na,Researcher\n"), kind="customers", dataset="t")
    assert cust.events_seconds is None and "event store" not in cust.summary()
    # a customers import changes the version but not the interactions: the store stays current
    assert store_row(store, "t") == [(store.version("t"), 4)]
    assert of(store, dataset="t").events() is not None


def test_stage_rule_change_rebuilds_the_codes(store, write):
    store.import_file(write("e.csv", "customer_id,timestamp,touchpoint\na,2025-01-01,social_ad\n"
                                     "a,2025-01-02,mystery_box\na,2025-01-03,order_placed\n"), dataset="t")
    before = J.funnel(store, ["discover", "evaluate"], field="stage", dataset="t")["count"].to_list()
    store.set_stage_rules([("social", "discover"), ("mystery", "evaluate")], dataset="t")
    assert store_row(store, "t")[0][0] == store.version("t")
    fast = J.funnel(store, ["discover", "evaluate"], field="stage", dataset="t")
    with K.off():
        slow = J.funnel(store, ["discover", "evaluate"], field="stage", dataset="t")
    assert fast.equals(slow)
    assert before == [1, 0] and fast["count"].to_list() == [1, 1]


def test_a_database_without_a_store_falls_back_then_builds_one(store, write):
    store.import_file(write("a.csv", FIRST), dataset="t")
    ds = store.dataset("t")
    store.con.sql("DELETE FROM cx_meta.event_stores")  # as a database from before the event store
    store.__dict__.pop("_event_builds", None)
    assert of(store, dataset="t").events() is None  # the Ibis path
    slow = J.funnel(store, STEPS, field="stage", dataset="t")
    assert store.build_event_store("t") > 0
    assert store.build_event_store("t") == 0.0  # current already
    store.__dict__.pop("_event_builds", None)
    assert of(store, dataset="t").events() is not None
    assert J.funnel(store, STEPS, field="stage", dataset="t").equals(slow)
    assert ds.version == store.version("t")


# -- kill -9 during the build ---------------------------------------------------------------------
HOOK = textwrap.dedent("""
    import sys, time
    import cx
    import cx.ingest.land as land
    real = land.build_events
    def slow_build(*a, **k):
        s = real(*a, **k)  # the new store's tables are written, the transaction not committed
        print("BUILT-NOT-COMMITTED", file=sys.stderr, flush=True)
        time.sleep(120)
        return s
    land.build_events = slow_build
    s = cx.open(sys.argv[1])
    s.import_file(sys.argv[2], dataset="t", mode="append")
""")


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    p = tmp_path_factory.mktemp("killev") / "big.csv"
    n = 1_000_000
    pl.DataFrame({"customer_id": (pl.int_range(0, n, eager=True) % 50_000).cast(pl.Utf8).str.replace(r"^", "z"),
                  "timestamp": ["2025-02-01T10:00:00Z"] * n, "touchpoint": ["order_placed"] * n,
                  "amount": pl.int_range(0, n, eager=True).cast(pl.Float64)}).write_csv(p)
    return p


@pytest.mark.parametrize("how", ["hook", "phase"])
def test_sigkill_during_the_build_keeps_the_previous_store(tmp_path, write, big_csv, how):
    db = tmp_path / "k.duckdb"
    s = cx.open(db)
    s.import_file(write("a.csv", FIRST + SECOND[len(HEAD):]), dataset="t")
    version = s.version("t")
    want = J.funnel(s, STEPS, field="stage", dataset="t")
    s.close()
    if how == "hook":  # deterministic: killed after the build wrote its tables, before the commit
        cmd, marker, wait = [sys.executable, "-c", HOOK, str(db), str(big_csv)], "BUILT-NOT-COMMITTED", 0.0
    else:  # the real CLI, killed shortly after its progress says the build started
        cmd = [sys.executable, "-m", "cx", "--db", str(db), "import", str(big_csv), "--dataset", "t", "--mode", "append"]
        marker, wait = "Building the journey event store", 0.05
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline, seen = time.time() + 180, []
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            time.sleep(wait)
            break
        assert time.time() < deadline
    else:
        pytest.fail(f"never saw {marker!r}: {seen}")
    assert proc.poll() is None, f"the import finished before it could be killed: {seen}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    s = cx.open(db)
    try:
        assert s.version("t") == version
        assert store_row(s, "t") == [(version, 8)]  # the previous version's store, current
        ev = of(s, dataset="t").events()
        assert ev is not None and len(ev.col("_seq")) == 8  # the kernel path runs, on the previous rows
        fast = J.funnel(s, STEPS, field="stage", dataset="t")
        with K.off():
            slow = J.funnel(s, STEPS, field="stage", dataset="t")
        assert fast.equals(want) and slow.equals(want)
        assert want["count"].to_list() == [2, 2, 1, 1]
    finally:
        s.close()


def test_numba_cache_dir_falls_back_to_a_writable_one(tmp_path, monkeypatch):
    import os

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # the user data directory cannot be made under a file (even as root)
    monkeypatch.setattr("platformdirs.user_data_dir", lambda *a, **k: str(blocker / "cxloop"))
    got = K.cache_dir()
    assert "cxloop-numba" in got and os.access(got, os.W_OK)
    monkeypatch.setattr("platformdirs.user_data_dir", lambda *a, **k: str(tmp_path / "data" / "cxloop"))
    assert K.cache_dir() == str(tmp_path / "data" / "cxloop" / "numba")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert K.cache_dir() == str(tmp_path / "mine")
