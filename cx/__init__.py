"""CX Loop: customer-experience analytics over DuckDB (headless domain package).

    import cx
    store = cx.open("cx.duckdb")           # or cx.open() for the default database
    rep = store.import_file("events.csv", kind="interactions", dataset="default")
"""
from . import _ibis_fixes

_ibis_fixes.apply()  # before any metric compiles (see the module)

from .api import Store, connect, open  # noqa: A004, E402
from .data import Data  # noqa: E402
from .filters import Filters  # noqa: E402
from .ingest import ImportFailed, ImportReport  # noqa: E402
from .sqlbox import QueryError, QueryRejected  # noqa: E402
from .store import CXError, DatabaseBusy, DatasetNotFound, default_db_path  # noqa: E402

__all__ = ["open", "connect", "Store", "Data", "Filters", "ImportReport", "CXError", "ImportFailed", "DatasetNotFound",
           "DatabaseBusy", "default_db_path", "QueryRejected", "QueryError"]
__version__ = "0.1.0"
