"""The SQL box's first wall: what the statement *is*, checked in the app before anything runs.

1. **Parse, don't trust.** DuckDB's own parser splits the text (``duckdb.extract_statements``):
   more than one statement, or any statement type other than SELECT/EXPLAIN (ATTACH, COPY, EXPORT,
   INSTALL/LOAD, SET/RESET/USE, PRAGMA, CALL, CREATE, INSERT, UPDATE, DELETE, DROP, ...) is refused.
2. **Walk the syntax tree** (``json_serialize_sql``, parsing only) and allow only what reads the
   snapshot's own tables: query nodes SELECT / set operations / CTEs (so a DELETE hidden in a WITH
   is refused); table references to plain table names in the dataset schemas (``ds_N``),
   ``cx_meta`` and ``information_schema`` (a quoted path such as ``'/etc/passwd'`` is a file read:
   refused); table functions only ``range``, ``generate_series``, ``unnest``; scalar functions only
   when DuckDB already knows them (an unknown one could autoload an extension), never those that
   read the environment or settings (``getenv``, ``current_setting``, ...) and never those that take
   SQL text (``json_serialize_sql``, ``json_serialize_plan``, ``json_deserialize_sql``,
   ``json_execute_serialized_sql``, ``query``, ``query_table``): SQL inside a string is invisible
   to this walk, so a function that binds it would be a way around every check here; casts only
   to known types; no ``$parameters``; no DuckDB system views.

The second wall is the worker process (:mod:`cx.sqlbox.worker`): even a statement this guard
missed cannot read a file, change a setting or write, and is bounded in memory and time.
"""
from __future__ import annotations

import json
import re
import weakref

import duckdb

from .errors import QueryRejected, clean_message

ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
SQL_TEXT_FUNCTIONS = frozenset({"json_serialize_sql", "json_serialize_plan", "json_deserialize_sql",
                                "json_execute_serialized_sql", "query", "query_table"})
BLOCKED_FUNCTIONS = frozenset({"getenv", "nextval", "currval", "current_setting", "setseed",
                               "getvariable", "write_log"}) | SQL_TEXT_FUNCTIONS
_SQL_TEXT_PREFIXES = ("json_serialize", "json_deserialize", "json_execute")
_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
_TABLE_REFS = frozenset({"BASE_TABLE", "TABLE_FUNCTION", "JOIN", "SUBQUERY", "EXPRESSION_LIST", "EMPTY",
                         "PIVOT", "SHOW_REF"})
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCHEMA_OK = re.compile(r"^(ds_[0-9]+|cx_meta|information_schema)$")
_EXPLAIN = re.compile(r"^\s*EXPLAIN(\s+ANALY[SZ]E)?\s+", re.IGNORECASE)
_COMMENTS = re.compile(r"^\s*(--[^\n]*(\n|$)|/\*.*?\*/)", re.DOTALL)
MAX_LENGTH = 100_000
_TOO_DEEP = ("The query is nested too deeply to be checked (hundreds of terms in one expression). "
             "Split it, or use list functions (e.g. list_sum([...])).")

_CATALOG_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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


def _strip_comments(sql: str) -> str:
    prev = None
    while prev != sql:
        prev, sql = sql, _COMMENTS.sub("", sql, count=1)
    return sql


def _walk(tree, cat: dict) -> None:
    """Check every node of the syntax tree, depth first in document order (an explicit stack:
    no recursion limit to hit)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        _check_node(node, cat)
        stack.extend(reversed([v for v in node.values() if isinstance(v, (dict, list))]))


def _check_node(node: dict, cat: dict) -> None:
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
        _check_function(node, cat)
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


def _check_function(node: dict, cat: dict) -> None:
    name = str(node.get("function_name", "")).lower()
    if node.get("catalog") or node.get("schema") not in ("", None, "main"):
        raise QueryRejected(f"The function {name} cannot be called with a schema or catalog here.")
    if name in SQL_TEXT_FUNCTIONS or name.startswith(_SQL_TEXT_PREFIXES):
        raise QueryRejected(f"The function {name}() is not available in the SQL box: it runs or plans SQL "
                            f"given as text, which the SQL box cannot check.")
    if name in BLOCKED_FUNCTIONS:
        raise QueryRejected(f"The function {name}() is not available in the SQL box "
                            f"(it reads the server's environment or settings, or changes state).")
    if not node.get("is_operator") and name not in cat["scalar"]:
        raise QueryRejected(f"Unknown function {name}(): only DuckDB's built-in functions can be "
                            f"used (extensions are never installed or loaded from here).")


def _check_table_ref(ref: dict, cat: dict) -> None:
    typ = ref["type"]
    if typ not in _TABLE_REFS:
        raise QueryRejected(f"This kind of FROM item ({typ}) is not allowed in the SQL box.")
    if typ == "BASE_TABLE":
        catalog = ref.get("catalog_name") or ""
        schema_ = ref.get("schema_name") or ""
        name = ref.get("table_name") or ""
        if not _IDENT.match(name):
            raise QueryRejected(f"{clean_message(repr(name))} is not a table name: reading files is not allowed "
                                f"in the SQL box (only the tables in the schema browser can be read).")
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
    if len(sql) > MAX_LENGTH:
        raise QueryRejected(f"The query is longer than {MAX_LENGTH:,} characters.")
    try:
        stmts = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryRejected(f"The query could not be parsed: {clean_message(e)}") from None
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
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [text]).fetchall()[0][0])
    except RecursionError:
        raise QueryRejected(_TOO_DEEP) from None
    if tree.get("error"):
        raise QueryRejected(f"The query could not be checked: "
                            f"{clean_message(tree.get('error_message', 'parse error'))}")
    if len(tree.get("statements", [])) != 1:
        raise QueryRejected("Exactly one statement is allowed.")
    _walk(tree["statements"][0], _catalog(store, con))
    return "SELECT", text
