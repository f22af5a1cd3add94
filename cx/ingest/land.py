"""Landing: the accepted rows of a checked file become the dataset's table, in one transaction."""
from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..eventstore import build_events
from ..store import Store, _now, bump_version
from .parse import _TYPE_PLURAL, _ident, attr_text, attr_value
from .report import DuplicateImport, ImportFailed, ImportReport, plain_errors
from ..stages import stage_vocab_sql

if TYPE_CHECKING:  # pragma: no cover
    from .source import Source


DUPLICATE_HINT = " Pass allow_duplicate=True (command line: --allow-duplicate) to import it again."


class Landing:
    """The landing half of a Validation (commit, and the swap or append inside the transaction)."""

    allow_duplicate = False
    events_seconds = None  # the event store's build (an interactions import), in seconds

    def commit(self, dataset: str | None = None, mode: str = "replace", create: bool = True,
               allow_duplicate: bool = False) -> ImportReport:
        """Import the accepted rows of a checked file in one transaction: all of them, or nothing.
        Appending a file whose bytes were already appended to this table is refused unless
        allow_duplicate (see :meth:`duplicate_of`)."""
        if self.table is None:
            raise ImportFailed("Check the file (validate) before importing it.")
        t0 = time.time()
        self.allow_duplicate = allow_duplicate
        with plain_errors(self.src.file_name), _transaction(self.src) as cur:
            ds = _target_dataset(self.src.store, cur, dataset, create)
            new = f"{ds.schema}.{self.kind}__new"
            cur.sql(f"DROP TABLE IF EXISTS {new}")
            idx = f"rowid - {int(self._rid0)} + 1 AS __i"
            cur.sql(f"CREATE TABLE {new} AS SELECT * EXCLUDE ({', '.join(self.helpers)}), {idx} "
                    f"FROM {self.table} WHERE NOT ({self._bad})")
            self._finish(cur, ds, new, mode, index="__i")
        return self.report(dataset or "default", imported=True, seconds=self.seconds + time.time() - t0)

    def duplicate_of(self, dataset: str | None, mode: str = "append", cur=None) -> str | None:
        """Why appending this file to the dataset would count rows twice (the message), or None: the
        same bytes (sha256) were imported into this table since it was last replaced."""
        if mode != "append":
            return None
        cur = cur or self.src.cur
        name = dataset or "default"
        if not _has_hash_column(cur):
            return None
        prev = cur.sql(
            "SELECT i.file_name, i.imported_at FROM cx_meta.imports i JOIN cx_meta.datasets d ON d.id = i.dataset_id "
            "WHERE d.name = $n AND i.kind = $k AND i.sha256 = $h AND i.id >= coalesce((SELECT max(r.id) FROM "
            "cx_meta.imports r WHERE r.dataset_id = d.id AND r.kind = $k AND r.mode = 'replace'), 0) "
            "ORDER BY i.id DESC LIMIT 1", params={"n": name, "k": self.kind, "h": self.src.sha256}).fetchall()
        if not prev:
            return None
        file_name, at = prev[0]
        same = "" if file_name == self.src.file_name else f" (as {file_name})"
        return (f"{self.src.file_name} was already imported{same} into the {self.kind} of dataset '{name}' on "
                f"{at:%Y-%m-%d %H:%M} UTC: appending it again would count its rows twice.")

    def _finish(self, cur, ds, new: str, mode: str, index: str = "rowid") -> None:
        """Make `new` the dataset's table of this kind: internal columns, stages, swap or append."""
        self.src.landed = ds.name  # the closed loop runs on it once the transaction committed
        if mode not in ("replace", "append"):
            raise ImportFailed("mode is 'replace' or 'append'.")
        if not self.allow_duplicate:
            dup = self.duplicate_of(ds.name, mode, cur)
            if dup:
                raise DuplicateImport(dup + DUPLICATE_HINT)
        if self.accepted == 0:
            raise ImportFailed(f"No row of {self.src.file_name} passed validation "
                               f"({self.rejected:,} rejected): nothing was imported.")
        self.src.progress(0.85, f"Importing {self.accepted:,} rows")
        target = f"{ds.schema}.{self.kind}"
        exists = _table_exists(cur, ds.schema, self.kind)
        if self.persistent:
            if self.accepted < self.rows_read - self.src.reader_rejected:
                cur.sql(f"DELETE FROM {new} WHERE {self._bad}")
            for h in self.helpers:
                cur.sql(f"ALTER TABLE {new} DROP COLUMN {h}")
        if self.kind in ("interactions", "feedback"):
            seq0 = cur.sql(f"SELECT coalesce(max(_seq), 0) FROM {target}").fetchall()[0][0] \
                if exists and mode == "append" else 0
            cur.sql(f"ALTER TABLE {new} ADD COLUMN _seq BIGINT")
            sets = [f"_seq = {new}.__i + {int(seq0)}" if index == "__i" else
                    f"_seq = {new}.rowid - {int(self._rid0)} + 1 + {int(seq0)}"]
            if self.kind == "interactions":
                cur.sql(f"ALTER TABLE {new} ADD COLUMN _stage_derived BOOLEAN")
                n_null = cur.sql(f"SELECT count(*) FROM {new} WHERE stage IS NULL").fetchall()[0][0]
                if n_null:
                    rules = cur.sql("SELECT keyword, stage FROM cx_meta.stage_rules WHERE dataset_id = $id "
                                    "ORDER BY position", params={"id": ds.id}).fetchall()
                    vocab = stage_vocab_sql(cur, f"SELECT DISTINCT touchpoint FROM {new} WHERE stage IS NULL", rules)
                    cur.sql(f"CREATE OR REPLACE TEMP TABLE cx_vocab AS {vocab}")
                    cur.sql(f"UPDATE {new} SET {sets[0]}, _stage_derived = ({new}.stage IS NULL), "
                            f"stage = coalesce({new}.stage, v.stage) FROM (SELECT * FROM cx_vocab UNION ALL "
                            f"SELECT DISTINCT touchpoint, NULL FROM {new} WHERE stage IS NOT NULL AND touchpoint "
                            f"NOT IN (SELECT touchpoint FROM cx_vocab)) v WHERE {new}.touchpoint = v.touchpoint")
                    cur.sql("DROP TABLE cx_vocab")
                else:
                    cur.sql(f"UPDATE {new} SET {sets[0]}, _stage_derived = false")
            else:
                cur.sql(f"UPDATE {new} SET {sets[0]}")
        if index == "__i":
            cur.sql(f"ALTER TABLE {new} DROP COLUMN __i")
        if exists and mode == "append":
            have = _column_types(cur, ds.schema, self.kind)
            for c, typ in _column_types(cur, ds.schema, f"{self.kind}__new").items():
                if c not in have:  # a new attribute: older rows get NULL
                    cur.sql(f"ALTER TABLE {target} ADD COLUMN {_ident(c)} {typ}")
                elif typ != have[c] and c in self.attributes:
                    self._reconcile(cur, target, new, c, have[c], typ)
            if self.kind == "customers":  # upsert: the new row of a customer wins
                cur.sql(f"DELETE FROM {target} WHERE customer_id IN (SELECT customer_id FROM {new})")
            cur.sql(f"INSERT INTO {target} BY NAME SELECT * FROM {new}")
            cur.sql(f"DROP TABLE {new}")
        else:
            cur.sql(f"DROP TABLE IF EXISTS {target}")
            cur.sql(f"ALTER TABLE {new} RENAME TO {self.kind}")
        if self.kind == "feedback":  # voice of the customer: comment sentiment, scored once, in this transaction
            from ..voc.sentiment import score_feedback

            score_feedback(cur, ds.schema)
        import_id = cur.sql("SELECT coalesce(max(id), 0) + 1 FROM cx_meta.imports").fetchall()[0][0]
        if not _has_hash_column(cur):  # a database from before content hashes were kept
            cur.sql("ALTER TABLE cx_meta.imports ADD COLUMN IF NOT EXISTS sha256 VARCHAR")
        cur.sql("INSERT INTO cx_meta.imports (id, dataset_id, kind, file_name, mode, rows_read, accepted, rejected, "
                "seconds, imported_at, sha256) VALUES ($id, $ds, $k, $f, $m, $r, $a, $x, $s, $t, $h)",
                params={"id": import_id, "ds": ds.id, "k": self.kind, "f": self.src.file_name, "m": mode,
                        "r": self.rows_read, "a": self.accepted, "x": self.rejected, "s": self.seconds,
                        "t": _now(), "h": self.src.sha256})
        if self.kind == "interactions":  # the journey kernels' event store, in this same transaction
            self.src.progress(0.93, "Building the journey event store")
            merged = seq0 if exists and mode == "append" else None  # an append merges into the current store
            self.events_seconds = build_events(cur, ds, ds.version + 1, appended_after=merged)
            self.src.progress(0.97, f"Journey event store built in {self.events_seconds:.1f} s")
        bump_version(cur, ds.id, keep_events=self.kind != "interactions")


    def _reconcile(self, cur, target: str, new: str, c: str, old: str, typ: str) -> None:
        """An attribute appended with another type than the dataset's: the dataset's type when this
        file's values read as it, else the column becomes text (in the dataset too), said."""
        col = _ident(c)
        as_text = attr_text(col, typ)
        if old != "VARCHAR":
            value = attr_value(f"({as_text})", old)
            bad = cur.sql(f"SELECT count(*) FROM {new} WHERE {col} IS NOT NULL AND {value} IS NULL").fetchall()[0][0]
            if not bad:
                cur.sql(f"ALTER TABLE {new} ALTER COLUMN {col} SET DATA TYPE {old} USING {value}")
                self.warnings.append(f"{c} holds {_TYPE_PLURAL[old]} in the dataset: this file's values "
                                     f"({_TYPE_PLURAL[typ]}) were read as {_TYPE_PLURAL[old]}.")
                return
            cur.sql(f"ALTER TABLE {target} ALTER COLUMN {col} SET DATA TYPE VARCHAR USING {attr_text(col, old)}")
            self.warnings.append(f"{c} is text in the dataset from now on: this file's values do not all read as "
                                 f"{_TYPE_PLURAL[old]} like the earlier ones (those were converted to text).")
        else:
            self.warnings.append(f"{c} is text in the dataset: this file's values ({_TYPE_PLURAL[typ]}) were "
                                 f"added as text.")
        cur.sql(f"ALTER TABLE {new} ALTER COLUMN {col} SET DATA TYPE VARCHAR USING {as_text}")


@contextmanager
def _transaction(src: Source):
    """The store's write transaction on the source's cursor (its temporary tables are read); once it
    committed, the closed loop's hook runs (see :func:`after_import`)."""
    with src.store.transaction(src.cur) as cur:
        yield cur
    src.progress(1.0, "Done")
    landed = getattr(src, "landed", None)
    if landed is not None and not _DEFER.get():
        after_import(src.store, landed)


# -- the closed loop after an import (cx.cases): rules, alerts; never fails the import ----------------
_DEFER = contextvars.ContextVar("cx_defer_after_import", default=False)


@contextmanager
def deferred_hook():
    """Imports inside this block do not run the hook (a folder runs it once, after its last file)."""
    token = _DEFER.set(True)
    try:
        yield
    finally:
        _DEFER.reset(token)


def after_import(store: Store, dataset: str, demo: bool = False) -> None:
    """Run the closed loop on a dataset that was just imported (cx.cases.hook.after_import, which
    logs and swallows its own failures; so does this, should the package itself fail to load)."""
    try:
        from ..cases.hook import after_import as hook

        hook(store, dataset, demo=demo)
    except Exception:  # noqa: BLE001 - the import is committed whatever happens here
        import logging

        logging.getLogger("cxloop").exception("the closed-loop hook failed after importing %s", dataset)


def _has_hash_column(cur) -> bool:
    return cur.sql("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'cx_meta' AND table_name = 'imports' "
                   "AND column_name = 'sha256'").fetchall()[0][0] > 0


def _table_exists(cur, ds_schema: str, name: str) -> bool:
    return cur.sql("SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t",
                   params={"s": ds_schema, "t": name}).fetchall()[0][0] > 0


def _column_types(cur, ds_schema: str, name: str) -> dict[str, str]:
    """Column -> its storage type (the import's: VARCHAR, DOUBLE, TIMESTAMP, BOOLEAN, BIGINT)."""
    safe = {"VARCHAR", "DOUBLE", "TIMESTAMP", "BOOLEAN", "BIGINT", "INTEGER", "DATE"}
    return {c: (t if t in safe else "VARCHAR") for c, t in cur.sql(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = $s AND table_name = $t "
        "ORDER BY column_index", params={"s": ds_schema, "t": name}).fetchall()}


def _target_dataset(store: Store, cur, name: str | None, create: bool):
    from ..store import Dataset

    name = name or "default"
    rows = cur.sql("SELECT id, name, version FROM cx_meta.datasets WHERE name = $n", params={"n": name}).fetchall()
    if not rows:
        if not create:
            raise ImportFailed(f"There is no dataset named '{name}'.")
        return store.create_dataset(name, con=cur)
    return Dataset(*rows[0])
