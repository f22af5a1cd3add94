"""One handle for "this dataset under these filters": :class:`Data`.

    d = store.data("demo", cx.Filters(channels=("web",)))     # resolved once
    journey.funnel(d, ["discover", "purchase"], field="stage")
    loyalty.score_summary(d, "nps", by="channel")

A handle is resolved once: the dataset (id, name, version) and the columns of each table it
has, in one lookup. Every metric function takes it first (``fn(d, ...)``) and reads its tables
through it: ``d.interactions`` / ``d.feedback`` / ``d.customers`` are the Ibis tables with the
global filters applied, ``d.table(kind)`` the unfiltered ones, ``d.has(kind)`` and
``d.cols(kind)`` what the dataset holds. :func:`uses_data` lets the same functions take the older
form too (a store, with ``filters=`` and ``dataset=``), so notebook calls such as
``journey.funnel(store, steps, dataset="demo")`` keep working.

Filters become Ibis predicates built from values (bound as literals by Ibis), never formatted SQL.
Customer attributes (persona, region, tier, stakeholder) filter through a semi-join on the
customers table, so a dataset without one ignores them; a saved segment that does not exist
selects no one (a stale link shows nobody rather than everyone).

Works on any store that offers ``dataset(name)``, ``describe(ds)``, ``ibis_table(ds, kind)`` and
``meta_table("segments")``: :class:`cx.store.Store` (DuckDB) and :class:`cx.spark.SparkStore`.
"""
from __future__ import annotations

import functools
import inspect
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from .filters import CUSTOMER_FILTERS, Filters
from .store import EVENT_CUSTOMERS, EVENT_DICT, EVENTS, CXError, Dataset, Store

if TYPE_CHECKING:  # pragma: no cover
    import ibis

KINDS = ("interactions", "customers", "feedback")


@dataclass(frozen=True, eq=False)
class Data:
    """A dataset of a store, under global filters (see the module docstring)."""

    store: object
    dataset: Dataset
    filters: Filters
    columns: dict  # kind -> tuple of column names, for the tables the dataset has
    purchase_touchpoints: tuple = ()  # touchpoints that are purchases whatever their amount (cx.expr)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @classmethod
    def open(cls, store, dataset: str | None = None, filters: Filters | None = None) -> "Data":
        ds = store.dataset(dataset)
        return cls(store, ds, filters or Filters(), dict(store.describe(ds)), tuple(store.purchase_touchpoints(ds)))

    # -- what it is ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def version(self) -> int:
        return self.dataset.version

    def with_filters(self, filters: Filters | None) -> "Data":
        """The same dataset (no new lookup) under other filters."""
        filters = filters or Filters()
        return self if filters == self.filters else replace(self, filters=filters, _local=threading.local())

    def has(self, kind: str, column: str | None = None) -> bool:
        """Whether the dataset has a table of `kind` (and, given, that table has `column`)."""
        return kind in self.columns and (column is None or column in self.columns[kind])

    def cols(self, kind: str) -> tuple[str, ...]:
        """The columns of the table of `kind` (empty when the dataset has none)."""
        return tuple(self.columns.get(kind, ()))

    def attributes(self, kind: str) -> list[str]:
        """The attributes of the table of `kind`: the columns its files brought beyond the data
        contract, kept by the import (schema.attribute_columns), usable as filters and breakdowns."""
        from .schema import attribute_columns

        return attribute_columns(kind, self.cols(kind)) if kind in self.columns else []

    def customer_attributes(self) -> tuple[str, ...]:
        """What describes a customer, usable as a breakdown wherever customers are grouped: the
        customers table's columns (persona, region ... and its own attributes), then the event log's
        attributes that hold one value per customer (acquisition_channel, user_cohort: a file with no
        customers table brings them this way). Found once per dataset version."""
        own = [c for c in self.cols("customers") if c != "customer_id" and not c.startswith("_")]
        return (*own, *[c for c in self._constant_attributes() if c not in own])

    def _constant_attributes(self) -> tuple[str, ...]:
        """The interaction attributes with at most one value per customer (and some value)."""
        attrs = self.attributes("interactions")
        if not attrs:
            return ()
        cache = self.store.__dict__.setdefault("_constant_attributes", {})
        key = (self.dataset.id, self.dataset.version)
        if key not in cache:
            t = self.table("interactions")
            per = t.group_by("customer_id").aggregate(**{f"a{i}": t[a].nunique() for i, a in enumerate(attrs)})
            top = per.aggregate(**{f"a{i}": per[f"a{i}"].max() for i in range(len(attrs))}).to_polars().row(0)
            cache[key] = tuple(a for a, most in zip(attrs, top) if most == 1)
        return cache[key]

    def customer_attribute(self, name: str) -> "ibis.Table":
        """Ibis table (customer_id, `name` as text): one customer attribute (see
        :func:`customer_attributes`; a CXError listing them when `name` is none of them)."""
        if name not in self.customer_attributes():
            known = ", ".join(self.customer_attributes()) or "none: import a customers table on the Data page"
            raise CXError(f"'{name}' is not a customer attribute of this dataset (possible: {known}).")
        if name in self.cols("customers"):
            c = self.table("customers")
            return c.select("customer_id", c[name].cast("string").name(name))
        t = self.table("interactions")
        t = t.filter(t[name].notnull())
        return t.group_by("customer_id").aggregate(t[name].cast("string").max().name(name))

    # -- tables ------------------------------------------------------------------------------------
    def table(self, kind: str) -> "ibis.Table":
        """The unfiltered Ibis table of one kind (a CXError saying what to import when missing)."""
        if kind not in KINDS:
            raise ValueError(f"unknown table kind {kind!r}")
        if kind not in self.columns:
            raise CXError(f"The dataset '{self.name}' has no {kind} table yet: import one on the Data page.")
        cache = self._local.__dict__.setdefault("tables", {})  # Ibis tables are bound to this thread's backend
        if kind not in cache:
            cache[kind] = self.store.ibis_table(self.dataset, kind)
        return cache[kind]

    @property
    def interactions(self) -> "ibis.Table":
        """The interactions under the filters: the start of every journey metric."""
        return self.apply(self.table("interactions"))

    @property
    def feedback(self) -> "ibis.Table":
        return self.apply(self.table("feedback"))

    @property
    def customers(self) -> "ibis.Table":
        """The customers table, restricted to the customers the filters keep."""
        c = self.table("customers")
        keep = self._customer_filter()
        return c if keep is None else c.semi_join(keep, "customer_id")

    # -- the filters -------------------------------------------------------------------------------
    def apply(self, t: "ibis.Table", time_col: str = "timestamp", channel_col: str | None = "channel"
              ) -> "ibis.Table":
        """Filter one table (interactions, feedback or anything with their columns) by the global
        filters: dates on `time_col`, channels on `channel_col`, customers by attribute or segment."""
        f = self.filters
        if f.is_empty():
            return t
        preds = []
        if f.start:
            preds.append(t[time_col] >= datetime.combine(f.start, time.min))
        if f.end:
            preds.append(t[time_col] < datetime.combine(f.end + timedelta(days=1), time.min))
        if f.channels and channel_col and channel_col in t.columns:
            preds.append(t[channel_col].isin(list(f.channels)))
        if preds:
            t = t.filter(preds)
        keep = self._customer_filter()
        if keep is not None and "customer_id" in t.columns:
            t = t.semi_join(keep, "customer_id")
        return t

    def _customer_filter(self):
        """Ibis table of the customer_ids that pass the customer-attribute filters, the saved
        segment and the chosen customers; None when none of them is set."""
        f = self.filters
        keep = None
        if f.segment:
            keep = self.segment_members(f.segment)
        if f.customers:
            import ibis

            ids = ibis.memtable({"customer_id": list(f.customers)}, schema={"customer_id": "string"})
            keep = ids if keep is None else ids.semi_join(keep, "customer_id")
        for name, values in f.attributes:  # other customer attributes (a dataset without one ignores it)
            if name in self.customer_attributes():
                c = self.customer_attribute(name)
                c = c.filter(c[name].isin(list(values))).select("customer_id")
                keep = c if keep is None else c.semi_join(keep, "customer_id")
        wanted = {n: getattr(f, n) for n in CUSTOMER_FILTERS if getattr(f, n) and self.has("customers", n)}
        if wanted:
            c = self.table("customers")
            c = c.filter([c[n].isin(list(v)) for n, v in wanted.items()]).select("customer_id")
            keep = c if keep is None else c.semi_join(keep, "customer_id")
        return keep

    # -- the customer-ordered event arrays ------------------------------------------------------------
    def events(self) -> "Events | None":
        """The event store of this dataset version as numpy arrays (:class:`Events`, shared by every
        handle of the version in this process), or None: not a DuckDB store, or no current store
        (a database from before it: ``store.build_event_store()``). The compiled journey kernels
        (cx.journey.kernels) run on it; None sends them back to the Ibis expressions."""
        if not isinstance(self.store, Store):
            return None
        builds = self.store.__dict__.setdefault("_event_builds", {})  # (dataset id, version) -> build
        arrays = self.store.__dict__.setdefault("_event_arrays", {})  # (dataset id, build) -> Events
        key = (self.dataset.id, self.dataset.version)
        if key not in builds:
            try:
                rows = self.store.con.sql("SELECT built_at FROM cx_meta.event_stores WHERE dataset_id = $id AND "
                                          "version = $v", params={"id": self.dataset.id, "v": self.version}
                                          ).fetchall()
            except Exception:  # noqa: BLE001 - a read-only database from before the event store
                rows = []
            builds[key] = rows[0][0] if rows else None
        built = builds[key]
        if built is None:
            return None
        if (self.dataset.id, built) not in arrays:
            for k in [k for k in arrays if k[0] == self.dataset.id]:
                del arrays[k]  # one build per dataset kept in memory
            arrays[(self.dataset.id, built)] = Events(self.store, self.dataset, built)
        return arrays.get((self.dataset.id, built))

    def row_mask(self):
        """The global filters as a boolean mask over the event store's rows (None: no filter),
        from the same predicates as :meth:`apply`: the `_seq` of the filtered interactions."""
        ev = self.events()
        return None if ev is None or self.filters.is_empty() else ev.mask(self)

    # -- saved segments ----------------------------------------------------------------------------
    def membership(self) -> "ibis.Table":
        """Ibis table (customer_id, segment) of every saved segment of the dataset (a customer in
        several has one row per segment, one in none has no row): the breakdown 'segment'."""
        m = self.store.meta_table("segments")
        return m.filter(m.dataset_id == self.dataset.id).select("customer_id", "segment")

    def segment_members(self, segment: str) -> "ibis.Table":
        """Ibis table (customer_id) of a saved segment's members (empty when there is no such one)."""
        m = self.membership()
        return m.filter(m.segment == segment).select("customer_id")


class Stale(CXError):
    """The event store moved on (a newer version was committed) while it was being read."""


class Events:
    """One dataset version's event store (cx.eventstore.build_events) read as numpy arrays, each column
    on first use and kept (zero-copy from Arrow where it has no nulls). Rows are in journey order:
    by customer, then (timestamp, _seq). ``starts`` are each customer's first row (CSR offsets,
    one more than customers); ``codes(dim)`` the values of a coded column by code."""

    def __init__(self, store, ds: Dataset, built):
        self.store, self.dataset, self.built = store, ds, built
        self._cols: dict = {}
        self._masks: dict = {}
        self._lock = threading.Lock()

    def _read(self, sql: str, params: dict | None = None):
        """Run `sql` in a transaction that also checks the store still holds this build."""
        cur = self.store.cursor()
        try:
            cur.sql("BEGIN TRANSACTION")
            n = cur.sql("SELECT count(*) FROM cx_meta.event_stores WHERE dataset_id = $id AND built_at = $b",
                        params={"id": self.dataset.id, "b": self.built}).fetchall()[0][0]
            if not n:
                raise Stale("The dataset changed while its journey arrays were read.")
            out = cur.sql(sql, params=params).to_arrow_table()
            cur.sql("COMMIT")
            return out
        finally:
            cur.close()

    def col(self, name: str):
        """One column as a numpy array (timestamps as int64 microseconds)."""
        import numpy as np

        with self._lock:
            got = self._cols.get(name)
            if got is None:
                if name == "starts":
                    c = self.col_unlocked("c")
                    got = np.concatenate(([0], np.flatnonzero(c[1:] != c[:-1]) + 1, [len(c)])).astype(np.int64)
                else:
                    got = self.col_unlocked(name)
                self._cols[name] = got
            return got

    def col_unlocked(self, name: str):
        import numpy as np

        if name in self._cols:
            return self._cols[name]
        a = self._read(f"SELECT {_ident_checked(name)} FROM {self.dataset.schema}.{EVENTS}").column(0)
        a = a.combine_chunks() if a.num_chunks != 1 else a.chunk(0)
        if str(a.type).startswith("timestamp"):
            a = a.cast("int64")
        out = a.to_numpy(zero_copy_only=False)
        self._cols[name] = out
        return out

    def rows_of(self, seqs):
        """The event-store rows of interactions `_seq` values."""
        import numpy as np

        inv = self._cols.get("_row_of_seq")
        if inv is None:
            seq = self.col_unlocked("_seq")
            inv = np.full(int(seq.max(initial=0)) + 1, -1, np.int64)
            inv[seq] = np.arange(len(seq))
            self._cols["_row_of_seq"] = inv
        if len(seqs) and (seqs.max() >= len(inv) or (inv[seqs] < 0).any()):
            raise Stale("The dataset changed while its journey arrays were read.")
        return inv[seqs]

    def codes(self, dim: str) -> list:
        """The values of a coded column (touchpoint, channel) by code; customers for "customer_id"."""
        key = f"dict:{dim}"
        with self._lock:
            if key not in self._cols:
                if dim == "customer_id":
                    t = self._read(f"SELECT customer_id FROM {self.dataset.schema}.{EVENT_CUSTOMERS} ORDER BY c")
                    self._cols[key] = t.column(0).combine_chunks()
                else:
                    t = self._read(f"SELECT value FROM {self.dataset.schema}.{EVENT_DICT} WHERE dim = $dim "
                                   "ORDER BY code", {"dim": dim})
                    self._cols[key] = t.column(0).to_pylist()
            return self._cols[key]

    def mask(self, d: Data):
        """Rows kept by d's filters (a boolean array): the `_seq` of d.apply(interactions)."""
        import numpy as np

        key = d.filters.key()
        with self._lock:
            got = self._masks.get(key)
        if got is None:
            seqs = d.apply(d.table("interactions")).select("_seq").to_pyarrow().column(0).to_numpy()
            with self._lock:
                got = np.zeros(len(self.col_unlocked("_seq")), bool)
                got[self.rows_of(seqs)] = True
                if len(self._masks) >= 8:
                    self._masks.pop(next(iter(self._masks)))
                self._masks[key] = got
        return got


def _ident_checked(name: str) -> str:
    """A column name of the event store (letters, digits, underscores only)."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a column name: {name!r}")
    return name


def of(x, filters: Filters | None = None, dataset: str | None = None) -> Data:
    """A Data handle from a handle or a store: `x` itself (under `filters` when given), or the
    store's `dataset` under `filters`, resolved now."""
    if isinstance(x, Data):
        if dataset is not None and dataset != x.name:
            return Data.open(x.store, dataset, filters if filters is not None else x.filters)
        return x.with_filters(filters) if filters is not None else x
    if x is None:
        raise CXError("A store or a data handle is needed (cx.open(...) or store.data(...)).")
    return Data.open(x, dataset, filters)


def uses_data(fn):
    """Decorate a metric ``fn(d, ..., filters=None, dataset=None, ...)`` whose body reads only
    `d` (a :class:`Data`): the caller may pass a handle, or a store with `filters` and `dataset`
    (by keyword, or in the positions the signature gives them); either way the body gets one
    resolved handle, with `filters` and `dataset` already folded into it (they arrive as None)."""
    sig = inspect.signature(fn)
    first = next(iter(sig.parameters))
    folded = [p for p in ("filters", "dataset") if p in sig.parameters]

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        a = bound.arguments
        a[first] = of(a[first], a.get("filters"), a.get("dataset"))
        for p in folded:
            if p in a:
                a[p] = None
        return fn(*bound.args, **bound.kwargs)

    wrapper.uses_data = True
    return wrapper
