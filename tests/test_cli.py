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


def _no_traceback(out, *words):
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr.strip().splitlines()[-1].startswith("error:"), out.stderr  # after the progress lines
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    for w in words:
        assert w in out.stderr, out.stderr


def test_cli_raw_errors_are_messages_with_exit_code_2(tmp_path):
    import gzip

    db = str(tmp_path / "c.duckdb")
    data = gzip.compress(b"customer_id,timestamp,touchpoint\n" + b"c1,2025-01-01,homepage\n" * 50)
    (tmp_path / "t.csv.gz").write_bytes(data[: len(data) // 2])
    _no_traceback(run("--db", db, "import", str(tmp_path / "t.csv.gz")), "truncated or damaged gzip")
    _no_traceback(run("--db", db, "import", str(tmp_path / "missing.csv")), "There is no file")
    # raw errors that reach the command line itself (the import is patched to raise them)
    f = tmp_path / "ok.csv"
    f.write_text("customer_id,timestamp,touchpoint\nc1,2025-01-01,homepage\n")
    for raise_ in ("OSError(errno.ENOSPC, 'No space left on device')", "EOFError('Compressed file ended')",
                   "RecursionError('maximum recursion depth exceeded')"):
        code = ("import errno, sys\nimport cx.ingest as i\n"
                f"def boom(*a, **k):\n    raise {raise_}\n"
                "i.import_file = boom\nfrom cx.cli import main\nsys.exit(main(sys.argv[1:]))\n")
        out = subprocess.run([sys.executable, "-c", code, "--db", db, "import", str(f)], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
        _no_traceback(out, "disk is full" if "ENOSPC" in raise_ else raise_.split("(")[0])


def test_cli_duplicate_append_valid_dates_and_sheet(tmp_path):
    db = str(tmp_path / "c.duckdb")
    f = tmp_path / "ev.csv"
    f.write_text("customer_id,timestamp,touchpoint\nc1,2025-01-01,homepage\nc2,2019-06-01,homepage\n")
    out = run("--db", db, "import", str(f), "--dataset", "w", "--valid-from", "2020-01-01", "--valid-to", "2025-12-31")
    assert out.returncode == 0 and "2 rows read, 1 accepted, 1 rejected" in out.stdout, out.stderr
    assert "outside the plausible dates 2020-01-01 to 2025-12-31" in out.stdout
    _no_traceback(run("--db", db, "import", str(f), "--dataset", "w", "--mode", "append"),
                  "ev.csv was already imported", "--allow-duplicate")
    out = run("--db", db, "import", str(f), "--dataset", "w", "--mode", "append", "--allow-duplicate")
    assert out.returncode == 0 and "imported as interactions" in out.stdout, out.stderr
    import xlsxwriter

    book = tmp_path / "b.xlsx"
    wb = xlsxwriter.Workbook(book)
    wb.add_worksheet("First").write_row(0, 0, ["customer_id", "timestamp", "touchpoint"])
    s = wb.add_worksheet("Second")
    s.write_row(0, 0, ["customer_id", "timestamp", "touchpoint"])
    s.write_row(1, 0, ["x", "2025-02-01", "homepage"])
    wb.close()
    out = run("--db", db, "import", str(book), "--dataset", "x", "--sheet", "Second")
    assert out.returncode == 0 and "1 rows read, 1 accepted" in out.stdout, out.stderr
    assert "sheet 'Second' was read, not 'First'" in out.stdout


def test_cli_import_chooses_the_delimiter_and_gives_constants(tmp_path):
    f = tmp_path / "orders.txt"
    f.write_text("  customer_id  date  quantity  dollar_value\n  00001  19970101  1  11.77\n  00002  19970102  2  0\n")
    db = str(tmp_path / "c.duckdb")
    out = run("--db", db, "import", str(f), "--delimiter", "whitespace", "--constant", "touchpoint=order",
              "--constant", "channel=store", "--dataset", "cd", "--quiet")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "2 rows read, 2 accepted, 0 rejected" in lines[0]
    assert lines[1:4] == ["read as: CSV, utf-8, delimiter whitespace (runs of spaces or tabs)",
                          "mapping: customer_id -> customer_id, date -> timestamp, dollar_value -> amount, "
                          "'order' (constant) -> touchpoint, 'store' (constant) -> channel",
                          "attributes: quantity (number)"]
    # --map completes the suggestions; a constant replaces the suggestion for its column
    out = run("--db", db, "import", str(f), "--delimiter", "tab", "--constant", "touchpoint=order", "--dataset", "x")
    assert out.returncode == 2 and "required column(s) customer_id, timestamp of interactions are not mapped" in \
        out.stderr
    out = run("--db", db, "import", str(f), "--delimiter", "#", "--dataset", "x")
    assert out.returncode == 2 and out.stderr.startswith("error: '#' is not a delimiter the import reads")
    out = run("--db", db, "import", str(f), "--constant", "touchpoint", "--dataset", "x")
    assert out.returncode != 0 and "--constant takes COLUMN=VALUE pairs" in out.stderr


def test_cli_case_rules_for_cron_skip_unchanged_data_unless_forced(tmp_path):
    f = tmp_path / "fb.csv"
    f.write_text("customer_id,timestamp,metric,score\na,2025-03-01T10:00:00Z,nps,2\nb,2025-03-02T10:00:00Z,nps,9\n")
    db = str(tmp_path / "c.duckdb")
    assert run("--db", db, "import", str(f), "--kind", "feedback", "--dataset", "s").returncode == 0  # the hook ran
    out = run("--db", db, "cases", "--evaluate", "--dataset", "s")
    assert out.returncode == 0, out.stderr
    assert "those of the last run: nothing new to open" in out.stdout
    out = run("--db", db, "cases", "--evaluate", "--force", "--dataset", "s")
    assert out.returncode == 0, out.stderr
    assert "those of the last run" not in out.stdout and "Incident without follow-up: not run" in out.stdout
    assert "cases: new 1; open 1" in out.stdout  # a's detractor case, opened once by the import's hook
