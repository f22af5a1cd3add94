"""The file to import: format, encoding, delimiter, line endings and header, and the SQL relation
that reads it as text columns (nothing is read in full until a validation pass)."""
from __future__ import annotations

import csv
import io
import itertools
import os
import re
from pathlib import Path

import duckdb
import polars as pl

from .. import schema
from ..store import Store
from .report import ERROR_COLUMNS, ImportFailed, Progress, _empty_errors, plain_errors
from .sniff import (DELIMITERS, SNIFF_BYTES, WHITESPACE, _detect_encoding, _Hash, _has_nul, _header_names,
                    _open_bytes, _reader_problem, _sniff_delimiter, _transcode, _whitespace_copy, builtins_open,
                    split_whitespace_text)

_uid = itertools.count(1)
_DELIMITER_NAMES = {**{v: k for k, v in DELIMITERS.items()}, "\\t": "\t", "space": WHITESPACE, "spaces": WHITESPACE}


def delimiter_choice(delimiter: str | None) -> str | None:
    """A delimiter as given: one of DELIMITERS (",", ";", "\\t", "|", "whitespace"), a name (comma,
    semicolon, tab, pipe, spaces; "\\t" typed as two characters) or None (sniff it). Anything else
    is an ImportFailed."""
    if delimiter is None or delimiter in DELIMITERS:
        return delimiter
    got = _DELIMITER_NAMES.get(str(delimiter).strip().lower())
    if got is None:
        raise ImportFailed(f"{delimiter!r} is not a delimiter the import reads: choose comma (,), semicolon (;), "
                           f"tab, pipe (|) or whitespace (runs of spaces or tabs), or leave it to be detected.")
    return got


def delimiter_name(delimiter: str | None) -> str:
    """comma, semicolon, tab, pipe or whitespace (runs of spaces or tabs)."""
    name = DELIMITERS.get(delimiter or "", str(delimiter))
    return "whitespace (runs of spaces or tabs)" if delimiter == WHITESPACE else name


# ----------------------------------------------------------------------------- the source
class _Retry(Exception):
    """The reader met mixed line endings past the sample: normalise the file and read again."""


class _NotStrict(Exception):
    """The strict (fast) read met a malformed row: read again, collecting the rejected rows."""


class Source:
    """A file to import: its format, encoding, delimiter and header, and the SQL relation that
    reads it as text columns ``c0..cN`` (nothing is read in full until a validation pass)."""

    def __init__(self, store: Store, path: str | os.PathLike, progress: Progress | None = None,
                 file_name: str | None = None, sheet: str | None = None, delimiter: str | None = None):
        self.store = store
        self.path = Path(path)
        self.file_name = file_name or self.path.name
        self.progress = progress or (lambda f, m: None)
        self.warnings: list[str] = []
        self.encoding = "utf-8"
        self.delimiter_choice = delimiter_choice(delimiter)  # None: sniffed
        self.delimiter = ","  # the one used: a character of DELIMITERS or "whitespace"
        self.detected_delimiter = ","  # what the sniffer found (also when a delimiter was chosen)
        self.newline: str | None = None  # "\\r": old Mac line endings (CR only)
        self.decimal_comma = False
        self.sheet, self.sheets = sheet, []  # workbooks: the sheet read, and all of them
        self._tmp_files: list[Path] = []
        self._read_path = self.path
        self.reader_errors = _empty_errors()
        self.reader_rejected = 0
        self.reader_lines: list[int] = []
        if not self.path.exists():
            raise ImportFailed(f"There is no file at {self.path}.")
        if self.path.stat().st_size == 0:
            raise ImportFailed(f"{self.file_name} is empty: it has no header and no rows.")
        self._hash, self._nul = _Hash(self.path), None
        self.cur = store.cursor()
        try:
            with plain_errors(self.file_name):
                self._open()
        except BaseException:
            self.close()  # no cursor, temporary table or UTF-8 copy is left behind by a file we refuse
            raise

    @property
    def sha256(self) -> str:
        """The file's content hash (sha256 of its bytes): the same file imported twice is noticed."""
        with plain_errors(self.file_name):
            return self._hash.get()

    @property
    def may_hold_nul(self) -> bool:
        """False when no value can hold a NUL character: a plain CSV file without a zero byte. (A
        compressed file or workbook may decompress to one: checked value by value.)"""
        if self.format != "csv" or self.path.suffix == ".gz":
            return True
        if self._nul is None:
            with plain_errors(self.file_name):
                self._nul = _has_nul(self.path)
        return self._nul

    def _open(self) -> None:
        self.cur.sql("SET enable_progress_bar = true")  # for query_progress(); nothing is printed
        self.cur.sql("SET enable_progress_bar_print = false")
        self.name = f"cx_src_{os.getpid()}_{next(_uid)}"
        self.format = self._format()
        self.progress(0.02, f"Reading {self.file_name}")
        if self.format == "csv":
            self._sniff_csv()
        elif self.format == "parquet":
            self._sniff_parquet()
        else:
            self._load_excel()
        if self.delimiter_choice is not None and self.format != "csv":
            self.warnings.append(f"{self.file_name} is {self.format.capitalize()}, not a text file: the delimiter "
                                 f"chosen ({delimiter_name(self.delimiter_choice)}) does not apply.")
        self.sample = self.rows(2000)
        if self.sample.height == 0 and self.format != "csv":
            raise ImportFailed(f"{self.file_name} has a header but no rows: nothing to import.")
        if self.format == "csv" and self.sample.height == 0 and self._probably_header_only():
            raise ImportFailed(f"{self.file_name} has a header but no rows: nothing to import.")

    def _format(self) -> str:
        name = self.path.name.lower().removesuffix(".gz")
        if name.endswith((".parquet", ".pq")):
            return "parquet"
        if name.endswith((".xlsx", ".xlsm", ".xls")):
            return "excel"
        with builtins_open(self.path, "rb") as f:
            magic = f.read(4)
        return {b"PAR1": "parquet", b"PK\x03\x04": "excel"}.get(magic, "csv")

    # -- CSV -----------------------------------------------------------------------------
    def _sniff_csv(self) -> None:
        with _open_bytes(self.path) as f:
            head = f.read(SNIFF_BYTES)
        self.encoding = _detect_encoding(head)
        text = head.decode(self.encoding, errors="replace")
        if not text.strip():
            raise ImportFailed(f"{self.file_name} holds no text: no header and no rows.")
        if "\r" in text and "\n" not in text:  # old Mac line endings: the reader is told, no copy made
            self.newline = "\\r"
            text = text.replace("\r", "\n")
            self.warnings.append("The file ends its lines with CR only (old Mac line endings); they were read "
                                 "as line ends.")
        sample = text if len(head) < SNIFF_BYTES else text[: text.rfind("\n") + 1] or text
        self.detected_delimiter = _sniff_delimiter(sample)
        self.delimiter = self.delimiter_choice or self.detected_delimiter
        self.decimal_comma = self.delimiter == ";"
        if self.delimiter == WHITESPACE:  # read through a tab-separated copy (see split_whitespace)
            text, sample = split_whitespace_text(text), split_whitespace_text(sample)
        self._head_text = text
        header_raw = next(csv.reader(io.StringIO(sample, newline=""), delimiter=self.reader_delimiter), [])
        self.columns, w = _header_names(header_raw)
        self.warnings += w
        if self.delimiter == WHITESPACE:
            self._whitespace_copy()
            return
        mixed = "\r\n" in sample and re.search(r"(?<!\r)\n", sample) is not None
        if self.encoding not in ("utf-8", "utf-8-sig") or mixed:
            self._convert(mixed)

    @property
    def reader_delimiter(self) -> str:
        """The character the CSV reader splits on (a tab for whitespace: it reads the normalised copy)."""
        return "\t" if self.delimiter == WHITESPACE else self.delimiter

    @property
    def read_as(self) -> str:
        """How the file was read, in words: 'CSV, utf-8, delimiter comma', 'Parquet', 'Excel, sheet X'."""
        if self.format == "csv":
            chosen = "" if self.delimiter_choice else " (detected)"
            return f"CSV, {self.encoding}, delimiter {delimiter_name(self.delimiter)}{chosen}"
        return "Parquet" if self.format == "parquet" else f"Excel, sheet '{self.sheet}'"

    def _whitespace_copy(self) -> None:
        """The whitespace-separated file as a UTF-8, tab-separated copy with LF line ends (what the
        reader reads; row numbers stay the file's)."""
        self.progress(0.05, "Splitting the lines on whitespace")
        self._read_path = _whitespace_copy(self.path, self.encoding, cr_only=self.newline == "\\r")
        self._tmp_files.append(self._read_path)
        self.newline = None
        if self.encoding not in ("utf-8", "utf-8-sig"):
            self.warnings.append(f"The file is not UTF-8; it was read as {self.encoding}.")
        self.warnings.append("Fields are separated by runs of spaces or tabs (whitespace); spaces at the start and end "
                             "of lines are ignored, and a value with spaces must be in double quotes. An empty value "
                             "cannot be written in such a file: a row with one fewer field is reported.")

    def _convert(self, newlines: bool) -> None:
        self.progress(0.05, "Normalising line endings" if newlines else "Converting to UTF-8")
        self._read_path = _transcode(self.path, self.encoding, normalise_newlines=newlines)
        self._tmp_files.append(self._read_path)
        if self.encoding not in ("utf-8", "utf-8-sig") and not any("UTF-8" in w for w in self.warnings):
            self.warnings.append(f"The file is not UTF-8; it was read as {self.encoding}.")
        if newlines and not any("line endings" in w for w in self.warnings):
            self.warnings.append("The file mixes Windows (CRLF) and Unix (LF) line endings; both were read "
                                 "as line ends.")

    def _probably_header_only(self) -> bool:
        body = self._head_text.split("\n", 1)[1] if "\n" in self._head_text else ""
        return not body.strip()

    def relation(self, rejects: str | None = None, strict: bool = False) -> tuple[str, dict]:
        """SQL (and its parameters) that reads the whole file as text columns c0..cN: strict (raises
        on the first malformed row; the fast path), collecting rejected rows into tables named after
        `rejects`, or skipping them (previews)."""
        if self.format == "csv":
            cols = {f"c{i}": "VARCHAR" for i in range(len(self.columns))}
            opts = ("ignore_errors = false" if strict else
                    f"store_rejects = true, rejects_table = '{rejects}_rj', rejects_scan = '{rejects}_rs'"
                    if rejects else "ignore_errors = true")
            nl = ", new_line = $nl" if self.newline else ""
            params = {"path": str(self._read_path), "cols": cols, "delim": self.reader_delimiter}
            if self.newline:
                params["nl"] = self.newline
            return (f"SELECT * FROM read_csv($path, auto_detect = false, columns = $cols, header = true, "
                    f"delim = $delim, quote = '\"', escape = '\"', max_line_size = 134217728{nl}, {opts})",
                    params)
        if self.format == "parquet":
            sel = ", ".join(f"CAST(#{i + 1} AS VARCHAR) AS c{i}" for i in range(len(self.columns)))
            return f"SELECT {sel} FROM read_parquet($path)", {"path": str(self.path)}
        return f"SELECT * FROM {self.name}_xl", {}

    def rows(self, n: int) -> pl.DataFrame:
        if self.format == "csv":  # from the sniffed head of the file: no full read
            body = self._head_text if self._head_text.endswith("\n") else \
                self._head_text[: self._head_text.rfind("\n") + 1]
            recs = list(itertools.islice(csv.reader(io.StringIO(body, newline=""), delimiter=self.reader_delimiter),
                                         n + 1))[1:]
            k = len(self.columns)
            recs = [r for r in recs if len(r) == k]
            return pl.DataFrame([[None if v == "" else v for v in r] for r in recs],
                                schema={f"c{i}": pl.Utf8 for i in range(k)}, orient="row")
        sql, params = self.relation()
        try:
            return self.cur.sql(f"{sql} LIMIT {int(n)}", params=params).pl()
        except duckdb.InvalidInputException:
            if self.format != "csv" or self._read_path is not self.path:
                raise
            self._convert(newlines=True)
            return self.rows(n)

    def collect_rejects(self, rejects: str | None) -> None:
        """After a full read: the rows the CSV reader itself rejected (ragged, bad quotes ...)."""
        if self.format != "csv" or rejects is None:
            self.reader_rejected, self.reader_lines, self.reader_errors = 0, [], _empty_errors()
            return
        rej = self.cur.sql(
            f"SELECT line, any_value(column_name) AS column_name, any_value(error_type) AS error_type, "
            f"any_value(csv_line) AS csv_line, any_value(error_message) AS msg FROM {rejects}_rj "
            f"GROUP BY line ORDER BY line").pl()
        self.cur.sql(f"DROP TABLE IF EXISTS {rejects}_rj")
        self.cur.sql(f"DROP TABLE IF EXISTS {rejects}_rs")
        self.reader_rejected = rej.height
        self.reader_lines = rej["line"].cast(pl.Int64).to_list()
        self.reader_errors = pl.DataFrame({
            "row": rej["line"].cast(pl.Int64),
            "column": [self.columns[int(c[1:])] if c and re.fullmatch(r"c\d+", c) and int(c[1:]) < len(self.columns)
                       else "" for c in rej["column_name"]],
            "value": [(v or "")[:200] for v in rej["csv_line"]],
            "problem": [_reader_problem(t, m, v)
                        for t, m, v in zip(rej["error_type"], rej["msg"], rej["csv_line"])],
        }, schema=ERROR_COLUMNS)

    # -- Parquet / Excel -----------------------------------------------------------------
    def _sniff_parquet(self) -> None:
        try:
            desc = self.cur.sql("DESCRIBE SELECT * FROM read_parquet($p)", params={"p": str(self.path)}).pl()
        except duckdb.Error as e:
            raise ImportFailed(f"{self.file_name} could not be read as Parquet: {str(e).splitlines()[0]}")
        self.columns, w = _header_names(desc["column_name"].to_list())
        self.warnings += w

    def _load_excel(self) -> None:
        try:
            import fastexcel

            self.sheets = list(fastexcel.read_excel(self.path).sheet_names)
            if self.sheet is not None and self.sheet not in self.sheets:
                raise ImportFailed(f"{self.file_name} has no sheet named '{self.sheet}' (sheets: "
                                   f"{', '.join(self.sheets)}).")
            self.sheet = self.sheet or self.sheets[0]
            df = pl.read_excel(self.path, engine="calamine", sheet_name=self.sheet, infer_schema_length=0)
        except ImportFailed:
            raise
        except Exception as e:  # noqa: BLE001 - any reader failure becomes a clear message
            raise ImportFailed(f"{self.file_name} could not be read as an Excel workbook: {e}") from e
        if len(self.sheets) > 1:
            others = ", ".join(f"'{n}'" for n in self.sheets if n != self.sheet)
            self.warnings.append(f"The workbook has {len(self.sheets)} sheets; sheet '{self.sheet}' was read, not "
                                 f"{others} (choose the sheet: sheet=... or the Data page's sheet picker).")
        self.columns, w = _header_names(df.columns)
        self.warnings += w
        df = df.rename(dict(zip(df.columns, [f"c{i}" for i in range(df.width)]))).with_columns(
            pl.all().cast(pl.Utf8))
        self.cur.register(f"{self.name}_df", df)
        self.cur.sql(f"CREATE TEMP TABLE {self.name}_xl AS SELECT * FROM {self.name}_df")
        self.cur.unregister(f"{self.name}_df")

    # -- what the mapping editor needs ---------------------------------------------------
    def preview(self, n: int = 20) -> pl.DataFrame:
        df = self.sample.head(n)
        return df.rename(dict(zip(df.columns, self.columns)))

    def detect_kind(self) -> str:
        return schema.detect_kind(self.columns)

    def suggest_mapping(self, kind: str | None = None) -> dict[str, str]:
        return schema.suggest_mapping(self.columns, kind or self.detect_kind())

    def _row_numbers(self, idx: pl.Series) -> pl.Series:
        """Record index among the records the reader accepted (1-based) -> spreadsheet row number."""
        base = idx.cast(pl.Int64) + 1
        if not self.reader_lines:
            return base
        pos = pl.Series([ln - 2 - j for j, ln in enumerate(sorted(self.reader_lines))], dtype=pl.Int64)
        return base + pos.search_sorted(idx.cast(pl.Int64), side="left").cast(pl.Int64)

    def close(self) -> None:
        try:
            self.cur.sql(f"DROP TABLE IF EXISTS {self.name}_xl")
            self.cur.sql(f"DROP TABLE IF EXISTS {self.name}_v")
            self.cur.close()
        except Exception:  # noqa: BLE001 - closing twice is fine
            pass
        for p in self._tmp_files:
            p.unlink(missing_ok=True)
        self._tmp_files = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def with_retries(src: Source, attempt):
    """attempt(strict): the strict read first (the fast path); a malformed row sends us back for the
    read that collects rejected rows; mixed line endings past the sample, for a normalised copy."""
    for strict in (True, False, False):
        try:
            return attempt(strict)
        except _NotStrict:
            continue
        except _Retry:
            src._convert(newlines=True)
    raise ImportFailed(f"{src.file_name} could not be read as CSV.")
