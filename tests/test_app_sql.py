"""AppTest of the SQL page: schema browser, examples, a query's rows, attacks refused on the page."""
import pytest
from streamlit.testing.v1 import AppTest

import cx
from tests.conftest import ROOT, copy_demo, shown

APP = str(ROOT / "app.py")


@pytest.fixture
def demo_app(app_db, demo_db):
    """The app's database is a copy of the session's demo database (no import per test)."""
    return copy_demo(demo_db, app_db)


def sql_page():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    at.switch_page("views/sql.py").run()
    assert not at.exception, at.exception
    return at


def frame_with(at, *cols):
    for d in at.dataframe:
        if all(c in d.value.columns for c in cols):
            return d.value
    raise AssertionError(f"no dataframe with columns {cols}: {[list(d.value.columns) for d in at.dataframe]}")


def run_sql(at, sql):
    at.text_area[0].set_value(sql)
    at.button(key="sql_run").click().run()
    assert not at.exception, at.exception
    return at


def test_sql_page_browser_and_a_query(demo_app):
    at = sql_page()
    assert at.title[0].value == "SQL"
    browser = [d.value for d in at.dataframe if list(d.value.columns) == ["column", "type"]]
    assert len(browser) == 3  # interactions, customers, feedback
    cols = {c for f in browser for c in f["column"]}
    assert {"customer_id", "timestamp", "touchpoint", "amount", "persona", "score"} <= cols
    assert "Example queries" in [s.label for s in at.selectbox]
    run_sql(at, "SELECT channel, count(*) AS touchpoints FROM interactions GROUP BY channel ORDER BY channel")
    got = frame_with(at, "channel", "touchpoints")
    s = cx.open(demo_app, read_only=False)
    try:
        ds = s.dataset("demo")
        want = s.con.sql(f"SELECT channel, count(*) FROM {ds.schema}.interactions GROUP BY channel "
                         "ORDER BY channel").fetchall()
    finally:
        s.close()
    assert [tuple(r) for r in got.itertuples(index=False)] == [tuple(r) for r in want]
    # an example into the editor, and EXPLAIN shown as a plan
    at.selectbox(key="sql_example").set_value("Query plan (EXPLAIN)").run()
    at.button(key="sql_use_example").click().run()
    assert at.text_area[0].value.startswith("EXPLAIN")
    assert not at.exception and not at.error
    assert any("GROUP" in c.value.upper() or "AGGREGATE" in c.value.upper() for c in at.code)




def test_sql_page_caps_rows_and_refuses_attacks(demo_app):
    at = sql_page()
    run_sql(at, "SELECT range AS i FROM range(25000)")
    assert len(frame_with(at, "i")) == 10_000
    assert any("the query returns more" in c.value for c in at.caption)
    run_sql(at, "DELETE FROM interactions")
    assert at.error and "Not allowed" in at.error[0].value and "DELETE" in at.error[0].value
    run_sql(at, "SELECT * FROM read_csv('/etc/passwd')")
    assert at.error and "read_csv" in shown(at.error[0].value)
    run_sql(at, "SELECT 1; DROP TABLE interactions")
    assert at.error and "Exactly one statement" in at.error[0].value
    run_sql(at, "SELECT count(*) AS n FROM interactions")
    assert not at.error and frame_with(at, "n")["n"][0] > 50_000  # nothing was deleted


# -- upload staging files (views/data.py): removed after the import ---------------------------------
UPLOAD = b"customer_id,timestamp,touchpoint\nu1,2025-01-06T09:00:00Z,homepage\nu2,2025-01-07T09:00:00Z,pricing\n"


def staged(name):
    import tempfile
    from pathlib import Path

    return list(Path(tempfile.gettempdir()).glob(f"cx_upload_*/{name}"))


def data_page(demo_app):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("views/data.py").run()
    assert not at.exception, at.exception
    return at


def test_staging_file_is_removed_after_the_import(demo_app):
    import uuid

    name = f"stage_{uuid.uuid4().hex[:8]}.csv"
    at = data_page(demo_app)
    at.file_uploader[0].set_value((name, UPLOAD, "text/csv")).run()
    assert not at.exception, at.exception
    assert len(staged(name)) == 1  # staged while the mapping is edited
    at.button(key="check").click().run()
    assert not at.exception and any(m.label == "Accepted" and m.value == "2" for m in at.metric)
    at.button(key="do_import").click().run()
    assert not at.exception, at.exception
    assert staged(name) == []  # removed after the import
    s = cx.open(demo_app)
    try:  # and the SQL box cannot read staging files at all (see test_sqlbox.py)
        assert s.query("SELECT count(*) FROM interactions", dataset=name.removesuffix(".csv")).item() == 2
    finally:
        s.close()


def test_staging_file_is_removed_when_the_upload_is_replaced_or_cleared(demo_app):
    import uuid

    a, b = f"a_{uuid.uuid4().hex[:8]}.csv", f"b_{uuid.uuid4().hex[:8]}.csv"
    at = data_page(demo_app)
    at.file_uploader[0].set_value((a, UPLOAD, "text/csv")).run()
    assert len(staged(a)) == 1
    at.file_uploader[0].set_value((b, UPLOAD, "text/csv")).run()
    assert not at.exception
    leftovers = staged(a)
    at.file_uploader[0].set_value(None).run()
    leftovers += staged(b)
    for p in leftovers:  # clean up for the next test run
        p.unlink()
    assert leftovers == []


def test_sql_query_travels_in_the_link(demo_app):
    """A short query is put in the URL (?sql=...) when it runs, and a link with it opens and runs it."""
    at = sql_page()
    run_sql(at, "SELECT 41 + 1 AS answer")
    assert at.query_params["sql"] in ("SELECT 41 + 1 AS answer", ["SELECT 41 + 1 AS answer"])
    at2 = AppTest.from_file(APP, default_timeout=120).run()
    at2.switch_page("views/sql.py")
    at2.query_params["sql"] = "SELECT 'shared' AS link"
    at2.run()
    assert not at2.exception, at2.exception
    assert frame_with(at2, "link")["link"].tolist() == ["shared"]
    run_sql(at2, "SELECT 1 AS x -- " + "y" * 600)  # a long query stays out of the URL
    assert "sql" not in at2.query_params


def test_sql_page_refuses_sql_in_strings_and_survives_a_memory_bomb(demo_app):
    """Issue 19 from the page: the json_serialize_plan file read is refused without echoing the file,
    and a memory bomb ends its worker with a message while the page keeps working."""
    at = sql_page()
    assert any("Only this dataset can be read here" in c.value for c in at.caption)
    run_sql(at, "SELECT json_serialize_plan('SELECT zzz FROM read_csv(''/etc/passwd'', header=true, "
                "delim=''\\x01'', quote='''', escape='''', skip=0)')")
    assert at.error and "Not allowed" in at.error[0].value and "json_serialize_plan" in shown(at.error[0].value)
    assert "root:" not in shown(at.error[0].value)
    run_sql(at, "SELECT len(range(2000000000)) AS n")
    assert at.warning and "MB of memory and was stopped" in shown(at.warning[0].value)
    run_sql(at, "SELECT count(*) AS n FROM interactions")
    assert not at.error and not at.warning and frame_with(at, "n")["n"][0] > 50_000
