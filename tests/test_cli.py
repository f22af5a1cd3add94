import subprocess
import sys

from tests.conftest import ROOT


def run(*args):
    return subprocess.run([sys.executable, "-m", "cx", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_cli_import_datasets_report(tmp_path):
    f = tmp_path / "ev.csv"
    f.write_text("user,ts,what,revenue\nu1,2025-01-01,homepage,\nu1,2025-01-02,order_placed,10\nu2,bad,x,\n")
    db = str(tmp_path / "c.duckdb")
    out = run("--db", db, "import", str(f), "--kind", "interactions", "--map", "user=customer_id",
              "--map", "ts=timestamp", "--map", "what=touchpoint", "--dataset", "web",
              "--errors", str(tmp_path / "err.csv"))
    assert out.returncode == 0, out.stderr
    assert "3 rows read, 2 accepted, 1 rejected" in out.stdout
    assert (tmp_path / "err.csv").read_text().splitlines()[1] == "4,ts,bad,cannot read as a date/time"
    out = run("--db", db, "datasets")
    assert "web" in out.stdout and "2" in out.stdout
    out = run("--db", db, "report", "--dataset", "web")
    assert "1 customers, 2 touchpoints, 1 purchases" in out.stdout


def test_cli_errors_are_messages_not_tracebacks(tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("")
    out = run("--db", str(tmp_path / "c.duckdb"), "import", str(f))
    assert out.returncode == 2 and out.stderr.startswith("error:") and "Traceback" not in out.stderr


def test_cli_generate_then_import_the_folder(tmp_path):
    out = run("generate", "--customers", "300", "--seed", "3", "--out", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    assert "generated 300 customers" in out.stdout
    names = sorted(p.name for p in (tmp_path / "d").iterdir())
    assert names == ["customers.csv", "feedback.csv", "interactions.csv", "truth.json", "truth_customers.csv"]
    out = run("--db", str(tmp_path / "c.duckdb"), "demo", "--folder", str(tmp_path / "d"), "--dataset", "g")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("0 rejected") == 3
