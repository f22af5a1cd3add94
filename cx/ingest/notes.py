"""Notes: what the import did to accepted values without rejecting them (ids normalised, NUL
characters removed, local times the clocks skip or repeat, long comments, rows repeated). Each
is counted in SQL over the pass's table and said in the report's warnings with the first rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import polars as pl

FIRST_ROWS = 5  # row numbers quoted in a note


@dataclass(frozen=True)
class Note:
    cond: str  # SQL over the pass's columns: true on the rows this note is about
    text: str  # the warning: {n} (rows), {rows} ("rows 2, 5, 9 …"), {s} (plural ending), {were} (was/were)


def note_mask(notes: list[Note]) -> str:
    """SQL: the bitmask of the notes of a row (0 = none), stored in the helper column __note."""
    return " + ".join(f"(CASE WHEN {n.cond} THEN {1 << j} ELSE 0 END)" for j, n in enumerate(notes)) or "0"


def note_warnings(cur, table: str, index: str, rid0: int, notes: list[Note],
                  row_numbers: Callable[[pl.Series], pl.Series]) -> list[str]:
    """One warning per note that some accepted row has: its count and the first row numbers."""
    if not notes:
        return []
    found = cur.sql(
        f"SELECT j, count(*) AS n, min(rid, {FIRST_ROWS}) AS first FROM (SELECT {index} AS rid, __note FROM "
        f"{table} WHERE __note <> 0 AND __bad = 0), range({len(notes)}) r(j) WHERE (__note >> j) & 1 = 1 "
        f"GROUP BY j ORDER BY j").fetchall()
    out = []
    for j, n, first in found:
        rows = row_numbers(pl.Series(sorted(first), dtype=pl.Int64) - rid0 + 1).to_list()
        where = ("row " if n == 1 else "rows ") + ", ".join(f"{r:,}" for r in rows) + (" …" if n > len(rows) else "")
        out.append(notes[j].text.format(n=f"{n:,}", rows=where, s="" if n == 1 else "s",
                                        were="was" if n == 1 else "were"))
    return out


def duplicate_rows(cur, table: str, columns: list[str], key: list[str]) -> int:
    """Accepted rows that repeat an earlier accepted row exactly (every imported column equal). Rows
    that repeat one must repeat its `key` (customer_id, timestamp): one aggregate over the key finds
    the repeated keys (cheap: two columns); only their rows are compared column by column."""
    keys = ", ".join(key)
    cur.sql(f"CREATE OR REPLACE TEMP TABLE cx_dup_keys AS SELECT {keys} FROM {table} WHERE __bad = 0 "
            f"GROUP BY ALL HAVING count(*) > 1")
    try:
        if not cur.sql("SELECT count(*) FROM cx_dup_keys").fetchall()[0][0]:
            return 0
        on = " AND ".join(f"t.{k} IS NOT DISTINCT FROM k.{k}" for k in key)
        return int(cur.sql(f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {table} t SEMI JOIN "
                           f"cx_dup_keys k ON {on} WHERE __bad = 0 GROUP BY {', '.join(columns)})").fetchall()[0][0])
    finally:
        cur.sql("DROP TABLE IF EXISTS cx_dup_keys")
