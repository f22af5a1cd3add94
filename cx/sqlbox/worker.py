"""The SQL box's worker process: runs analysts' queries on read-only snapshots, locked down.

Started by :mod:`cx.sqlbox.pool` as ``python -I worker.py`` (isolated mode: no PYTHONPATH, no user
site, not the current directory on sys.path), with an almost empty environment, in its own
session, its working directory a private temporary directory. This file imports nothing of
``cx`` (only the standard library at import time; duckdb and pyarrow in :func:`main`).

Protocol (stdin/stdout, each message one frame: 8-byte big-endian length + payload):

1. parent -> worker: the configuration (JSON): ``attach`` [[catalog, snapshot file], ...],
   ``use`` (catalog or null), ``meta_views``, ``memory_mb``, ``threads``, ``temp_dir``,
   ``max_temp_mb``, ``headroom_mb``.
2. worker -> parent: ``{"ready": true, "rss_mb": ..., "vm_mb": ...}`` once locked down (or
   ``{"ready": false, "message": ...}``).
3. then per query: parent -> worker ``{"sql": ..., "max_rows": n}``; worker -> parent a header
   ``{"ok": true, "rows": n, "truncated": bool}`` followed by one frame of Arrow IPC stream bytes,
   or ``{"ok": false, "kind": "error"|"memory", "message": first line}`` alone.

Lock-down, in this order, before any user SQL: open an in-memory DuckDB with the memory limit,
threads and extension autoloading off; ATTACH each snapshot READ_ONLY; (for a whole-database
scope) views ``cx_meta.<table>`` over the snapshots' metadata; USE the dataset; set the private
temp directory and its size cap, ``enable_external_access = false`` and
``lock_configuration = true``; run a warm-up query; then cap the process's address space
(RLIMIT_AS) at its size now + ``memory_mb`` + ``headroom_mb``, and the size of any file it writes
(RLIMIT_FSIZE: only its temp directory is writable) at the spill cap. Every query runs in a READ ONLY
transaction. A thread exits the process when its parent is gone (no orphans).
"""
from __future__ import annotations

import json
import os
import struct
import sys
import threading
import time

_LEN = struct.Struct(">Q")
META_TABLES = ("datasets", "imports", "stage_rules", "segments")  # copied per dataset (cx.sqlbox.snapshot)


# -- framing (shared with the parent: cx.sqlbox.pool imports these) --------------------------------
def write_frame(f, payload: bytes) -> None:
    f.write(_LEN.pack(len(payload)))
    f.write(payload)
    f.flush()


def read_frame(f) -> bytes | None:
    """One frame from a blocking binary file; None at end of file."""
    head = f.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (n,) = _LEN.unpack(head)
    data = f.read(n)
    return data if len(data) == n else None


def frame_length(head: bytes) -> int:
    return _LEN.unpack(head)[0]


HEADER_SIZE = _LEN.size


# -- the worker ------------------------------------------------------------------------------------
def _vm_mb() -> tuple[float, float] | None:
    """(resident, virtual) size of this process in MB (None off Linux)."""
    try:
        with open("/proc/self/statm") as f:
            size, rss = (int(x) for x in f.read().split()[:2])
    except (OSError, ValueError):  # pragma: no cover - not Linux: DuckDB's limit and the parent's clock only
        return None
    page = os.sysconf("SC_PAGE_SIZE") / 2**20
    return rss * page, size * page


def _watch_parent(ppid: int) -> None:
    """Exit when the parent is gone (reparented): PR_SET_PDEATHSIG would fire when the parent
    *thread* that started us ends, and Streamlit runs each session's script in a short-lived thread."""
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(3)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def lock_down(cfg: dict):
    """The connection, locked (see the module docstring)."""
    import duckdb

    memory_mb = float(cfg["memory_mb"])
    con = duckdb.connect(":memory:", config={
        "memory_limit": f"{max(64, int(memory_mb * 0.75))}MB",  # DuckDB's own limit first: a clear error
        "threads": int(cfg["threads"]),
        "autoload_known_extensions": False, "autoinstall_known_extensions": False,
        "allow_community_extensions": False})
    for catalog, path in cfg["attach"]:
        con.execute(f"ATTACH {_literal(path)} AS {_quote(catalog)} (READ_ONLY)")
    if cfg.get("meta_views") and cfg["attach"]:
        con.execute("CREATE SCHEMA memory.cx_meta")
        for t in META_TABLES:
            union = " UNION ALL BY NAME ".join(f"SELECT * FROM {_quote(c)}.cx_meta.{t}" for c, _ in cfg["attach"])
            con.execute(f"CREATE VIEW memory.cx_meta.{t} AS {union}")
    if cfg.get("use"):
        con.execute(f"USE {_quote(cfg['use'])}")
    for stmt in ("SET TimeZone = 'UTC'", "SET python_enable_replacements = false",
                 f"SET temp_directory = {_literal(cfg['temp_dir'])}",
                 f"SET max_temp_directory_size = '{int(cfg['max_temp_mb'])}MB'",
                 "SET enable_external_access = false", "SET lock_configuration = true"):
        con.execute(stmt)
    # warm up before measuring: DuckDB's threads and allocator arenas, pyarrow and its memory pool
    con.execute("SELECT count(*), sum(range) FROM range(100000)").fetchall()
    import pyarrow as pa
    import pyarrow.ipc  # noqa: F401

    _ipc(con.sql("SELECT 1 AS x, 'y' AS s").to_arrow_table())
    import resource

    sizes = _vm_mb()
    if sizes is not None:
        cap = int((sizes[1] + memory_mb + float(cfg["headroom_mb"])) * 2**20)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # DuckDB may write in its temp directory (spill files; and COPY there, should a statement ever
    # get past the checks): no file bigger than the spill cap
    fsize = int(cfg["max_temp_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return con, sizes


def first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return (lines[0] if lines else type(e).__name__)[:500]


def _ipc(tbl) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, tbl.schema) as w:
        w.write_table(tbl)
    return sink.getvalue().to_pybytes()


def run_query(con, req: dict) -> tuple[dict, bytes]:
    import duckdb
    import pyarrow as pa

    max_rows = int(req["max_rows"])
    use = req.get("use")
    try:
        if use:
            con.execute(f"USE {_quote(use)}")
        con.execute("BEGIN TRANSACTION READ ONLY")
        try:
            rel = con.sql(req["sql"])
            if rel is None:
                tbl = pa.table({})
            else:
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
                tbl = pa.Table.from_batches(batches, schema=reader.schema)
        finally:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
        truncated = tbl.num_rows > max_rows
        tbl = tbl.slice(0, max_rows)
        return {"ok": True, "rows": tbl.num_rows, "truncated": truncated}, _ipc(tbl)
    except (duckdb.OutOfMemoryException, MemoryError, pa.ArrowMemoryError) as e:
        return {"ok": False, "kind": "memory", "message": first_line(e)}, b""
    except Exception as e:  # noqa: BLE001 - every failure goes back to the parent as a message
        return {"ok": False, "kind": "error", "message": first_line(e)}, b""


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")  # the protocol; stray prints go to stderr
    os.dup2(2, 1)
    inp = os.fdopen(0, "rb")
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    try:
        os.nice(5)  # the app's own threads come first when both want the CPU
    except OSError:  # pragma: no cover
        pass
    raw = read_frame(inp)
    if raw is None:
        return
    cfg = json.loads(raw)
    try:
        con, sizes = lock_down(cfg)
    except Exception as e:  # noqa: BLE001
        write_frame(out, json.dumps({"ready": False, "message": first_line(e)}).encode())
        return
    rss, vm = sizes or (None, None)
    write_frame(out, json.dumps({"ready": True, "rss_mb": rss, "vm_mb": vm}).encode())
    while True:
        raw = read_frame(inp)
        if raw is None:  # the parent closed the pipe (or died)
            return
        head, body = run_query(con, json.loads(raw))
        write_frame(out, json.dumps(head).encode())
        if head["ok"]:
            write_frame(out, body)


if __name__ == "__main__":
    main()
