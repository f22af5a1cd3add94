"""Import: every malformed case either imports correctly or gives the row-numbered report,
and accepted + rejected always equals the rows read."""
from datetime import datetime

import polars as pl
import pytest

import cx
from cx.ingest import open_source
from tests.conftest import rows_of

HEAD = "customer_id,timestamp,touchpoint,channel,amount\n"


def imp(store, path, **kw):
    kw.setdefault("dataset", "t")
    rep = store.import_file(path, **kw)
    assert rep.accepted + rep.rejected == rep.rows_read
    assert rep.errors.height >= min(rep.rejected, 1) if rep.rejected else rep.errors.height == 0
    return rep


def test_clean_file_imports_every_value(store, write):
    p = write("ok.csv", HEAD + "c1,2025-01-01T10:00:00Z,homepage,web,\nc1,2025-01-02 11:30:00,order_placed,web,19.90\n")
    rep = imp(store, p)
    assert (rep.rows_read, rep.accepted, rep.rejected, rep.kind) == (2, 2, 0, "interactions")
    df = rows_of(store)
    assert df["timestamp"].to_list() == [datetime(2025, 1, 1, 10), datetime(2025, 1, 2, 11, 30)]
    assert df["stage"].to_list() == ["consider", "purchase"]  # derived from the default rules
    assert df["amount"].to_list() == [None, 19.9]
    assert df["_seq"].to_list() == [1, 2]


def test_latin1_file(store, write):
    body = (HEAD + "c1,2025-01-01,café_visit,store,\nc2,2025-01-02,münchen_shop,store,€ 12.50\n").encode("cp1252")
    rep = imp(store, write("latin.csv", body))
    assert rep.accepted == 2 and rep.rejected == 0
    assert any("cp1252" in w for w in rep.warnings)
    df = rows_of(store)
    assert df["touchpoint"].to_list() == ["café_visit", "münchen_shop"]
    assert df["amount"].to_list() == [None, 12.5]


def test_utf8_bom(store, write):
    rep = imp(store, write("bom.csv", b"\xef\xbb\xbf" + (HEAD + "c1,2025-01-01,homepage,web,\n").encode()))
    assert rep.accepted == 1
    assert rep.mapping["customer_id"] == "customer_id"  # the BOM does not stick to the first header


def test_ragged_rows_too_few_and_too_many(store, write):
    p = write("rag.csv", HEAD + "c1,2025-01-01,homepage,web,\nc2,2025-01-01,homepage\n"
              "c3,2025-01-01,homepage,web,,extra\nc4,2025-01-01,homepage,web,\n")
    rep = imp(store, p)
    assert (rep.rows_read, rep.accepted, rep.rejected) == (4, 2, 2)
    e = rep.errors.sort("row")
    assert e["row"].to_list() == [3, 4]
    assert e["problem"][0].startswith("too few fields: expected 5, found 3")
    assert e["column"].to_list() == ["channel", ""]  # the first missing field; none for extras
    assert e["problem"][1].startswith("too many fields: expected 5, found 6")
    assert rows_of(store)["customer_id"].to_list() == ["c1", "c4"]


def test_unterminated_quote_is_reported_with_the_lines_it_swallows(store, write):
    p = write("quote.csv", HEAD + 'c1,2025-01-01,homepage,web,\nc2,2025-01-01,"broken,web,\nc3,2025-01-01,homepage,web,\n')
    rep = imp(store, p)
    assert rep.accepted == 1 and rep.rejected == 1
    e = rep.errors.row(0, named=True)
    assert e["row"] == 3 and "unterminated quote" in e["problem"] and "1 more line" in e["problem"]


def test_non_number_at_line_50002(store, write):
    lines = [f"c{i % 100},2025-01-01T00:00:00Z,order_placed,web,{i}.5" for i in range(60_000)]
    lines[50_000] = "c7,2025-01-01T00:00:00Z,order_placed,web,twelve"  # data row 50,001 = line 50,002
    rep = imp(store, write("big.csv", HEAD + "\n".join(lines) + "\n"))
    assert (rep.rows_read, rep.accepted, rep.rejected) == (60_000, 59_999, 1)
    assert rep.errors.row(0, named=True) == {"row": 50_002, "column": "amount", "value": "twelve",
                                              "problem": "cannot read as a number"}


def test_row_numbers_stay_right_after_reader_rejects_and_quoted_newlines(store, write):
    p = write("mix.csv", HEAD + 'c1,2025-01-01,"multi\nline",web,\nc2,2025-01-01\nc3,2025-01-01,x,web,\n'
              "c4,2025-01-01,x,web,oops\nc5,2025-01-01,x,web,\n")
    rep = imp(store, p)
    assert rep.rows_read == 5 and rep.accepted == 3
    assert sorted(rep.errors["row"].to_list()) == [3, 5]  # spreadsheet rows: header is row 1


def test_mixed_crlf_lf(store, write):
    p = write("crlf.csv", (HEAD.replace("\n", "\r\n") + "c1,2025-01-01,homepage,web,1\n"
                           "c2,2025-01-01,homepage,web,2\r\nc3,2025-01-01,homepage,web,3\n").encode())
    rep = imp(store, p)
    assert rep.accepted == 3 and rep.rejected == 0
    assert rows_of(store)["amount"].to_list() == [1.0, 2.0, 3.0]
    assert any("line endings" in w for w in rep.warnings)


def test_empty_file(store, write):
    with pytest.raises(cx.ImportFailed, match="empty"):
        store.import_file(write("empty.csv", b""), dataset="t")


def test_header_only_file(store, write):
    with pytest.raises(cx.ImportFailed, match="header but no rows"):
        store.import_file(write("hdr.csv", HEAD), dataset="t")
    assert not store.has_dataset("t")  # nothing created


def test_duplicate_header_names(store, write):
    p = write("dup.csv", "customer_id,timestamp,touchpoint,channel,channel\nc1,2025-01-01,homepage,web,store\n")
    with open_source(store, p) as src:
        assert src.columns == ["customer_id", "timestamp", "touchpoint", "channel", "channel (2)"]
        assert any("more than once" in w for w in src.warnings)
    rep = imp(store, p, mapping={"customer_id": "customer_id", "timestamp": "timestamp",
                                 "touchpoint": "touchpoint", "channel (2)": "channel"})
    assert rows_of(store)["channel"].to_list() == ["store"]


def test_semicolon_delimiter_with_decimal_comma(store, write):
    p = write("eu.csv", "kunde;datum;aktion;betrag\nk1;31.12.2024 10:00;order_placed;1.234,50\n"
              "k2;01.01.2025;order_placed;12,5\n")
    rep = imp(store, p, mapping={"kunde": "customer_id", "datum": "timestamp", "aktion": "touchpoint",
                                 "betrag": "amount"})
    assert rep.accepted == 2
    df = rows_of(store)
    assert df["amount"].to_list() == [1234.5, 12.5]
    assert df["timestamp"].to_list() == [datetime(2024, 12, 31, 10), datetime(2025, 1, 1)]


def test_mixed_date_formats_parsed_per_format(store, write):
    p = write("dates.csv", HEAD + "c1,2025-03-04T10:00:00Z,x,web,\nc2,25/12/2024 08:30,x,web,\n"
              "c3,1735725600,x,web,\nc4,Mar 5 2025,x,web,\nc5,2025-03-04T12:00:00+02:00,x,web,\n")
    rep = imp(store, p)
    df = rows_of(store).sort("customer_id")
    got = dict(zip(df["customer_id"], df["timestamp"]))
    assert got["c1"] == datetime(2025, 3, 4, 10)
    assert got["c2"] == datetime(2024, 12, 25, 8, 30)
    assert got["c3"] == datetime(2025, 1, 1, 10)  # epoch seconds
    assert got["c5"] == datetime(2025, 3, 4, 10)  # offset normalised to UTC
    # 'Mar 5 2025' matches no known format: reported, not kept as text
    assert rep.rejected == 1 and rep.errors.row(0, named=True)["value"] == "Mar 5 2025"


def test_ambiguous_day_month_order_is_decided_by_the_data_or_said(store, write):
    p = write("us.csv", HEAD + "c1,12/31/2024,x,web,\nc2,01/02/2025,x,web,\n")
    imp(store, p)
    got = dict(zip(*rows_of(store).select("customer_id", "timestamp").to_dict(as_series=False).values()))
    assert got["c1"] == datetime(2024, 12, 31) and got["c2"] == datetime(2025, 1, 2)  # month first
    p2 = write("amb.csv", HEAD + "c1,03/04/2025,x,web,\n")
    rep = imp(store, p2)
    assert any("day first" in w for w in rep.warnings)


def test_timezone_of_naive_timestamps(store, write):
    p = write("tz.csv", HEAD + "c1,2025-07-01 12:00:00,x,web,\nc2,2025-07-01T12:00:00Z,x,web,\n")
    imp(store, p, timezone="Europe/Paris")
    df = rows_of(store)
    assert df["timestamp"].to_list() == [datetime(2025, 7, 1, 10), datetime(2025, 7, 1, 12)]
    with pytest.raises(cx.ImportFailed, match="time zone"):
        store.import_file(p, dataset="t", timezone="Mars/Olympus")


def test_5mb_field(store, write):
    big = "x" * 5_000_000
    rep = imp(store, write("wide.csv", HEAD + f'c1,2025-01-01,"{big}",web,\nc2,2025-01-01,homepage,web,\n'))
    assert rep.accepted == 2
    assert sorted(len(t) for t in rows_of(store)["touchpoint"]) == [8, 5_000_000]


def test_missing_required_mapping_is_a_clear_error(store, write):
    p = write("nots.csv", "user,event\nu1,homepage\n")
    with pytest.raises(cx.ImportFailed, match="timestamp"):
        store.import_file(p, dataset="t")


def test_values_checked_by_type_and_scale(store, write):
    p = write("fb.csv", "customer_id,timestamp,metric,score,comment,solicited\n"
              "c1,2025-01-01,nps,9,great,true\nc1,2025-01-02,nps,11,?,yes\nc2,2025-01-02,csat,0,,no\n"
              "c3,2025-01-02,csat,4,fine,maybe\n,2025-01-03,nps,3,anonymous is fine,\n")
    rep = imp(store, p, kind="feedback")
    assert (rep.accepted, rep.rejected) == (2, 3)
    probs = dict(zip(rep.errors["row"], rep.errors["problem"]))
    assert probs == {3: "outside the nps scale 0–10", 4: "outside the csat scale 1–5",
                     5: "cannot read as true/false"}


def test_customers_duplicates_and_extra_columns(store, write):
    p = write("cust.csv", "client,persona,region,Loyalty Points\nc1,Researcher,North,10\nc2,Loyal,South,5\n"
              "c1,Other,East,1\n")
    rep = imp(store, p)
    assert rep.kind == "customers" and (rep.accepted, rep.rejected) == (2, 1)
    assert rep.errors.row(0, named=True)["row"] == 4
    df = rows_of(store, "customers")
    assert df["loyalty_points"].to_list() == ["10", "5"] and df["persona"].to_list() == ["Researcher", "Loyal"]


def test_parquet_and_excel(store, tmp_path):
    df = pl.DataFrame({"user_id": ["a", "b"], "event_time": [datetime(2025, 1, 1), datetime(2025, 1, 2)],
                       "event": ["homepage", "order_placed"], "revenue": [None, 10.0]})
    df.write_parquet(tmp_path / "e.parquet")
    rep = imp(store, tmp_path / "e.parquet")
    assert rep.accepted == 2 and rows_of(store)["amount"].to_list() == [None, 10.0]
    df.write_excel(tmp_path / "e.xlsx")
    rep = imp(store, tmp_path / "e.xlsx", dataset="x")
    assert rep.accepted == 2
    assert rows_of(store, dataset="x")["timestamp"].to_list() == [datetime(2025, 1, 1), datetime(2025, 1, 2)]


def test_append_and_replace_and_version(store, write):
    p1 = write("a.csv", HEAD + "c1,2025-01-01,homepage,web,\n")
    p2 = write("b.csv", HEAD + "c2,2025-01-02,homepage,web,\n")
    imp(store, p1)
    v1 = store.version("t")
    imp(store, p2, mode="append")
    assert store.version("t") == v1 + 1
    assert rows_of(store)["customer_id"].to_list() == ["c1", "c2"]
    assert rows_of(store)["_seq"].to_list() == [1, 2]
    imp(store, p2, mode="replace")
    assert rows_of(store)["customer_id"].to_list() == ["c2"]


def test_failed_commit_leaves_previous_data(store, write, monkeypatch):
    imp(store, write("a.csv", HEAD + "c1,2025-01-01,homepage,web,\n"))
    v = store.version("t")
    from cx import ingest

    def boom(self, cur, ds, new, mode, index="rowid"):
        cur.sql(f"DROP TABLE {ds.schema}.interactions")  # half-way through
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest.Validation, "_finish", boom)
    with pytest.raises(RuntimeError):
        store.import_file(write("b.csv", HEAD + "c9,2025-01-01,homepage,web,\n"), dataset="t")
    assert rows_of(store)["customer_id"].to_list() == ["c1"] and store.version("t") == v


def test_stage_rules_sql_agrees_with_python_and_edits_rederive(store, write):
    from cx.schema import derive_stage

    names = ["add_to_cart", "Pricing Page", "reviews_read", "support_reply", "address_change", "social_ad",
             "store_visit", "homepage", "delivery", "xyz"]
    body = "customer_id,timestamp,touchpoint,stage\n" + "".join(f"c1,2025-01-01,{n},\n" for n in names)
    body += "c2,2025-01-01,xyz,purchase\n"
    imp(store, write("s.csv", body))
    df = rows_of(store).filter(pl.col("customer_id") == "c1")
    assert dict(zip(df["touchpoint"], df["stage"])) == {n: derive_stage(n) for n in names}
    n = store.set_stage_rules([("xyz", "evaluate"), *store.stage_rules("t")], "t")
    assert n == len(names)
    df = rows_of(store)
    got = {(c, t): s for c, t, s in zip(df["customer_id"], df["touchpoint"], df["stage"])}
    assert got[("c1", "xyz")] == "evaluate" and got[("c2", "xyz")] == "purchase"  # given stage kept


def test_check_then_commit_like_the_app(store, write):
    """The app's flow: check (temporary table), look at the report, then import."""
    p = write("ok.csv", HEAD + "c1,2025-01-01,homepage,web,\nc2,bad,homepage,web,\nc3,2025-01-03,x,web,2\n")
    with open_source(store, p) as src:
        assert src.preview(5).columns == ["customer_id", "timestamp", "touchpoint", "channel", "amount"]
        val = src.validate("interactions")
        assert (val.rows_read, val.accepted, val.rejected) == (3, 2, 1)
        assert val.preview(5)["customer_id"].to_list() == ["c1", "c3"]
        assert not store.has_dataset("t")  # a check imports nothing
        rep = val.commit("t")
    assert rep.imported and rep.accepted == 2
    df = rows_of(store)
    assert df["customer_id"].to_list() == ["c1", "c3"] and df["_seq"].to_list() == [1, 3]


def test_edge_spaces_synonyms_and_money_formats(store, write):
    p = write("sp.csv", "customer_id,timestamp,touchpoint,stage,direction,amount,incident\n"
              " c1 ,  2025-01-01T10:00:00Z ,homepage, Awareness ,Customer Initiated,  12.5 , yes \n"
              "c1,2025-01-02,order_placed,purchase,OUT,$1,234.50,0\n"
              "c2,2025-01-02,order_placed,Post-Purchase,in,(15.00),FALSE\n"
              "c3,2025-01-03,order_placed,nonsense,sideways,12 apples,maybe\n")
    rep = imp(store, p)
    assert (rep.accepted, rep.rejected) == (2, 2)
    df = rows_of(store)
    assert df.select("customer_id", "stage", "direction", "amount", "incident").rows() == [
        ("c1", "discover", "inbound", 12.5, True), ("c2", "use", "inbound", -15.0, False)]
    # '$1,234.50' unquoted splits into two fields: the reader says so
    probs = rep.errors.sort("row").select("row", "column", "problem").rows()
    assert probs[0][0] == 3 and probs[0][2].startswith("too many fields")
    assert {(r, c) for r, c, _ in probs[1:]} == {(5, "stage"), (5, "direction"), (5, "amount"), (5, "incident")}


def test_progress_is_reported_during_the_pass(store, write):
    lines = "".join(f"c{i},2025-01-01T00:00:00Z,homepage,web,{i}\n" for i in range(300_000))
    seen = []
    store.import_file(write("p.csv", HEAD + lines), dataset="t", progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.startswith("Reading and checking") for _, m in seen) and any("Importing" in m for _, m in seen)
