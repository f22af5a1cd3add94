"""The customer-ordered event store: per dataset version, the interactions in (customer, timestamp,
_seq) order with integer codes, the arrays the compiled journey kernels walk in one pass
(cx.data.Events reads them, cx.journey.kernels walks them).

Three tables in the dataset's schema: ``_events`` (c, timestamp, _seq, the codes and numbers; row
order = journey order), ``_events_customers`` (c -> customer_id, c in customer_id order) and
``_events_dict`` ((dim, code) -> value, codes in value order); ``cx_meta.event_stores`` says which
dataset version they hold, how many rows and what the build cost.

Written inside the transaction that changes the interactions or their stages, so a kill leaves the
previous version's store with the previous version's data. A replace (or a stage-rule change)
builds the store from the interactions; an append *merges*: the new rows are coded and merged into
the current store, whose rows keep their codes unless new customers or values need renumbering
(an integer join), so the text columns of the old rows are never read again. Either way the
result is the same store, row for row (tests/test_event_store.py).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from . import schema

EVENT_STORES_DDL = """CREATE TABLE IF NOT EXISTS cx_meta.event_stores (
        dataset_id INTEGER, version INTEGER, rows BIGINT, seconds DOUBLE, built_at TIMESTAMP)"""
EVENTS = "_events"  # c, timestamp, _seq, the codes, the numbers; row order = journey order
EVENT_CUSTOMERS = "_events_customers"  # c -> customer_id (c in customer_id order)
EVENT_DICT = "_events_dict"  # (dim, code) -> value (codes in value order)
EVENT_DIMS = ("touchpoint", "channel")  # text columns coded through the dictionary
# contract enums coded by their rank (-1: null); the others are read through _seq when needed
EVENT_ENUMS = {"stage": schema.STAGES, "direction": schema.DIRECTIONS}
# number column -> (its expression, its value when the dataset has no such column); null = NaN / 0.
# A column an append adds leaves the older rows NULL, which code as "no such column": an old row's
# codes never change with the columns.
EVENT_NUMBERS = {"amount": ("coalesce(i.amount, 'NaN')::DOUBLE", "'NaN'::DOUBLE"),
                 "sentiment": ("coalesce(i.sentiment, 'NaN')::DOUBLE", "'NaN'::DOUBLE"),
                 "incident": ("coalesce(i.incident, false)::TINYINT", "0::TINYINT"),
                 "has_department": ("(i.department IS NOT NULL)::TINYINT", "0::TINYINT"),
                 "has_value_given": ("(i.value_given IS NOT NULL)::TINYINT", "0::TINYINT"),
                 # a session's 63-bit hash (-1: none): per-session funnels tell a customer's sessions apart
                 # by it (two sessions of one customer colliding: odds of 2**-63 per pair; DuckDB hashes NULL too)
                 "session_id": ("CASE WHEN i.session_id IS NULL THEN -1 ELSE (hash(i.session_id) >> 1)::BIGINT END",
                                "-1::BIGINT")}
_ORDER = "ORDER BY c, timestamp, _seq"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _columns(con, s: str) -> tuple[set, list[str]]:
    have = {r[0] for r in con.sql("SELECT column_name FROM duckdb_columns() WHERE schema_name = $s AND "
                                  "table_name = 'interactions'", params={"s": s}).fetchall()}
    return have, [c for c in EVENT_DIMS if c in have]  # column names: constants of the contract


def _dict_sql(source: str, dims: list[str]) -> str:
    """(dim, code, value) of the distinct values of `source`'s (dim, v) rows, codes in value order."""
    return (f"SELECT dim, (row_number() OVER (PARTITION BY dim ORDER BY v) - 1)::INTEGER AS code, v AS value "
            f"FROM ({source})") if dims else \
        "SELECT NULL::VARCHAR AS dim, NULL::INTEGER AS code, NULL::VARCHAR AS value LIMIT 0"


def _values_sql(s: str, dims: list[str], where: str = "") -> str:
    return " UNION ".join(f"SELECT DISTINCT '{c}' AS dim, {c}::VARCHAR AS v FROM {s}.interactions "
                          f"WHERE {c} IS NOT NULL{where}" for c in dims)


def _coded(s: str, have: set, dims: list[str], customers: str, dictionary: str, where: str = "") -> str:
    """The SELECT of the interactions' rows (those matching `where`) with their codes, through the
    `customers` (c, customer_id) and `dictionary` (dim, code, value) tables given."""
    cols, joins = [], []
    for c, values in EVENT_ENUMS.items():
        rank = " ".join(f"WHEN '{v}' THEN {k}" for k, v in enumerate(values))  # constants of the contract
        cols.append(f"CASE i.{c} {rank} ELSE -1 END::TINYINT AS {c}" if c in have else f"-1::TINYINT AS {c}")
    for c in EVENT_DIMS:
        if c in dims:
            cols.append(f"coalesce(d_{c}.code, -1)::INTEGER AS {c}")
            joins.append(f"LEFT JOIN (SELECT code, value FROM {dictionary} WHERE dim = '{c}') d_{c} "
                         f"ON d_{c}.value = i.{c}::VARCHAR")
        else:
            cols.append(f"-1::INTEGER AS {c}")
    cols += [f"{e if c.split('has_')[-1] in have else missing} AS {c}" for c, (e, missing) in EVENT_NUMBERS.items()]
    return (f"SELECT k.c, i.timestamp, i._seq, {', '.join(cols)} FROM {s}.interactions i "
            f"JOIN {customers} k ON k.customer_id = i.customer_id {' '.join(joins)}{where}")


def build_events(con, ds, version: int, appended_after: int | None = None) -> float:
    """The dataset's event store for dataset `version`, on `con` (inside the caller's transaction):
    merged from the current store when `appended_after` (the largest `_seq` before an append) is
    given and the store is current for `ds.version`, else built from the interactions. Returns the
    seconds it took."""
    t0 = time.perf_counter()
    con.sql(EVENT_STORES_DDL)  # a database from before the event store
    s = ds.schema
    have, dims = _columns(con, s)
    current = appended_after is not None and con.sql(
        "SELECT count(*) FROM cx_meta.event_stores WHERE dataset_id = $id AND version = $v",
        params={"id": ds.id, "v": int(ds.version)}).fetchall()[0][0]
    if current:
        _merge(con, s, have, dims, int(appended_after))
    else:
        con.sql(f"CREATE OR REPLACE TABLE {s}.{EVENT_CUSTOMERS} AS SELECT (row_number() OVER (ORDER BY customer_id) - 1)"
                f"::INTEGER AS c, customer_id FROM (SELECT DISTINCT customer_id FROM {s}.interactions) ORDER BY c")
        con.sql(f"CREATE OR REPLACE TABLE {s}.{EVENT_DICT} AS {_dict_sql(_values_sql(s, dims), dims)}")
        con.sql(f"CREATE OR REPLACE TABLE {s}.{EVENTS} AS "
                f"{_coded(s, have, dims, f'{s}.{EVENT_CUSTOMERS}', f'{s}.{EVENT_DICT}')} {_ORDER}")
    rows = con.sql(f"SELECT count(*) FROM {s}.{EVENTS}").fetchall()[0][0]
    seconds = time.perf_counter() - t0
    con.sql("DELETE FROM cx_meta.event_stores WHERE dataset_id = $id", params={"id": ds.id})
    con.sql("INSERT INTO cx_meta.event_stores VALUES ($id, $v, $n, $s, $t)",
            params={"id": ds.id, "v": int(version), "n": rows, "s": seconds, "t": _now()})
    return seconds


def _merge(con, s: str, have: set, dims: list[str], after: int) -> None:
    """The rows with _seq > `after` coded and merged into the current store (see the module docstring)."""
    new = f" WHERE i._seq > {int(after)}"
    # customers and values: the old ones and the appended rows' new ones, renumbered in order
    con.sql(f"CREATE OR REPLACE TEMP TABLE cx_ev_c AS SELECT (row_number() OVER (ORDER BY customer_id) - 1)::INTEGER "
            f"AS c, customer_id FROM (SELECT customer_id FROM {s}.{EVENT_CUSTOMERS} UNION SELECT DISTINCT "
            f"customer_id FROM {s}.interactions WHERE _seq > {int(after)})")
    old_dict = f"SELECT dim, value AS v FROM {s}.{EVENT_DICT} WHERE dim IN ({', '.join(repr(d) for d in dims) or 'NULL'})"
    values = " UNION ".join(x for x in (old_dict, _values_sql(s, dims, f" AND _seq > {int(after)}")) if x)
    con.sql(f"CREATE OR REPLACE TEMP TABLE cx_ev_d AS {_dict_sql(values, dims)}")
    # old code -> new code, only where something new came in between (an integer join per old row)
    renumber_c = _count(con, "cx_ev_c") != _count(con, f"{s}.{EVENT_CUSTOMERS}")
    old_cols, joins = ["e.timestamp", "e._seq", *(f"e.{c}" for c in EVENT_ENUMS)], []
    if renumber_c:
        joins.append(f"JOIN (SELECT o.c AS old, n.c AS new FROM {s}.{EVENT_CUSTOMERS} o JOIN cx_ev_c n "
                     f"USING (customer_id)) m_c ON m_c.old = e.c")
    for c in EVENT_DIMS:
        before = _count(con, f"{s}.{EVENT_DICT}", c)
        if c in dims and before and before != _count(con, "cx_ev_d", c):
            joins.append(f"LEFT JOIN (SELECT o.code AS old, n.code AS new FROM {s}.{EVENT_DICT} o JOIN cx_ev_d n "
                         f"ON n.dim = o.dim AND n.value = o.value WHERE o.dim = '{c}') m_{c} ON m_{c}.old = e.{c}")
            old_cols.append(f"coalesce(m_{c}.new, -1)::INTEGER AS {c}")
        else:  # unchanged codes (or none yet: every old row is -1)
            old_cols.append(f"e.{c}")
    old_cols += [f"e.{c}" for c in EVENT_NUMBERS]
    c_old = "m_c.new AS c" if renumber_c else "e.c"
    old = f"SELECT {c_old}, {', '.join(old_cols)} FROM {s}.{EVENTS} e {' '.join(joins)}"
    con.sql(f"CREATE OR REPLACE TABLE {s}.{EVENTS} AS SELECT * FROM ({old} UNION ALL "
            f"{_coded(s, have, dims, 'cx_ev_c', 'cx_ev_d', new)}) {_ORDER}")
    con.sql(f"CREATE OR REPLACE TABLE {s}.{EVENT_CUSTOMERS} AS SELECT * FROM cx_ev_c ORDER BY c")
    con.sql(f"CREATE OR REPLACE TABLE {s}.{EVENT_DICT} AS SELECT * FROM cx_ev_d ORDER BY dim, code")
    con.sql("DROP TABLE cx_ev_c")
    con.sql("DROP TABLE cx_ev_d")


def _count(con, table: str, dim: str | None = None) -> int:
    where = " WHERE dim = $d" if dim else ""
    return con.sql(f"SELECT count(*) FROM {table}{where}", params={"d": dim} if dim else None).fetchall()[0][0]
