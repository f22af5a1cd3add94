"""The shipped demo data is exactly what the generator writes: sample_data/ (5,000 customers, seed 42,
as `python -m cx generate --customers 5000 --seed 42 --out sample_data` makes it) byte for byte.
This guards the order of the random draws in cx/sample/: moving one draw changes every file."""
from __future__ import annotations

from pathlib import Path

import pytest

from cx.sample import generate, write

ROOT = Path(__file__).resolve().parent.parent
FILES = ("interactions.csv", "customers.csv", "feedback.csv", "truth_customers.csv", "truth.json")

pytestmark = pytest.mark.filterwarnings("ignore:Sortedness of columns cannot be checked")


def test_generator_writes_the_shipped_sample_data_byte_for_byte(tmp_path):
    paths = write(generate(n_customers=5000, seed=42), tmp_path)
    assert sorted(Path(p).name for p in paths.values()) == sorted(FILES)
    for name in FILES:
        shipped = (ROOT / "sample_data" / name).read_bytes()
        made = (tmp_path / name).read_bytes()
        assert len(made) == len(shipped), name
        assert made == shipped, name
