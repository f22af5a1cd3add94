"""The closed loop does not lose work (issue 24): two sessions saving the same case (the stale one is
refused, never overwritten), many threads at once, the rules run twice at once, and kill -9 in the
middle of a stream of saves (everything committed is there, history and versions agree)."""
import signal
import subprocess
import sys
import threading
import time

import polars as pl

import cx
from cx import cases
from tests.conftest import ROOT
from tests.test_cases import EVENTS, FEEDBACK


def _small(store, write):
    store.import_file(write("i.csv", EVENTS), kind="interactions", dataset="t")
    store.import_file(write("f.csv", FEEDBACK), kind="feedback", dataset="t")
    return cases.cases(store, "t").sort("id")


def test_two_sessions_on_one_case_the_stale_save_is_refused(tmp_path, write):
    a = cx.open(tmp_path / "x.duckdb")
    c = _small(a, write).row(0, named=True)
    b = cx.open(tmp_path / "x.duckdb")  # a second session on the same file
    seen_a, seen_b = cases.case(a, "t", c["id"]), cases.case(b, "t", c["id"])
    cases.update_case(a, "t", c["id"], seen_a["version"], "Ana", status="in_progress", note="calling")
    try:
        cases.update_case(b, "t", c["id"], seen_b["version"], "Ben", status="wont_fix")
        raise AssertionError("the stale save went through")
    except cases.StaleVersion as e:
        assert "changed by Ana" in str(e) and "not saved" in str(e)
    row = cases.case(b, "t", c["id"])
    assert row["status"] == "in_progress" and row["version"] == 2
    assert [w for w in cases.history(b, "t", "case", c["id"])["who"].to_list() if w == "Ben"] == []
    a.close(), b.close()


def test_many_threads_saving_one_case_lose_no_update(store, write):
    c = _small(store, write).row(0, named=True)
    wins, refusals, errors = [], [], []

    def worker(name):
        for _ in range(15):
            try:
                v = cases.case(store, "t", c["id"])["version"]
                cases.update_case(store, "t", c["id"], v, name, note=f"{name} was here")
                wins.append(name)
            except cases.StaleVersion:
                refusals.append(name)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    ts = [threading.Thread(target=worker, args=(f"p{i}",)) for i in range(4)]
    [t.start() for t in ts]
    [t.join(120) for t in ts]
    assert not errors, errors
    row = cases.case(store, "t", c["id"])
    notes = cases.history(store, "t", "case", c["id"]).filter(pl.col("field") == "note")
    assert row["version"] == 1 + len(wins) and notes.height == len(wins)  # every accepted save is there, once
    assert len(wins) + len(refusals) == 60


def test_the_rules_run_twice_at_once_open_nothing_twice(store, write):
    n = _small(store, write).height
    store.con.sql("DELETE FROM cx_meta.loop_cases")
    store.con.sql("DELETE FROM cx_meta.loop_marks")
    store.con.sql("DELETE FROM cx_meta.loop_settings WHERE key = 'last_evaluation'")  # as if never run
    ts = [threading.Thread(target=cases.evaluate, args=(store, "t")) for _ in range(3)]
    [t.start() for t in ts]
    [t.join(120) for t in ts]
    c = cases.cases(store, "t")
    assert c.height == n and c.select("customer_id", "reason").is_unique().all()


SAVER = """
import sys, cx
from cx import cases
s = cx.open(sys.argv[1])
cid = int(sys.argv[2])
i = 0
while True:
    v = cases.case(s, "t", cid)["version"]
    cases.update_case(s, "t", cid, v, "saver", note=f"note {i}")
    print(f"committed {v + 1}", flush=True)
    i += 1
"""


def test_kill_9_during_saves_loses_nothing_committed(tmp_path, write):
    db = tmp_path / "k.duckdb"
    s = cx.open(db)
    cid = _small(s, write)["id"][0]
    s.close()
    proc = subprocess.Popen([sys.executable, "-c", SAVER, str(db), str(cid)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    committed = 0
    deadline = time.time() + 120
    for line in proc.stdout:
        committed = int(line.split()[1])
        if committed >= 25:
            break
        assert time.time() < deadline
    proc.send_signal(signal.SIGKILL)  # in the middle of the next saves
    proc.wait(30)
    s = cx.open(db)  # opens cleanly (the WAL replayed or discarded)
    row = cases.case(s, "t", cid)
    notes = cases.history(s, "t", "case", cid).filter(pl.col("field") == "note")
    assert row["version"] >= committed  # nothing reported as committed is lost
    assert notes.height == row["version"] - 1  # the case and its history moved together (one transaction)
    assert sorted(int(n.split()[1]) for n in notes["new"].to_list()) == list(range(row["version"] - 1))
    v = cases.update_case(s, "t", cid, row["version"], "after", status="resolved")
    assert v == row["version"] + 1
    s.close()
