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
Import is DuckDB-native by design (DESIGN.md §1); metrics are not written here.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import os
import re
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl

builtins_open = open

from . import schema
from .stages import derive_stages_sql, stage_vocab_sql  # noqa: F401  (derive_stages_sql: re-exported)
from .store import CXError, Store, _now

ERROR_COLUMNS = {"row": pl.Int64, "column": pl.Utf8, "value": pl.Utf8, "problem": pl.Utf8}
MAX_ERRORS = 1_000_000  # errors kept in a report (counts are always exact)
SNIFF_BYTES = 1 << 20
_uid = itertools.count(1)

Progress = Callable[[float, str], None]


class ImportFailed(CXError):
    """The file cannot be imported at all (empty, unreadable, no mapping ...)."""


def _empty_errors() -> pl.DataFrame:
    return pl.DataFrame(schema=ERROR_COLUMNS)


@dataclass
class ImportReport:
    kind: str
    dataset: str | None
    file_name: str
    rows_read: int
    accepted: int
    rejected: int
    errors: pl.DataFrame = field(default_factory=_empty_errors)
    warnings: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    imported: bool = False
    seconds: float = 0.0
    error_count: int = 0  # all problems found (errors may be capped at MAX_ERRORS)

    def summary(self) -> str:
        verb = "imported" if self.imported else "would import"
        s = (f"{self.file_name}: {self.rows_read:,} rows read, {self.accepted:,} accepted, "
             f"{self.rejected:,} rejected; {verb} as {self.kind}"
             + (f" into dataset '{self.dataset}'" if self.dataset else "") + f" ({self.seconds:.1f} s).")
        return s


# ----------------------------------------------------------------------------- sniffing
def _open_bytes(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _sniff_delimiter(text: str) -> str:
    best, best_score = ",", -1.0
    for delim in (",", ";", "\t", "|"):
        try:
            rows = list(itertools.islice(csv.reader(io.StringIO(text, newline=""), delimiter=delim), 200))
        except csv.Error:
            continue
        if len(rows) > 1 and not text.endswith("\n"):
            rows = rows[:-1]  # the sample may cut the last record
        counts = [len(r) for r in rows if r]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = counts.count(mode) / len(counts) + (0.001 if mode == len(rows[0]) else 0)
        if score > best_score + 1e-9:
            best, best_score = delim, score
    return best


def _header_names(raw: list[str]) -> tuple[list[str], list[str]]:
    """Clean header names: blanks get 'column_N', duplicates get ' (2)', ' (3)' ..."""
    names, warnings, seen = [], [], {}
    for i, h in enumerate(raw):
        h = (h or "").strip().lstrip("\ufeff")
        if not h:
            h = f"column_{i + 1}"
            warnings.append(f"Column {i + 1} has no name in the header; it is called '{h}'.")
        if h in seen:
            seen[h] += 1
            new = f"{h} ({seen[h]})"
            warnings.append(f"The header names '{h}' more than once; column {i + 1} is read as '{new}'.")
            h = new
        else:
            seen[h] = 1
        names.append(h)
    return names, warnings


def _transcode(path: Path, encoding: str, normalise_newlines: bool) -> Path:
    """Write a UTF-8 copy of the file (for other encodings or mixed line endings)."""
    fd, out = tempfile.mkstemp(prefix="cx_import_", suffix=".csv")
    dec = codecs.getincrementaldecoder(encoding)(errors="replace")
    with _open_bytes(path) as f, os.fdopen(fd, "wb") as o:
        carry = ""
        while True:
            chunk = f.read(1 << 22)
            text = dec.decode(chunk, final=not chunk)
            text = carry + text
            carry = ""
            if normalise_newlines:
                if text.endswith("\r") and chunk:
                    carry, text = "\r", text[:-1]
                text = text.replace("\r\n", "\n")
            o.write(text.encode("utf-8"))
            if not chunk:
                break
    return Path(out)


# ----------------------------------------------------------------------------- the source
class _Retry(Exception):
    """The reader met mixed line endings past the sample: normalise the file and read again."""


class _NotStrict(Exception):
    """The strict (fast) read met a malformed row: read again, collecting the rejected rows."""


class Source:
    """A file to import: its format, encoding, delimiter and header, and the SQL relation that
    reads it as text columns ``c0..cN`` (nothing is read in full until a validation pass)."""

    def __init__(self, store: Store, path: str | os.PathLike, progress: Progress | None = None,
                 file_name: str | None = None):
        self.store = store
        self.path = Path(path)
        self.file_name = file_name or self.path.name
        self.progress = progress or (lambda f, m: None)
        self.warnings: list[str] = []
        self.encoding = "utf-8"
        self.delimiter = ","
        self.decimal_comma = False
        self._tmp_files: list[Path] = []
        self._read_path = self.path
        self.reader_errors = _empty_errors()
        self.reader_rejected = 0
        self.reader_lines: list[int] = []
        if not self.path.exists():
            raise ImportFailed(f"There is no file at {self.path}.")
        if self.path.stat().st_size == 0:
            raise ImportFailed(f"{self.file_name} is empty: it has no header and no rows.")
        self.cur = store.cursor()
        try:
            self._open()
        except BaseException:
            self.close()  # no cursor, temporary table or UTF-8 copy is left behind by a file we refuse
            raise

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
        self._head_text = text
        sample = text if len(head) < SNIFF_BYTES else text[: text.rfind("\n") + 1] or text
        self.delimiter = _sniff_delimiter(sample)
        self.decimal_comma = self.delimiter == ";"
        header_raw = next(csv.reader(io.StringIO(sample, newline=""), delimiter=self.delimiter), [])
        self.columns, w = _header_names(header_raw)
        self.warnings += w
        mixed = "\r\n" in sample and re.search(r"(?<!\r)\n", sample) is not None
        if self.encoding not in ("utf-8", "utf-8-sig") or mixed:
            self._convert(mixed)

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
            return (f"SELECT * FROM read_csv($path, auto_detect = false, columns = $cols, header = true, "
                    f"delim = $delim, quote = '\"', escape = '\"', max_line_size = 134217728, {opts})",
                    {"path": str(self._read_path), "cols": cols, "delim": self.delimiter})
        if self.format == "parquet":
            sel = ", ".join(f"CAST(#{i + 1} AS VARCHAR) AS c{i}" for i in range(len(self.columns)))
            return f"SELECT {sel} FROM read_parquet($path)", {"path": str(self.path)}
        return f"SELECT * FROM {self.name}_xl", {}

    def rows(self, n: int) -> pl.DataFrame:
        if self.format == "csv":  # from the sniffed head of the file: no full read
            body = self._head_text if self._head_text.endswith("\n") else \
                self._head_text[: self._head_text.rfind("\n") + 1]
            recs = list(itertools.islice(csv.reader(io.StringIO(body, newline=""), delimiter=self.delimiter), n + 1))[1:]
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
            df = pl.read_excel(self.path, engine="calamine", infer_schema_length=0)
        except Exception as e:  # noqa: BLE001 - any reader failure becomes a clear message
            raise ImportFailed(f"{self.file_name} could not be read as an Excel workbook: {e}") from e
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

    def validate(self, kind: str | None = None, mapping: dict[str, str] | None = None,
                 timezone: str = "UTC") -> "Validation":
        """Read and check the whole file (into a temporary table); commit() imports it."""
        v = Validation(self, kind or self.detect_kind(), mapping, timezone)
        for strict in (True, False, False):
            try:
                v.run(strict=strict)
                return v
            except _NotStrict:
                continue
            except _Retry:
                self._convert(newlines=True)
        raise ImportFailed(f"{self.file_name} could not be read as CSV.")

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


def _reader_problem(kind: str, msg: str | None, line: str | None) -> str:
    m = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", msg or "")
    if kind == "MISSING COLUMNS" and m:
        return f"too few fields: expected {m.group(1)}, found {m.group(2)}"
    if kind == "TOO MANY COLUMNS" and m:
        return f"too many fields: expected {m.group(1)}, found {m.group(2)}"
    if kind == "UNQUOTED VALUE":
        extra = (line or "").rstrip("\r\n").count("\n")
        return ("unterminated quote: the field runs on to the end of the file"
                + (f", taking {extra} more line(s) with it" if extra else ""))
    if kind == "INVALID ENCODING":
        return "invalid UTF-8 bytes in this row"
    if kind == "LINE SIZE OVER MAXIMUM":
        return "the row is longer than 128 MB"
    return f"{kind.lower()}: {(msg or '').splitlines()[0] if msg else ''}".strip()


# ----------------------------------------------------------------------------- parsing SQL
_TS_FORMATS_DMY = ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                   "%d.%m.%Y", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y"]
_TS_FORMATS_MDY = ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y", "%m-%d-%Y",
                   "%m/%d/%y"]
_TS_FORMATS_TEXT = ["%d %b %Y %H:%M", "%d %b %Y", "%b %d, %Y %H:%M", "%b %d, %Y", "%d %B %Y", "%B %d, %Y",
                    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%Y%m%d"]
_BOOL_TRUE = ("true", "t", "yes", "y", "1", "x", "ja", "oui", "si", "wahr")
_BOOL_FALSE = ("false", "f", "no", "n", "0", "nein", "non", "falsch")
_STAGE_SYNONYMS = {
    "discover": ("discover", "discovery", "awareness", "aware", "attract", "reach"),
    "consider": ("consider", "consideration", "interest", "explore", "research"),
    "evaluate": ("evaluate", "evaluation", "intent", "decide", "decision", "compare", "evaluating"),
    "purchase": ("purchase", "buy", "conversion", "convert", "transaction", "order", "checkout"),
    "use": ("use", "usage", "retention", "service", "onboarding", "loyalty", "advocacy", "support",
            "experience", "post_purchase", "postpurchase", "after_sales", "aftersales"),
}
_DIRECTION_SYNONYMS = {
    "inbound": ("inbound", "in", "incoming", "customer", "customer_initiated", "received", "inbound_call",
                "initiated_by_customer"),
    "outbound": ("outbound", "out", "outgoing", "company", "company_initiated", "sent", "brand"),
}


def _q(v: str) -> str:
    """A SQL string literal for a constant defined in this module (never user data)."""
    return "'" + v.replace("'", "''") + "'"


def _list(vals) -> str:
    return "[" + ", ".join(_q(v) for v in vals) + "]"


def _text(c: str) -> str:
    return f"NULLIF(trim({c}), '')"


def _number(t: str, decimal_comma: bool) -> str:
    """t: a trimmed text column. Plain numbers take the fast path; '1.234,50', '$1,234.50',
    '(12.00)' and '€ 12' are cleaned; anything else is NULL (and reported).

    Each slow expression appears once (the cleaning is bound to a lambda variable): DuckDB's
    common-subexpression elimination would otherwise hoist repeated ones out of the CASE and
    run them on every row."""
    comma_only = ("replace(s, ',', '.')" if decimal_comma else
                  "CASE WHEN regexp_matches(s, '^[+-]?\\d{1,3}(,\\d{3})+$') THEN replace(s, ',', '') "
                  "ELSE replace(s, ',', '.') END")
    dot_only = ("CASE WHEN regexp_matches(s, '^[+-]?\\d{1,3}(\\.\\d{3})+$') THEN replace(s, '.', '') ELSE s END"
                if decimal_comma else "s")
    cleaned = ("CASE WHEN strpos(s, ',') > 0 AND strpos(s, '.') > 0 THEN "
               "(CASE WHEN strpos(reverse(s), ',') < strpos(reverse(s), '.') THEN "
               "replace(replace(s, '.', ''), ',', '.') ELSE replace(s, ',', '') END) "
               f"WHEN strpos(s, ',') > 0 THEN {comma_only} ELSE {dot_only} END")
    money = "^[(]?[-+]?[$€£¥]?\\s*[0-9][0-9 ,.]*([eE][-+]?\\d+)?[)]?\\s*[$€£¥]?$"
    slow = (f"list_transform([trim({t})], lambda v: CASE WHEN regexp_matches(v, '{money}') THEN "
            f"list_transform([regexp_replace(v, '[^0-9,.eE+\\-]', '', 'g')], lambda s: TRY_CAST({cleaned} AS DOUBLE))[1]"
            f" * (CASE WHEN v LIKE '(%)' THEN -1 ELSE 1 END) END)[1]")
    if decimal_comma:
        return f"(CASE WHEN {t} IS NULL THEN NULL ELSE {slow} END)"
    return f"coalesce(TRY_CAST({t} AS DOUBLE), CASE WHEN {t} IS NOT NULL THEN {slow} END)"


def _timestamp(t: str, day_first: bool, iso: str | None = None) -> str:
    """t: a trimmed text column. ISO 8601 (any offset -> UTC; no offset -> the import's time zone)
    first, then epoch seconds/milliseconds, then day- or month-first and named-month formats."""
    slash = _TS_FORMATS_DMY if day_first else _TS_FORMATS_MDY
    fmts = _list(slash + _TS_FORMATS_TEXT)
    iso = iso or f"TRY_CAST({t} AS TIMESTAMPTZ)"
    return (f"(CASE WHEN {t} IS NULL THEN NULL "
            f"WHEN {iso} IS NOT NULL THEN {iso} AT TIME ZONE 'UTC' "
            f"WHEN regexp_matches({t}, '^\\d{{9,10}}(\\.\\d+)?$') THEN to_timestamp(TRY_CAST({t} AS DOUBLE)) AT TIME ZONE 'UTC' "
            f"WHEN regexp_matches({t}, '^\\d{{12,13}}$') THEN to_timestamp(TRY_CAST({t} AS DOUBLE) / 1000) AT TIME ZONE 'UTC' "
            f"ELSE CAST(try_strptime(trim({t}), {fmts}) AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END)")


def _enum(t: str, synonyms: dict[str, tuple[str, ...]]) -> str:
    """Canonical values pass as they are; others go once through a synonym MAP (see _number on
    why the slow expression must appear only once)."""
    canon = ", ".join(_q(k) for k in synonyms)
    pairs = ", ".join(f"{_q(syn)}: {_q(k)}" for k, syns in synonyms.items() for syn in syns)
    return (f"(CASE WHEN {t} IN ({canon}) THEN {t} WHEN {t} IS NOT NULL THEN "
            f"map_extract_value(MAP {{{pairs}}}, lower(trim(regexp_replace({t}, '[^0-9a-zA-Z]+', '_', 'g'), '_'))) END)")


def _bool(t: str) -> str:
    pairs = ", ".join([f"{_q(v)}: true" for v in _BOOL_TRUE] + [f"{_q(v)}: false" for v in _BOOL_FALSE])
    return (f"(CASE WHEN {t} IN ('true', 'false') THEN {t} = 'true' WHEN {t} IS NOT NULL THEN "
            f"map_extract_value(MAP {{{pairs}}}, lower(trim({t}))) END)")


def _day_first(values: list[str]) -> tuple[bool, str | None]:
    """Decide the order of slash/dot dates from sample values; (day_first, note)."""
    a = b = n = 0
    for v in values:
        m = re.match(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}", v or "")
        if m:
            n += 1
            a += int(m.group(1)) > 12
            b += int(m.group(2)) > 12
    if a and b:
        return a >= b, "mixes day-first and month-first dates; read {} (the majority), the others are reported"
    if not a and not b and n:
        return True, "has dates like 03/04/2025 that no value decides; read day first (3 April)"
    return a >= b, None


# ----------------------------------------------------------------------------- validation
class Validation:
    """One pass over the file: every value parsed by the contract into a table, with one helper
    column per possible problem (the raw value where it occurred, else NULL)."""

    def __init__(self, src: Source, kind: str, mapping: dict[str, str] | None, timezone: str = "UTC"):
        if kind not in schema.KINDS:
            raise ImportFailed(f"'{kind}' is not a table kind (kinds: {', '.join(schema.KINDS)}).")
        self.src, self.kind, self.spec = src, kind, schema.KINDS[kind]
        self.warnings = list(src.warnings)
        self.mapping = self._check_mapping(dict(mapping) if mapping else src.suggest_mapping(kind))
        self.timezone = self._check_timezone(timezone)
        self.table: str | None = None
        self.persistent = False
        self.seconds = 0.0

    def _check_mapping(self, mapping: dict[str, str]) -> dict[str, str]:
        out, used = {}, {}
        for source, target in mapping.items():
            if target in (None, "", "(ignore)", "(none)"):
                continue
            if source not in self.src.columns:
                raise ImportFailed(f"The mapping names a column '{source}' that the file does not have "
                                   f"(columns: {', '.join(self.src.columns)}).")
            if target not in self.spec.column_names:
                raise ImportFailed(f"'{target}' is not a column of {self.kind} "
                                   f"(columns: {', '.join(self.spec.column_names)}).")
            if target in used:
                raise ImportFailed(f"Both '{used[target]}' and '{source}' are mapped to {target}; map one.")
            used[target] = source
            out[source] = target
        missing = [r for r in self.spec.required if r not in used]
        if missing:
            raise ImportFailed(
                f"The required column(s) {', '.join(missing)} of {self.kind} are not mapped. Columns in "
                f"{self.src.file_name}: {', '.join(self.src.columns)}.")
        return out

    def _check_timezone(self, tz: str) -> str:
        ok = self.src.cur.sql("SELECT count(*) FROM pg_timezone_names() WHERE name = $tz",
                              params={"tz": tz}).fetchall()[0][0]
        if not ok:
            raise ImportFailed(f"'{tz}' is not a time zone name (for example UTC, Europe/Paris).")
        return tz

    # -- the SQL of the pass -------------------------------------------------------------
    def _select(self, strict: bool = False) -> tuple[str, dict]:
        src = self.src
        rel, params = src.relation(rejects=None if strict else src.name, strict=strict)
        texts, parsed, problems = [], [], []
        for source, target in self.mapping.items():
            i, col = src.columns.index(source), self.spec.column(target)
            t = f"__t{i}"
            # Blank = missing. Text is kept as written, but the join key loses edge spaces; typed
            # values are trimmed inside their (rarely taken) slow paths: casts ignore edge spaces.
            c = f"c{i}"
            raw = (f"CASE WHEN {c} LIKE ' %' OR {c} LIKE '% ' THEN trim({c}) ELSE {c} END"
                   if target == "customer_id" else c)
            texts.append(f"NULLIF({raw}, '') AS {t}")
            if col.type == "text":
                expr = t
            elif col.type == "timestamp":
                texts[-1] += f", TRY_CAST(c{i} AS TIMESTAMPTZ) AS __iso{i}"
                values = src.sample[f"c{i}"].drop_nulls().to_list() if src.sample.height else []
                day_first, note = _day_first(values)
                if note:
                    self.warnings.append(f"'{source}' " + note.format("day first" if day_first else "month first")
                                         + ".")
                expr = _timestamp(t, day_first, iso=f"__iso{i}")
            elif col.type in ("decimal", "float"):
                expr = _number(t, src.decimal_comma)
            elif col.type == "bool":
                expr = _bool(t)
            elif col.type == "stage":
                expr = _enum(t, _STAGE_SYNONYMS)
            elif col.type == "direction":
                expr = _enum(t, _DIRECTION_SYNONYMS)
            else:  # pragma: no cover
                raise AssertionError(col.type)
            parsed.append(f"{expr} AS {target}")
            if col.required:
                problems.append((source, f"{t} IS NULL", "''", f"missing {target}"))
            if col.type != "text":
                what = {"timestamp": "a date/time", "decimal": "a number", "float": "a number",
                        "bool": "true/false", "stage": f"a stage ({', '.join(schema.STAGES)})",
                        "direction": "inbound or outbound"}[col.type]
                problems.append((source, f"{t} IS NOT NULL AND {target} IS NULL", t, f"cannot read as {what}"))
            if target == "sentiment":
                problems.append((source, f"{target} NOT BETWEEN -1 AND 1", t, "sentiment outside -1..1"))
        if self.kind == "feedback" and "score" in self.mapping.values():
            s_src = next(s for s, t in self.mapping.items() if t == "score")
            t = f"__t{src.columns.index(s_src)}"
            for m, (lo, hi, _) in schema.METRIC_SCALES.items():
                problems.append((s_src, f"lower(metric) = {_q(m)} AND score NOT BETWEEN {lo} AND {hi}", t,
                                 f"outside the {m} scale {lo}–{hi}"))
        self._extra = []
        extra_sel = []
        if self.spec.keep_extra:
            taken = set(self.spec.column_names)
            for i, name in enumerate(src.columns):
                if name in self.mapping:
                    continue
                norm = schema.normalise_name(name) or f"column_{i + 1}"
                if not re.match(r"^[a-z]", norm):
                    norm = "attr_" + norm
                if norm in taken:
                    norm = f"{norm}_{i + 1}"
                taken.add(norm)
                self._extra.append(norm)
                extra_sel.append(f"{_text(f'c{i}')} AS {_ident(norm)}")  # normalised: [a-z0-9_] only
        else:
            dropped = [c for c in src.columns if c not in self.mapping]
            if dropped:
                self.warnings.append(f"Not imported (not in the {self.kind} contract): {', '.join(dropped)}.")
        if self.kind == "customers":  # a later row of a customer_id is a duplicate
            cid = next(s for s, t in self.mapping.items() if t == "customer_id")
            problems.append((cid, "__dup > 1", "customer_id", "duplicate customer_id (the first row with it is kept)"))
        self.problems = problems
        # Two helper columns, whatever the number of checks: __bad, a bitmask of the problems of the
        # row (0 = accepted), and __raw, the raw values of the checked columns on bad rows only.
        self.helpers = ["__bad", "__raw"] + (["__i"] if self.kind == "customers" else [])
        mapped = set(self.mapping.values())
        out = [(c if c in mapped else f"NULL::{schema.SQL_TYPES[self.spec.column(c).type]}") + f" AS {c}"
               for c in self.spec.column_names]
        mask = " + ".join(f"(CASE WHEN {cond} THEN {1 << j} ELSE 0 END)"
                          for j, (_, cond, _, _) in enumerate(problems)) or "0"
        raws = ", ".join(f"CAST({raw} AS VARCHAR)" for _, _, raw, _ in problems)
        inner = f"SELECT {', '.join(texts + extra_sel) or '*'} FROM ({rel})"
        mid = f"SELECT *, {', '.join(parsed)} FROM ({inner})"
        if self.kind == "customers":  # small tables: an explicit file-order index for the window
            inner = f"SELECT row_number() OVER () AS __i, {', '.join(texts + extra_sel)} FROM ({rel})"
            mid = (f"SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY __i) AS __dup FROM "
                   f"(SELECT *, {', '.join(parsed)} FROM ({inner}))")
        flagged = f"SELECT *, ({mask})::BIGINT AS __bad FROM ({mid})"
        keep = ", __i" if self.kind == "customers" else ""
        sql = (f"SELECT {', '.join(out + [_ident(e) for e in self._extra])}, __bad, "
               f"CASE WHEN __bad <> 0 THEN [{raws}] END AS __raw{keep} FROM ({flagged})")
        return sql, params

    def run(self, into: str | None = None, strict: bool = False) -> None:
        """The pass: into a temporary table (a check), or into ``into`` (a persistent table, inside
        the caller's transaction: the one-pass import). strict: the fast read that stops at the
        first malformed CSV row (raises _NotStrict: run again with strict=False)."""
        src, cur, t0 = self.src, self.src.cur, time.time()
        strict = strict and src.format == "csv"
        src.progress(0.1, f"Reading and checking every row of {src.file_name}")
        sql, params = self._select(strict=strict)
        self.persistent = into is not None
        self.table = into or f"{src.name}_v"
        cur.sql(f"SET TimeZone = {_q(self.timezone)}")  # validated against pg_timezone_names
        try:
            cur.sql(f"DROP TABLE IF EXISTS {self.table}")
            with _progress_poller(cur, src.progress, 0.1, 0.8, f"Reading and checking every row of {src.file_name}"):
                cur.sql(f"CREATE {'' if into else 'TEMP '}TABLE {self.table} AS {sql}", params=params)
        except duckdb.InvalidInputException as e:
            if strict:
                raise _NotStrict() from e
            if src.format == "csv" and src._read_path is src.path:
                raise _Retry() from e
            raise ImportFailed(f"{src.file_name} could not be read: {str(e).splitlines()[0]}") from e
        finally:
            try:
                cur.sql("SET TimeZone = 'UTC'")
            except duckdb.TransactionException:  # aborted: the caller rolls back and retries
                pass
        src.collect_rejects(None if strict else src.name)
        # rowids follow insertion (= file) order; inside a transaction they start at a large offset.
        # Customers carry an explicit index instead (their duplicate check reorders rows).
        self._index = "__i" if self.kind == "customers" else "rowid"
        self._rid0 = cur.sql(f"SELECT coalesce(min({self._index}), 0) FROM {self.table}").fetchall()[0][0]
        bad = "__bad <> 0"
        self._bad = bad
        total, nbad = cur.sql(f"SELECT count(*), count(*) FILTER (WHERE {bad}) FROM {self.table}").fetchall()[0]
        self.rows_read = int(total) + src.reader_rejected
        if self.rows_read == 0:
            raise ImportFailed(f"{src.file_name} has a header but no rows: nothing to import.")
        self.accepted = int(total) - int(nbad)
        self.rejected = int(nbad) + src.reader_rejected
        self.errors, self.error_count = self._errors(int(nbad))
        if self.kind == "interactions":
            self._stage_warnings()
        self.seconds = time.time() - t0

    def _errors(self, nbad: int) -> tuple[pl.DataFrame, int]:
        frames, total = [self.src.reader_errors], self.src.reader_errors.height
        if nbad:
            cur = self.src.cur
            names = [s for s, _, _, _ in self.problems]
            probs = [p for _, _, _, p in self.problems]
            unpivot = (f"SELECT rid, j, coalesce(__raw[j + 1], '') AS value FROM b, range({len(self.problems)}) "
                       f"r(j) WHERE (__bad >> j) & 1 = 1")
            base = f"WITH b AS (SELECT {self._index} AS rid, __bad, __raw FROM {self.table} WHERE {self._bad})"
            total += cur.sql(f"{base} SELECT count(*) FROM ({unpivot})").fetchall()[0][0]
            df = cur.sql(f"{base} SELECT * FROM ({unpivot}) ORDER BY rid, j LIMIT {MAX_ERRORS}").pl()
            frames.append(pl.DataFrame({
                "row": self.src._row_numbers(df["rid"] - self._rid0 + 1),
                "column": [names[j] for j in df["j"]],
                "value": df["value"].str.slice(0, 200),
                "problem": [probs[j] for j in df["j"]]}, schema=ERROR_COLUMNS))
        errors = pl.concat(frames).sort("row", maintain_order=True).head(MAX_ERRORS)
        return errors, total

    def _stage_warnings(self) -> None:
        if "stage" in self.mapping.values():
            missing = self.src.cur.sql(f"SELECT count(*) FROM {self.table} WHERE stage IS NULL AND NOT "
                                       f"({self._bad})").fetchall()[0][0]
            if missing:
                self.warnings.append(f"{missing:,} rows have no stage; it is derived from the touchpoint "
                                     f"by the dataset's stage rules.")
        else:
            self.warnings.append("No stage column: stages are derived from touchpoint names by the "
                                 "dataset's stage rules (editable under Data → Stage map).")

    def preview(self, n: int = 20) -> pl.DataFrame:
        """The first accepted rows after mapping and parsing (what will land)."""
        cols = list(self.mapping.values()) + self._extra
        return self.src.cur.sql(f"SELECT {', '.join(_ident(c) for c in cols)} FROM {self.table} "
                                f"WHERE NOT ({self._bad}) ORDER BY {self._index} LIMIT {int(n)}").pl()

    def report(self, dataset: str | None = None, imported: bool = False, seconds: float = 0.0) -> ImportReport:
        return ImportReport(kind=self.kind, dataset=dataset, file_name=self.src.file_name,
                            rows_read=self.rows_read, accepted=self.accepted, rejected=self.rejected,
                            errors=self.errors, warnings=list(self.warnings), mapping=dict(self.mapping),
                            imported=imported, seconds=seconds or self.seconds, error_count=self.error_count)

    # -- landing -------------------------------------------------------------------------
    def commit(self, dataset: str | None = None, mode: str = "replace", create: bool = True) -> ImportReport:
        """Import the accepted rows of a checked file in one transaction: all of them, or nothing."""
        if self.table is None:
            raise ImportFailed("Check the file (validate) before importing it.")
        t0 = time.time()
        with _transaction(self.src) as cur:
            ds = _target_dataset(self.src.store, cur, dataset, create)
            new = f"{ds.schema}.{self.kind}__new"
            cur.sql(f"DROP TABLE IF EXISTS {new}")
            idx = f"rowid - {int(self._rid0)} + 1 AS __i"
            cur.sql(f"CREATE TABLE {new} AS SELECT * EXCLUDE ({', '.join(self.helpers)}), {idx} "
                    f"FROM {self.table} WHERE NOT ({self._bad})")
            self._finish(cur, ds, new, mode, index="__i")
        return self.report(dataset or "default", imported=True, seconds=self.seconds + time.time() - t0)

    def _finish(self, cur, ds, new: str, mode: str, index: str = "rowid") -> None:
        """Make `new` the dataset's table of this kind: internal columns, stages, swap or append."""
        if mode not in ("replace", "append"):
            raise ImportFailed("mode is 'replace' or 'append'.")
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
            have = set(_columns(cur, ds.schema, self.kind))
            for c in _columns(cur, ds.schema, f"{self.kind}__new"):
                if c not in have:
                    cur.sql(f"ALTER TABLE {target} ADD COLUMN {_ident(c)} VARCHAR")
            if self.kind == "customers":  # upsert: the new row of a customer wins
                cur.sql(f"DELETE FROM {target} WHERE customer_id IN (SELECT customer_id FROM {new})")
            cur.sql(f"INSERT INTO {target} BY NAME SELECT * FROM {new}")
            cur.sql(f"DROP TABLE {new}")
        else:
            cur.sql(f"DROP TABLE IF EXISTS {target}")
            cur.sql(f"ALTER TABLE {new} RENAME TO {self.kind}")
        if self.kind == "feedback":  # voice of the customer: comment sentiment, scored once, in this transaction
            from .voc import score_feedback

            score_feedback(cur, ds.schema)
        import_id = cur.sql("SELECT coalesce(max(id), 0) + 1 FROM cx_meta.imports").fetchall()[0][0]
        cur.sql("INSERT INTO cx_meta.imports VALUES ($id, $ds, $k, $f, $m, $r, $a, $x, $s, $t)",
                params={"id": import_id, "ds": ds.id, "k": self.kind, "f": self.src.file_name, "m": mode,
                        "r": self.rows_read, "a": self.accepted, "x": self.rejected, "s": self.seconds,
                        "t": _now()})
        cur.sql("UPDATE cx_meta.datasets SET version = version + 1, updated_at = $t WHERE id = $id",
                params={"t": _now(), "id": ds.id})


@contextmanager
def _progress_poller(cur, progress: Progress, lo: float, hi: float, message: str, every: float = 0.5):
    """While the statement runs on `cur`, report DuckDB's query progress from a helper thread."""
    import threading

    done = threading.Event()

    def poll():
        while not done.wait(every):
            try:
                pct = cur.query_progress()
                if pct >= 0:
                    progress(lo + (hi - lo) * min(pct, 100.0) / 100.0, f"{message} ({pct:.0f}%)")
            except Exception:  # noqa: BLE001 - progress is best effort, never a failure
                return

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    try:
        yield
    finally:
        done.set()
        th.join(timeout=2)


@contextmanager
def _transaction(src: Source):
    """The store's write transaction on the source's cursor (its temporary tables are read)."""
    with src.store.transaction(src.cur) as cur:
        yield cur
    src.progress(1.0, "Done")


def _table_exists(cur, ds_schema: str, name: str) -> bool:
    return cur.sql("SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t",
                   params={"s": ds_schema, "t": name}).fetchall()[0][0] > 0


def _columns(cur, ds_schema: str, name: str) -> list[str]:
    return [r[0] for r in cur.sql("SELECT column_name FROM duckdb_columns() WHERE schema_name = $s AND "
                                  "table_name = $t ORDER BY column_index",
                                  params={"s": ds_schema, "t": name}).fetchall()]


def _target_dataset(store: Store, cur, name: str | None, create: bool):
    from .store import Dataset

    name = name or "default"
    rows = cur.sql("SELECT id, name, version FROM cx_meta.datasets WHERE name = $n", params={"n": name}).fetchall()
    if not rows:
        if not create:
            raise ImportFailed(f"There is no dataset named '{name}'.")
        return store.create_dataset(name, con=cur)
    return Dataset(*rows[0])


def _ident(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"unsafe identifier {name!r}")
    return f'"{name}"'


# ----------------------------------------------------------------------------- one call
def open_source(store: Store, path, progress: Progress | None = None, file_name: str | None = None) -> Source:
    return Source(store, path, progress=progress, file_name=file_name)


def import_file(store: Store, path, kind: str | None = None, mapping: dict[str, str] | None = None,
                dataset: str | None = None, mode: str = "replace", create: bool = True,
                timezone: str = "UTC", dry_run: bool = False, progress: Progress | None = None,
                file_name: str | None = None) -> ImportReport:
    """Read, validate and (unless dry_run) import one file in a single pass and one transaction.
    Returns the report; raises ImportFailed with a clear message when nothing can be imported."""
    t = time.time()
    with open_source(store, path, progress=progress, file_name=file_name) as src:
        if dry_run:
            val = src.validate(kind, mapping, timezone=timezone)
            return val.report(dataset, imported=False, seconds=time.time() - t)
        val = Validation(src, kind or src.detect_kind(), mapping, timezone)
        # strict first (the fast read); a malformed row sends us back for the read that collects
        # rejected rows; mixed line endings past the sample, for a normalised copy of the file
        for strict in (True, False, False):
            try:
                with _transaction(src) as cur:
                    ds = _target_dataset(store, cur, dataset, create)
                    new = f"{ds.schema}.{val.kind}__new"
                    val.run(into=new, strict=strict)
                    val._finish(cur, ds, new, mode)
                break
            except _NotStrict:
                continue
            except _Retry:
                src._convert(newlines=True)
        else:
            raise ImportFailed(f"{src.file_name} could not be read as CSV.")
        return val.report(dataset or "default", imported=True, seconds=time.time() - t)


# ----------------------------------------------------------------------------- folders, demo
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
KIND_FILES = {"customers": ("customers",), "interactions": ("interactions", "touchpoints", "events"),
              "feedback": ("feedback", "surveys", "answers")}


def import_folder(store: Store, folder, dataset: str, progress: Progress | None = None) -> list[ImportReport]:
    """Import every table file of a folder (interactions*, customers*, feedback*: CSV, CSV.GZ,
    Parquet or Excel) into one dataset, each with its suggested mapping."""
    folder = Path(folder)
    reports = []
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(("truth", ".")))
    for kind, stems in KIND_FILES.items():
        for p in files:
            stem = p.name.lower().split(".")[0]
            if stem in stems:
                reports.append(import_file(store, p, kind=kind, dataset=dataset, progress=progress))
    if not reports:
        raise ImportFailed(f"No interactions/customers/feedback file in {folder}.")
    return reports


def ensure_demo(store: Store, dataset: str = "demo") -> bool:
    """Load the shipped sample dataset when the database has no dataset at all (first start).
    Returns True when it loaded it."""
    if store.dataset_names() or not (SAMPLE_DIR / "interactions.csv").exists():
        return False
    with store._write_lock:
        if store.dataset_names():
            return False
        import_folder(store, SAMPLE_DIR, dataset)
    return True
