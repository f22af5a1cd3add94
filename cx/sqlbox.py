"""The SQL box: read-only SQL for analysts and notebooks, guarded.

``run(store, sql)`` (and :meth:`cx.Store.query`) accepts exactly one statement of type SELECT
(including ``WITH ...`` and ``FROM ...``) or EXPLAIN [ANALYZE] of one, and runs it like this:

1. **Parse, don't trust.** DuckDB's own parser splits the text (``duckdb.extract_statements``):
   more than one statement, or any statement type other than SELECT/EXPLAIN (ATTACH, COPY, EXPORT,
   INSTALL/LOAD, SET/RESET/USE, PRAGMA, CALL, CREATE, INSERT, UPDATE, DELETE, DROP, ...) is refused.
2. **Walk the syntax tree** (``json_serialize_sql``) and allow only what reads the database's
   own tables: query nodes SELECT / set operations / CTEs (so a DELETE hidden in a WITH is refused);
   table references to plain table names in the dataset schemas (``ds_N``), ``cx_meta`` and
   ``information_schema`` (a quoted path such as ``'/etc/passwd'`` or ``'x.csv'`` would be a file
   read: refused); table functions only from a short allow-list (``range``, ``generate_series``,
   ``unnest``): ``read_csv``, ``read_text``, ``glob``, ``read_parquet``, ``query_table``, ... are
   refused; scalar functions only when DuckDB already knows them (an unknown one could autoload an
   extension) and never ``getenv``/``nextval``/``current_setting``; casts only to known types;
   no ``$parameters``; no DuckDB system views (``duckdb_settings``, ``pg_settings``, ...).
3. **Run read-only and bounded.** On a fresh cursor (its own connection), ``USE`` the dataset's
   schema, ``BEGIN TRANSACTION READ ONLY`` (DuckDB itself refuses any write), execute in a worker
   thread, stream at most ``max_rows`` rows, ``ROLLBACK`` and close. A watchdog interrupts the
   query (``cursor.interrupt()``) when it runs longer than ``timeout_s`` or the process grows by
   more than ``max_memory_mb`` while it runs.

Why not DuckDB's ``enable_external_access=false`` / ``lock_configuration``: those settings are
instance-wide and irreversible, and the app shares one DuckDB instance (imports need file access);
DuckDB refuses to open the same file from a second instance in the same process (read-only or
ATTACH), and from another process while the app holds the write lock. The guard above therefore
works on what the statement *is* (DuckDB's parse tree) rather than on instance settings; the
read-only transaction is DuckDB's own enforcement of "no writes".
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
import weakref
from dataclasses import dataclass

import duckdb
import polars as pl

from .store import CXError

DEFAULT_MAX_ROWS = 10_000
DOWNLOAD_MAX_ROWS = 1_000_000
DEFAULT_TIMEOUT_S = float(os.environ.get("CX_SQL_TIMEOUT_S", "10"))  # operators may change the limits
DEFAULT_MAX_MEMORY_MB = float(os.environ.get("CX_SQL_MAX_MEMORY_MB", "2048"))

ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
BLOCKED_FUNCTIONS = frozenset({"getenv", "nextval", "currval", "current_setting", "setseed",
                               "getvariable", "query", "query_table"})
_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
_TABLE_REFS = frozenset({"BASE_TABLE", "TABLE_FUNCTION", "JOIN", "SUBQUERY", "EXPRESSION_LIST", "EMPTY",
                         "PIVOT", "SHOW_REF"})
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCHEMA_OK = re.compile(r"^(ds_[0-9]+|cx_meta|information_schema)$")
_EXPLAIN = re.compile(r"^\s*EXPLAIN(\s+ANALY[SZ]E)?\s+", re.IGNORECASE)
_COMMENTS = re.compile(r"^\s*(--[^\n]*(\n|$)|/\*.*?\*/)", re.DOTALL)


class QueryRejected(CXError):
    """The statement is not allowed in the SQL box; the message says why."""


class QueryError(CXError):
    """The statement was allowed but failed, was too slow or used too much memory."""


@dataclass(frozen=True)
class QueryResult:
    frame: pl.DataFrame
    truncated: bool  # more rows than max_rows existed; only the first max_rows are in frame
    seconds: float
    statement: str  # "SELECT" or "EXPLAIN"


# -- validation ------------------------------------------------------------------------------
def _catalog(store, con) -> dict:
    """Names DuckDB knows (cached per store)."""
    got = _CATALOG_CACHE.get(store)
    if got is None:
        funcs = con.execute(
            "SELECT DISTINCT lower(function_name), function_type FROM duckdb_functions()").fetchall()
        got = {
            "scalar": {f for f, t in funcs if t in ("scalar", "aggregate", "macro", "window")} | {"unnest"},
            "types": {r[0] for r in con.execute("SELECT DISTINCT lower(type_name) FROM duckdb_types()").fetchall()},
            "system_views": {r[0] for r in con.execute(
                "SELECT DISTINCT lower(view_name) FROM duckdb_views() WHERE internal").fetchall()},
            "database": con.execute("SELECT current_database()").fetchall()[0][0],
        }
        _CATALOG_CACHE[store] = got
    return got


_CATALOG_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _strip_comments(sql: str) -> str:
    prev = None
    while prev != sql:
        prev, sql = sql, _COMMENTS.sub("", sql, count=1)
    return sql


def _walk(node, cat: dict) -> None:
    if isinstance(node, list):
        for x in node:
            _walk(x, cat)
        return
    if not isinstance(node, dict):
        return
    typ = node.get("type")
    cls = node.get("class")
    if isinstance(typ, str) and typ.endswith("_NODE") and "modifiers" in node:
        if typ not in _QUERY_NODES:
            verb = typ.removesuffix("_QUERY_NODE").removesuffix("_NODE")
            raise QueryRejected(f"Only reading is allowed: the statement contains a {verb} "
                                f"(inside a WITH or subquery). Nothing was run.")
    elif cls is None and isinstance(typ, str) and "alias" in node and "sample" in node:
        _check_table_ref(node, cat)
    elif cls in ("FUNCTION", "WINDOW", "AGGREGATE"):
        name = str(node.get("function_name", "")).lower()
        if node.get("catalog") or node.get("schema") not in ("", None, "main"):
            raise QueryRejected(f"The function {name} cannot be called with a schema or catalog here.")
        if name in BLOCKED_FUNCTIONS:
            raise QueryRejected(f"The function {name}() is not available in the SQL box "
                                f"(it reads the server's environment or settings, or changes state).")
        if not node.get("is_operator") and name not in cat["scalar"]:
            raise QueryRejected(f"Unknown function {name}(): only DuckDB's built-in functions can be "
                                f"used (extensions are never installed or loaded from here).")
    elif cls == "TYPE":
        name = str(node.get("type_name", "")).lower()
        if node.get("catalog") or node.get("schema") or name not in cat["types"]:
            raise QueryRejected(f"Unknown type {name}: only DuckDB's built-in types can be used.")
    elif cls == "PARAMETER":
        raise QueryRejected("Parameters ($1, ?) are not supported: write the values into the query.")
    if isinstance(node.get("cte_map"), dict):
        for entry in node["cte_map"].get("map", []):
            name = str(entry.get("key", ""))
            if not _IDENT.match(name) or name.lower() in cat["system_views"]:
                raise QueryRejected(f"A WITH name must be a plain name (letters, digits, _), not {name!r}.")
    for v in node.values():
        if isinstance(v, (dict, list)):
            _walk(v, cat)


def _check_table_ref(ref: dict, cat: dict) -> None:
    typ = ref["type"]
    if typ not in _TABLE_REFS:
        raise QueryRejected(f"This kind of FROM item ({typ}) is not allowed in the SQL box.")
    if typ == "BASE_TABLE":
        catalog = ref.get("catalog_name") or ""
        schema_ = ref.get("schema_name") or ""
        name = ref.get("table_name") or ""
        if not _IDENT.match(name):
            raise QueryRejected(f"{name!r} is not a table name: reading files is not allowed in the SQL box "
                                f"(only the tables in the schema browser can be read).")
        if catalog and catalog != cat["database"]:
            raise QueryRejected(f"The database {catalog!r} is not available: only this app's database.")
        if schema_ and not _SCHEMA_OK.match(schema_):
            raise QueryRejected(f"The schema {schema_!r} is not available: use the dataset tables "
                                f"(ds_N.interactions ...), cx_meta or information_schema.")
        if not schema_ and name.lower() in cat["system_views"]:
            raise QueryRejected(f"The system view {name} is not available in the SQL box.")
    elif typ == "TABLE_FUNCTION":
        fn = ref.get("function") or {}
        name = str(fn.get("function_name", "")).lower()
        if name not in ALLOWED_TABLE_FUNCTIONS or fn.get("catalog") or fn.get("schema"):
            raise QueryRejected(f"The table function {name}() is not allowed: file, network and system "
                                f"access are off in the SQL box (allowed: "
                                f"{', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))}).")
    elif typ == "SHOW_REF" and (ref.get("table_name") or not ref.get("query")):
        raise QueryRejected("SHOW is not available: the schema browser lists the tables and columns. "
                            "DESCRIBE/SUMMARIZE of a query work.")


def validate(store, con: duckdb.DuckDBPyConnection, sql: str) -> tuple[str, str]:
    """Check `sql` (see the module docstring); returns (kind, statement) with kind "SELECT" or
    "EXPLAIN", or raises QueryRejected saying why."""
    if not isinstance(sql, str) or not sql.strip():
        raise QueryRejected("The query is empty.")
    if len(sql) > 100_000:
        raise QueryRejected("The query is longer than 100,000 characters.")
    try:
        stmts = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryRejected(f"The query could not be parsed: {_short(e)}") from None
    stmts = [s for s in stmts if s.query.strip(" \t\r\n;")]
    if len(stmts) != 1:
        raise QueryRejected(f"Exactly one statement is allowed; this text has {len(stmts)}. "
                            "Remove the extra statements (a ';' followed by more SQL).")
    st = stmts[0]
    text = st.query.strip().rstrip(";").strip()
    kind = st.type.name
    if kind == "EXPLAIN":
        inner = _EXPLAIN.sub("", _strip_comments(text), count=1)
        if inner == _strip_comments(text):
            raise QueryRejected("Write EXPLAIN as `EXPLAIN SELECT ...` or `EXPLAIN ANALYZE SELECT ...`.")
        inner_kind, _ = validate(store, con, inner)
        if inner_kind != "SELECT":
            raise QueryRejected("EXPLAIN is allowed for a SELECT only.")
        return "EXPLAIN", text
    if kind != "SELECT":
        raise QueryRejected(f"Only SELECT, WITH and EXPLAIN statements are allowed in the SQL box; this is "
                            f"a {kind} statement. Nothing was run.")
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [text]).fetchall()[0][0])
    if tree.get("error"):
        raise QueryRejected(f"The query could not be checked: {tree.get('error_message', 'parse error')}")
    if len(tree.get("statements", [])) != 1:
        raise QueryRejected("Exactly one statement is allowed.")
    _walk(tree["statements"][0], _catalog(store, con))
    return "SELECT", text


# -- execution -------------------------------------------------------------------------------
def _rss_mb() -> float | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return None


def _unique_names(names: list[str]) -> list[str]:
    """DuckDB allows repeated column names, polars does not: `x`, `x` -> `x`, `x_2`."""
    seen: set[str] = set()
    out = []
    for n in names:
        new, i = n, 1
        while new in seen:
            i += 1
            new = f"{n}_{i}"
        seen.add(new)
        out.append(new)
    return out


def _short(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return (msg[0] if msg else type(e).__name__)[:500]


def run(store, sql: str, max_rows: int = DEFAULT_MAX_ROWS, timeout_s: float = DEFAULT_TIMEOUT_S,
        dataset: str | None = None, max_memory_mb: float = DEFAULT_MAX_MEMORY_MB) -> QueryResult:
    """Validate and run one read-only statement; the first `max_rows` rows as a QueryResult.
    Unqualified table names (interactions, customers, feedback) are the tables of `dataset`
    (the default dataset when None and it exists). Raises QueryRejected or QueryError."""
    max_rows = int(max_rows)
    if max_rows < 0 or max_rows > DOWNLOAD_MAX_ROWS:
        raise QueryRejected(f"max_rows must be between 0 and {DOWNLOAD_MAX_ROWS:,}.")
    cur = store.cursor()
    try:
        kind, text = validate(store, cur, sql)
        ds = None
        if dataset is not None or store.has_dataset(_default_name()):
            ds = store.dataset(dataset)
        if ds is not None:
            cur.execute(f"USE {ds.schema}")  # an identifier built from an integer
        cur.execute("BEGIN TRANSACTION READ ONLY")
        out: dict = {}

        def work():
            try:
                rel = cur.sql(text)
                if rel is None:  # pragma: no cover - a SELECT always has a result
                    out["frame"] = pl.DataFrame()
                    return
                reader = rel.to_arrow_reader(min(max(max_rows, 1) + 1, 100_000))
                batches, n = [], 0
                try:
                    for b in reader:
                        batches.append(b)
                        n += b.num_rows
                        if n > max_rows:
                            break
                finally:
                    reader.close()
                import pyarrow as pa

                tbl = pa.Table.from_batches(batches, schema=reader.schema)
                out["truncated"] = tbl.num_rows > max_rows
                tbl = tbl.rename_columns(_unique_names(tbl.column_names))
                out["frame"] = pl.from_arrow(tbl.slice(0, max_rows))
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                out["error"] = e

        t0 = time.perf_counter()
        rss0 = _rss_mb()
        worker = threading.Thread(target=work, name="cx-sqlbox", daemon=True)
        worker.start()
        why = None
        while worker.is_alive():
            worker.join(0.05)
            if not worker.is_alive():
                break
            if time.perf_counter() - t0 > timeout_s:
                why = f"The query took longer than {timeout_s:g} s and was stopped."
            elif rss0 is not None and (_rss_mb() or 0) - rss0 > max_memory_mb:
                why = f"The query used more than {max_memory_mb:,.0f} MB of memory and was stopped."
            if why:
                cur.interrupt()
                worker.join(30)
                break
        seconds = time.perf_counter() - t0
        if why:
            raise QueryError(why + " Add filters or a LIMIT, or aggregate before joining.")
        if "error" in out:
            e = out["error"]
            if isinstance(e, duckdb.InterruptException):  # pragma: no cover - interrupted elsewhere
                raise QueryError("The query was interrupted.") from None
            raise QueryError(f"The query failed: {_short(e)}") from None
        return QueryResult(out["frame"], bool(out.get("truncated")), seconds, kind)
    finally:
        try:
            cur.execute("ROLLBACK")
        except duckdb.Error:
            pass
        try:
            cur.close()
        except duckdb.Error:  # pragma: no cover
            pass


def _default_name() -> str:
    from .store import DEFAULT_DATASET

    return DEFAULT_DATASET


def query(store, sql: str, max_rows: int = DEFAULT_MAX_ROWS, timeout_s: float = DEFAULT_TIMEOUT_S,
          dataset: str | None = None) -> pl.DataFrame:
    """The rows of one guarded read-only statement as a polars frame (at most `max_rows`)."""
    return run(store, sql, max_rows=max_rows, timeout_s=timeout_s, dataset=dataset).frame


# -- the schema browser ------------------------------------------------------------------------
def schema_browser(store, dataset: str | None = None) -> pl.DataFrame:
    """The tables an analyst can query for `dataset`: table, column, type (in column order).
    Unqualified names in the SQL box mean these tables."""
    ds = store.dataset(dataset)
    return store.con.sql(
        "SELECT table_name AS \"table\", column_name AS \"column\", data_type AS type "
        "FROM duckdb_columns() WHERE schema_name = $s AND NOT internal ORDER BY table_name, column_index",
        params={"s": ds.schema}).pl()


def examples(store, dataset: str | None = None) -> dict[str, str]:
    """Example queries (title -> SQL) that run on the dataset's tables."""
    ex = {
        "Touchpoints per channel": "SELECT channel, count(*) AS touchpoints, count(DISTINCT customer_id) AS customers\n"
                                   "FROM interactions\nGROUP BY channel\nORDER BY touchpoints DESC",
        "Customers per stage reached": "SELECT stage, count(DISTINCT customer_id) AS customers\nFROM interactions\n"
                                       "WHERE stage IS NOT NULL\nGROUP BY stage\nORDER BY customers DESC",
        "Monthly revenue": "SELECT date_trunc('month', timestamp) AS month, sum(amount) AS revenue,\n"
                           "       count(DISTINCT customer_id) FILTER (WHERE amount > 0) AS buyers\n"
                           "FROM interactions\nGROUP BY month\nORDER BY month",
        "Top customers by spend (WITH)": "WITH spend AS (\n  SELECT customer_id, sum(amount) AS spend, "
                                         "count(*) AS touchpoints\n"
                                         "  FROM interactions GROUP BY customer_id\n)\n"
                                         "SELECT * FROM spend ORDER BY spend DESC NULLS LAST LIMIT 20",
        "Query plan (EXPLAIN)": "EXPLAIN SELECT touchpoint, count(*) FROM interactions GROUP BY touchpoint",
    }
    if store.has_table("feedback", dataset):
        ex["Average score per metric"] = ("SELECT metric, count(*) AS responses, round(avg(score), 2) AS average\n"
                                          "FROM feedback\nGROUP BY metric\nORDER BY metric")
    return ex
