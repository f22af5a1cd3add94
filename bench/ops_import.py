"""Import: our validated, one-transaction import vs DuckDB's bare read_csv into a table."""
import os
from pathlib import Path

import duckdb  # imported before the timer starts: start-up is not the operation
import pyarrow  # noqa: F401 (loaded on the first result fetch otherwise)

import cx


def _fresh(db: str) -> None:
    for p in (db, db + ".wal"):
        if os.path.exists(p):
            os.remove(p)


def bare_read_csv(path: str, db: str) -> dict:
    _fresh(db)
    con = duckdb.connect(db)
    con.sql("CREATE TABLE interactions AS SELECT * FROM read_csv($p)", params={"p": path})
    n = con.sql("SELECT count(*) FROM interactions").fetchall()[0][0]
    con.close()
    return {"rows": n}


def cx_import(path: str, db: str) -> dict:
    _fresh(db)
    store = cx.open(db)
    rep = store.import_file(Path(path), kind="interactions", dataset="bench")
    store.close()
    return {"rows": rep.accepted, "rejected": rep.rejected}


def purchase_logs(n: int) -> tuple[Path, Path]:
    """A published purchase log of `n` orders (customer id, yyyymmdd date, quantity, dollar value;
    some $0 orders), written twice with the same values: whitespace-aligned with leading spaces
    (like the CDNOW log) and comma-separated. Cached in bench/data."""
    from .harness import DATA

    d = DATA / f"purchase_log_{n}"
    ws, csv = d / "orders.txt", d / "orders.csv"
    if not ws.exists():
        d.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        con.sql(f"CREATE TABLE o AS SELECT lpad(CAST(hash(i) % 30000 AS VARCHAR), 5, '0') AS customer_id, "
                f"strftime(DATE '1997-01-01' + CAST(hash(i + 1) % 540 AS INTEGER), '%Y%m%d') AS date, "
                f"1 + hash(i + 2) % 5 AS quantity, CASE WHEN hash(i + 3) % 100 = 0 THEN 0 "
                f"ELSE round((hash(i + 4) % 5000) / 100, 2) END AS dollar_value FROM range({int(n)}) r(i)")
        con.sql(f"COPY o TO '{csv}' (HEADER, DELIMITER ',')")
        con.sql(f"COPY (SELECT printf('%7s %10s %9d %13.2f', customer_id, date, quantity, dollar_value) FROM o) "
                f"TO '{ws}' (HEADER false, QUOTE '', DELIMITER '\t')")
        body = ws.read_bytes()
        ws.write_bytes(b"  customer_id       date  quantity  dollar_value\n" + body)
        con.close()
    return ws, csv


def cx_import_log(path: str, db: str) -> dict:
    """The purchase log imported as it comes: the delimiter detected, every row an order."""
    _fresh(db)
    store = cx.open(db)
    rep = store.import_file(Path(path), dataset="bench", constants={"touchpoint": "order"})
    store.close()
    assert rep.rejected == 0, rep.errors.head()
    return {"rows": rep.accepted, "delimiter": rep.delimiter}
