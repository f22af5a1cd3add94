"""cx._ibis_fixes: window first/last with include_null=False skip nulls (ibis-project/ibis#11726)."""
import ibis
import pytest

import cx  # noqa: F401  (applies the fix)
from cx import _ibis_fixes


@pytest.fixture
def table():
    return ibis.memtable({"g": [1, 1, 1, 1, 2, 2], "o": [1, 2, 3, 4, 1, 2],
                          "v": [None, 5, None, 7, None, None]}, schema={"g": "int64", "o": "int64", "v": "int64"})


def _run(expr):
    return ibis.duckdb.connect().to_polars(expr.order_by(["g", "o"]))


def test_first_value_over_following_rows_skips_nulls(table):
    after = ibis.window(group_by="g", order_by="o", rows=(1, None))
    e = table.mutate(skip=table.v.first(include_null=False).over(after),
                     keep=table.v.first(include_null=True).over(after))
    df = _run(e)
    assert df["skip"].to_list() == [5, 7, 7, None, None, None]
    assert df["keep"].to_list() == [5, None, 7, None, None, None]  # the next row's value, null or not
    sql = ibis.to_sql(e, dialect="duckdb")
    assert sql.count("IGNORE NULLS") == 1


def test_last_value_over_preceding_rows_skips_nulls(table):
    before = ibis.window(group_by="g", order_by="o", rows=(None, -1))
    e = table.mutate(skip=table.v.last(include_null=False).over(before),
                     keep=table.v.last(include_null=True).over(before))
    df = _run(e)
    assert df["skip"].to_list() == [None, None, 5, 5, None, None]
    assert df["keep"].to_list() == [None, None, 5, None, None, None]


def test_spark_sql_ignores_nulls_too(table):
    after = ibis.window(group_by="g", order_by="o", rows=(1, None))
    sql = ibis.to_sql(table.mutate(f=table.v.first(include_null=False).over(after)), dialect="pyspark")
    assert "IGNORE NULLS" in sql.upper()


def test_where_is_still_refused_in_a_window_and_apply_is_idempotent(table):
    _ibis_fixes.apply()
    _ibis_fixes.apply()
    after = ibis.window(group_by="g", order_by="o", rows=(1, None))
    with pytest.raises(Exception, match="where"):
        ibis.to_sql(table.mutate(f=table.v.first(where=table.v > 1).over(after)))
