"""Read-only snapshots of datasets for the SQL box's workers.

DuckDB does not let a second process open the app's database file while the app holds it, so
each dataset version is copied once into a file of its own. The file is written by a separate
DuckDB instance in this process (never ATTACHed to the app's): in ONE read transaction of the
app's connection, the dataset's tables (into the file's ``main`` schema: ``interactions``,
``customers``, ``feedback`` ...) and the dataset's rows of ``cx_meta.datasets``, ``imports``,
``stage_rules`` and ``segments`` (into ``cx_meta``) stream as Arrow batches into the new file,
whose instance is then closed and the directory renamed to its final name. (A file ATTACHed to
the app's instance stays open, with its write lock, after DETACH for as long as any transaction
that began while it was attached is still running: a worker attaching the snapshot then fails.)
A kill during the build leaves only a ``.build-*`` directory, never used and swept later; a
reader never sees half a snapshot.

A snapshot is named by the dataset id, version and a hash of its name and timestamps
(``ds_3_v12_5e0c…``): any import, stage-rule or segment change bumps the version, and a rename
changes the hash. Snapshots are built lazily, by the first query of a version (not after each
import: imports from the CLI or the API would pay for copies nobody reads), under a lock per
dataset so that sessions asking at once build it once; older snapshots of the dataset, and those
of deleted datasets, are removed after a build (a worker still reading one keeps its open file).

They live next to the database, in ``<database file>.sqlbox/`` (a private temporary directory
for in-memory or unwritable locations), with the workers' temporary directories under ``tmp/``.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .errors import QueryError, clean_message
from .worker import META_TABLES

FILE = "data.duckdb"
_BATCH_ROWS = 122_880  # rows per Arrow batch copied into a snapshot


@dataclass(frozen=True)
class Snapshot:
    catalog: str  # the dataset's schema name in the app (ds_N): the worker attaches the file under it
    path: str
    key: str


def _key(row) -> str:
    ds_id, name, version, created, updated = row
    h = hashlib.sha256(f"{name}\x00{created}\x00{updated}".encode()).hexdigest()[:10]
    return f"ds_{int(ds_id)}_v{int(version)}_{h}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def sweep_dead(folder: Path, prefix: str) -> None:
    """Remove ``<prefix><pid>-*`` entries left by processes that are gone (a kill -9)."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if p.name.startswith(prefix):
            pid = p.name[len(prefix):].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)


_SHARED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # realpath -> Snapshots
_SHARED_LOCK = threading.Lock()


def for_database(db_path: Path) -> Snapshots:
    """The snapshot directory of a database file, shared by every store on that file in this
    process (so that no store removes a snapshot another one is about to use); a private one for
    an in-memory database."""
    if str(db_path) == ":memory:":
        return Snapshots(db_path)
    key = os.path.realpath(db_path)
    with _SHARED_LOCK:
        got = _SHARED.get(key)
        if got is None:
            got = _SHARED[key] = Snapshots(db_path)
        return got


class Snapshots:
    """The snapshot directory of one database (use :func:`for_database`)."""

    def __init__(self, db_path: Path):
        root = None
        if str(db_path) != ":memory:":
            root = Path(str(db_path) + ".sqlbox")
            try:
                root.mkdir(mode=0o700, exist_ok=True)
                (root / "tmp").mkdir(mode=0o700, exist_ok=True)
                if not os.access(root, os.W_OK):
                    root = None
            except OSError:
                root = None
        self._remove = None
        if root is None:  # removed when the last store using it closes (or at exit)
            root = Path(tempfile.mkdtemp(prefix="cx_sqlbox_"))
            (root / "tmp").mkdir(mode=0o700)
            self._remove = weakref.finalize(self, shutil.rmtree, str(root), True)
        self.shared = str(db_path) != ":memory:"
        self.root = root
        self.tmp = root / "tmp"
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()  # guards the two below and every removal
        self._pins: dict[str, int] = {}  # snapshot key -> queries using it now (never removed meanwhile)
        self._doomed: set[str] = set()  # stale but pinned: removed when the last query lets go
        sweep_dead(self.root, ".build-")
        sweep_dead(self.tmp, "w")

    def _lock(self, ds_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(ds_id, threading.Lock())

    @contextmanager
    def use(self, store, ds_ids: list[int]):
        """The snapshots of the datasets' current versions (built if missing), kept on disk until
        the block ends even if a newer version replaces them meanwhile."""
        got: list[Snapshot] = []
        try:
            for i in ds_ids:
                got.append(self._get(store, i))
            yield got
        finally:
            with self._guard:
                for s in got:
                    self._pins[s.key] -= 1
                    if not self._pins[s.key]:
                        del self._pins[s.key]
                        if s.key in self._doomed:
                            self._doomed.discard(s.key)
                            shutil.rmtree(self.root / s.key, ignore_errors=True)

    def _get(self, store, ds_id: int) -> Snapshot:
        snap = self._pinned(ds_id, _row(store.con, ds_id))
        if snap is not None:
            return snap
        with self._lock(ds_id):  # sessions asking at once build it once
            while True:  # (again if a newer version was committed while this one was built)
                snap = self._pinned(ds_id, _row(store.con, ds_id))
                if snap is not None:
                    return snap
                self._build(store, ds_id)

    def _pinned(self, ds_id: int, row) -> Snapshot | None:
        key = _key(row)
        path = self.root / key / FILE
        with self._guard:
            if not path.exists():
                return None
            self._pins[key] = self._pins.get(key, 0) + 1
            self._doomed.discard(key)
        return Snapshot(f"ds_{int(ds_id)}", str(path), key)

    def _build(self, store, ds_id: int) -> None:
        build = self.root / f".build-{os.getpid()}-{secrets.token_hex(4)}"
        build.mkdir(mode=0o700)
        cur = store.cursor()
        try:
            out = duckdb.connect(str(build / FILE), config={"autoload_known_extensions": False})
            try:
                cur.execute("BEGIN TRANSACTION")
                try:
                    row = _row(cur, ds_id)  # read in the copy's own transaction: the data is of this version
                    schema = f"ds_{int(ds_id)}"
                    tables = [r[0] for r in cur.execute(
                        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                        "AND schema_name = ? ORDER BY table_name", [schema]).fetchall()]
                    out.execute("BEGIN TRANSACTION")
                    for t in tables:
                        _stream(cur, f"SELECT * FROM {schema}.{_ident(t)}", [], out, f"main.{_ident(t)}")
                    out.execute("CREATE SCHEMA cx_meta")
                    for t in META_TABLES:
                        col = "id" if t == "datasets" else "dataset_id"
                        _stream(cur, f"SELECT * FROM cx_meta.{t} WHERE {col} = ?", [int(ds_id)], out, f"cx_meta.{t}")
                    out.execute("COMMIT")
                finally:
                    _quietly(cur, "ROLLBACK")  # a read transaction: nothing to keep
            finally:
                out.close()
        except BaseException as e:
            shutil.rmtree(build, ignore_errors=True)
            if isinstance(e, (duckdb.Error, OSError)):  # e.g. a full disk
                raise QueryError(f"The SQL box could not copy the dataset for querying: {clean_message(e)}") from None
            raise
        finally:
            cur.close()
        key = _key(row)
        final = self.root / key
        try:
            os.rename(build, final)  # atomic: the snapshot is complete or absent
        except OSError:  # another process built the same version meanwhile: use theirs
            shutil.rmtree(build, ignore_errors=True)
        self._remove_stale(store, ds_id, key)

    def _remove_stale(self, store, ds_id: int, keep: str) -> None:
        """Older versions of this dataset, and snapshots of datasets that no longer exist."""
        known = {r[0] for r in store.con.execute("SELECT id FROM cx_meta.datasets").fetchall()}
        with self._guard:
            for p in self.root.iterdir():
                if not p.name.startswith("ds_") or p.name == keep:
                    continue
                pid = p.name.split("_")[1]
                if not pid.isdigit() or int(pid) == int(ds_id) or int(pid) not in known:
                    if p.name in self._pins:
                        self._doomed.add(p.name)
                    else:
                        shutil.rmtree(p, ignore_errors=True)

    def close(self) -> None:
        """An in-memory database's private directory goes with its store; a file's is shared."""
        if self._remove is not None and not self.shared:
            self._remove()


def _row(con, ds_id: int):
    rows = con.execute("SELECT id, name, version, created_at, updated_at FROM cx_meta.datasets WHERE id = ?",
                       [int(ds_id)]).fetchall()
    if not rows:
        from ..store import DatasetNotFound

        raise DatasetNotFound("The dataset was deleted meanwhile: choose another one.")
    return rows[0]


def _stream(cur, select: str, params: list, out, target: str) -> None:
    """Rows of `select` on the app's cursor into a new table `target` of the snapshot's instance, in
    Arrow batches (the table's column types come with the stream's schema, rows or none)."""
    reader = cur.sql(select, params=params or None).to_arrow_reader(_BATCH_ROWS)  # streams (DuckDB 2.0)
    name = f"cx_src_{secrets.token_hex(6)}"
    out.register(name, reader)
    try:
        out.execute(f"CREATE TABLE {target} AS SELECT * FROM {name}")
    finally:
        out.unregister(name)


def _quietly(cur, sql: str) -> None:
    try:
        cur.execute(sql)
    except duckdb.Error:  # the first error is the one to report
        pass


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
