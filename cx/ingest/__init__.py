"""Import: read CSV / Parquet / Excel, detect the table kind, map columns, validate, import.

Flow (the app and the API share it)::

    src = open_source(store, path)            # file -> staging table of text columns (DuckDB)
    src.columns, src.preview(20)               # header and first rows, for the mapping editor
    val = src.validate(kind, mapping)          # parse every value; row-numbered error report
    report = val.commit(dataset, mode)         # one transaction: accepted rows land, or nothing
    src.close()

Row numbers are the ones a spreadsheet shows: the header is row 1, the first data record row 2
(a quoted field with a line break does not shift later rows). Nothing is dropped silently:
``rows_read == accepted + rejected`` and every rejected row has at least one line in ``errors``.
Import is DuckDB-native by design (README, Architecture); metrics are not written here.

Modules: ``report`` (ImportReport, ImportFailed, raw errors as messages), ``sniff`` and
``source`` (the file: format, encoding, delimiter (a character, or runs of whitespace read through
a tab-separated copy), line endings, header, sheets, content hash), ``parse`` (SQL that parses
values by the contract, and typed attributes), ``validate`` (the pass: contract columns from the
file or constants), ``attributes`` (the other columns, kept and typed by their values), ``notes``
(what the import changed, counted), ``land`` (the transaction that swaps or appends, duplicate
files, attributes whose type differs from the dataset's), ``api`` (one call), ``folder`` (folders
and the demo).
"""
from .api import import_file, open_source
from .folder import KIND_FILES, SAMPLE_DIR, ensure_demo, import_folder
from .sniff import DELIMITERS
from .source import delimiter_name
from .report import ERROR_COLUMNS, MAX_ERRORS, DuplicateImport, ImportFailed, ImportReport, Progress
from ..stages import derive_stages_sql  # re-exported (it lives in cx.stages)
from .validate import EARLIEST, Source, Validation, plausible_dates

__all__ = ["DELIMITERS", "ERROR_COLUMNS", "KIND_FILES", "MAX_ERRORS", "SAMPLE_DIR", "DuplicateImport", "ImportFailed", "ImportReport", "Progress",
           "Source", "Validation", "derive_stages_sql", "ensure_demo", "import_file", "import_folder",
           "open_source", "plausible_dates", "EARLIEST", "delimiter_name"]
