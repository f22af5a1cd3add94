"""The Data page with hostile or awkward files (issue 19): a damaged archive is a message, a
workbook's sheet is chosen, and appending a file already imported asks for confirmation."""
import gzip

from tests.test_app import _key, db_with, metric, new_app, tiny_db  # noqa: F401 (tiny_db: a fixture)
from tests.test_ingest_safety import two_sheet_workbook

VISITS = ("customer_id,timestamp,touchpoint,channel\nu1,2025-02-01 10:00,homepage,web\n"
          "u2,2025-02-02 11:00,pricing_page,web\n").encode()


def _plain(text: str) -> str:
    """A message as the page shows it, without the Markdown escapes (md_escape)."""
    return text.replace("\\", "")


def _data_page():
    at = new_app().run()
    at.switch_page("views/data.py").run()
    assert not at.exception, at.exception
    return at


def _upload_and_check(at, name, body, mime="text/csv"):
    at.file_uploader[0].set_value((name, body, mime)).run()
    assert not at.exception, at.exception
    at.button(key="check").click().run()
    assert not at.exception, at.exception


def test_a_truncated_archive_is_a_message_not_a_traceback(tiny_db):
    at = _data_page()
    data = gzip.compress(VISITS * 20)
    at.file_uploader[0].set_value(("v.csv.gz", data[: len(data) // 2], "application/gzip")).run()
    assert not at.exception, at.exception
    assert [_plain(e.value) for e in at.error] == ["v.csv.gz is a truncated or damaged gzip file (Compressed file ended "
                                           "before the end-of-stream marker was reached): nothing was imported."]


def test_appending_a_file_again_asks_for_confirmation(tiny_db):
    at = _data_page()
    _upload_and_check(at, "visits.csv", VISITS)
    at.text_input(key="import_newname").set_value("visits").run()
    at.button(key="do_import").click().run()
    assert any("2 accepted" in _plain(s.value) for s in at.success)
    _upload_and_check(at, "visits.csv", VISITS)  # the same bytes again
    at.selectbox(key="import_target").set_value("visits").run()
    at.radio(key="import_mode").set_value("append").run()
    assert not at.exception, at.exception
    warning = _plain(" ".join(w.value for w in at.warning))
    assert "visits.csv was already imported into the interactions of dataset 'visits'" in warning
    assert [b.label for b in at.button if b.key and b.key.startswith("do_import")] == ["Import it again anyway"]
    at.button(key="do_import_again").click().run()
    assert not at.exception, at.exception
    assert any("2 accepted" in _plain(s.value) for s in at.success)
    import cx

    s = cx.open(tiny_db)
    try:
        assert s.con.sql(f"SELECT count(*) FROM {s.dataset('visits').schema}.interactions").fetchall()[0][0] == 4
    finally:
        s.close()


def test_a_workbook_sheet_is_chosen_on_the_page(tiny_db, tmp_path):
    p = two_sheet_workbook(tmp_path / "book.xlsx")
    at = _data_page()
    at.file_uploader[0].set_value(("book.xlsx", p.read_bytes(), "application/vnd.ms-excel")).run()
    assert not at.exception, at.exception
    sheet = next(s for s in at.selectbox if s.label == "Sheet")
    assert (sheet.options, sheet.value) == (["Events", "Orders"], "Events")
    sheet.set_value("Orders").run()
    assert not at.exception, at.exception
    assert at.selectbox(key=_key(at, "map_", "_amount")).value == "amount"
    at.button(key="check").click().run()
    assert not at.exception, at.exception
    assert (metric(at, "Rows read"), metric(at, "Accepted")) == ("2", "2")
    assert any("sheet 'Orders' was read, not 'Events'" in _plain(i.value) for i in at.info)


PURCHASE_LOG = ("   customer_id       date  quantity  dollar_value\n   00001   19970101         1         11.77\n"
                "   00002   19970112         5          0.00\n").encode()


def test_a_whitespace_purchase_log_with_a_constant_on_the_page(tiny_db):
    """The delimiter is detected and choosable, a constant stands in for the touchpoint the file lacks,
    the preview shows it and the attribute kept, and the import history lists the files."""
    at = _data_page()
    at.file_uploader[0].set_value(("cdnow.txt", PURCHASE_LOG, "text/plain")).run()
    assert not at.exception, at.exception
    delim = next(s for s in at.selectbox if s.label == "Delimiter")
    assert delim.value == "detected: whitespace (runs of spaces or tabs)"
    assert delim.options == ["detected: whitespace (runs of spaces or tabs)", "comma (,)", "semicolon (;)", "tab",
                             "pipe (|)", "whitespace (runs of spaces or tabs)"]
    assert "delimiter: whitespace (runs of spaces or tabs) · 4 columns" in _plain(" ".join(m.value for m in at.markdown))
    delim.set_value("comma (,)").run()  # chosen: read again, as one column
    assert not at.exception, at.exception
    assert "delimiter: comma · 1 columns" in _plain(" ".join(m.value for m in at.markdown))
    next(s for s in at.selectbox if s.label == "Delimiter").set_value(
        "detected: whitespace (runs of spaces or tabs)").run()
    assert at.selectbox(key=_key(at, "map_", "_amount")).value == "dollar_value"
    assert at.selectbox(key=_key(at, "map_", "_touchpoint")).value == "(none)"
    const = next(t for t in at.text_input if t.key and t.key.startswith("const_") and t.key.endswith("_touchpoint"))
    const.set_value("order").run()
    at.button(key="check").click().run()
    assert not at.exception, at.exception
    assert (metric(at, "Rows read"), metric(at, "Accepted")) == ("2", "2")
    assert any("Kept as attributes" in _plain(i.value) and "quantity (number)" in _plain(i.value) for i in at.info)
    preview = next(d.value for d in at.dataframe if "touchpoint" in d.value.columns)
    assert list(preview.columns) == ["customer_id", "timestamp", "amount", "touchpoint", "quantity"]
    assert preview["touchpoint"].tolist() == ["order", "order"] and preview["amount"].tolist() == [11.77, 0.0]
    at.text_input(key="import_newname").set_value("orders").run()
    at.button(key="do_import").click().run()
    assert not at.exception, at.exception
    assert any("2 accepted" in _plain(s.value) for s in at.success)
    history = next(d.value for d in at.dataframe if "file_hash" in d.value.columns)
    assert list(history.columns) == ["kind", "file_name", "mode", "rows_read", "accepted", "rejected", "seconds",
                                     "imported_at", "file_hash"]
    assert history[["kind", "file_name", "mode", "rows_read"]].values.tolist() == [["interactions", "cdnow.txt",
                                                                                    "replace", 2]]
    import hashlib

    assert history["file_hash"].tolist() == [hashlib.sha256(PURCHASE_LOG).hexdigest()[:12]]


LOG = ("user_id,event_time,event,platform\nu1,2025-01-06 09:00,page_view,desktop\nu1,2025-01-06 09:05,cart,desktop\n"
       "u1,2025-01-06 09:06,purchase,desktop\nu2,2025-01-07 10:00,page_view,mobile\n"
       "u2,2025-01-07 10:02,order_placed,mobile\n")


def _log_db(app_db, tmp_path):
    db_with(app_db, tmp_path, "log", LOG)


def _frame(at, column):
    """The page's table that has this column (st.dataframe keys are not exposed to AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_data_health_says_what_the_dataset_supports_and_what_to_add(app_db, tmp_path):
    _log_db(app_db, tmp_path)
    at = _data_page()
    cap = _frame(at, "figure")
    status = dict(zip(cap["figure"], cap["status"]))
    assert status["Purchases, buyers, repeat-purchase rate"] == "✓ available"
    assert status["Revenue and money value"] == "needs data" and status["NPS"] == "needs data"
    needs = dict(zip(cap["figure"], cap["needs"]))
    assert needs["Revenue and money value"] == "an amount column (revenue on purchases)"
    assert needs["Purchases, buyers, repeat-purchase rate"] == ""  # nothing to add, and no "None" shown
    text = " ".join(m.value for m in at.markdown)
    ok = (cap["status"] == "✓ available").sum()
    assert f"{ok} of {len(cap)} figures" in _plain(text)
    cols = _frame(at, "share")
    share = {(r["table"], r["column"]): r["share"] for r in cols.to_dict("records")}
    assert share[("interactions", "channel")] == 1.0 and share[("interactions", "amount")] == 0.0


def test_purchase_rules_are_edited_on_the_data_page(app_db, tmp_path):
    _log_db(app_db, tmp_path)
    at = _data_page()
    pm = _frame(at, "purchase_touchpoint").set_index("touchpoint")
    assert pm.loc["purchase", "purchases"] == 1 and pm.loc["order_placed", "purchases"] == 1
    assert pm.loc["cart", "purchases"] == 0  # reaching the purchase stage is not buying
    rules = at.session_state  # the editor's rows: replace them all by one rule, 'cart' is a purchase
    n = len(__import__("cx").open(app_db).purchase_rules("log"))
    rules["purchase_rules_log"] = {"edited_rows": {0: {"keyword": "cart", "purchase": True}},
                                   "added_rows": [], "deleted_rows": list(range(1, n))}
    at.run()
    at.button(key="save_purchase_rules").click().run()
    assert not at.exception, at.exception
    assert any("purchase touchpoints now: cart" in _plain(s.value) for s in at.success)
    pm = _frame(at, "purchase_touchpoint").set_index("touchpoint")
    assert pm.loc["cart", "purchases"] == 1 and pm.loc["purchase", "purchases"] == 0
