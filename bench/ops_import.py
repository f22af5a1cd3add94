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
