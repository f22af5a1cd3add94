"""Import like a real analyst's files (issue 21): delimiters sniffed or chosen (runs of whitespace
too), constants for columns a file lacks, the amount suggested from more names, and the columns
outside the contract kept as typed attributes (also across appends)."""
from datetime import datetime

import pytest

import cx
from cx import schema
from cx.ingest import DuplicateImport, open_source
from tests.conftest import rows_of

# a published purchase log: whitespace-separated, a header, leading spaces, yyyymmdd dates, one row per
# order, no event column, some $0 orders
PURCHASE_LOG = ("   customer_id       date  quantity  dollar_value\n"
                "   00001   19970101         1         11.77\n"
                "   00002   19970112         1         12.00\n"
                "   00002   19970112         5         77.00\n"
                "   00003   19970102         2          0.00\n"
                "\t00003   19970330  \t 2         20.76\n"
                "   00004   19970101         2          0.00\n")


def imp(store, path, **kw):
    kw.setdefault("dataset", "t")
    rep = store.import_file(path, **kw)
    assert rep.accepted + rep.rejected == rep.rows_read
    return rep


def types_of(store, kind="interactions", dataset="t") -> dict[str, str]:
    ds = store.dataset(dataset)
    return dict(store.con.sql("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = $s AND "
                              "table_name = $k", params={"s": ds.schema, "k": kind}).fetchall())


# ------------------------------------------------------------------------------------- delimiters
def test_a_whitespace_separated_purchase_log_with_a_constant_touchpoint(store, write):
    rep = imp(store, write("cdnow.txt", PURCHASE_LOG), constants={"touchpoint": "order"})
    assert (rep.rows_read, rep.accepted, rep.rejected, rep.kind) == (6, 6, 0, "interactions")
    assert rep.delimiter == "whitespace"
    assert rep.read_as == "CSV, utf-8, delimiter whitespace (runs of spaces or tabs) (detected)"
    assert rep.mapping == {"customer_id": "customer_id", "date": "timestamp", "dollar_value": "amount"}
    assert rep.constants == {"touchpoint": "order"} and rep.attributes == {"quantity": "DOUBLE"}
    df = rows_of(store).sort("_seq")
    assert df["customer_id"].to_list() == ["00001", "00002", "00002", "00003", "00003", "00004"]
    assert df["timestamp"].to_list() == [datetime(1997, 1, 1), datetime(1997, 1, 12), datetime(1997, 1, 12),
                                         datetime(1997, 1, 2), datetime(1997, 3, 30), datetime(1997, 1, 1)]
    assert df["amount"].to_list() == [11.77, 12.0, 77.0, 0.0, 20.76, 0.0]
    assert df["quantity"].to_list() == [1.0, 1.0, 5.0, 2.0, 2.0, 2.0]
    assert set(df["touchpoint"]) == {"order"} and set(df["stage"]) == {"purchase"}
    # every row is a purchase (a transaction), the $0 orders too: 4 buyers, not the 3 with money
    from cx.data import Data
    from cx.expr import is_purchase

    d = Data.open(store, "t")
    t = d.interactions
    assert d.purchase_touchpoints == ("order",)
    bought = t.filter(is_purchase(d, t)).to_polars()
    assert (bought.height, bought["customer_id"].n_unique()) == (6, 4)
    assert t.filter(t.amount > 0).to_polars()["customer_id"].n_unique() == 3


def test_whitespace_keeps_quoted_values_and_reports_short_rows_by_row(store, write):
    body = ('customer_id  timestamp   touchpoint  city\r\n'
            '  c1  2025-01-01   homepage   "New  York"\r\n'
            'c2\t\t2025-01-02\t pricing_page  Paris   \r\n'
            'c3  2025-01-03  order_placed\r\n'  # one fewer field: an empty value cannot be written
            '  c4 2025-01-04 "support call" "multi\nline"\r\n')
    rep = imp(store, write("ws.txt", body))
    assert rep.delimiter == "whitespace" and (rep.rows_read, rep.accepted, rep.rejected) == (4, 3, 1)
    assert rep.errors.select("row", "problem").rows() == [(4, "too few fields: expected 4, found 3")]
    df = rows_of(store).sort("_seq")
    assert df.select("customer_id", "touchpoint", "city").rows() == [
        ("c1", "homepage", "New  York"), ("c2", "pricing_page", "Paris"), ("c4", "support call", "multi\nline")]


@pytest.mark.parametrize("body,expected", [
    ("a,b,c\n1,New York,3\n2,Paris,4\n", ","),  # spaces inside values: still comma
    ("a, b, c\n1, 2, 3\n4, 5, 6\n", ","),  # comma and a space: comma
    ("a\tb\tc\n1\t\t3\n4\t5\t6\n", "\t"),  # an empty tab field: tab, not whitespace
    ("a\tb\tc\n1\t2\t3\n", "\t"),  # tab-separated without spaces: tab (a tie goes to the character)
    ("a|b|c\n1|x y|3\n", "|"),
    ("a;b;c\n1;2,5;3\n", ";"),
    ("a  b    c\n1  2    3\n  4 5 6\n", "whitespace"),
    ("a b c\n1 2 3\n", "whitespace"),
])
def test_the_delimiter_is_sniffed(store, write, body, expected):
    with open_source(store, write("f.txt", body)) as src:
        assert (src.delimiter, src.detected_delimiter, src.columns) == (expected, expected, ["a", "b", "c"])


def test_the_delimiter_can_be_chosen(store, write):
    p = write("semi.csv", "customer_id;timestamp;touchpoint\nc1;2025-01-01;home,page\nc2;2025-01-02;x\n")
    with open_source(store, p) as src:
        assert src.delimiter == ";" and src.columns == ["customer_id", "timestamp", "touchpoint"]
    with open_source(store, p, delimiter=",") as src:
        assert (src.delimiter, src.detected_delimiter) == (",", ";")
        assert src.columns == ["customer_id;timestamp;touchpoint"]
        assert src.read_as == "CSV, utf-8, delimiter comma"
    for given, used in (("tab", "\t"), ("\\t", "\t"), ("\t", "\t"), ("Pipe", "|"), ("spaces", "whitespace"),
                        ("whitespace", "whitespace"), ("semicolon", ";")):
        with open_source(store, p, delimiter=given) as src:
            assert src.delimiter == used
    with pytest.raises(cx.ImportFailed, match="'#' is not a delimiter the import reads"):
        open_source(store, p, delimiter="#")
    rep = imp(store, write("ws.csv", "customer_id timestamp touchpoint\nc1 2025-01-01 homepage\n"),
              delimiter="whitespace")
    assert rep.accepted == 1 and rep.delimiter == "whitespace"
    assert rows_of(store)["touchpoint"].to_list() == ["homepage"]


def test_a_latin1_whitespace_file_with_old_mac_line_ends(store, write):
    body = "customer_id timestamp touchpoint\r  c1 2025-01-01 café_visit\r c2 2025-01-02 münchen\r".encode("cp1252")
    rep = imp(store, write("mac.txt", body))
    assert rep.delimiter == "whitespace" and rep.accepted == 2
    assert rows_of(store)["touchpoint"].to_list() == ["café_visit", "münchen"]
    assert any("cp1252" in w for w in rep.warnings)


def test_a_large_whitespace_file_crosses_chunks_with_right_row_numbers(store, write):
    lines = [f"  u{i % 97}    2025-01-{1 + i % 28:02d}   page_{i % 5}   {i}" for i in range(120_000)]
    lines[100_000] = "  u1    2025-01-01   page_1"  # data row 100,001 = line 100,002
    rep = imp(store, write("big.txt", "customer_id timestamp touchpoint n\n" + "\n".join(lines) + "\n"))
    assert (rep.rows_read, rep.accepted, rep.rejected) == (120_000, 119_999, 1)
    assert rep.errors["row"].to_list() == [100_002]
    assert store.con.sql(f"SELECT sum(n) FROM {store.dataset('t').schema}.interactions").fetchall()[0][0] == \
        sum(range(120_000)) - 100_000


# ------------------------------------------------------------------------------------- constants
def test_constants_are_checked_like_mapped_columns(store, write):
    p = write("ev.csv", "user,ts,event\nu1,2025-01-01,homepage\n")
    cases = {
        "amount": ("abc", "The constant 'abc' given for amount is not usable: cannot read as a number."),
        "stage": ("sideways", "The constant 'sideways' given for stage is not usable: cannot read as a stage"),
        "timestamp": ("1900-01-01", "The constant '1900-01-01' given for timestamp is not usable: outside the "
                                    "plausible dates"),
        "sentiment": ("2", "The constant '2' given for sentiment is not usable: sentiment outside -1..1."),
        "incident": ("maybe", "The constant 'maybe' given for incident is not usable: cannot read as true/false."),
    }
    for target, (value, message) in cases.items():
        with pytest.raises(cx.ImportFailed) as e:
            store.import_file(p, dataset="t", constants={target: value})
        assert str(e.value).startswith(message), str(e.value)
    with pytest.raises(cx.ImportFailed, match="touchpoint is mapped from the column 'event' and also given the "
                                              "constant 'order': map it or give a constant, not both."):
        store.import_file(p, dataset="t", constants={"touchpoint": "order"},
                          mapping={"user": "customer_id", "ts": "timestamp", "event": "touchpoint"})
    with pytest.raises(cx.ImportFailed, match="A constant is given for 'price', which is not a column of interactions"):
        store.import_file(p, dataset="t", constants={"price": 1})
    with pytest.raises(cx.ImportFailed, match="The constant for channel is empty"):
        store.import_file(p, dataset="t", constants={"channel": "  "})
    assert not store.has_dataset("t")  # nothing was imported


def test_constants_stand_in_for_columns_and_win_over_suggestions(store, write):
    p = write("ev.csv", "user,ts,event\nu1,2025-01-01,homepage\nu2,2025-01-02,cart_add\n")
    # a constant for a column the suggestions would map replaces the suggestion
    rep = imp(store, p, constants={"touchpoint": "order", "amount": 0, "stage": "Conversion", "incident": False,
                                   "channel": "store"})
    assert rep.mapping == {"user": "customer_id", "ts": "timestamp"}
    assert rep.attributes == {"event": "VARCHAR"}  # the column not mapped is kept
    df = rows_of(store).sort("_seq")
    assert df.select("touchpoint", "amount", "stage", "incident", "channel", "event").rows() == [
        ("order", 0.0, "purchase", False, "store", "homepage"), ("order", 0.0, "purchase", False, "store", "cart_add")]
    with open_source(store, p) as src:
        val = src.validate("interactions", constants={"touchpoint": "visit"})
        assert val.preview(5).columns == ["customer_id", "timestamp", "touchpoint", "event"]
        assert val.preview(5)["touchpoint"].to_list() == ["visit", "visit"]


def test_a_survey_export_with_a_constant_metric(store, write):
    p = write("survey.csv", "answered_at,rating,comment\n2025-01-01,9,great\n2025-01-02,11,hm\n2025-01-03,3,\n")
    rep = imp(store, p, kind="feedback", constants={"metric": " NPS "})
    assert (rep.accepted, rep.rejected) == (2, 1)
    assert rep.errors.select("row", "column", "problem").rows() == [(3, "rating", "outside the nps scale 0–10")]
    assert rows_of(store, "feedback").sort("timestamp").select("metric", "score").rows() == [("nps", 9.0), ("nps", 3.0)]
    with pytest.raises(cx.ImportFailed, match="The required column.s. metric of feedback are not mapped.*--constant metric="):
        store.import_file(p, kind="feedback", dataset="u")


# ------------------------------------------------------------------------------------- amount names
@pytest.mark.parametrize("header,amount", [
    (["customer_id", "date", "dollar_value"], "dollar_value"),
    (["user", "ts", "event", "price", "order_total"], "order_total"),
    (["user", "ts", "event", "unit price", "Total"], "Total"),
    (["user", "ts", "event", "Sales Amount"], "Sales Amount"),
    (["user", "ts", "event", "amount_usd", "value"], "amount_usd"),
    (["user", "ts", "event", "Revenue", "dollars"], "Revenue"),
])
def test_the_amount_is_suggested_from_money_names(header, amount):
    m = schema.suggest_mapping(header, "interactions")
    assert {s for s, t in m.items() if t == "amount"} == {amount}


def test_suggestions_never_map_one_column_twice():
    for kind, spec in schema.KINDS.items():
        names = [syn for col in spec.columns for syn in col.synonyms]
        m = schema.suggest_mapping(names, kind)
        assert len(set(m.values())) == len(m)  # each contract column once, each source column once (a dict)
        assert set(m.values()) == set(spec.column_names)  # every contract column is reachable by a synonym
        for col in spec.columns:  # alone, each synonym maps to its own column
            for syn in col.synonyms:
                assert schema.suggest_mapping([syn], kind) == {syn: col.name}, (kind, syn)


# ------------------------------------------------------------------------------------- attributes
EVENTS = ("user,ts,event,acquisition_channel,visits,signup,vip,zip,order_id,notes\n"
          "u1,2025-01-01,homepage,ads,3,2024-05-01,yes,01234,1001,hello world\n"
          "u2,2025-01-02,order_placed,seo,4.5,2024-06-01 10:00,No,12345,1002,\n"
          "u3,2025-01-03,order_placed,ads,,,,,1003,x\n")


def test_extra_columns_are_kept_as_typed_attributes(store, write):
    rep = imp(store, write("events.csv", EVENTS))
    assert rep.attributes == {"acquisition_channel": "VARCHAR", "visits": "DOUBLE", "signup": "TIMESTAMP",
                              "vip": "BOOLEAN", "zip": "VARCHAR", "order_id": "VARCHAR", "notes": "VARCHAR"}
    assert ("Kept as attributes (columns outside the interactions contract, usable as filters and breakdowns): "
            "acquisition_channel (text), visits (number), signup (date/time), vip (true/false), zip (text), "
            "order_id (text), notes (text).") in rep.warnings
    assert not any("Not imported" in w for w in rep.warnings)
    df = rows_of(store).sort("_seq")
    assert df.select("acquisition_channel", "visits", "signup", "vip", "zip", "order_id", "notes").rows() == [
        ("ads", 3.0, datetime(2024, 5, 1), True, "01234", "1001", "hello world"),
        ("seo", 4.5, datetime(2024, 6, 1, 10), False, "12345", "1002", None),
        ("ads", None, None, None, None, "1003", "x")]
    assert {c: t for c, t in types_of(store).items() if c in rep.attributes} == rep.attributes
    assert schema.attribute_columns("interactions", rows_of(store).columns) == list(rep.attributes)
    from cx.data import Data

    assert Data.open(store, "t").attributes("interactions") == list(rep.attributes)


def test_a_value_past_the_sample_makes_the_column_text_never_a_rejected_row(store, write):
    rows = [f"u{i},2025-01-01,x,{i},2024-01-{1 + i % 28:02d}" for i in range(3000)]
    rows[2500] = "u2500,2025-01-01,x,n/a,2024-01-01"  # data row 2,501 = spreadsheet row 2,502
    rows[2700] = "u2700,2025-01-01,x,7,tomorrow"
    rep = imp(store, write("late.csv", "user,ts,event,level,since\n" + "\n".join(rows) + "\n"))
    assert (rep.accepted, rep.rejected) == (3000, 0)
    assert rep.attributes == {"level": "VARCHAR", "since": "VARCHAR"}
    assert "level is kept as text: its values read as numbers in the first rows, but the one of row 2,502 does " \
           "not." in rep.warnings
    assert "since is kept as text: its values read as dates/times in the first rows, but the one of row 2,702 " \
           "does not." in rep.warnings
    df = rows_of(store).sort("_seq")
    assert df["level"].to_list()[:3] == ["0", "1", "2"] and df["level"][2500] == "n/a"  # as written
    assert df["since"][2700] == "tomorrow" and df["since"][0] == "2024-01-01"


def test_identifier_like_values_stay_text(store, write):
    p = write("ids.csv", "user,ts,event,store_no,big,code,ratio\n"
                         "u1,2025-01-01,x,17,12345678901234567890,7,0.5\nu2,2025-01-01,x,18,1,8,00.25\n")
    rep = imp(store, p)
    # a name that holds identifiers, an integer longer than 15 digits, a leading zero: text
    assert rep.attributes == {"store_no": "VARCHAR", "big": "VARCHAR", "code": "VARCHAR", "ratio": "VARCHAR"}
    assert rows_of(store).sort("_seq")["big"].to_list() == ["12345678901234567890", "1"]


def test_attribute_names_are_safe_and_never_clash():
    assert schema.attribute_names("interactions", ["user", "Channel", "channel", "x", "X", "x_5", "2nd", "Größe",
                                                   "a; DROP TABLE t"], {"user", "Channel"}) == {
        "channel": "channel_3", "x": "x", "X": "x_5", "x_5": "x_5_6", "2nd": "attr_2nd", "Größe": "gr_e",
        "a; DROP TABLE t": "a_drop_table_t"}
    assert schema.attribute_names("feedback", ["sentiment", "_seq"]) == {"sentiment": "sentiment_1", "_seq": "seq"}
    assert schema.attribute_columns("feedback", ["customer_id", "metric", "sentiment", "_seq", "nps_driver"]) == \
        ["nps_driver"]


def test_feedback_keeps_its_extra_columns_and_its_scored_sentiment(store, write):
    p = write("fb.csv", "customer_id,timestamp,metric,score,comment,sentiment,store\n"
                        "c1,2025-01-01,nps,9,great service,0.5,north\nc2,2025-01-02,nps,2,awful,-0.9,south\n")
    rep = imp(store, p, kind="feedback")
    assert rep.attributes == {"sentiment_6": "DOUBLE", "store": "VARCHAR"}
    df = rows_of(store, "feedback").sort("timestamp")
    assert df["sentiment_6"].to_list() == [0.5, -0.9] and df["store"].to_list() == ["north", "south"]
    assert df["sentiment"][0] > 0 > df["sentiment"][1]  # scored from the comments, not the file's column


def test_appending_adds_attributes_and_reconciles_their_types(store, write):
    head = "user,ts,event,level,flag,since,tag\n"
    imp(store, write("1.csv", head + "u1,2025-01-01,home,3,yes,2024-01-01,5\n"))
    assert {c: t for c, t in types_of(store).items() if c in ("level", "flag", "since", "tag")} == {
        "level": "DOUBLE", "flag": "BOOLEAN", "since": "TIMESTAMP", "tag": "DOUBLE"}
    rep = imp(store, write("2.csv", "user,ts,event,level,flag,since,tag,extra\n"
                                    "u2,2025-01-02,home,high,0,20240105,x,7\n"), mode="append")
    assert rep.attributes == {"level": "VARCHAR", "flag": "DOUBLE", "since": "DOUBLE", "tag": "VARCHAR",
                              "extra": "DOUBLE"}
    said = [w for w in rep.warnings if "in the dataset" in w]
    assert said == [
        "level is text in the dataset from now on: this file's values do not all read as numbers like the earlier "
        "ones (those were converted to text).",
        "flag holds true/false values in the dataset: this file's values (numbers) were read as true/false values.",
        "since holds dates/times in the dataset: this file's values (numbers) were read as dates/times.",
        "tag is text in the dataset from now on: this file's values do not all read as numbers like the earlier "
        "ones (those were converted to text)."]
    assert {c: t for c, t in types_of(store).items() if c in ("level", "flag", "since", "tag", "extra")} == {
        "level": "VARCHAR", "flag": "BOOLEAN", "since": "TIMESTAMP", "tag": "VARCHAR", "extra": "DOUBLE"}
    df = rows_of(store).sort("_seq")
    assert df.select("level", "flag", "since", "tag", "extra").rows() == [
        ("3", True, datetime(2024, 1, 1), "5", None), ("high", False, datetime(2024, 1, 5), "x", 7.0)]
    # text in the dataset stays text: a number appended to it is written as it reads
    rep = imp(store, write("3.csv", head + "u3,2025-01-03,home,4,no,2024-02-01,6.50\n"), mode="append")
    assert "level is text in the dataset: this file's values (numbers) were added as text." in rep.warnings
    assert rows_of(store).sort("_seq").select("level", "tag").rows()[-1] == ("4", "6.5")


def test_the_same_file_appended_in_a_later_session_is_noticed(tmp_path, write):
    p = write("visits.csv", "customer_id,timestamp,touchpoint\nu1,2025-02-01,homepage\n")
    s = cx.open(tmp_path / "db.duckdb")
    s.import_file(p, dataset="t")
    s.import_file(write("more.csv", "customer_id,timestamp,touchpoint\nu2,2025-02-02,homepage\n"), dataset="t",
                  mode="append")
    s.close()
    s = cx.open(tmp_path / "db.duckdb")  # another session
    try:
        with pytest.raises(DuplicateImport, match="visits.csv was already imported into the interactions of "
                                                     "dataset 't'"):
            s.import_file(p, dataset="t", mode="append")
        log = s.imports("t")
        assert log.columns == ["kind", "file_name", "mode", "rows_read", "accepted", "rejected", "seconds",
                               "imported_at", "file_hash"]
        assert log.select("file_name", "mode", "rows_read").rows() == [("more.csv", "append", 1),
                                                                       ("visits.csv", "replace", 1)]
        import hashlib

        assert log["file_hash"][1] == hashlib.sha256(p.read_bytes()).hexdigest()[:12]
    finally:
        s.close()


def test_dates_in_the_files_format_and_two_digit_years(store, write):
    """The format the first rows are written in is tried first (yyyymmdd, the last of the formats,
    reads in one try); a two-digit year is the year 20yy/19yy, not the year 24."""
    p = write("d.csv", "customer_id,timestamp,touchpoint,joined\nc1,31.12.24,home,19990105\n"
                       "c2,01.02.2025,home,20240229\nc3,2.3.24,home,20240230\n")
    rep = imp(store, p)
    assert (rep.accepted, rep.rejected) == (3, 0)
    df = rows_of(store).sort("_seq")
    assert df["timestamp"].to_list() == [datetime(2024, 12, 31), datetime(2025, 2, 1), datetime(2024, 3, 2)]
    # joined: a number column by its values (yyyymmdd are numbers); as an attribute it stays one
    assert rep.attributes == {"joined": "DOUBLE"}
    from cx.ingest.parse import wall_formats

    assert wall_formats(True, "%Y%m%d")[:3] == ["%Y%m%d", "%d/%m/%y", "%d.%m.%y"]
    assert wall_formats(True, ("%d.%m.%y", "%d.%m.%Y"))[:3] == ["%d.%m.%y", "%d.%m.%Y", "%d/%m/%y"]
    assert wall_formats(False)[0] == "%m/%d/%y" and sorted(wall_formats(True, "%Y%m%d")) == sorted(wall_formats(True))
    with open_source(store, p) as src:
        val = src.validate("interactions")
        assert val._sample_format(["31.12.24", "01.02.2025", "2.3.24"], True) == ("%d.%m.%y",)
        assert val._sample_format(["31.12.2024", "01.02.2025", "2.3.24"], True) == ("%d.%m.%y", "%d.%m.%Y")
        assert val._sample_format(["31.12.2024"], True) == ("%d.%m.%Y",)
        assert val._sample_format(["19970101"], True) == ("%Y%m%d",)
        assert val._sample_format(["2025-01-01T10:00:00Z"], True) == ()
