"""Scale-out parity: every headless metric gives the same result on DuckDB and on PySpark (local mode)
over the same demo data: exact for counts, 1e-9 relative for floats. And the app runs in Spark mode.

Spark needs Java (the Makefile's `java` target installs Debian's default-jre-headless); the Spark
session starts once per test run (about 10 s)."""
import shutil

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import cx
from tests.conftest import ROOT, copy_demo, plotly_charts

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - the Makefile installs it
    pytest.fail("Java is missing: run `make java` (Debian's default-jre-headless)", pytest_trace=False)

import cx.spark  # noqa: E402

OPERATIONS = cx.spark.parity_operations()


@pytest.fixture(scope="session")
def lake(demo_db, tmp_path_factory):
    """The demo dataset written in the lake layout (Parquet per table kind)."""
    out = tmp_path_factory.mktemp("lake") / "demo"
    s = cx.open(demo_db, read_only=True)
    paths = cx.spark.export_dataset(s, out)
    s.close()
    assert set(paths) == {"interactions", "customers", "feedback"}
    return out


@pytest.fixture(scope="session")
def spark_store(lake):
    store = cx.spark.connect("pyspark://local[2]", datasets={"demo": str(lake)})
    store.spark.sparkContext.setLogLevel("ERROR")
    yield store


def _same(a, b, where=""):
    """Equal results: frames equal after sorting rows (row order is presentation; ties may order
    differently), counts exact, floats within 1e-9 relative."""
    if isinstance(a, pl.DataFrame):
        assert isinstance(b, pl.DataFrame), where
        assert a.columns == b.columns, where
        assert a.height == b.height, where
        a, b = a.sort(a.columns, nulls_last=True), b.sort(b.columns, nulls_last=True)
        for c in a.columns:
            x, y = a[c], b[c]
            if x.dtype.is_float() or y.dtype.is_float():
                assert_frame_equal(x.cast(pl.Float64).to_frame(), y.cast(pl.Float64).to_frame(),
                                   rel_tol=1e-9, abs_tol=1e-12), f"{where}: column {c}"
            else:
                assert x.to_list() == y.to_list(), f"{where}: column {c}"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_metric_is_the_same_on_duckdb_and_spark(name, demo, spark_store):
    fn = OPERATIONS[name]
    on_duckdb = fn(demo)
    on_spark = fn(spark_store)
    _same(on_duckdb, on_spark, name)
    # never an empty comparison: each operation has rows on the demo data
    frames = on_duckdb.values() if isinstance(on_duckdb, dict) else [on_duckdb]
    assert any(isinstance(f, pl.DataFrame) and f.height > 0 for f in frames), name


def test_saved_segments_filter_and_break_down_on_spark(demo_db, spark_store, tmp_path):
    """A saved segment lives in the app's process and reaches Spark as a small table: as a global
    filter and as a breakdown, with the same numbers as on DuckDB (whose segments are in cx_meta)."""
    from cx import loyalty, segments

    duck = cx.open(copy_demo(demo_db, tmp_path / "d.duckdb"))
    members = [f"C{i:06d}" for i in range(1, 1201, 2)]
    for store in (duck, spark_store):
        assert segments.save(store, "odd early", members) == 600
        assert segments.save(store, "first 100", members[:100] + ["C000002"]) == 101
    v = spark_store.version()
    f = cx.Filters(segment="odd early")
    _same(loyalty.score_summary(duck, "nps", filters=f), loyalty.score_summary(spark_store, "nps", filters=f),
          "filter")
    _same(loyalty.score_summary(duck, "nps", by="segment"), loyalty.score_summary(spark_store, "nps", by="segment"),
          "breakdown")
    a = segments.assignments(spark_store)
    _same(segments.assignments(duck), a, "assignments")
    assert a.height == 601 and a.filter(pl.col("customer_id") == "C000001")["segment"][0] == "first 100 & odd early"
    spark_store.delete_segment("first 100")
    spark_store.delete_segment("odd early")
    assert spark_store.segment_names() == [] and spark_store.version() == v + 2
    duck.close()


def test_import_and_sql_box_say_they_are_duckdb_only(spark_store):
    with pytest.raises(cx.CXError, match="DuckDB-only"):
        spark_store.import_file(ROOT / "sample_data" / "customers.csv")
    with pytest.raises(cx.CXError, match="DuckDB-only"):
        spark_store.query("SELECT 1")


def test_lake_tables_without_internal_columns_get_them(spark_store, lake, tmp_path):
    """A lake table written by another pipeline has only the contract's columns: file order is then
    (timestamp, customer, touchpoint) and stages are taken as given; the funnel still runs."""
    src = spark_store.spark.read.parquet(str(lake / "interactions.parquet")).drop("_seq", "_stage_derived",
                                                                                  "session_id", "sentiment")
    src.write.parquet(str(tmp_path / "interactions.parquet"))
    store = cx.spark.SparkStore(spark_store.spark, datasets={"bare": str(tmp_path)})
    t = store.table("interactions", "bare")
    assert {"_seq", "_stage_derived", "session_id", "sentiment"} <= set(t.columns)
    from cx import journey

    f = journey.funnel(store, ["discover", "consider", "evaluate", "purchase"], field="stage", dataset="bare")
    assert f["count"][0] == 5000 and f["count"].to_list() == sorted(f["count"].to_list(), reverse=True)


def test_clustering_assigns_every_customer_in_the_engine(demo, spark_store):
    """Fit on customer features, then assign all customers by an Ibis expression (nearest centre
    after the same transform): the engine's labels equal scikit-learn's, on DuckDB and on Spark."""
    from cx import segments

    res = segments.run(demo, k=4)
    want = res.labels.select("customer_id", "cluster").sort("customer_id")
    for store in (demo, spark_store):
        got = segments.assign(store, res).sort("customer_id")
        assert got["customer_id"].to_list() == want["customer_id"].to_list()
        agree = float(np.mean(got["cluster"].to_numpy() == want["cluster"].to_numpy()))
        assert agree == 1.0, (store.backend_name, agree)


def test_app_runs_in_spark_mode(lake, spark_store, monkeypatch, app_db):
    """CX_BACKEND=pyspark://... : the app reads the demo from the lake and renders the Journey page;
    the Data and SQL pages say what is DuckDB-only."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CX_BACKEND", "pyspark://local[2]")
    monkeypatch.setenv("CX_SPARK_DATASETS", f"demo={lake}")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    assert not at.exception, at.exception
    at.switch_page("views/journey.py").run()
    assert not at.exception, at.exception
    fn = plotly_charts(at)["Ordered funnel"]["data"][0]
    assert fn["y"] == ["1. discover", "2. consider", "3. evaluate", "4. purchase"] and fn["x"][0] == 5000
    assert not app_db.exists()  # the DuckDB file was never opened
    for page in ("views/data.py", "views/sql.py"):
        at.switch_page(page).run()
        assert not at.exception, at.exception
        assert any("DuckDB-only" in i.value for i in at.info), page


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
def test_clustering_fits_on_a_sample_and_labels_everyone(backend, demo, spark_store):
    """Fitted on ~1,500 of the 5,000 demo customers (sampled in the engine), every customer still
    gets a cluster from the engine, and the planted behaviour groups are still found."""
    from sklearn.metrics import adjusted_rand_score

    from cx import segments

    store = demo if backend == "duckdb" else spark_store
    res = segments.run(store, k=6, fit_sample=1500)
    assert 1000 < res.fitted_on < 2000
    assert res.labels.height == 5000 and res.labels["cluster"].null_count() == 0
    assert res.sizes["customers"].sum() == 5000
    truth = pl.read_csv(ROOT / "sample_data" / "truth_customers.csv")
    j = res.labels.join(truth, on="customer_id")
    group = next(c for c in truth.columns if "behav" in c or "group" in c)
    assert adjusted_rand_score(j[group].to_list(), j["cluster"].to_list()) >= 0.7


def test_a_catalog_database_is_a_dataset(spark_store, lake, tmp_path, demo):
    """A catalog database whose tables are named after the kinds (external tables here, so nothing
    is left in ./spark-warehouse) is a dataset, by name or found without CX_SPARK_DATASETS."""
    from cx import journey

    spark = spark_store.spark
    spark.sql(f"CREATE DATABASE IF NOT EXISTS cx_catalog_test LOCATION '{tmp_path / 'db'}'")
    try:
        for kind in ("interactions", "customers"):
            spark.sql(f"CREATE TABLE cx_catalog_test.{kind} USING parquet LOCATION '{lake / (kind + '.parquet')}'")
        named = cx.spark.SparkStore(spark, datasets={"cat": "cx_catalog_test"})
        assert named.has_table("interactions", "cat") and not named.has_table("feedback", "cat")
        found = cx.spark.SparkStore(spark)
        assert "cx_catalog_test" in found.dataset_names()
        steps = ["discover", "consider", "evaluate", "purchase"]
        _same(journey.funnel(demo, steps, field="stage", breakdown="persona"),
              journey.funnel(named, steps, field="stage", breakdown="persona", dataset="cat"), "catalog")
    finally:
        spark.sql("DROP DATABASE IF EXISTS cx_catalog_test CASCADE")
