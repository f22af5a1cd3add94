"""Hypothesis-generated files through the import: never an unhandled exception (only cx.CXError
with a message), and rows_read == accepted + rejected always; where the rows can be counted (a
well-formed CSV written by Python's csv module), rows_read is exactly that count. Temporary
copies made by the import are removed afterwards."""
import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cx

import os  # noqa: E402

EXAMPLES = int(os.environ.get("CX_FUZZ_EXAMPLES", "50"))  # raise it for a longer hunt
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
HEADERS = ["customer_id", "timestamp", "touchpoint", "channel", "amount", "sentiment", "Kunde", "Zeit", "ÿ", ""]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]


@pytest.fixture(scope="module")
def fz(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    s = cx.open(d / "fuzz.duckdb")
    yield s, d
    s.close()


def _import(store, path):
    try:
        rep = store.import_file(path, dataset="f", mode="replace")
    except cx.CXError as e:
        assert str(e).strip(), "a CXError without a message"
        return None
    assert rep.rows_read == rep.accepted + rep.rejected, rep
    assert rep.accepted >= 0 and rep.rejected >= 0
    return rep


def _leftovers():
    return {p.name for p in Path(tempfile.gettempdir()).glob("cx_import_*")}


@SETTINGS
@given(data=st.binary(min_size=0, max_size=3000))
def test_random_bytes(fz, data):
    store, d = fz
    p = d / "random.csv"
    p.write_bytes(data)
    _import(store, p)


@SETTINGS
@given(header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6),
       body=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=1500),
       prefix=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00"]))
def test_header_then_random_text(fz, header, body, prefix):
    store, d = fz
    p = d / "text.csv"
    p.write_bytes(prefix + (",".join(header) + "\n" + body).encode("utf-8"))
    _import(store, p)


FIELD = st.one_of(
    # no bare CR: a field holding one is only well-formed quoted, and Python's csv writer quotes
    # just the characters of its line terminator (files with bare CRs: test_header_then_random_text)
    st.text(st.characters(codec="latin-1", exclude_characters="\x00\r"), max_size=12),
    st.sampled_from(["", "2025-01-06T09:00:00Z", "06/01/2025 09:00", "2025-13-45", "12.5", "1,5", "-3",
                     "=cmd|' /C calc'!A0", "\"quoted\"", "a,b", "a;b", "line\nbreak", "x\r\ny", "NULL", "nan"]),
    st.integers(-10**6, 10**6).map(str),
)


@settings(SETTINGS, max_examples=max(EXAMPLES * 3 // 5, 10))
@given(n=st.integers(0, 40), delim=st.sampled_from([",", ";", "\t", "|"]),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
       enc=st.sampled_from(ENCODINGS), eol=st.sampled_from(["\n", "\r\n"]),
       extra=st.lists(st.sampled_from(["channel", "amount", "sentiment", "notes"]), unique=True, max_size=3),
       data=st.data())
def test_well_formed_csv_counts_every_row(fz, n, delim, quoting, enc, eol, extra, data):
    store, d = fz
    cols = ["customer_id", "timestamp", "touchpoint", *extra]
    rows = [[data.draw(FIELD) for _ in cols] for _ in range(n)]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, quoting=quoting, lineterminator=eol)
    w.writerow(cols)
    w.writerows(rows)
    p = d / "well.csv"
    p.write_bytes(buf.getvalue().encode(enc, errors="replace"))
    before = _leftovers()
    rep = _import(store, p)
    if n and rep is not None:
        assert rep.rows_read == n, (rep, buf.getvalue()[:500])
    assert _leftovers() <= before  # no temporary copy left behind


@settings(max_examples=max(EXAMPLES // 10, 4), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(n=st.integers(2_000, 40_000), seed=st.integers(0, 2**16))
def test_bigger_files_count_every_row(fz, n, seed):
    """Sizes past the sniffer's sample: bad rows deep in the file are still counted."""
    import random

    store, d = fz
    rnd = random.Random(seed)
    lines = ["customer_id,timestamp,touchpoint,amount"]
    for k in range(n):
        ts = "2025-01-06T09:00:00Z" if rnd.random() > 0.01 else "not a time"
        lines.append(f"c{k},{ts},tp{k % 7},{rnd.choice(['1', '-2.5', '', 'x'])}")
    p = d / "big.csv"
    p.write_text("\n".join(lines) + "\n")
    rep = _import(store, p)
    assert rep is not None and rep.rows_read == n


def test_cr_only_line_endings_are_handled(fz):
    store, d = fz
    p = d / "cr.csv"
    p.write_bytes(b"customer_id,timestamp,touchpoint\ra,2025-01-01,homepage\rb,2025-01-02,homepage\r")
    rep = store.import_file(p, dataset="cr")  # old Mac line endings are read (issue 19), not refused
    assert rep.rows_read == 2 and rep.accepted == 2


def test_a_refused_file_leaves_no_utf8_copy_behind(fz):
    """A UTF-16 file is converted to a UTF-8 copy first; when it is then refused (a header and no
    rows) the copy is deleted too (found by Hypothesis)."""
    store, d = fz
    p = d / "utf16.csv"
    p.write_bytes("customer_id,timestamp,touchpoint\n".encode("utf-16"))
    before = _leftovers()
    with pytest.raises(cx.ImportFailed, match="header but no rows"):
        store.import_file(p, dataset="u16")
    assert _leftovers() <= before
