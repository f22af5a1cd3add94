"""The SQL box guard (cx.sqlbox, store.query): one test per attack, each rejected with a clear
message AND without effect (file not read or written, table not changed, setting not changed,
nothing attached or loaded); the allowed statements work, with a row cap, a time and a memory limit."""
import tempfile
from pathlib import Path

import polars as pl
import pytest

import cx
from cx import sqlbox

EVENTS = """customer_id,timestamp,touchpoint,channel,amount
a,2025-01-06T09:00:00Z,social_ad,social,
a,2025-01-07T10:00:00Z,order_placed,web,100
b,2025-01-08T08:00:00Z,homepage,web,
c,2025-01-15T12:00:00Z,order_placed,store,60
"""
SECRET = "TOP-SECRET-ROW"


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    """One database for the module: the attacks must leave it unchanged (each test checks)."""
    d = tmp_path_factory.mktemp("box")
    (d / "e.csv").write_text(EVENTS)
    s = cx.open(d / "box.duckdb")
    s.import_file(d / "e.csv", dataset="t")
    yield s
    s.close()


@pytest.fixture
def fresh(store, write):
    store.import_file(write("e.csv", EVENTS), dataset="t")
    return store


@pytest.fixture
def staging():
    """A file like the Data page's upload staging file (tempdir/cx_upload_*/name.csv)."""
    d = Path(tempfile.mkdtemp(prefix="cx_upload_"))
    p = d / "upload.csv"
    p.write_text(f"customer_id,secret\nx,{SECRET}\n")
    yield p
    p.unlink(missing_ok=True)
    d.rmdir()


def state(store):
    """Everything an attack could change: the rows, the catalog, attached databases, settings,
    loaded extensions, the dataset version."""
    con = store.cursor()
    try:
        ds = store.dataset("t")
        return {
            "rows": con.execute(f"SELECT * FROM {ds.schema}.interactions ORDER BY _seq").fetchall(),
            "tables": con.execute("SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
                                  "ORDER BY ALL").fetchall(),
            "databases": con.execute("SELECT database_name FROM duckdb_databases() ORDER BY 1").fetchall(),
            "settings": con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'memory_limit', "
                "'enable_external_access', 'lock_configuration', 'autoload_known_extensions', "
                "'autoinstall_known_extensions', 'allowed_directories', 'TimeZone') ORDER BY 1").fetchall(),
            "extensions": con.execute("SELECT extension_name FROM duckdb_extensions() WHERE loaded "
                                      "ORDER BY 1").fetchall(),
            "version": store.version("t"),
            "datasets": store.dataset_names(),
        }
    finally:
        con.close()


def rejected(store, sql, match, **kw):
    before = state(store)
    with pytest.raises(cx.QueryRejected, match=match) as e:
        store.query(sql, dataset="t", **kw)
    assert state(store) == before
    return str(e.value)


# -- allowed -----------------------------------------------------------------------------------
def test_select_with_explain_run_and_return_polars(box):
    df = box.query("SELECT channel, count(*) AS n FROM interactions GROUP BY channel ORDER BY channel",
                   dataset="t")
    assert isinstance(df, pl.DataFrame)
    assert df.rows() == [("social", 1), ("store", 1), ("web", 2)]
    df = box.query("WITH s AS (SELECT customer_id, sum(amount) AS spend FROM interactions GROUP BY 1) "
                   "SELECT * FROM s WHERE spend > 0 ORDER BY spend DESC", dataset="t")
    assert df.rows() == [("a", 100.0), ("c", 60.0)]
    ex = box.query("EXPLAIN SELECT * FROM interactions WHERE amount > 10", dataset="t")
    assert ex.columns == ["explain_key", "explain_value"] and "interactions" in ex["explain_value"][0].lower()
    ds = box.dataset("t")
    assert box.query(f"FROM {ds.schema}.interactions SELECT count(*) AS n").item() == 4
    assert box.query("SELECT name FROM cx_meta.datasets").rows() == [("t",)]
    assert box.query("-- a comment\nSELECT 1 AS one;").rows() == [(1,)]
    assert box.query("SELECT 1 AS x, 2 AS x").columns == ["x", "x_2"]  # duplicate names kept apart


def test_row_cap_and_truncation_flag(box):
    r = sqlbox.run(box, "SELECT range AS i FROM range(25000)", max_rows=10_000)
    assert r.frame.height == 10_000 and r.truncated and r.frame["i"].to_list()[:3] == [0, 1, 2]
    r = sqlbox.run(box, "SELECT range AS i FROM range(25000)", max_rows=30_000)
    assert r.frame.height == 25_000 and not r.truncated
    assert box.query("SELECT * FROM range(50)", max_rows=7).height == 7
    with pytest.raises(cx.QueryRejected, match="max_rows"):
        box.query("SELECT 1", max_rows=2_000_000)


def test_unqualified_names_are_the_chosen_datasets_tables(fresh, write):
    fresh.import_file(write("o.csv", "customer_id,timestamp,touchpoint\nz,2025-01-01,homepage\n"), dataset="other")
    assert fresh.query("SELECT count(*) FROM interactions", dataset="t").item() == 4
    assert fresh.query("SELECT count(*) FROM interactions", dataset="other").item() == 1


def test_schema_browser_and_examples_run(box):
    sb = sqlbox.schema_browser(box, "t")
    assert {"table", "column", "type"} <= set(sb.columns)
    assert ("interactions", "customer_id") in set(zip(sb["table"], sb["column"]))
    for title, sql in sqlbox.examples(box, "t").items():
        assert isinstance(box.query(sql, dataset="t"), pl.DataFrame), title


def test_a_failing_query_is_a_query_error_with_the_reason(box):
    with pytest.raises(cx.QueryError, match="nope"):
        box.query("SELECT nope FROM interactions", dataset="t")
    with pytest.raises(cx.QueryError, match="does not exist"):
        box.query("SELECT * FROM no_such_table", dataset="t")
    assert isinstance(cx.QueryError("x"), cx.CXError) and isinstance(cx.QueryRejected("x"), cx.CXError)


# -- file access -------------------------------------------------------------------------------
def test_read_csv_etc_passwd(box):
    msg = rejected(box, "SELECT * FROM read_csv('/etc/passwd', sep=':')", "read_csv")
    assert "file" in msg


def test_read_csv_auto_and_parquet_and_json(box):
    for fn in ("read_csv_auto", "read_parquet", "read_json", "parquet_scan", "sniff_csv", "read_blob"):
        rejected(box, f"SELECT * FROM {fn}('/etc/passwd')", f"{fn}.*not allowed")


def test_read_text(box):
    rejected(box, "SELECT content FROM read_text('/etc/passwd')", "read_text.*not allowed")


def test_glob(box):
    rejected(box, "SELECT * FROM glob('/etc/*')", "glob.*not allowed")


def test_bare_file_path_as_table(box):
    rejected(box, "SELECT * FROM '/etc/passwd'", "not a table name: reading files is not allowed")
    rejected(box, "SELECT * FROM 'data.csv'", "not a table name")
    rejected(box, 'SELECT * FROM "https://example.com/x.parquet"', "not a table name")


def test_file_path_smuggled_through_a_cte_name(box):
    rejected(box, """SELECT * FROM (WITH "/etc/passwd" AS (SELECT 1) SELECT 1), "/etc/passwd" """,
             "plain name")


def test_reading_upload_staging_files(box, staging):
    for sql in (f"SELECT * FROM '{staging}'", f"SELECT * FROM read_csv('{staging}')",
                f"SELECT * FROM read_text('{staging}')", f"SELECT * FROM glob('{staging.parent}/*')",
                f"SELECT * FROM read_csv_auto('{staging.parent}/*.csv')"):
        msg = rejected(box, sql, "not")
        assert SECRET not in msg
    assert staging.exists()  # untouched


def test_getenv_and_settings_are_not_readable(box):
    rejected(box, "SELECT getenv('HOME')", "getenv")
    rejected(box, "SELECT current_setting('memory_limit')", "current_setting")
    rejected(box, "SELECT * FROM duckdb_settings()", "duckdb_settings.*not allowed")
    rejected(box, "SELECT * FROM duckdb_databases", "system view")
    rejected(box, "SELECT * FROM pg_settings", "system view")
    rejected(box, "SELECT * FROM pg_catalog.pg_settings", "schema 'pg_catalog'")


# -- other statements --------------------------------------------------------------------------
def test_attach(box, tmp_path):
    target = tmp_path / "evil.duckdb"
    rejected(box, f"ATTACH '{target}' AS evil", "ATTACH statement")
    assert not target.exists()
    rejected(box, "SELECT * FROM evil.main.t", "not available")


def test_copy_to(box, tmp_path):
    out = tmp_path / "leak.csv"
    rejected(box, f"COPY (SELECT * FROM interactions) TO '{out}'", "COPY statement")
    rejected(box, f"COPY interactions TO '{out}' (FORMAT csv)", "COPY statement")
    rejected(box, f"COPY interactions FROM '{out}'", "COPY statement")
    assert not out.exists()


def test_export_database(box, tmp_path):
    out = tmp_path / "export"
    rejected(box, f"EXPORT DATABASE '{out}'", "EXPORT statement")
    assert not out.exists()


def test_install_and_load(box):
    rejected(box, "INSTALL spatial", "LOAD statement")
    rejected(box, "LOAD spatial", "LOAD statement")
    rejected(box, "FORCE INSTALL httpfs FROM core_nightly", "LOAD statement")
    # a function or type of a not-loaded extension would autoload (and autoinstall) it: refused first
    rejected(box, "SELECT st_point(1, 2)", "Unknown function st_point")
    rejected(box, "SELECT 1::my_extension_type", "Unknown type")


def test_set_reset_pragma_use(box):
    rejected(box, "SET threads = 1", "SET statement")
    rejected(box, "SET GLOBAL enable_external_access = true", "SET statement")
    rejected(box, "RESET memory_limit", "SET statement")
    rejected(box, "PRAGMA threads = 1", "SET statement")  # DuckDB parses an assigning PRAGMA as a SET
    rejected(box, "PRAGMA version", "PRAGMA statement")
    rejected(box, "USE cx_meta", "SET statement")
    rejected(box, "SET VARIABLE x = 1", "SET statement")
    rejected(box, "CALL pragma_version()", "CALL statement")
    rejected(box, "CHECKPOINT", "CALL statement")


@pytest.mark.parametrize("sql,kind", [
    ("CREATE TABLE x AS SELECT 1", "CREATE"),
    ("CREATE VIEW v AS SELECT * FROM read_csv('/etc/passwd')", "CREATE"),
    ("CREATE MACRO m() AS 1", "CREATE"),
    ("INSERT INTO interactions (customer_id) VALUES ('evil')", "INSERT"),
    ("UPDATE interactions SET amount = 0", "UPDATE"),
    ("DELETE FROM interactions", "DELETE"),
    ("DROP TABLE interactions", "DROP"),
    ("ALTER TABLE interactions RENAME TO gone", "ALTER"),
    ("TRUNCATE interactions", "DELETE"),
    ("VACUUM", "VACUUM"),
    ("DETACH memory", "DETACH"),
])
def test_writes_and_ddl(box, sql, kind):
    rejected(box, sql, f"{kind} statement")


def test_delete_hidden_in_a_cte(box):
    msg = rejected(box, "WITH d AS (DELETE FROM interactions RETURNING *) SELECT count(*) FROM d", "DELETE")
    assert "Only reading" in msg
    rejected(box, "WITH u AS (UPDATE interactions SET amount = 0 RETURNING *) SELECT * FROM u", "UPDATE")
    rejected(box, "WITH i AS (INSERT INTO interactions (customer_id) VALUES ('e') RETURNING *) SELECT 1", "INSERT")
    rejected(box, "EXPLAIN ANALYZE WITH d AS (DELETE FROM interactions RETURNING *) SELECT 1", "DELETE")
    rejected(box, "EXPLAIN DELETE FROM interactions", "DELETE statement")


def test_stacked_statements(box):
    msg = rejected(box, "SELECT 1; DELETE FROM interactions", "Exactly one statement")
    assert "has 2" in msg
    rejected(box, "SELECT 1; SELECT 2", "Exactly one statement")
    rejected(box, "SELECT 1; ATTACH '/tmp/x.db'", "Exactly one statement")
    rejected(box, "", "empty")
    rejected(box, "SELECT 'unterminated", "could not be parsed")


def test_table_functions_other_than_range_are_refused(box):
    rejected(box, "SELECT * FROM query_table('interactions')", "query_table")
    rejected(box, "SELECT * FROM query('DELETE FROM interactions')", "query")
    assert box.query("SELECT count(*) FROM range(10)").item() == 10
    assert box.query("SELECT unnest([1, 2, 3]) AS v").height == 3


def test_parameters_and_show(box):
    rejected(box, "SELECT $1", "Parameters")
    rejected(box, "SHOW TABLES", "SHOW is not available")
    assert box.query("DESCRIBE interactions", dataset="t").height > 5  # DESCRIBE of a table is fine


def test_read_only_transaction_is_a_second_wall(box, monkeypatch):
    """Even if the parser check missed a write, DuckDB's READ ONLY transaction refuses it."""
    monkeypatch.setattr(sqlbox, "validate", lambda store, con, sql: ("SELECT", sql))
    before = state(box)
    with pytest.raises(cx.QueryError, match="read-only"):
        box.query("DELETE FROM interactions", dataset="t")
    with pytest.raises(cx.QueryError, match="read-only"):
        box.query("CREATE TABLE x AS SELECT 1", dataset="t")
    assert state(box) == before


# -- resources ---------------------------------------------------------------------------------
def test_runaway_cross_join_is_stopped(box):
    before = state(box)
    with pytest.raises(cx.QueryError, match="longer than 1 s and was stopped"):
        box.query("SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE (a.range * b.range) % 7 = 3",
                  timeout_s=1)
    assert state(box) == before
    assert box.query("SELECT count(*) FROM interactions", dataset="t").item() == 4  # still serving


def test_memory_bomb_is_stopped(box):
    before = state(box)
    with pytest.raises(cx.QueryError, match="memory"):
        sqlbox.run(box, "SELECT list(range) AS l FROM range(2000000000)", max_memory_mb=300, timeout_s=60)
    assert state(box) == before
    assert box.query("SELECT count(*) FROM interactions", dataset="t").item() == 4


def test_concurrent_writer_is_not_blocked_by_a_query(fresh, write):
    """A read-only query holds no write lock: an import can commit meanwhile."""
    import threading

    errors = []

    def slow():
        try:
            fresh.query("SELECT count(*) FROM range(100000000) a, range(100000000) b", timeout_s=2)
        except cx.QueryError:
            pass
        except Exception as e:  # pragma: no cover
            errors.append(e)

    t = threading.Thread(target=slow)
    t.start()
    rep = fresh.import_file(write("n.csv", "customer_id,timestamp,touchpoint\nn,2025-02-01,homepage\n"),
                          dataset="t", mode="append")
    t.join()
    assert rep.accepted == 1 and not errors


def test_a_snapshot_stays_free_for_workers_while_other_sessions_read(fresh, monkeypatch):
    """Another session's transaction that begins while a snapshot is written, and reads the catalog
    (every Ibis query does), must not keep the new file locked: the worker that attaches it next
    would fail with "Conflicting lock" (CI saw it with imports and readers at once). The copy also
    keeps every column's type."""
    from cx.sqlbox import snapshot

    other = fresh.cursor()
    real, opened = snapshot._stream, []

    def stream_while_another_session_reads(*a, **k):
        if not opened:
            other.execute("BEGIN TRANSACTION")
            other.execute("SELECT count(*) FROM duckdb_tables()").fetchall()
            opened.append(True)
        return real(*a, **k)

    monkeypatch.setattr(snapshot, "_stream", stream_while_another_session_reads)
    try:
        df = fresh.query("SELECT count(*) AS n, sum(amount) AS total FROM interactions", dataset="t")
        assert opened and df.row(0) == (4, 160.0)
    finally:
        other.execute("COMMIT")
        other.close()
    ds = fresh.dataset("t")
    cols = ("SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = ? AND table_schema = ? ORDER BY ALL")
    app = fresh.con.execute(cols, [fresh.con.execute("SELECT current_database()").fetchone()[0],
                                   ds.schema]).fetchall()
    box = fresh.query(cols.replace("?", "'%s'") % (ds.schema, "main"), dataset="t", max_rows=1000)
    assert [tuple(r) for r in box.iter_rows()] == app and len(app) > 10


def test_python_variables_are_not_readable(box):
    """DuckDB's Python replacement scan (FROM <a DataFrame variable>) cannot reach the caller's data:
    the query runs in a worker thread whose frames hold no data frames."""
    secret_df = pl.DataFrame({"secret": [SECRET]})  # noqa: F841 - the bait
    with pytest.raises(cx.QueryError, match="secret_df"):
        box.query("SELECT * FROM secret_df", dataset="t")


# -- exports (cx/export.py, used by every download) ------------------------------------------------
def test_csv_export_neutralises_formulas_everywhere():
    from cx.export import to_csv_bytes

    df = pl.DataFrame({"s": ["=1+1", "+x", "-y", "@z", "\tq", "\rr", "ok", None],
                       "cat": pl.Series(["=HYPERLINK(\"http://x\")"] * 8).cast(pl.Categorical),
                       "n": [-1] * 8})
    out = pl.read_csv(to_csv_bytes(df))
    assert out["s"].to_list() == ["'=1+1", "'+x", "'-y", "'@z", "'\tq", "'\rr", "ok", None]
    assert set(out["cat"]) == {"'=HYPERLINK(\"http://x\")"}  # categoricals too
    assert out["n"].to_list() == [-1] * 8  # numbers stay numbers
    nested = pl.DataFrame({"l": [["=x", "y"]], "st": [{"a": "=x"}]})
    text = to_csv_bytes(nested).decode()  # nested values (SQL box results) become JSON text
    assert '[""=x"",""y""]' in text and text.splitlines()[1][0] in "\"["


def test_every_view_download_goes_through_the_export_function():
    import re

    from tests.conftest import ROOT

    for page in sorted((ROOT / "views").glob("*.py")):
        src = page.read_text()
        for m in re.finditer(r"download_button\((.*?)(?:\n\s*\n|\)\n)", src, re.S):
            call = m.group(1)
            assert ("to_csv_bytes(" in call or "template_csv(" in call or "sql_full" in call
                    or "digest.html_page(" in call or "digest.text(" in call  # no CSV: cx.cases.digest escapes
                    or re.search(r",\s*data\s*,", call)), f"{page.name}: a download without cx.export: {call[:120]}"
        assert "write_csv(" not in src and ".to_csv(" not in src, f"{page.name} writes CSV by itself"
        assert "unsafe_allow_html" not in src, f"{page.name} renders HTML"


# -- issue 19: SQL hidden in strings, settings through constant folding, deep expressions -------------
PLAN_READ = ("SELECT json_serialize_plan('SELECT zzz FROM read_csv(''{path}'', header=true, delim=''\\x01'', "
             "quote='''', escape='''', skip={skip})')")


def test_functions_taking_sql_text_are_refused(box, staging):
    """json_serialize_plan binds the SQL in its argument: its binder error listed a file's lines as
    candidate columns (`Candidate bindings: "root:x:0:0:..."`), globs listed directories, and with
    optimize := true blocked settings leaked through constant folding."""
    for path in ("/etc/passwd", staging):
        for skip in (0, 1):
            msg = rejected(box, PLAN_READ.format(path=path, skip=skip), "json_serialize_plan.*SQL given as text")
            assert SECRET not in msg and "root:x:0:0" not in msg
    rejected(box, "SELECT json_serialize_plan('SELECT zzz FROM glob(''/etc/*'')')", "json_serialize_plan")
    rejected(box, "SELECT json_serialize_plan('SELECT current_setting(''memory_limit'')', optimize := true)",
             "json_serialize_plan")
    rejected(box, "SELECT json_serialize_sql('SELECT 1')", "json_serialize_sql")
    rejected(box, "SELECT json_deserialize_sql(json_serialize_sql('SELECT 1'))", "json_deserialize_sql")
    rejected(box, "SELECT * FROM json_execute_serialized_sql('{}')", "json_execute_serialized_sql")
    rejected(box, "SELECT 1 AS x WHERE json_serialize_plan('SELECT 1') IS NULL", "json_serialize_plan")
    rejected(box, "SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')", "query")
    rejected(box, f"SELECT * FROM query_table('{staging}')", "query_table")


def test_settings_and_set_inside_strings_are_refused(box):
    rejected(box, "SELECT current_setting('enable_external_access')", "current_setting")
    rejected(box, "SELECT * FROM query('SET enable_external_access = true')", "query")
    rejected(box, "SELECT json_serialize_plan('SET threads = 1')", "json_serialize_plan")
    rejected(box, "SELECT write_log('x')", "write_log")


def test_a_very_deep_expression_is_a_clear_rejection(box):
    msg = rejected(box, "SELECT " + "+".join(["1"] * 900), "nested too deeply")
    assert "RecursionError" not in msg
    assert box.query("SELECT " + "+".join(["1"] * 200) + " AS n").item() == 200  # deep, but checkable
    with pytest.raises(cx.QueryRejected, match="could not be parsed.*depth"):  # DuckDB's own depth limit
        box.query("SELECT " + "+".join(["1"] * 2000))
