"""A killed import (SIGKILL, at any moment) leaves the previous data intact and the file clean."""
import signal
import subprocess
import sys
import time

import polars as pl
import pytest

import cx
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    p = tmp_path_factory.mktemp("kill") / "big.csv"
    n = 1_500_000
    pl.DataFrame({"customer_id": pl.int_range(0, n, eager=True).cast(pl.Utf8).str.replace(r"^", "c"),
                  "timestamp": ["2025-01-01T10:00:00Z"] * n, "touchpoint": ["homepage"] * n,
                  "amount": pl.int_range(0, n, eager=True).cast(pl.Float64)}).write_csv(p)
    return p


@pytest.mark.parametrize("phase,wait", [("Reading big.csv", 0.05), ("checking every row", 1.0),
                                        ("Importing", 0.1)])
def test_sigkill_mid_import_keeps_previous_data(tmp_path, write, big_csv, phase, wait):
    db = tmp_path / "k.duckdb"
    s = cx.open(db)
    s.import_file(write("small.csv", "customer_id,timestamp,touchpoint\nold,2025-01-01,homepage\n"), dataset="t")
    version = s.version("t")
    s.close()
    proc = subprocess.Popen([sys.executable, "-m", "cx", "--db", str(db), "import", str(big_csv), "--dataset", "t"],
                            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.time() + 120
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if phase in line:
            time.sleep(wait)  # inside the phase
            break
        assert time.time() < deadline
    else:
        pytest.fail(f"never saw the phase {phase!r}: {seen}")
    assert proc.poll() is None, f"the import finished before it could be killed: {seen}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    s = cx.open(db)  # opens cleanly (replays or discards the WAL)
    assert s.version("t") == version
    ds = s.dataset("t")
    assert s.con.sql(f"SELECT customer_id FROM {ds.schema}.interactions").fetchall() == [("old",)]
    assert s.con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%__new'").fetchall()[0][0] == 0
    rep = s.import_file(write("again.csv", "customer_id,timestamp,touchpoint\nnew,2025-01-02,homepage\n"),
                        dataset="t", mode="append")
    assert rep.accepted == 1 and s.version("t") == version + 1
    s.close()
