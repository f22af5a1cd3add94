"""A fix for one Ibis 12 bug the metrics depend on, applied once when `cx` is imported.

`col.first(include_null=False).over(window)` (and `.last`) should skip nulls, as the same call
does as an aggregate, but Ibis rewrites the window form to a FirstValue / LastValue node that drops
the flag, so DuckDB gets a bare FIRST_VALUE(x) and returns the null of the frame's first row
(ibis-project/ibis#11726; the fix, ibis-project/ibis#11763, is not released). The rewrite rule is
replaced by one that keeps the flag: a window first/last with include_null=False becomes a
FirstValueIgnoreNulls / LastValueIgnoreNulls node, compiled as FIRST_VALUE(x IGNORE NULLS) (SQL
standard: DuckDB, Spark SQL, Postgres, ...). The PySpark compiler already ignores nulls in its
FirstValue, so it compiles both nodes the same way. When a future Ibis carries the flag itself,
:func:`apply` leaves it alone (checked by tests/test_ibis_fixes.py).
"""
from __future__ import annotations

import ibis.common.exceptions as com
import sqlglot.expressions as sge
from ibis.backends.sql import rewrites
from ibis.backends.sql.compilers.base import SQLGlotCompiler
from ibis.common.patterns import replace
from ibis.expr import operations as ops
from ibis.expr.rewrites import p

_APPLIED = False


class FirstValueIgnoreNulls(rewrites.FirstValue):
    """FIRST_VALUE(arg IGNORE NULLS)."""


class LastValueIgnoreNulls(rewrites.LastValue):
    """LAST_VALUE(arg IGNORE NULLS)."""


@replace(p.WindowFunction(p.First | p.Last))
def first_to_firstvalue(_, **kwargs):
    """Ibis's rule (ibis/backends/sql/rewrites.py), except that a first/last that skips nulls
    keeps doing so."""
    if _.func.where is not None:
        raise com.UnsupportedOperationError(
            f"`{type(_.func).__name__.lower()}` with `where` is unsupported in a window function")
    first = isinstance(_.func, ops.First)
    if _.func.include_null:
        klass = rewrites.FirstValue if first else rewrites.LastValue
    else:
        klass = FirstValueIgnoreNulls if first else LastValueIgnoreNulls
    return _.copy(func=klass(_.func.arg))


def _visit_first(self, op, *, arg):
    return sge.IgnoreNulls(this=self.f.first_value(arg))


def _visit_last(self, op, *, arg):
    return sge.IgnoreNulls(this=self.f.last_value(arg))


def apply() -> None:
    """Install the rule and the compilers' visitors (idempotent)."""
    global _APPLIED
    if _APPLIED or "include_null" in getattr(rewrites.FirstValue, "__argnames__", ()):
        return  # applied, or fixed upstream (FirstValue carries the flag)
    rewrites.first_to_firstvalue = first_to_firstvalue
    SQLGlotCompiler.visit_FirstValueIgnoreNulls = _visit_first
    SQLGlotCompiler.visit_LastValueIgnoreNulls = _visit_last
    try:  # PySpark's FirstValue / LastValue already ignore nulls: the same SQL for both nodes
        from ibis.backends.sql.compilers.pyspark import PySparkCompiler

        PySparkCompiler.visit_FirstValueIgnoreNulls = PySparkCompiler.visit_FirstValue
        PySparkCompiler.visit_LastValueIgnoreNulls = PySparkCompiler.visit_LastValue
    except ImportError:  # pragma: no cover
        pass
    _APPLIED = True
