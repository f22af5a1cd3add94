"""Inputs that cannot hurt (issue 19): impossible values are rejected with their row whatever the
file's delimiter, local times the clocks skip or repeat are resolved by a stated rule and said,
the same file appended twice is refused, and raw reader/disk errors become messages."""
import errno
import gzip
from datetime import date, datetime, timedelta

import duckdb
import polars as pl
import pytest

import cx
from cx import ingest
from cx.ingest import DuplicateImport, open_source
from tests.conftest import rows_of

HEAD = "customer_id,timestamp,touchpoint,channel,amount\n"


def imp(store, path, **kw):
    kw.setdefault("dataset", "t")
    rep = store.import_file(path, **kw)
    assert rep.accepted + rep.rejected == rep.rows_read
    return rep


def problems(rep) -> dict[int, str]:
    return dict(zip(rep.errors["row"], rep.errors["problem"]))


# ------------------------------------------------------------------------------- B: impossible values
@pytest.mark.parametrize("delim", [",", ";"])
def test_nan_and_infinity_amounts_are_rejected_whatever_the_delimiter(store, write, delim):
    body = (HEAD + "c1,2025-01-01,order_placed,web,NaN\nc2,2025-01-01,order_placed,web,Infinity\n"
            "c3,2025-01-01,order_placed,web,-inf\nc4,2025-01-01,order_placed,web,1e999\n"
            "c5,2025-01-01,order_placed,web,12\n")
    rep = imp(store, write("n.csv", body.replace(",", delim)))
    assert (rep.rows_read, rep.accepted, rep.rejected) == (5, 1, 4)
    assert rep.errors.select("row", "column", "value", "problem").rows() == [
        (2, "amount", "NaN", "not a finite number"), (3, "amount", "Infinity", "not a finite number"),
        (4, "amount", "-inf", "not a finite number"), (5, "amount", "1e999", "not a finite number")]
    ds = store.dataset("t").schema
    assert store.con.sql(f"SELECT sum(amount) FROM {ds}.interactions").fetchall()[0][0] == 12.0


def test_nan_scores_and_sentiments_are_rejected_once(store, write):
    fb = "customer_id,timestamp,metric,score\nc1,2025-01-01,nps,NaN\nc2,2025-01-01,csat,inf\nc3,2025-01-01,nps,7\n"
    rep = imp(store, write("fb.csv", fb), kind="feedback")
    assert problems(rep) == {2: "not a finite number", 3: "not a finite number"} and rep.errors.height == 2
    ev = HEAD.replace("amount", "sentiment") + "c1,2025-01-01,x,web,nan\nc2,2025-01-01,x,web,0.5\n"
    rep = imp(store, write("ev.csv", ev), dataset="s")
    assert problems(rep) == {2: "not a finite number"} and rep.errors.height == 1


def test_implausible_and_special_timestamps_are_rejected_with_their_row(store, write):
    latest = date.today().replace(year=date.today().year + 1) if date.today().strftime("%m-%d") != "02-29" \
        else date.today() + timedelta(days=365)
    values = ["infinity", "-infinity", "epoch", "now", "today", "0000-01-01", "10000-01-01", "294247-01-01",
              "1969-12-31 23:59", "1970-01-01", "2025-06-01T10:00:00Z", (latest + timedelta(days=2)).isoformat(),
              latest.isoformat(), "1735725600"]
    rep = imp(store, write("ts.csv", HEAD + "".join(f"c{i},{v},homepage,web,\n" for i, v in enumerate(values))))
    range_ = f"outside the plausible dates 1970-01-01 to {latest:%Y-%m-%d}"
    assert problems(rep) == {2: "cannot read as a date/time", 3: "cannot read as a date/time",
                             4: "cannot read as a date/time", 5: "cannot read as a date/time",
                             6: "cannot read as a date/time", 7: range_, 8: range_, 9: range_, 10: range_, 13: range_}
    got = rows_of(store).sort("_seq")["timestamp"].to_list()
    assert got == [datetime(1970, 1, 1), datetime(2025, 6, 1, 10), datetime.combine(latest, datetime.min.time()),
                   datetime(2025, 1, 1, 10)]


def test_the_plausible_range_is_configurable(store, write):
    body = HEAD + "a,2019-12-31,x,web,\nb,2020-01-01,x,web,\nc,2025-12-31 23:59,x,web,\nd,2026-01-01,x,web,\n"
    rep = imp(store, write("r.csv", body), valid_from="2020-01-01", valid_to=date(2025, 12, 31))
    assert problems(rep) == {2: "outside the plausible dates 2020-01-01 to 2025-12-31",
                             5: "outside the plausible dates 2020-01-01 to 2025-12-31"}
    assert rows_of(store)["customer_id"].to_list() == ["b", "c"]
    rep = imp(store, write("r.csv", body), valid_from=date(1900, 1, 1), dataset="wide")
    assert rep.rejected == 0
    with pytest.raises(cx.ImportFailed, match="valid_from takes a date"):
        imp(store, write("r.csv", body), valid_from="last year")
    with pytest.raises(cx.ImportFailed, match="after valid_to"):
        imp(store, write("r.csv", body), valid_from="2026-01-01", valid_to="2025-01-01")


DST = ("customer_id,timestamp,touchpoint\n"
       "amb,2025-10-26 02:30,homepage\n"            # clocks go back at 03:00 CEST: 02:30 happens twice
       "gap,2025-03-30 02:30,homepage\n"            # clocks go forward at 02:00 CET: no 02:30 that day
       "summer,2025-07-01 12:00,homepage\n"
       "offset,2025-10-26 02:30:00+01:00,homepage\n"  # an explicit offset is no ambiguity
       "slash,26/10/2025 02:30,homepage\n"
       "utc,2025-10-26T01:30:00Z,homepage\n"
       "after,2025-10-26 03:30,homepage\n")


def test_dst_ambiguous_and_non_existent_local_times_follow_the_stated_rule(store, write):
    rep = imp(store, write("dst.csv", DST), timezone="Europe/Paris")
    assert rep.rejected == 0
    got = dict(rows_of(store).select("customer_id", "timestamp").iter_rows())
    assert got == {"amb": datetime(2025, 10, 26, 0, 30),    # the earlier instant (CEST, +02:00)
                   "gap": datetime(2025, 3, 30, 1, 30),     # moved forward by the gap: 03:30 CEST
                   "summer": datetime(2025, 7, 1, 10), "offset": datetime(2025, 10, 26, 1, 30),
                   "slash": datetime(2025, 10, 26, 0, 30), "utc": datetime(2025, 10, 26, 1, 30),
                   "after": datetime(2025, 10, 26, 2, 30)}
    notes = [w for w in rep.warnings if "local time" in w]
    assert notes == [
        "2 ambiguous local times in 'timestamp' (occurring twice in Europe/Paris: the clocks went back) read as "
        "the earlier instant (summer time): rows 2, 6.",
        "1 non-existent local time in 'timestamp' (skipped in Europe/Paris: the clocks went forward) moved "
        "forward by the gap (a one-hour gap reads 02:30 as 03:30): row 3."]
    rep = imp(store, write("dst.csv", DST), dataset="u")  # in UTC nothing is ambiguous
    assert not [w for w in rep.warnings if "local time" in w]


# ------------------------------------------------------------------------------- C: duplicates
def test_appending_the_same_file_twice_is_refused_unless_allowed(store, write):
    p = write("a.csv", HEAD + "c1,2025-01-01,order_placed,web,10\nc2,2025-01-02,order_placed,web,5\n")
    imp(store, p)
    imp(store, write("b.csv", HEAD + "c3,2025-01-03,order_placed,web,1\n"), mode="append")
    v = store.version("t")
    with pytest.raises(DuplicateImport, match=r"a\.csv was already imported into the interactions of dataset 't' "
                                              r"on \d{4}-\d\d-\d\d \d\d:\d\d UTC.*allow_duplicate=True"):
        imp(store, p, mode="append")
    copy = write("copy.csv", p.read_bytes())  # the same bytes under another name
    with pytest.raises(cx.ImportFailed, match=r"copy\.csv was already imported \(as a\.csv\)"):
        imp(store, copy, mode="append")
    assert store.version("t") == v and rows_of(store).height == 3
    rep = imp(store, p, mode="append", allow_duplicate=True)
    assert rep.imported and rows_of(store)["amount"].sum() == 31.0
    imp(store, p, mode="replace")  # replacing is never a duplicate; afterwards only its rows are there
    imp(store, write("b.csv", HEAD + "c3,2025-01-03,order_placed,web,1\n"), mode="append")
    imp(store, p, kind="interactions", dataset="other", mode="append")  # another dataset: fine
    with open_source(store, p) as src:  # the app asks before it imports
        val = src.validate("interactions")
        assert "was already imported" in val.duplicate_of("t", "append") and val.duplicate_of("t", "replace") is None


def test_a_database_from_before_content_hashes_gets_the_column(store, write):
    store.con.sql("ALTER TABLE cx_meta.imports DROP COLUMN IF EXISTS sha256")
    p = write("a.csv", HEAD + "c1,2025-01-01,x,web,\n")
    imp(store, p)
    imp(store, p, mode="append", allow_duplicate=True)
    import hashlib

    assert store.con.sql("SELECT sha256 FROM cx_meta.imports").fetchall() == [(hashlib.sha256(p.read_bytes()).hexdigest(),)] * 2


def test_exact_duplicate_rows_are_counted(store, write):
    rows = ["c1,2025-01-01,x,web,1", "c1,2025-01-01,x,web,1", "c2,2025-01-01,x,web,1", "c1,2025-01-01,x,web,1",
            "c1,2025-01-01,x,web,2", "c2,2025-01-01,x,web,1", "c9,bad,x,web,1", "c9,bad,x,web,1"]
    rep = imp(store, write("d.csv", HEAD + "\n".join(rows) + "\n"))
    assert "3 rows repeat an earlier row exactly (every imported column equal); imported." in rep.warnings
    assert rep.accepted == 6  # imported, not dropped (the two bad rows are rejected, not counted)
    rep = imp(store, write("u.csv", HEAD + "c1,2025-01-01,x,web,1\nc1,2025-01-01,x,web,1.0\n"), dataset="u")
    assert "1 row repeats an earlier row exactly (every imported column equal); imported." in rep.warnings


# ------------------------------------------------------------------------------- D: raw errors, odd files
def test_truncated_gzip_is_a_message(store, write):
    small = gzip.compress((HEAD + "c1,2025-01-01,x,web,\n" * 10).encode())
    with pytest.raises(cx.ImportFailed, match="truncated or damaged gzip"):
        store.import_file(write("s.csv.gz", small[: len(small) // 2]), dataset="t")
    big = gzip.compress((HEAD + "".join(f"c{i},2025-01-01T00:00:00Z,tp_{i % 97},web,{i}\n"
                                        for i in range(300_000))).encode())
    with pytest.raises(cx.ImportFailed, match="truncated or damaged gzip"):  # past the sniffed head
        store.import_file(write("b.csv.gz", big[: len(big) * 3 // 4]), dataset="t")
    assert not store.has_dataset("t")


def test_a_full_disk_is_a_message_and_leaves_the_data(store, write, monkeypatch):
    imp(store, write("a.csv", HEAD + "c1,2025-01-01,x,web,\n"))
    v = store.version("t")

    def full(self, cur, ds, new, mode, index="rowid"):
        raise duckdb.IOException('IO Error: Could not write file "cx.duckdb.wal": No space left on device')

    monkeypatch.setattr(ingest.Validation, "_finish", full)
    with pytest.raises(cx.ImportFailed, match="The disk is full .* nothing was imported"):
        store.import_file(write("b.csv", HEAD + "c2,2025-01-01,x,web,\n"), dataset="t")
    monkeypatch.undo()
    assert rows_of(store)["customer_id"].to_list() == ["c1"] and store.version("t") == v

    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ingest.sniff.tempfile, "mkstemp", no_space)  # the UTF-8 copy of a cp1252 file
    with pytest.raises(cx.ImportFailed, match="The disk is full"):
        store.import_file(write("l.csv", (HEAD + "c1,2025-01-01,café,web,\n").encode("cp1252")), dataset="t")


def test_cr_only_line_endings_are_read(store, write):
    p = write("mac.csv", b"customer_id,timestamp,touchpoint\rc1,2025-01-01,homepage\rc2,nope,homepage\r"
                         b"c3,2025-01-02,\"two\rlines\"\rc4,2025-01-03,x\r")
    rep = imp(store, p)
    assert (rep.rows_read, rep.accepted, rep.rejected) == (4, 3, 1)
    assert problems(rep) == {3: "cannot read as a date/time"}
    assert rows_of(store)["touchpoint"].to_list() == ["homepage", "two\rlines", "x"]
    assert any("CR only" in w for w in rep.warnings)


def two_sheet_workbook(p):
    """Events (1 row) and Orders (2 rows, with an amount column)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(p)
    a, b = wb.add_worksheet("Events"), wb.add_worksheet("Orders")
    a.write_row(0, 0, ["customer_id", "timestamp", "touchpoint"])
    a.write_row(1, 0, ["a", "2025-01-01", "homepage"])
    b.write_row(0, 0, ["customer_id", "timestamp", "touchpoint", "amount"])
    b.write_row(1, 0, ["b", "2025-01-02", "order_placed", 5])
    b.write_row(2, 0, ["c", "2025-01-03", "order_placed", 6])
    wb.close()
    return p


def test_a_workbook_lists_its_sheets_and_reads_the_one_chosen(store, tmp_path):
    p = two_sheet_workbook(tmp_path / "book.xlsx")
    rep = imp(store, p)
    assert rep.accepted == 1 and rows_of(store)["customer_id"].to_list() == ["a"]
    assert "The workbook has 2 sheets; sheet 'Events' was read, not 'Orders'" in " ".join(rep.warnings)
    rep = imp(store, p, sheet="Orders", dataset="o")
    assert rows_of(store, dataset="o")["amount"].to_list() == [5.0, 6.0]
    with open_source(store, p, sheet="Orders") as src:
        assert (src.sheets, src.sheet, src.columns[-1]) == (["Events", "Orders"], "Orders", "amount")
    with pytest.raises(cx.ImportFailed, match=r"no sheet named 'Nope' \(sheets: Events, Orders\)"):
        imp(store, p, sheet="Nope")


def test_metric_names_are_trimmed_and_lower_cased_so_the_scale_applies(store, write):
    fb = ("customer_id,timestamp,metric,score\nc1,2025-01-01,Nps ,11\nc2,2025-01-01,NPS,9\n"
          "c3,2025-01-01,\tCSAT\u00a0,4\nc4,2025-01-01,csat ,6\nc5,2025-01-01,My Metric,3\n")
    rep = imp(store, write("fb.csv", fb), kind="feedback")
    assert problems(rep) == {2: "outside the nps scale 0–10", 5: "outside the csat scale 1–5"}
    df = rows_of(store, "feedback").sort("_seq")
    assert df["metric"].to_list() == ["nps", "csat", "my metric"]
    assert "3 metric names were trimmed or put in lower case" in " ".join(rep.warnings)


def test_customer_ids_are_normalised_alike_in_every_table(store, write):
    ids = ["c1", "c1\t", "\u00a0c1", "c\u200b1", "\uff43\uff11", "\ufeffc1 ", "\u00e9", "e\u0301"]
    ev = "customer_id,timestamp,touchpoint\n" + "".join(f"{c},2025-01-0{i + 1},homepage\n" for i, c in enumerate(ids))
    rep = imp(store, write("ev.csv", ev))
    assert rows_of(store).sort("_seq")["customer_id"].to_list() == ["c1"] * 6 + ["\u00e9"] * 2
    assert ("6 customer ids were normalised (white space at the edges, Unicode NFC, full-width or zero-width "
            "characters), so the same customer is one id: rows 3, 4, 5, 6, 7 ….") in rep.warnings
    imp(store, write("cu.csv", "customer_id,tier\n\uff43\uff11,gold\ne\u0301 ,silver\n"), kind="customers")
    assert rows_of(store, "customers")["customer_id"].to_list() == ["c1", "\u00e9"]
    imp(store, write("fb.csv", "customer_id,timestamp,metric,score\nc1\u3000,2025-01-01,nps,9\n \u200b,2025-01-01,nps,3\n"),
        kind="feedback")
    assert rows_of(store, "feedback").sort("_seq")["customer_id"].to_list() == ["c1", None]  # blank: anonymous
    rep = imp(store, write("blank.csv", "customer_id,timestamp,touchpoint\n\u200b\t,2025-01-01,x\nc2,2025-01-01,x\n"),
              dataset="b")
    assert problems(rep) == {2: "missing customer_id"}


def test_nul_characters_are_removed_and_said(store, write):
    rep = imp(store, write("nul.csv", HEAD + "c1,2025-01-01,home\x00page,web,\nc2\x00,2025-01-01,x,web,1\x00\n"
                                            "c3,2025-01-01,x,web,\n"))
    assert rep.rejected == 0
    df = rows_of(store).sort("_seq")
    assert df.select("customer_id", "touchpoint", "amount").rows() == [("c1", "homepage", None), ("c2", "x", 1.0),
                                                                       ("c3", "x", None)]
    assert "NUL characters (\\0) were removed from the values of 2 rows: rows 2, 3." in rep.warnings
    stored = store.con.sql(f"SELECT count(*) FROM {store.dataset('t').schema}.interactions "
                           f"WHERE contains(customer_id || touchpoint, chr(0))").fetchall()[0][0]
    assert stored == 0


def test_a_clean_file_gets_no_new_notes(store, write):
    rep = imp(store, write("ok.csv", HEAD + "c1,2025-01-01T10:00:00Z,homepage,web,\nc2,2025-01-02,x,web,3\n"))
    assert rep.warnings == ["No stage column: stages are derived from touchpoint names by the dataset's stage "
                            "rules (editable under Data → Stage map)."]
    assert pl.DataFrame(rep.errors).height == 0
