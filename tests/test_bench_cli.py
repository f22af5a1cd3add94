"""`make bench` = `python -m bench` with no argument: every suite, both sizes (parsing only: the
benchmarks themselves run in bench/, never in the tests)."""
import subprocess
import sys

from bench.__main__ import parse
from tests.conftest import ROOT


def test_no_argument_means_every_suite_at_both_sizes():
    a = parse([])
    assert a.what[:4] == ["import", "funnel", "flows", "pages"]
    assert {"clv", "segments", "load", "voc", "spark", "loyalty", "lifecycle"} <= set(a.what)
    assert a.sizes == [1_000_000, 10_000_000] and a.repeat == 3


def test_chosen_suites_and_sizes():
    a = parse(["clv", "segments", "--touchpoints", "1M", "--repeat", "5"])
    assert a.what == ["clv", "segments"] and a.sizes == [1_000_000] and a.repeat == 5


def test_the_command_line_parses_without_arguments():
    out = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "default: all" in out.stdout


def test_an_unknown_suite_is_refused_with_the_list():
    out = subprocess.run([sys.executable, "-m", "bench", "nonsense"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "unknown suite nonsense" in out.stderr and "segments" in out.stderr
