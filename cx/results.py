"""The result store: results of cx functions kept in the database, per (dataset version, function,
arguments), so a page's first view after an import or an app restart reads them instead of
computing them again.

One table, ``cx_meta.results`` (created with the other cx_meta tables, see cx.store): a row per
result with the dataset's id and version, the fingerprint of the code that computed it (a row
written by other code is never read: an upgrade recomputes), the function, the key of its
arguments, the payload (cx.codec: no pickle) and the seconds it took to compute.

- A read names the version it wants: a row of another version is never returned, so a stale read
  is impossible. A payload that does not decode is deleted and reported as missing (the caller
  computes again).
- A write encodes first, then holds the store's write lock for one short transaction: it writes
  only while the dataset still is at that version, and deletes the dataset's rows of other
  versions (and of other code) on the way. A dataset that is deleted takes its rows with it.
- The prepared results (cx.prepare's plan) are *pinned*; the others (what pages computed for
  their users' choices) are kept up to ``max_bytes()`` per dataset (CX_RESULTS_MAX_MB, 1024 MB by
  default), the oldest written deleted first.
- ``clear`` empties the table (or one dataset's rows); ``summary`` says what it holds.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import logging
import os
import weakref
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from . import codec

if TYPE_CHECKING:
    from .store import Dataset

log = logging.getLogger("cx.results")

MISSING = object()
PREPARED = "(prepared)"  # the key (and fn) of a dataset version's preparation record (cx.prepare)


# -- keys -----------------------------------------------------------------------------------
class Unkeyable(Exception):
    pass


def key(x, refs: list | None = None) -> str:
    """A cache key for `x`. Plain values (None, str, numbers, dates; tuples, lists and dicts of
    them; frozen dataclasses such as Filters) are keyed by value. With `refs`, any other object is
    keyed by identity and a weak reference to it is appended to `refs` (so the caller can tell
    when it is gone); without, or when it cannot be weakly referenced, Unkeyable is raised."""
    if x is None or isinstance(x, (str, int, float, date)):  # bool is an int; datetime a date
        return f"{type(x).__name__}:{x!r}"
    if isinstance(x, (tuple, list)):
        return f"{type(x).__name__}(" + ",".join(key(v, refs) for v in x) + ")"
    if isinstance(x, dict):
        return "dict(" + ",".join(f"{key(k)}={key(v, refs)}" for k, v in sorted(x.items(), key=lambda kv: str(kv[0]))) + ")"
    if dataclasses.is_dataclass(x) and not isinstance(x, type) and type(x).__dataclass_params__.frozen:
        return (f"{type(x).__module__}.{type(x).__qualname__}("
                + ",".join(f"{fl.name}={key(getattr(x, fl.name), refs)}" for fl in dataclasses.fields(x)) + ")")
    if refs is not None:
        try:
            refs.append(weakref.ref(x))
        except TypeError:
            raise Unkeyable from None
        return f"id:{id(x)}"
    raise Unkeyable


def qualname(fn) -> str:
    """How a cx function is named in keys: ``module:qualname`` (a name given as such is kept)."""
    return fn if isinstance(fn, str) else f"{fn.__module__}:{fn.__qualname__}"


def function(name: str):
    """The cx function of a ``module:qualname`` name."""
    mod, _, fn = name.partition(":")
    return getattr(importlib.import_module(mod), fn)


def call_key(fn: str, args: tuple, kwargs: tuple) -> str:
    """The stored key of a call: the function and its arguments (keyword arguments as sorted
    (name, value) pairs), without the dataset (a column of its own). Raises Unkeyable."""
    return key((fn, args, kwargs))


@functools.cache
def code_version() -> str:
    """A fingerprint of the code that computes results: the codec's format and every source file
    of the cx package. A result written by other code is not read."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256(codec.FORMAT.encode())
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _usable(store) -> bool:
    return getattr(store, "backend_name", None) == "duckdb" and hasattr(store, "transaction")


# -- read and write --------------------------------------------------------------------------
def read(store, ds: Dataset, k: str):
    """The stored result of key `k` at the dataset's version `ds.version`, or MISSING (none, the
    table is absent, or the payload does not decode: then the row is deleted). Never raises."""
    if not _usable(store):
        return MISSING
    try:
        rows = store.con.sql(
            "SELECT payload FROM cx_meta.results WHERE dataset_id = $id AND version = $v AND code = $c AND key = $k "
            "LIMIT 1", params={"id": ds.id, "v": ds.version, "c": code_version(), "k": k}).fetchall()
    except Exception as e:  # noqa: BLE001 - e.g. a read-only database from before the table existed
        log.debug("result store not readable: %s", e)
        return MISSING
    if not rows:
        return MISSING
    try:
        return codec.decode(rows[0][0])
    except codec.Corrupt as e:
        log.warning("stored result %s of dataset %s v%s does not decode (%s): computing it again", k[:120],
                    ds.id, ds.version, e)
        _delete_key(store, ds, k)
        return MISSING


def max_bytes() -> int:
    """Bytes of results not pinned kept per dataset (CX_RESULTS_MAX_MB, default 1024)."""
    try:
        return int(float(os.environ.get("CX_RESULTS_MAX_MB", "1024")) * 2**20)
    except ValueError:
        return 1024 * 2**20


def write(store, ds: Dataset, fn: str, k: str, value, seconds: float, pinned: bool = False) -> bool:
    """Keep `value` as the result of key `k` at version `ds.version` (`pinned`: a prepared result,
    never evicted for room). Returns whether it was written: not when the value cannot be encoded,
    when the dataset has moved on to another version (or is gone), or when the write failed
    (logged, never raised)."""
    if not _usable(store):
        return False
    try:
        payload = codec.encode(value)
    except codec.Unencodable as e:
        log.debug("result %s kept in memory only: %s", fn, e)
        return False
    try:
        return _write_payload(store, ds, fn, k, payload, seconds, pinned)
    except Exception as e:  # noqa: BLE001 - a failed write never fails a page
        log.warning("result %s of dataset %s v%s not stored: %s", fn, ds.id, ds.version, e)
        return False


def _write_payload(store, ds: Dataset, fn: str, k: str, payload: bytes, seconds: float, pinned: bool = False) -> bool:
    code = code_version()
    with store.transaction() as con:
        now = con.sql("SELECT version FROM cx_meta.datasets WHERE id = $id", params={"id": ds.id}).fetchall()
        if not now or now[0][0] != ds.version:
            return False  # computed on a version that is no longer the dataset's: never stored
        if not pinned:  # a pinned row of the key (the job's) stays pinned when a page writes it again
            pinned = bool(con.sql("SELECT bool_or(pinned) FROM cx_meta.results WHERE dataset_id = $id AND version = $v "
                                  "AND code = $c AND key = $k",
                                  params={"id": ds.id, "v": ds.version, "c": code, "k": k}).fetchall()[0][0])
        con.sql("DELETE FROM cx_meta.results WHERE dataset_id = $id AND (version <> $v OR code <> $c OR key = $k)",
                params={"id": ds.id, "v": ds.version, "c": code, "k": k})
        con.sql("INSERT INTO cx_meta.results (dataset_id, version, code, fn, key, payload, bytes, seconds, created_at, "
                "pinned) VALUES ($id, $v, $c, $f, $k, $p, $b, $s, $t, $pin)",
                params={"id": ds.id, "v": ds.version, "c": code, "f": fn, "k": k, "p": payload, "b": len(payload),
                        "s": float(seconds), "t": datetime.now(timezone.utc).replace(tzinfo=None), "pin": bool(pinned)})
        if not pinned:  # room: the oldest results not pinned beyond max_bytes() go
            con.sql("DELETE FROM cx_meta.results WHERE dataset_id = $id AND NOT pinned AND key IN ("
                    "SELECT key FROM (SELECT key, sum(bytes) OVER (ORDER BY created_at DESC, key) AS upto "
                    "FROM cx_meta.results WHERE dataset_id = $id AND NOT pinned) WHERE upto > $max)",
                    params={"id": ds.id, "max": max_bytes()})
    return True


def pin(store, ds: Dataset, k: str) -> None:
    """Pin a stored result of the version (it was written for a page, and is a prepared one too)."""
    try:
        with store.transaction() as con:
            con.sql("UPDATE cx_meta.results SET pinned = true WHERE dataset_id = $id AND version = $v AND key = $k",
                    params={"id": ds.id, "v": ds.version, "k": k})
    except Exception as e:  # noqa: BLE001 - best effort: at worst it is evicted and computed again
        log.debug("could not pin result %s: %s", k[:120], e)


def _delete_key(store, ds: Dataset, k: str) -> None:
    try:
        with store.transaction() as con:
            con.sql("DELETE FROM cx_meta.results WHERE dataset_id = $id AND key = $k", params={"id": ds.id, "k": k})
    except Exception as e:  # noqa: BLE001 - best effort: the next write replaces it anyway
        log.debug("could not delete result %s: %s", k[:120], e)


# -- the preparation record (cx.prepare) -------------------------------------------------------
def mark_prepared(store, ds: Dataset, summary: dict) -> bool:
    """Record that the dataset version's dashboards were prepared (`summary`: steps, seconds ...)."""
    return write(store, ds, PREPARED, PREPARED, summary, summary.get("seconds", 0.0), pinned=True)


def prepared(store, ds: Dataset) -> dict | None:
    """The preparation record of the dataset version, or None when it was not prepared."""
    got = read(store, ds, PREPARED)
    return None if got is MISSING else got


# -- maintenance ---------------------------------------------------------------------------
def clear(store, dataset: str | None = None, fn_prefixes: tuple[str, ...] | None = None) -> int:
    """Delete stored results: all of them, or one dataset's (by name), optionally only those of
    functions whose name starts with one of `fn_prefixes` (e.g. ``("cx.voc",)``). Returns rows
    deleted. The database file keeps its size; DuckDB reuses the freed blocks for later writes."""
    where, params = [], {}
    if dataset is not None:
        where.append("dataset_id = $id")
        params["id"] = store.dataset(dataset).id
    if fn_prefixes:
        where.append("(" + " OR ".join(f"starts_with(fn, $p{i})" for i in range(len(fn_prefixes))) + ")")
        params.update({f"p{i}": p for i, p in enumerate(fn_prefixes)})
    sql = "FROM cx_meta.results" + (" WHERE " + " AND ".join(where) if where else "")
    with store.transaction() as con:
        n = con.sql("SELECT count(*) " + sql, params=params).fetchall()[0][0]
        con.sql("DELETE " + sql, params=params)
    return n


def summary(store) -> pl.DataFrame:
    """What the result store holds, per dataset and version: results, bytes, compute seconds saved."""
    return store.con.sql(
        "SELECT d.name AS dataset, r.version, count(*) FILTER (WHERE r.fn <> $p) AS results, sum(r.bytes)::BIGINT AS bytes, "
        "round(sum(r.seconds) FILTER (WHERE r.fn <> $p), 2) AS compute_seconds, bool_or(r.fn = $p) AS prepared, "
        "r.code = $c AS current_code, max(r.created_at) AS written "
        "FROM cx_meta.results r LEFT JOIN cx_meta.datasets d ON d.id = r.dataset_id "
        "GROUP BY ALL ORDER BY dataset, r.version", params={"p": PREPARED, "c": code_version()}).pl()

