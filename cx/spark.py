"""Scale-out: the same metrics on Spark, over tables that already live there.

Every metric of CX Loop is an Ibis expression over the tables of a dataset (``store.table(kind)``).
:class:`SparkStore` offers the read side of :class:`cx.store.Store` over a Spark session, so the
metric functions run unchanged on Spark and only their small results travel back::

    import cx.spark
    store = cx.spark.connect("pyspark://local[2]", datasets={"demo": "/lake/cx/demo"})
    cx.journey.funnel(store, ["discover", "purchase"], field="stage")

A dataset is either a Spark catalog database whose tables are named after the kinds of the data
contract (``interactions``, and optionally ``customers`` and ``feedback``), or a folder / a dict
of Parquet (or Delta) paths per kind, registered as temporary views (never managed tables: one
left behind in ``./spark-warehouse`` breaks the next run).

Import and the SQL box are DuckDB-native and raise a clear :class:`cx.store.CXError` here. Saved
segments and cluster names live in this process (they are small) and reach Spark as a memtable.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from . import schema
from .store import DEFAULT_DATASET, CXError, Dataset, DatasetNotFound, check_segment

if TYPE_CHECKING:  # pragma: no cover
    import ibis

DUCKDB_ONLY = ("{what} is DuckDB-only: this app runs on Spark (CX_BACKEND={backend}), where the tables "
               "are read where they live. Import into the lake with your own pipeline, or run CX Loop on "
               "DuckDB (unset CX_BACKEND) to {verb}.")

# the order in which tables of a dataset are read, and the internal columns a table may lack
_KINDS = tuple(schema.KINDS)


def session(master: str = "local[2]", app_name: str = "cx-loop", conf: dict | None = None):
    """A Spark session for CX Loop: UTC session time zone (timestamps in the contract are UTC),
    no web UI, few shuffle partitions on a local master."""
    from pyspark.sql import SparkSession

    b = (SparkSession.builder.master(master).appName(app_name)
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.ansi.enabled", "false"))
    if master.startswith("local"):
        # a local session never writes a ./spark-warehouse into the working directory (a managed
        # table left there breaks the next run): its warehouse is a temporary folder
        import tempfile

        b = (b.config("spark.sql.shuffle.partitions", "4").config("spark.driver.memory", "2g")
             .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="cx_spark_warehouse_")))
    for k, v in (conf or {}).items():
        b = b.config(k, v)
    return b.getOrCreate()


def _remote_session(url: str):
    from pyspark.sql import SparkSession

    return (SparkSession.builder.remote(url).config("spark.sql.session.timeZone", "UTC").getOrCreate())


def connect(url: str | None = None, datasets: dict | None = None, spark=None) -> "SparkStore":
    """A SparkStore from a URL: ``pyspark://local[2]`` (a local session; ``pyspark://`` alone means
    local[2]), ``pyspark://spark://host:7077`` (a cluster master) or ``sc://host:15002`` (Spark
    Connect). `datasets` maps dataset names to a catalog database name, a folder of
    ``<kind>.parquet`` files / folders, or a dict {kind: path}. Without it, ``CX_SPARK_DATASETS``
    (``name=location;name=location``) is read, and without that every catalog database that holds
    an ``interactions`` table becomes a dataset."""
    if spark is None:
        url = url or "pyspark://"
        if url.startswith("sc://"):
            spark = _remote_session(url)
        elif url.startswith("pyspark://"):
            spark = session(url[len("pyspark://"):] or "local[2]")
        else:
            raise CXError(f"Unknown backend URL {url!r}: use pyspark://[master] or sc://host:port.")
    if datasets is None:
        datasets = _datasets_from_env()
    return SparkStore(spark, datasets=datasets, url=url or "pyspark://")


def _datasets_from_env() -> dict | None:
    raw = os.environ.get("CX_SPARK_DATASETS", "").strip()
    if not raw:
        return None
    out = {}
    for part in raw.split(";"):
        if part.strip():
            name, _, loc = part.partition("=")
            if not loc:
                raise CXError(f"CX_SPARK_DATASETS: {part!r} is not name=location.")
            out[name.strip()] = loc.strip()
    return out


def _patch_float_literals() -> None:
    """Ibis 12 writes a float literal as ``1.0``, which Spark SQL reads as a DECIMAL: ``IF(c, 1.0, 0.0)``
    averages to decimal(6,5) and ``x / 86400.0`` keeps six decimals, so shares and day counts
    differ from DuckDB in the fifth decimal. Cast float literals to DOUBLE (folded at plan time)."""
    import sqlglot.expressions as sge
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    if getattr(PySparkCompiler, "_cx_double_literals", False):
        return
    original = PySparkCompiler.visit_NonNullLiteral

    def visit_NonNullLiteral(self, op, *, value, dtype):
        out = original(self, op, value=value, dtype=dtype)
        if dtype.is_floating() and out is not None:
            return sge.Cast(this=out, to=sge.DataType.build("DOUBLE"))
        return out

    PySparkCompiler.visit_NonNullLiteral = visit_NonNullLiteral
    PySparkCompiler._cx_double_literals = True


class SparkStore:
    """The read side of :class:`cx.store.Store` over Spark (see the module docstring)."""

    backend_name = "spark"
    read_only = True

    def __init__(self, spark, datasets: dict | None = None, url: str = "pyspark://"):
        import ibis

        _patch_float_literals()
        self.spark = spark
        self.url = url
        self.path = url  # what a cache key or a message names the store by
        self._ibis = ibis.pyspark.connect(spark)
        self._lock = threading.RLock()
        self._version = 1
        self._segments: dict[tuple[int, str], list[str]] = {}
        self._cluster_names: dict[tuple[int, str, int], str] = {}
        self._exists: dict[tuple[str, str, int], bool] = {}
        self._sources: dict[str, tuple[int, str | None, dict[str, str]]] = {}
        if datasets is None:
            datasets = {db: db for db in self._catalog_databases_with_interactions()}
        for i, (name, loc) in enumerate(datasets.items(), start=1):
            self._register(i, name, loc)

    # -- datasets ------------------------------------------------------------------------------
    def _catalog_databases_with_interactions(self) -> list[str]:
        out = []
        for db in self.spark.catalog.listDatabases():
            if any(t.name == "interactions" for t in self.spark.catalog.listTables(db.name)):
                out.append(db.name)
        return out

    def _register(self, i: int, name: str, loc) -> None:
        views: dict[str, str] = {}
        database = None
        if isinstance(loc, dict):
            paths = {k: str(v) for k, v in loc.items()}
        elif isinstance(loc, (str, Path)) and Path(loc).is_dir():
            paths = {}
            for k in _KINDS:
                for cand in (Path(loc) / f"{k}.parquet", Path(loc) / k):
                    if cand.exists():
                        paths[k] = str(cand)
                        break
        else:
            database, paths = str(loc), {}
        unknown = set(paths) - set(_KINDS)
        if unknown:
            raise CXError(f"Dataset '{name}': unknown table kind(s) {sorted(unknown)}; "
                          f"the kinds are {', '.join(_KINDS)}.")
        for kind, p in paths.items():
            view = f"cx_ds{i}_{kind}"  # built from an integer and a contract constant
            fmt = "delta" if (Path(p) / "_delta_log").exists() else "parquet"
            self.spark.read.format(fmt).load(p).createOrReplaceTempView(view)
            views[kind] = view
        if database is None and "interactions" not in views:
            raise CXError(f"Dataset '{name}': no interactions table found at {loc} "
                          f"(expected {Path(str(loc)) / 'interactions.parquet'}).")
        self._sources[name] = (i, database, views)

    def dataset_names(self) -> list[str]:
        return list(self._sources)

    def has_dataset(self, name: str) -> bool:
        return name in self._sources

    def dataset(self, name: str | None = None) -> Dataset:
        if name is None:
            name = DEFAULT_DATASET if DEFAULT_DATASET in self._sources else next(iter(self._sources), None)
        if name not in self._sources:
            known = ", ".join(self._sources) or "none"
            raise DatasetNotFound(f"There is no dataset named '{name}' on Spark (datasets: {known}).")
        return Dataset(self._sources[name][0], name, self._version)

    def version(self, name: str | None = None) -> int:
        """Changes when :meth:`refresh` is called or a segment is saved (the pages' cache key):
        the lake's tables are not watched, so call refresh() after they change (or appear)."""
        return self.dataset(name).version

    def refresh(self) -> None:
        with self._lock:
            self._version += 1

    def datasets(self) -> pl.DataFrame:
        rows = []
        for name in self._sources:
            ds = self.dataset(name)
            row = {"id": ds.id, "name": name, "version": ds.version}
            for k in _KINDS:
                row[k] = int(self.table(k, name).count().to_pyarrow().as_py()) if self.has_table(k, name) else 0
            rows.append(row)
        return pl.DataFrame(rows, schema={"id": pl.Int64, "name": pl.Utf8, "version": pl.Int64,
                                          **{k: pl.Int64 for k in _KINDS}})

    # -- tables --------------------------------------------------------------------------------
    @property
    def ibis(self) -> "ibis.BaseBackend":
        return self._ibis

    @property
    def con(self):
        raise CXError(DUCKDB_ONLY.format(what="A raw DuckDB connection", backend=self.url,
                                         verb="use one"))

    def has_table(self, kind: str, dataset: str | None = None) -> bool:
        ds = self.dataset(dataset)
        _, database, views = self._sources[ds.name]
        if database is None:
            return kind in views
        key = (ds.name, kind, self._version)  # a metastore call once per version, not per metric
        if key not in self._exists:
            self._exists[key] = self.spark.catalog.tableExists(f"{database}.{kind}")
        return self._exists[key]

    def table(self, kind: str, dataset: str | None = None) -> "ibis.Table":
        if kind not in _KINDS:
            raise ValueError(f"unknown table kind {kind!r}")
        ds = self.dataset(dataset)
        if not self.has_table(kind, ds.name):
            raise CXError(f"The dataset '{ds.name}' has no {kind} table on Spark.")
        return self.ibis_table(ds, kind)

    def ibis_table(self, ds: Dataset, kind: str) -> "ibis.Table":
        """The table of one kind of a resolved dataset, conformed to the contract (see cx.data)."""
        _, database, views = self._sources[ds.name]
        t = self._ibis.table(views[kind]) if database is None else self._ibis.table(kind, database=database)
        return _conform(t, kind)

    def describe(self, ds: Dataset) -> dict[str, tuple[str, ...]]:
        """kind -> its columns (as the metrics see them), for each table the dataset has."""
        return {k: tuple(self.ibis_table(ds, k).columns) for k in _KINDS if self.has_table(k, ds.name)}

    def purchase_rules(self, dataset: str | None = None) -> list[tuple[str, bool]]:
        return list(schema.DEFAULT_PURCHASE_RULES)

    def purchase_touchpoints(self, ds: Dataset) -> tuple[str, ...]:
        """The touchpoints that are purchases by the default rules, once per version."""
        key = ("purchase", ds.name, self._version)
        if key not in self._exists:
            names = self.ibis_table(ds, "interactions").select("touchpoint").distinct().to_polars()["touchpoint"]
            self._exists[key] = tuple(schema.purchase_touchpoints(names.to_list()))
        return self._exists[key]

    def data(self, dataset: str | None = None, filters=None):
        """The handle every metric takes (:class:`cx.data.Data`)."""
        from .data import Data

        return Data.open(self, dataset, filters)

    def table_columns(self, kind: str, dataset: str | None = None) -> list[str]:
        return list(self.table(kind, dataset).columns)

    # -- stage map (read-only here) --------------------------------------------------------------
    def stage_rules(self, dataset: str | None = None) -> list[tuple[str, str]]:
        return list(schema.DEFAULT_STAGE_KEYWORDS)

    def stage_map(self, dataset: str | None = None) -> pl.DataFrame:
        from ibis import _

        t = self.table("interactions", dataset)
        return (t.group_by("touchpoint")
                .aggregate(stage=_.stage.arbitrary(), from_rules=_._stage_derived.all(), rows=_.count())
                .order_by([_.rows.desc(), _.touchpoint]).to_polars())

    # -- saved segments and cluster names: small, kept in this process ---------------------------
    def meta_table(self, name: str) -> "ibis.Table":
        import ibis

        if name == "segments":
            rows = [(ds_id, seg, c) for (ds_id, seg), ids in self._segments.items() for c in ids]
            return ibis.memtable(
                {"dataset_id": [r[0] for r in rows], "segment": [r[1] for r in rows],
                 "customer_id": [r[2] for r in rows]},
                schema={"dataset_id": "int64", "segment": "string", "customer_id": "string"})
        raise CXError(f"No meta table {name!r} on Spark.")

    def save_segment(self, name: str, customer_ids, dataset: str | None = None) -> int:
        name, ids = check_segment(name, customer_ids)
        ds = self.dataset(dataset)
        with self._lock:
            self._segments[(ds.id, name)] = ids
            self._version += 1
        return len(ids)

    def delete_segment(self, name: str, dataset: str | None = None) -> None:
        ds = self.dataset(dataset)
        with self._lock:
            self._segments.pop((ds.id, name), None)
            self._version += 1

    def segment_names(self, dataset: str | None = None) -> list[str]:
        ds = self.dataset(dataset)
        return sorted(s for (i, s) in self._segments if i == ds.id)

    def cluster_names(self, run_key: str, dataset: str | None = None) -> dict[int, str]:
        ds = self.dataset(dataset)
        return {c: n for (i, k, c), n in self._cluster_names.items() if i == ds.id and k == run_key}

    def set_cluster_name(self, run_key: str, cluster: int, name: str | None, dataset: str | None = None) -> None:
        ds = self.dataset(dataset)
        with self._lock:
            if name and name.strip():
                self._cluster_names[(ds.id, run_key, int(cluster))] = name.strip()[:80]
            else:
                self._cluster_names.pop((ds.id, run_key, int(cluster)), None)

    # -- DuckDB-only operations --------------------------------------------------------------------
    def _duckdb_only(self, what: str, verb: str):
        raise CXError(DUCKDB_ONLY.format(what=what, backend=self.url, verb=verb))

    def import_file(self, *a, **k):
        self._duckdb_only("Import", "import files")

    def query(self, *a, **k):
        self._duckdb_only("The SQL box", "query with SQL")

    def transaction(self, *a, **k):
        raise CXError("The Spark backend is read-only here: results that the DuckDB store saves (theme fits, "
                      "labels) are kept in this process only.")

    def create_dataset(self, *a, **k):
        self._duckdb_only("Creating a dataset", "create datasets")

    def rename_dataset(self, *a, **k):
        self._duckdb_only("Renaming a dataset", "rename datasets")

    def delete_dataset(self, *a, **k):
        self._duckdb_only("Deleting a dataset", "delete datasets")

    def set_stage_rules(self, *a, **k):
        self._duckdb_only("Editing the stage rules", "edit them")

    def imports(self, dataset: str | None = None) -> pl.DataFrame:
        return pl.DataFrame(schema={"kind": pl.Utf8, "file_name": pl.Utf8, "mode": pl.Utf8, "rows_read": pl.Int64,
                                    "accepted": pl.Int64, "rejected": pl.Int64, "seconds": pl.Float64,
                                    "imported_at": pl.Datetime})

    def close(self) -> None:
        """Leaves the Spark session running (it may be shared); stop it with ``store.spark.stop()``."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def export_dataset(store, out, dataset: str | None = None) -> dict[str, Path]:
    """Write a DuckDB dataset's tables as ``<out>/<kind>.parquet`` (the lake layout a SparkStore
    reads, internal columns included): the bridge from a laptop to a lakehouse, and how the tests
    put the demo data on Spark. Returns {kind: path}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ds = store.dataset(dataset)
    paths = {}
    for kind in _KINDS:
        if store.has_table(kind, ds.name):
            p = out / f"{kind}.parquet"
            store.table(kind, ds.name).to_parquet(p)
            paths[kind] = p
    return paths


def _conform(t: "ibis.Table", kind: str) -> "ibis.Table":
    """Add the internal columns an imported table has and a lake table may lack: `_seq` (file order,
    the tie-breaker for same-timestamp events: here the order of timestamp, then customer and
    touchpoint) and `_stage_derived` (false: stages in the lake are taken as given); and a
    `sentiment` column for feedback."""
    import ibis

    cols = set(t.columns)
    add = {}
    if kind == "interactions":
        if "_seq" not in cols:
            add["_seq"] = ibis.row_number().over(order_by=[t.timestamp, t.customer_id, t.touchpoint]) + 1
        if "_stage_derived" not in cols:
            add["_stage_derived"] = ibis.literal(False)
    for name, typ in schema_missing(kind, cols):
        add[name] = ibis.null(typ)
    return t.mutate(**add) if add else t


def schema_missing(kind: str, cols: set[str]) -> list[tuple[str, str]]:
    """Optional columns of the contract a lake table lacks, with their Ibis type (added as nulls,
    as the import does)."""
    types = {"timestamp": "timestamp", "decimal": "float64", "float": "float64", "bool": "boolean"}
    out = []
    for c in schema.KINDS[kind].columns:
        if c.name not in cols:
            if c.required:
                raise CXError(f"The {kind} table on Spark lacks the required column '{c.name}'.")
            out.append((c.name, types.get(c.type, "string")))
    return out


# -- parity: the headless metrics checked equal on DuckDB and Spark (tests/test_spark_parity.py,
#    bench/suite_spark.py) ---------------------------------------------------------------------------

def parity_operations() -> dict:
    """name -> fn(store) for every headless metric of the parity suite, with the parameters the
    app's pages use on the demo data (stage funnel, the loop and path views, cohorts, scores,
    drivers, forgiveness, relationship, features, CLV summary)."""
    from . import clv, journey, lifecycle, loyalty, segments
    from .filters import Filters

    stages = ["discover", "consider", "evaluate", "purchase"]
    from datetime import date

    some = Filters(start=date(2025, 1, 1), channels=("web", "mobile_app", "email"), persona=("Researcher", "Loyal Regular"))
    return {
        "funnel": lambda s: journey.funnel(s, stages, field="stage"),
        "funnel, 30d window": lambda s: journey.funnel(s, stages, field="stage", window="30d"),
        "funnel, by entry channel": lambda s: journey.funnel(s, stages, field="stage", window="30d",
                                                                breakdown="channel"),
        "funnel, by persona, sessions": lambda s: journey.funnel(s, [["product_page", "search"], "add_to_cart",
                                                                        "checkout"], unit="session",
                                                                    breakdown="persona"),
        "funnel, filtered": lambda s: journey.funnel(s, stages, field="stage", filters=some),
        "funnel trend": lambda s: journey.funnel_trend(s, stages, field="stage", window="30d", period="month"),
        "funnel drop-offs": lambda s: journey.dropoff_members(s, stages, 2, field="stage", window="30d"),
        "transitions (stages)": lambda s: journey.transitions(s, level="stage"),
        "transitions (touchpoints)": lambda s: journey.transitions(s, level="touchpoint", top=12),
        "step sankey": lambda s: journey.step_sankey(s, steps=5),
        "loop metrics": lambda s: journey.loop_metrics(s),
        "loop metrics by persona": lambda s: journey.loop_metrics(s, by="persona"),
        "paths": lambda s: journey.paths(s, top=10),
        "journey map": lambda s: journey.journey_map(s),
        "retention cohorts": lambda s: lifecycle.retention(s, period="month"),
        "retention, filtered": lambda s: lifecycle.retention(s, period="month", filters=some),
        "retention by purchase": lambda s: lifecycle.retention(s, period="month", cohort_by="purchase",
                                                              active_by="purchase"),
        "lifecycle states": lambda s: lifecycle.lifecycle(s, period="month"),
        "NPS by channel": lambda s: loyalty.score_summary(s, "nps", by="channel"),
        "CSAT by touchpoint": lambda s: loyalty.score_summary(s, "csat", by="touchpoint"),
        "CES trend": lambda s: loyalty.score_trend(s, "ces", period="month"),
        "NPS, filtered": lambda s: loyalty.score_summary(s, "nps", filters=some),
        "key drivers": lambda s: loyalty.key_drivers(s, outcome="nps", metric="csat"),
        "trust levels": lambda s: loyalty.trust_levels(s),
        "forgiveness": lambda s: loyalty.forgiveness(s, days=90),
        "relationship": lambda s: loyalty.relationship(s),
        "relationship summary": lambda s: loyalty.relationship_summary(s),
        "health vs retention": lambda s: loyalty.health_retention(s),
        "segment features": lambda s: segments.features(s),
        "CLV summary": lambda s: clv.summary(s, time_unit="W"),
        "CLV summary (grouped)": lambda s: clv.summary_grouped(s, time_unit="W"),
    }
