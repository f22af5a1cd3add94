"""The DuckDB database: connection handling, named datasets, versions, stage maps, imports.

The store is the only place that knows where tables physically live. Each dataset is a DuckDB
schema named ``ds_<id>`` (so renaming a dataset never touches SQL identifiers); metadata lives in
the ``cx_meta`` schema. Analytics modules get Ibis tables from :meth:`Store.table` and never see
the physical layout.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from . import schema
from .eventstore import EVENT_CUSTOMERS, EVENT_DICT, EVENT_STORES_DDL, EVENTS, build_events
from .stages import derive_stages_sql

if TYPE_CHECKING:  # pragma: no cover
    import ibis

DEFAULT_DATASET = "demo"


class CXError(Exception):
    """An error whose message is meant for the user (no traceback needed)."""


class DatasetNotFound(CXError):
    pass


class DatabaseBusy(CXError):
    pass


def default_db_path() -> Path:
    """$CX_DB, else ``cx.duckdb`` in the user's data directory."""
    env = os.environ.get("CX_DB")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("cxloop", appauthor=False)) / "cx.duckdb"


MEMORY_SHARE = 0.5  # of the machine's memory, for DuckDB (the rest: polars, numpy, scikit-learn, Streamlit)


def memory_limit() -> str | None:
    """DuckDB's memory limit for the app's database: ``CX_DUCKDB_MEMORY`` ("8GB", "500MB", or a share
    of the machine's memory such as "40%"), by default half the machine's memory. DuckDB's own
    default (80 %) leaves too little for the model fits and frames computed in the same process:
    preparing the dashboards of 106M touchpoints on a 24 GB machine got the process killed. Beyond
    the limit DuckDB spills to ``<database>.tmp``. None: leave DuckDB's default (unknown memory)."""
    import re

    raw = os.environ.get("CX_DUCKDB_MEMORY", "").strip().upper().replace(" ", "")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(KB|MB|GB|TB|KIB|MIB|GIB|TIB|%)", raw)
    if raw and not m:
        import logging

        logging.getLogger("cx.store").warning("CX_DUCKDB_MEMORY=%r is not a size such as 8GB or 40%%: using half "
                                              "the machine's memory", raw)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        total = None
    if m and m.group(2) != "%":
        return f"{float(m.group(1)):g}{m.group(2)}"
    share = float(m.group(1)) / 100 if m else MEMORY_SHARE
    if not total or not 0 < share <= 1:
        return None
    return f"{int(total * share / 2**20)}MiB"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


_META_DDL = [
    "CREATE SCHEMA IF NOT EXISTS cx_meta",
    """CREATE TABLE IF NOT EXISTS cx_meta.datasets (
        id INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, version INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, description VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS cx_meta.imports (
        id INTEGER, dataset_id INTEGER, kind VARCHAR, file_name VARCHAR, mode VARCHAR,
        rows_read BIGINT, accepted BIGINT, rejected BIGINT, seconds DOUBLE, imported_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS cx_meta.stage_rules (
        dataset_id INTEGER, position INTEGER, keyword VARCHAR, stage VARCHAR)""",
    # which touchpoints are purchases (schema.purchase_touchpoints): keyword, purchase or not
    """CREATE TABLE IF NOT EXISTS cx_meta.purchase_rules (
        dataset_id INTEGER, position INTEGER, keyword VARCHAR, purchase BOOLEAN)""",
    # saved segments (cx.segments): one row per (dataset, segment, member)
    """CREATE TABLE IF NOT EXISTS cx_meta.segments (
        dataset_id INTEGER, segment VARCHAR, customer_id VARCHAR, saved_at TIMESTAMP)""",
    # user-edited cluster names (cx.segments): per dataset, clustering run key and cluster number
    """CREATE TABLE IF NOT EXISTS cx_meta.cluster_names (
        dataset_id INTEGER, run_key VARCHAR, cluster INTEGER, name VARCHAR)""",
    EVENT_STORES_DDL, schema.RESULTS_DDL,  # the result store (cx.results): prepared views and model fits
]

# -- the closed loop (cx.cases): the app's own work, outside the dataset schemas -------------------
# Cases, their marks (the latest trigger seen per customer and reason), the history of every change,
# action plans, settings (rules, routing, targets, alert rules, channels: JSON, versioned), alert
# events (the in-app inbox) and deliveries (one row per event and channel). They refer to customers
# by id, so they survive a re-import or replace of the dataset; deleting the dataset deletes them.
_LOOP_DDL = [
    "CREATE SEQUENCE IF NOT EXISTS cx_meta.loop_ids",
    """CREATE TABLE IF NOT EXISTS cx_meta.loop_cases (
        id BIGINT PRIMARY KEY, dataset_id INTEGER NOT NULL, customer_id VARCHAR NOT NULL, reason VARCHAR NOT NULL,
        trigger_key VARCHAR NOT NULL, event_at TIMESTAMP, detail VARCHAR, touchpoint VARCHAR, department VARCHAR,
        owner VARCHAR, assignee VARCHAR, priority VARCHAR, status VARCHAR NOT NULL, opened_at TIMESTAMP NOT NULL,
        due_at TIMESTAMP, first_action_at TIMESTAMP, closed_at TIMESTAMP, escalated_to VARCHAR,
        escalated_at TIMESTAMP, version INTEGER NOT NULL, updated_at TIMESTAMP, updated_by VARCHAR,
        UNIQUE (dataset_id, reason, trigger_key))""",
    """CREATE TABLE IF NOT EXISTS cx_meta.loop_marks (
        dataset_id INTEGER, customer_id VARCHAR, reason VARCHAR, last_event_at TIMESTAMP,
        PRIMARY KEY (dataset_id, customer_id, reason))""",
    """CREATE TABLE IF NOT EXISTS cx_meta.loop_history (
        dataset_id INTEGER, object VARCHAR, object_id BIGINT, changed_at TIMESTAMP, who VARCHAR, field VARCHAR,
        old VARCHAR, new VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS cx_meta.loop_plans (
        id BIGINT PRIMARY KEY, dataset_id INTEGER NOT NULL, title VARCHAR, link_kind VARCHAR, link_value VARCHAR,
        metric VARCHAR, better VARCHAR, baseline DOUBLE, target DOUBLE, owner VARCHAR, start_date DATE,
        due_date DATE, status VARCHAR, source VARCHAR, created_at TIMESTAMP, created_by VARCHAR,
        version INTEGER NOT NULL, updated_at TIMESTAMP, updated_by VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS cx_meta.loop_settings (
        dataset_id INTEGER, key VARCHAR, value VARCHAR, version INTEGER NOT NULL, updated_at TIMESTAMP,
        updated_by VARCHAR, PRIMARY KEY (dataset_id, key))""",
    """CREATE TABLE IF NOT EXISTS cx_meta.loop_events (
        id BIGINT PRIMARY KEY, dataset_id INTEGER, event_key VARCHAR UNIQUE, kind VARCHAR, subject VARCHAR,
        period DATE, message VARCHAR, created_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS cx_meta.loop_deliveries (
        event_key VARCHAR, channel VARCHAR, dataset_id INTEGER, status VARCHAR, attempts INTEGER,
        last_error VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP, PRIMARY KEY (event_key, channel))""",
    "CREATE TABLE IF NOT EXISTS cx_meta.loop_rev (dataset_id INTEGER PRIMARY KEY, rev BIGINT)",
]
LOOP_TABLES = ("loop_cases", "loop_marks", "loop_history", "loop_plans", "loop_settings", "loop_events",
               "loop_deliveries", "loop_rev")


_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock_for(path: Path) -> threading.RLock:
    """One write lock per database file in this process: two Store objects on the same file share
    DuckDB's instance, so their write transactions must queue, not conflict."""
    if str(path) == ":memory:":
        return threading.RLock()
    key = os.path.realpath(path)
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.RLock())


@dataclass(frozen=True)
class Dataset:
    id: int
    name: str
    version: int

    @property
    def schema(self) -> str:
        # built from an integer only: safe to use as an identifier
        return f"ds_{int(self.id)}"


class Store:
    """A CX Loop database file. Thread-safe: every thread works on its own cursor.

    This is the storage layer: datasets, versions, tables, stage rules and the app's own state.
    ``cx.open()`` returns :class:`cx.api.Store`, this class with the conveniences that live above
    it (import_file, query, data)."""

    backend_name = "duckdb"

    def __init__(self, path: str | os.PathLike | None = None, read_only: bool = False):
        self.path = Path(path) if path is not None else default_db_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as e:  # another process holds the write lock
            raise DatabaseBusy(
                f"The database {self.path} is in use by another process (is the app or another "
                f"import running?). Details: {e}") from e
        self._con.sql("SET TimeZone = 'UTC'")
        limit = memory_limit()
        if limit:
            self._con.sql(f"SET memory_limit = '{limit}'")  # a value checked by memory_limit(), never raw text
        self._local = threading.local()
        self._purchase_tps: dict[tuple[int, int], tuple[str, ...]] = {}  # (dataset id, version) -> names
        self._sqlbox = None  # the SQL box's snapshots and worker processes (cx.sqlbox), made on first use
        self._write_lock = _write_lock_for(self.path)
        if not read_only:
            for ddl in _META_DDL + _LOOP_DDL:
                self._con.sql(ddl)

    # -- connections ---------------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the database."""
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._con.cursor()
            cur.sql("SET TimeZone = 'UTC'")
            self._local.cur = cur
        return cur

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A fresh cursor (its own temp tables and transaction)."""
        cur = self._con.cursor()
        cur.sql("SET TimeZone = 'UTC'")
        return cur

    @property
    def ibis(self) -> "ibis.BaseBackend":
        """This thread's Ibis DuckDB backend over the same database."""
        be = getattr(self._local, "ibis", None)
        if be is None:
            import ibis

            be = ibis.duckdb.from_connection(self.con)
            self._local.ibis = be
        return be

    def close(self) -> None:
        if self._sqlbox is not None:  # its worker processes end with the store
            self._sqlbox.close()
        try:
            self._con.close()
        except Exception:  # pragma: no cover
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- datasets ------------------------------------------------------------------------
    def datasets(self) -> pl.DataFrame:
        """One row per dataset: name, version, timestamps and the row count of each table."""
        counts = ", ".join(
            f"coalesce(max(t.estimated_size) FILTER (WHERE t.table_name = '{k}'), 0)::BIGINT AS {k}"
            for k in schema.KINDS)  # table kinds are constants of the contract
        return self.con.sql(
            f"SELECT d.id, d.name, d.version, d.created_at, d.updated_at, {counts} "
            "FROM cx_meta.datasets d LEFT JOIN duckdb_tables() t ON t.schema_name = 'ds_' || d.id "
            "GROUP BY ALL ORDER BY d.id").pl()

    def dataset_names(self) -> list[str]:
        return [r[0] for r in self.con.sql("SELECT name FROM cx_meta.datasets ORDER BY id").fetchall()]

    def dataset(self, name: str | None = None) -> Dataset:
        name = name or DEFAULT_DATASET
        rows = self.con.sql("SELECT id, name, version FROM cx_meta.datasets WHERE name = $n",
                            params={"n": name}).fetchall()
        row = rows[0] if rows else None
        if row is None:
            known = ", ".join(self.dataset_names()) or "none yet"
            raise DatasetNotFound(f"There is no dataset named '{name}' (datasets: {known}).")
        return Dataset(*row)

    def has_dataset(self, name: str) -> bool:
        return self.con.sql("SELECT count(*) FROM cx_meta.datasets WHERE name = $n",
                            params={"n": name}).fetchall()[0][0] > 0

    def version(self, name: str | None = None) -> int:
        """Changes on every import into the dataset: the cache key of every page."""
        return self.dataset(name).version

    @staticmethod
    def _check_name(name: str) -> str:
        name = (name or "").strip()
        if not name:
            raise CXError("A dataset needs a name.")
        if len(name) > 80:
            raise CXError("A dataset name can have at most 80 characters.")
        return name

    def create_dataset(self, name: str, description: str | None = None, con=None) -> Dataset:
        name = self._check_name(name)
        con = con or self.con
        with self._write_lock:
            if self.has_dataset(name):
                raise CXError(f"A dataset named '{name}' exists already.")
            new_id = con.sql("SELECT coalesce(max(id), 0) + 1 FROM cx_meta.datasets").fetchall()[0][0]
            now = _now()
            con.sql("INSERT INTO cx_meta.datasets VALUES ($id, $n, 0, $t, $t, $d)",
                    params={"id": new_id, "n": name, "t": now, "d": description})
            con.sql(f"CREATE SCHEMA IF NOT EXISTS ds_{int(new_id)}")
            con.sql("INSERT INTO cx_meta.stage_rules SELECT $id, position, keyword, stage FROM "
                    "(SELECT unnest($p) AS position, unnest($k) AS keyword, unnest($s) AS stage)",
                    params={"id": new_id, "p": list(range(len(schema.DEFAULT_STAGE_KEYWORDS))),
                            "k": [k for k, _ in schema.DEFAULT_STAGE_KEYWORDS],
                            "s": [s for _, s in schema.DEFAULT_STAGE_KEYWORDS]})
            self._write_purchase_rules(con, new_id, schema.DEFAULT_PURCHASE_RULES)
        return Dataset(new_id, name, 0)

    def rename_dataset(self, old: str, new: str) -> None:
        new = self._check_name(new)
        ds = self.dataset(old)
        with self._write_lock:
            if new != old and self.has_dataset(new):
                raise CXError(f"A dataset named '{new}' exists already.")
            self.con.sql("UPDATE cx_meta.datasets SET name = $n, updated_at = $t WHERE id = $id",
                         params={"n": new, "t": _now(), "id": ds.id})

    def delete_dataset(self, name: str) -> None:
        ds = self.dataset(name)
        with self.transaction() as con:
            con.sql(f"DROP SCHEMA IF EXISTS {ds.schema} CASCADE")
            for t in ("datasets", "imports", "stage_rules", "purchase_rules", "segments", "cluster_names", "results",
                      "event_stores", *LOOP_TABLES):
                col = "id" if t == "datasets" else "dataset_id"
                con.sql(f"DELETE FROM cx_meta.{t} WHERE {col} = $id", params={"id": ds.id})

    @contextmanager
    def transaction(self, cur: duckdb.DuckDBPyConnection | None = None):
        """One write transaction, holding the store's write lock: committed on success, rolled back
        on error. On a fresh cursor (closed afterwards), or on `cur` (e.g. one whose temporary
        tables the transaction reads)."""
        own = cur is None
        cur = cur or self.cursor()
        with self._write_lock:
            cur.sql("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.sql("ROLLBACK")
                raise
            else:
                cur.sql("COMMIT")
            finally:
                if own:
                    cur.close()

    # -- tables --------------------------------------------------------------------------
    def describe(self, ds: Dataset) -> dict[str, tuple[str, ...]]:
        """kind -> its columns (in order), for each table the dataset has: one lookup."""
        rows = self.con.sql(
            "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
            "WHERE schema_name = $s AND table_name IN ('interactions', 'customers', 'feedback') "
            "GROUP BY table_name", params={"s": ds.schema}).fetchall()
        return {k: tuple(c) for k, c in rows}

    def ibis_table(self, ds: Dataset, kind: str) -> "ibis.Table":
        """The Ibis table of one kind of a resolved dataset (no existence check: see cx.data)."""
        return self.ibis.table(kind, database=ds.schema)

    def has_table(self, kind: str, dataset: str | None = None) -> bool:
        """Whether the dataset's schema has a table of this name (a kind, or an area's own table
        such as the themes the voice of the customer keeps)."""
        ds = self.dataset(dataset)
        return self.con.sql("SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t",
                            params={"s": ds.schema, "t": kind}).fetchall()[0][0] > 0

    def table(self, kind: str, dataset: str | None = None) -> "ibis.Table":
        """The Ibis table of one kind in a dataset (raises CXError when it was never imported)."""
        if kind not in schema.KINDS:
            raise ValueError(f"unknown table kind {kind!r}")
        ds = self.dataset(dataset)
        if kind not in self.describe(ds):
            raise CXError(f"The dataset '{ds.name}' has no {kind} table yet: import one on the Data page.")
        return self.ibis_table(ds, kind)

    def table_columns(self, kind: str, dataset: str | None = None) -> list[str]:
        return list(self.describe(self.dataset(dataset)).get(kind, ()))

    # -- stage map -----------------------------------------------------------------------
    def stage_rules(self, dataset: str | None = None) -> list[tuple[str, str]]:
        ds = self.dataset(dataset)
        return [(k, s) for k, s in self.con.sql(
            "SELECT keyword, stage FROM cx_meta.stage_rules WHERE dataset_id = $id ORDER BY position",
            params={"id": ds.id}).fetchall()]

    def stage_map(self, dataset: str | None = None) -> pl.DataFrame:
        """Each distinct touchpoint of the dataset, its stage now, and where the stage came from."""
        if not self.has_table("interactions", dataset):
            return pl.DataFrame(schema={"touchpoint": pl.Utf8, "stage": pl.Utf8, "from_rules": pl.Boolean,
                                        "rows": pl.Int64})
        ds = self.dataset(dataset)
        return self.con.sql(
            f"SELECT touchpoint, any_value(stage) AS stage, bool_and(_stage_derived) AS from_rules, "
            f"count(*) AS rows FROM {ds.schema}.interactions GROUP BY touchpoint ORDER BY rows DESC").pl()

    def set_stage_rules(self, rules: list[tuple[str, str]], dataset: str | None = None) -> int:
        """Replace the dataset's keyword rules and re-derive the stage of every row whose stage
        came from the rules (stages given in the file are kept). Returns rows updated."""
        for kw, st in rules:
            if st not in schema.STAGES:
                raise CXError(f"'{st}' is not a stage (stages: {', '.join(schema.STAGES)}).")
            if not schema.normalise_name(kw):
                raise CXError("A stage rule needs a keyword.")
        ds = self.dataset(dataset)
        with self.transaction() as con:
            con.sql("DELETE FROM cx_meta.stage_rules WHERE dataset_id = $id", params={"id": ds.id})
            if rules:
                con.sql("INSERT INTO cx_meta.stage_rules SELECT $id, position, keyword, stage FROM "
                        "(SELECT unnest($p) AS position, unnest($k) AS keyword, unnest($s) AS stage)",
                        params={"id": ds.id, "p": list(range(len(rules))),
                                "k": [schema.normalise_name(k) for k, _ in rules], "s": [s for _, s in rules]})
            n = 0
            if self.has_table("interactions", ds.name):
                n = derive_stages_sql(con, ds.schema, rules, only_derived=True)
                build_events(con, ds, ds.version + 1)  # the stages changed: so do the event store's codes
                self._bump(con, ds.id, keep_events=False)
        return n

    # -- purchase touchpoints ------------------------------------------------------------
    def purchase_rules(self, dataset: str | None = None) -> list[tuple[str, bool]]:
        """The dataset's purchase rules: (keyword, True) makes a touchpoint a purchase, (keyword,
        False) keeps it from being one (see schema.purchase_touchpoints). The defaults when none
        were saved (a database from before the rules existed)."""
        ds = self.dataset(dataset)
        rows = self.con.sql("SELECT keyword, purchase FROM cx_meta.purchase_rules WHERE dataset_id = $id "
                            "ORDER BY position", params={"id": ds.id}).fetchall()
        if not rows:
            return list(schema.DEFAULT_PURCHASE_RULES)
        return [(k, bool(p)) for k, p in rows if k is not None]  # a lone NULL row: "no rules", saved

    def set_purchase_rules(self, rules, dataset: str | None = None) -> list[str]:
        """Replace the dataset's purchase rules; bumps its version (every figure that counts
        purchases changes). Returns the touchpoints that are purchases now."""
        clean = []
        for kw, p in rules:
            k = schema.normalise_name(kw)
            if not k:
                raise CXError("A purchase rule needs a keyword (a word of the touchpoint names).")
            clean.append((k, bool(p)))
        ds = self.dataset(dataset)
        with self.transaction() as con:
            con.sql("DELETE FROM cx_meta.purchase_rules WHERE dataset_id = $id", params={"id": ds.id})
            self._write_purchase_rules(con, ds.id, clean)
            self._bump(con, ds.id)
        return list(self.purchase_touchpoints(self.dataset(ds.name)))

    @staticmethod
    def _write_purchase_rules(con, dataset_id: int, rules) -> None:
        if not rules:  # saved as "no rules" (amounts alone decide), not "never set" (the defaults)
            con.sql("INSERT INTO cx_meta.purchase_rules VALUES ($id, 0, NULL, NULL)", params={"id": dataset_id})
        else:
            con.sql("INSERT INTO cx_meta.purchase_rules SELECT $id, position, keyword, purchase FROM "
                    "(SELECT unnest($p) AS position, unnest($k) AS keyword, unnest($b) AS purchase)",
                    params={"id": dataset_id, "p": list(range(len(rules))), "k": [k for k, _ in rules],
                            "b": [bool(p) for _, p in rules]})

    def purchase_touchpoints(self, ds: Dataset) -> tuple[str, ...]:
        """The touchpoints of a resolved dataset that are purchases by its rules, once per version
        (its distinct touchpoints are read once and kept in this process)."""
        key = (ds.id, ds.version)
        got = self._purchase_tps.get(key)
        if got is None:
            if "interactions" not in self.describe(ds):
                return ()
            names = [r[0] for r in self.con.sql(f"SELECT DISTINCT touchpoint FROM {ds.schema}.interactions"
                                                ).fetchall()]
            got = tuple(schema.purchase_touchpoints(names, self.purchase_rules(ds.name)))
            self._purchase_tps[key] = got
        return got

    def build_event_store(self, dataset: str | None = None) -> float:
        """Build the dataset's event store for its current version when it has none (a database
        from before the store, or a build that was interrupted); seconds taken, 0 when current."""
        ds = self.dataset(dataset)
        with self.transaction() as con:
            con.sql(EVENT_STORES_DDL)
            v = con.sql("SELECT version FROM cx_meta.datasets WHERE id = $id", params={"id": ds.id}).fetchall()[0][0]
            have = con.sql("SELECT count(*) FROM cx_meta.event_stores WHERE dataset_id = $id AND version = $v",
                           params={"id": ds.id, "v": v}).fetchall()[0][0]
            if have or not self.has_table("interactions", ds.name):
                return 0.0
            return build_events(con, Dataset(ds.id, ds.name, v), v)

    def _bump(self, con, dataset_id: int, keep_events: bool = True) -> None:
        bump_version(con, dataset_id, keep_events)

    def imports(self, dataset: str | None = None) -> pl.DataFrame:
        """The dataset's import log, newest first: each file's kind, name, mode (replace or append),
        rows, time, and the start of its content hash (the same file appended twice is noticed)."""
        ds = self.dataset(dataset)
        has_hash = self.con.sql("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'cx_meta' AND "
                                "table_name = 'imports' AND column_name = 'sha256'").fetchall()[0][0]
        file_hash = "left(sha256, 12)" if has_hash else "NULL::VARCHAR"
        return self.con.sql(f"SELECT kind, file_name, mode, rows_read, accepted, rejected, seconds, imported_at, "
                            f"{file_hash} AS file_hash FROM cx_meta.imports WHERE dataset_id = $id "
                            f"ORDER BY imported_at DESC, id DESC", params={"id": ds.id}).pl()

    # -- saved segments and cluster names (cx.segments) --------------------------------------
    def save_segment(self, name: str, customer_ids, dataset: str | None = None) -> int:
        """Save (or replace) a named segment = a list of customer ids, in the dataset. Bumps the
        dataset version (pages filtered by this segment must recompute). Returns members saved."""
        name, ids = check_segment(name, customer_ids)
        ds = self.dataset(dataset)
        with self.transaction() as con:
            con.sql("DELETE FROM cx_meta.segments WHERE dataset_id = $id AND segment = $s",
                    params={"id": ds.id, "s": name})
            con.sql("INSERT INTO cx_meta.segments SELECT $id, $s, unnest($c), $t",
                    params={"id": ds.id, "s": name, "c": ids, "t": _now()})
            self._bump(con, ds.id)
        return len(ids)

    def delete_segment(self, name: str, dataset: str | None = None) -> None:
        ds = self.dataset(dataset)
        with self.transaction() as con:
            con.sql("DELETE FROM cx_meta.segments WHERE dataset_id = $id AND segment = $s",
                    params={"id": ds.id, "s": name})
            self._bump(con, ds.id)

    def segment_names(self, dataset: str | None = None) -> list[str]:
        ds = self.dataset(dataset)
        return [r[0] for r in self.con.sql(
            "SELECT DISTINCT segment FROM cx_meta.segments WHERE dataset_id = $id ORDER BY segment",
            params={"id": ds.id}).fetchall()]

    def meta_table(self, name: str) -> "ibis.Table":
        """An Ibis table of the store's own metadata (``segments``: dataset_id, segment, customer_id)."""
        return self.ibis.table(name, database="cx_meta")

    def cluster_names(self, run_key: str, dataset: str | None = None) -> dict[int, str]:
        """User-edited names of the clusters of one clustering run (see cx.segments.run_key)."""
        ds = self.dataset(dataset)
        return {int(c): n for c, n in self.con.sql(
            "SELECT cluster, name FROM cx_meta.cluster_names WHERE dataset_id = $id AND run_key = $k",
            params={"id": ds.id, "k": run_key}).fetchall()}

    def set_cluster_name(self, run_key: str, cluster: int, name: str | None, dataset: str | None = None) -> None:
        """Rename a cluster (an empty name restores the automatic one). No version bump."""
        ds = self.dataset(dataset)
        with self.transaction() as con:
            con.sql("DELETE FROM cx_meta.cluster_names WHERE dataset_id = $id AND run_key = $k AND cluster = $c",
                    params={"id": ds.id, "k": run_key, "c": int(cluster)})
            if name and name.strip():
                con.sql("INSERT INTO cx_meta.cluster_names VALUES ($id, $k, $c, $n)",
                        params={"id": ds.id, "k": run_key, "c": int(cluster), "n": name.strip()[:80]})


def check_segment(name: str, customer_ids) -> tuple[str, list[str]]:
    """A segment's cleaned name and its sorted distinct member ids (every backend's rule)."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise CXError("A segment needs a name of 1 to 80 characters.")
    ids = sorted({str(c) for c in customer_ids if c is not None})
    if not ids:
        raise CXError("A segment needs at least one customer.")
    return name, ids


def bump_version(con, dataset_id: int, keep_events: bool = True) -> None:
    """The dataset's version + 1. keep_events: the change leaves the interactions and their stages
    as they were (a customers or feedback import, a saved segment, purchase rules: the kernels read
    purchases from the handle), so a current event store stays current."""
    if keep_events:
        con.sql(EVENT_STORES_DDL)
        con.sql("UPDATE cx_meta.event_stores SET version = version + 1 WHERE dataset_id = $id AND version = "
                "(SELECT version FROM cx_meta.datasets WHERE id = $id)", params={"id": dataset_id})
    con.sql("UPDATE cx_meta.datasets SET version = version + 1, updated_at = $t WHERE id = $id",
            params={"t": _now(), "id": dataset_id})
