"""The result store (cx.results) and its codec (cx.codec): exact round trips, keyed by dataset
version and code, a new version invalidates, a bad payload falls back to computing, a failed write
never raises; and the preparation of every page's default view from the command line."""
import dataclasses
import json
import logging
import math
import struct
import zlib
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import numpy as np
import plotly.graph_objects as go
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import cx
from cx import codec, prepare, results
from cx.filters import FilterOptions, Filters
from tests.conftest import copy_demo


# -- the codec -------------------------------------------------------------------------------
def same(a, b) -> bool:
    """Deep equality that tells a tuple from a list, 1 from 1.0 and True from 1, frames by value and
    dtype, and NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, pl.DataFrame):
        assert_frame_equal(a, b)
        return True
    if isinstance(a, pl.Series):
        return a.name == b.name and a.dtype == b.dtype and a.to_list() == b.to_list()
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, go.Figure):
        return json.loads(a.to_json()) == json.loads(b.to_json())
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return a == b


def roundtrip(x):
    return codec.decode(codec.encode(x))


def test_plain_values_come_back_exactly_with_their_types():
    value = {
        "none": None, "flags": [True, False], "n": 7, "big": 2**70, "x": 0.1, "nan": float("nan"),
        "inf": float("-inf"), "s": "é\x00\n", "tuple": (1, "a", (2.5,)), "list": [1, [2, (3,)]],
        5: "an int key", (1, 2): "a tuple key", None: "a None key",
        "when": [date(2024, 2, 29), datetime(2024, 3, 1, 12, 30, 1, 5), datetime(2024, 3, 1, tzinfo=timezone.utc),
                 time(23, 59, 58), timedelta(days=-1, seconds=3, microseconds=4)],
        "money": Decimal("12.345"), "np": [np.float64(1.5), np.int32(-3), np.bool_(True)],
        "array": np.arange(6, dtype=np.int16).reshape(2, 3), "farray": np.array([0.5, np.nan]),
    }
    back = roundtrip(value)
    assert same(back, value) and list(back) == list(value)
    assert type(back["np"][1]) is np.int32 and back[(1, 2)] == "a tuple key"
    assert same(roundtrip(1), 1) and not same(roundtrip(1.0), 1) and same(roundtrip(True), True)


def test_frames_keep_values_and_dtypes():
    df = pl.DataFrame({
        "i": [1, None, 3], "f": [0.5, float("nan"), None], "s": ["a", None, "é"], "b": [True, False, None],
        "d": [date(2024, 1, 1), None, date(2024, 12, 31)],
        "t": pl.Series([datetime(2024, 1, 1, 9), None, datetime(2024, 1, 2)], dtype=pl.Datetime("us", "UTC")),
        "l": [[1, 2], [], None], "st": [{"a": 1, "b": "x"}, None, {"a": 2, "b": None}],
        "c": pl.Series(["x", "y", "x"], dtype=pl.Categorical), "dur": [timedelta(seconds=5), None, timedelta(0)],
        "n": [None, None, None],
    })
    for x in (df, df.head(0), pl.DataFrame(), df["s"], pl.Series("e", [], dtype=pl.Int8)):
        assert same(roundtrip(x), x)
    with pytest.raises(codec.Unencodable):
        codec.encode(pl.DataFrame({"o": pl.Series([object()], dtype=pl.Object)}))


def test_cx_dataclasses_and_figures_come_back_others_are_not_stored():
    opts = FilterOptions(min_date=date(2024, 1, 1), max_date=None, channels=("web",), values={"persona": ("a",)})
    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout={"title": "t"})
    back = roundtrip({"opts": opts, "filters": Filters(channels=("web",)), "fig": fig})
    assert back["opts"] == opts and back["filters"] == Filters(channels=("web",)) and same(back["fig"], fig)

    @dataclasses.dataclass
    class Mine:  # not cx's own: not stored (decoding would have to trust the class named in the bytes)
        a: int

    for bad in (object(), lambda: 1, Mine(1), {1, 2}, b"bytes", np.array([object()])):
        with pytest.raises(codec.Unencodable):
            codec.encode(bad)


def _retag(payload: bytes, old: bytes, new: bytes) -> bytes:
    """The payload with one string of its header replaced, the checksum made valid again."""
    rest = payload[8:]
    (n,) = struct.unpack_from("<I", rest, 0)
    head = rest[4:4 + n].replace(old, new)
    rest = struct.pack("<I", len(head)) + head + rest[4 + n:]
    return codec.MAGIC + struct.pack("<I", zlib.crc32(rest)) + rest


def test_a_bad_payload_is_refused_never_executed():
    good = codec.encode({"opts": FilterOptions(channels=("web",)), "df": pl.DataFrame({"a": [1, 2]})})
    flipped = bytearray(good)
    flipped[-3] ^= 0xFF
    for bad in (b"", b"CXR1", good[:-1], bytes(flipped), b"PK" + good[2:], good + b"x"):
        with pytest.raises(codec.Corrupt):
            codec.decode(bad)
    # a header naming a class outside cx, a class that is gone, or a cx class whose fields changed
    for new in (b"subprocess:Popen", b"cx.filters:Gone", b"cx.filters:Filters"):
        with pytest.raises(codec.Corrupt):
            codec.decode(_retag(good, b"cx.filters:FilterOptions", new))
    assert codec.decode(_retag(good, b"x", b"x"))["opts"] == FilterOptions(channels=("web",))


# -- the store -------------------------------------------------------------------------------
EVENTS = ("customer_id,timestamp,touchpoint,channel,amount\n"
          "a,2025-01-06T09:00:00Z,homepage,web,\na,2025-01-07T10:00:00Z,order_placed,web,100\n"
          "b,2025-01-08T08:00:00Z,homepage,web,\n")
MORE = "customer_id,timestamp,touchpoint,channel,amount\nc,2025-01-09T08:00:00Z,homepage,store,\n"


@pytest.fixture
def tiny(store, write):
    store.import_file(write("e.csv", EVENTS), dataset="t")
    return store


def rows(store, **where) -> int:
    sql = " AND ".join(f"{k} = ${k}" for k in where) or "true"
    return store.con.sql(f"SELECT count(*) FROM cx_meta.results WHERE {sql}", params=where).fetchall()[0][0]


def test_a_result_is_read_only_at_its_version_and_a_new_version_invalidates(tiny, write):
    ds = tiny.dataset("t")
    df = pl.DataFrame({"x": [1, 2]})
    assert results.read(tiny, ds, "k") is results.MISSING
    assert results.write(tiny, ds, "cx.profile:kpis", "k", df, 0.5)
    assert_frame_equal(results.read(tiny, ds, "k"), df)
    assert results.write(tiny, ds, "cx.profile:kpis", "k", df.head(1), 0.5)  # the same key again: replaced
    assert rows(tiny, key="k") == 1 and results.read(tiny, ds, "k").height == 1

    tiny.import_file(write("m.csv", MORE), dataset="t", mode="append")  # a new version
    new = tiny.dataset("t")
    assert new.version == ds.version + 1
    assert results.read(tiny, new, "k") is results.MISSING  # never the old version's result
    assert not results.write(tiny, ds, "cx.profile:kpis", "k2", df, 0.5)  # computed on the old version: not kept
    assert rows(tiny, key="k2") == 0 and rows(tiny, version=ds.version) == 1  # old rows wait for the next write
    assert results.write(tiny, new, "cx.profile:kpis", "k", df, 0.5)
    assert rows(tiny, version=ds.version) == 0 and rows(tiny, version=new.version) == 1  # ... which deletes them

    tiny.set_purchase_rules([("order", True)], "t")  # a rule change is a new version too
    assert results.read(tiny, tiny.dataset("t"), "k") is results.MISSING
    tiny.delete_dataset("t")
    assert rows(tiny) == 0  # the dataset's results go with it


def test_results_of_other_code_are_not_read(tiny, monkeypatch):
    ds = tiny.dataset("t")
    results.write(tiny, ds, "f", "k", 1, 0.1)
    monkeypatch.setattr(results, "code_version", lambda: "another")
    assert results.read(tiny, ds, "k") is results.MISSING
    assert results.write(tiny, ds, "f", "k2", 2, 0.1) and rows(tiny) == 1  # the other code's row is gone


def test_a_corrupted_or_missing_payload_is_computed_again(tiny, caplog):
    ds = tiny.dataset("t")
    c = prepare.StoreCall(tiny, ds)
    first = c(cx.profile.kpis, Filters())
    assert (c.computed, c.read) == (1, 0)
    assert_frame_equal(c(cx.profile.kpis, Filters()), first) and (c.computed, c.read) == (1, 1)
    payload = tiny.con.sql("SELECT payload FROM cx_meta.results").fetchall()[0][0]
    tiny.con.sql("UPDATE cx_meta.results SET payload = $p", params={"p": payload[:-20]})  # truncated on disk
    with caplog.at_level(logging.WARNING, "cx.results"):
        again = c(cx.profile.kpis, Filters())
    assert_frame_equal(again, first) and (c.computed, c.read) == (2, 1)
    assert "does not decode" in caplog.text
    assert_frame_equal(c(cx.profile.kpis, Filters()), first) and (c.computed, c.read) == (2, 2)  # written anew
    tiny.con.sql("DELETE FROM cx_meta.results")  # missing: computed
    assert_frame_equal(c(cx.profile.kpis, Filters()), first) and (c.computed, c.read) == (3, 2)
    assert first["customers"][0] == 2 and first["touchpoints"][0] == 3


def test_a_failed_write_or_read_never_raises(tiny, monkeypatch, caplog):
    ds = tiny.dataset("t")

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(results, "_write_payload", broken)
    with caplog.at_level(logging.WARNING, "cx.results"):
        assert results.write(tiny, ds, "f", "k", 1, 0.1) is False
    assert "not stored: disk full" in caplog.text
    assert results.write(tiny, ds, "f", "k", object(), 0.1) is False  # not encodable: memory only
    tiny.con.sql("DROP TABLE cx_meta.results")  # e.g. an old read-only database
    assert results.read(tiny, ds, "k") is results.MISSING


def test_results_of_the_pages_choices_are_kept_within_a_budget_prepared_ones_always(tiny, monkeypatch):
    ds = tiny.dataset("t")
    df = pl.DataFrame({"x": list(range(50))})
    monkeypatch.setenv("CX_RESULTS_MAX_MB", str(2.5 * len(codec.encode(df)) / 2**20))  # room for two
    assert results.write(tiny, ds, "f", "prepared", df, 0.1, pinned=True)

    def kept() -> set:
        return {r[0] for r in tiny.con.sql("SELECT key FROM cx_meta.results").fetchall()}

    for k in ("a", "b", "c"):
        assert results.write(tiny, ds, "f", k, df, 0.1)
    assert kept() == {"prepared", "b", "c"}  # the oldest page result went
    assert results.write(tiny, ds, "f", "prepared", df, 0.1)  # a page writing a prepared key: still pinned
    assert results.write(tiny, ds, "f", "d", df, 0.1)
    assert kept() == {"prepared", "c", "d"}
    results.pin(tiny, ds, "c")  # the job found it written by a page
    assert results.write(tiny, ds, "f", "e", df, 0.1)
    assert kept() == {"prepared", "c", "d", "e"}
    assert_frame_equal(results.read(tiny, ds, "prepared"), df)


def test_clear_and_summary(tiny, write):
    tiny.import_file(write("e2.csv", EVENTS), dataset="u")
    t, u = tiny.dataset("t"), tiny.dataset("u")
    for ds in (t, u):
        results.write(tiny, ds, "cx.voc.comments:overview", "a", 1, 0.25)
        results.write(tiny, ds, "cx.profile:kpis", "b", 2, 0.5)
    s = results.summary(tiny)
    assert s.select("dataset", "results", "compute_seconds", "prepared").rows() == [("t", 2, 0.75, False),
                                                                                   ("u", 2, 0.75, False)]
    assert results.clear(tiny, "t", ("cx.voc",)) == 1 and rows(tiny, dataset_id=t.id) == 1
    assert results.clear(tiny, "u") == 2 and rows(tiny) == 1
    assert results.clear(tiny) == 1 and rows(tiny) == 0


# -- the whole plan on the demo, and the command line ------------------------------------------
def test_every_prepared_result_of_the_demo_reads_back_exactly(demo_db, tmp_path):
    s = cx.open(copy_demo(demo_db, tmp_path / "d.duckdb"))
    ds = s.dataset("demo")
    kept = {}

    class Keeping(prepare.StoreCall):
        def __call__(self, fn, *args, **kwargs):
            out = super().__call__(fn, *args, **kwargs)
            kept[results.call_key(results.qualname(fn), args, tuple(sorted(kwargs.items())))] = out
            return out

    out = prepare.run_plan(Keeping(s, ds))
    assert out["failed"] == [] and len(kept) > 40
    stored = dict(s.con.sql("SELECT key, payload FROM cx_meta.results").fetchall())
    assert set(stored) == set(kept)  # every result of the demo's plan is storable
    for k, v in kept.items():
        assert same(codec.decode(stored[k]), v), k
    s.close()


def test_the_command_line_prepares_after_an_import_and_clears(tmp_path, write, capsys):
    from cx.cli import main

    db = str(tmp_path / "c.duckdb")
    f = write("e.csv", EVENTS)
    assert main(["import", str(f), "--dataset", "t", "--db", db, "--prepare", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "dashboards of 't' (version 1) prepared in" in out and "failed" not in out
    assert "showing what they need: Value, Segments" in out  # no amounts, no customers table ...
    s = cx.open(db)
    assert results.prepared(s, s.dataset("t"))["steps"] == len(prepare.PLAN)
    s.close()
    assert main(["results", "--db", db]) == 0
    assert "prepared" in capsys.readouterr().out
    assert main(["results", "--clear", "--db", db]) == 0
    assert "deleted" in capsys.readouterr().out
    assert main(["results", "--db", db]) == 0
    assert "no stored results" in capsys.readouterr().out
