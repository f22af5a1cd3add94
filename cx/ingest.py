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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl

from . import schema
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
            rows = list(itertools.islice(csv.reader(io.StringIO(text), delimiter=delim), 200))
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
class Source:
    """A file read into a staging table of text columns ``c0..cN`` with its record index."""

    def __init__(self, store: Store, path: str | os.PathLike, progress: Progress | None = None,
                 file_name: str | None = None):
        self.store = store
        self.path = Path(path)
        self.file_name = file_name or self.path.name
        self.progress = progress or (lambda f, m: None)
        self.cur = store.cursor()
        self.table = f"cx_stage_{os.getpid()}_{next(_uid)}"
        self.warnings: list[str] = []
        self.encoding = "utf-8"
        self.delimiter = None
        self.decimal_comma = False
        self.format = self._format()
        self._tmp_files: list[Path] = []
        self.reader_errors = _empty_errors()
        self.reader_rejected = 0
        if not self.path.exists():
            raise ImportFailed(f"There is no file at {self.path}.")
        if self.path.stat().st_size == 0:
            raise ImportFailed(f"{self.file_name} is empty: it has no header and no rows.")
        t = time.time()
        self.progress(0.05, f"Reading {self.file_name}")
        if self.format == "csv":
            self._read_csv()
        elif self.format == "parquet":
            self._read_parquet()
        else:
            self._read_excel()
        self.records = self.cur.sql(f"SELECT count(*) FROM {self.table}").fetchall()[0][0]
        self.rows_read = self.records + self.reader_rejected
        self.read_seconds = time.time() - t
        if self.rows_read == 0:
            self.close()
            raise ImportFailed(f"{self.file_name} has a header but no rows: nothing to import.")

    def _format(self) -> str:
        name = self.path.name.lower().removesuffix(".gz")
        if name.endswith(".parquet") or name.endswith(".pq"):
            return "parquet"
        if name.endswith(".xlsx") or name.endswith(".xlsm") or name.endswith(".xls"):
            return "excel"
        with open(self.path, "rb") as f:
            magic = f.read(4)
        if magic == b"PAR1":
            return "parquet"
        if magic == b"PK\x03\x04":
            return "excel"
        return "csv"

    # -- CSV -----------------------------------------------------------------------------
    def _read_csv(self) -> None:
        with _open_bytes(self.path) as f:
            head = f.read(SNIFF_BYTES)
        self.encoding = _detect_encoding(head)
        text = head.decode(self.encoding, errors="replace")
        if not text.strip():
            raise ImportFailed(f"{self.file_name} holds no text: no header and no rows.")
        sample = text if len(head) < SNIFF_BYTES else text[: text.rfind("\n") + 1] or text
        self.delimiter = _sniff_delimiter(sample)
        header_raw = next(csv.reader(io.StringIO(sample), delimiter=self.delimiter), [])
        self.columns, w = _header_names(header_raw)
        self.warnings += w
        mixed = "\r\n" in sample and re.search(r"(?<!\r)\n", sample) is not None
        path = self.path
        if self.encoding not in ("utf-8", "utf-8-sig") or mixed:
            self.progress(0.1, "Converting to UTF-8" if not mixed else "Normalising line endings")
            path = _transcode(self.path, self.encoding, normalise_newlines=mixed)
            self._tmp_files.append(path)
            if self.encoding not in ("utf-8", "utf-8-sig"):
                self.warnings.append(f"The file is not UTF-8; it was read as {self.encoding}.")
            if mixed:
                self.warnings.append("The file mixes Windows (CRLF) and Unix (LF) line endings; "
                                     "both were read as line ends.")
        try:
            self._duck_csv(path)
        except duckdb.InvalidInputException as e:
            if path is not self.path:
                raise ImportFailed(f"{self.file_name} could not be read as CSV: {str(e).splitlines()[0]}")
            # line endings mixed beyond the sample, or similar: normalise and retry once
            path = _transcode(self.path, self.encoding, normalise_newlines=True)
            self._tmp_files.append(path)
            try:
                self._duck_csv(path)
            except duckdb.Error as e2:
                raise ImportFailed(f"{self.file_name} could not be read as CSV: "
                                   f"{str(e2).splitlines()[0]}") from e2
        if self.delimiter == ";":
            self.decimal_comma = True

    def _duck_csv(self, path: Path) -> None:
        cols = {f"c{i}": "VARCHAR" for i in range(len(self.columns))}
        rj = f"{self.table}_rj"
        rs = f"{self.table}_rs"
        self.cur.sql(f"DROP TABLE IF EXISTS {self.table}")
        self.cur.sql(
            f"CREATE TEMP TABLE {self.table} AS SELECT row_number() OVER () AS __i, * FROM read_csv($p, "
            f"auto_detect = false, columns = $cols, header = true, delim = $d, quote = '\"', escape = '\"', "
            f"store_rejects = true, rejects_table = '{rj}', rejects_scan = '{rs}', "
            f"max_line_size = 134217728)",
            params={"p": str(path), "cols": cols, "d": self.delimiter})
        rej = self.cur.sql(
            f"SELECT line, any_value(column_idx) AS column_idx, any_value(error_type) AS error_type, "
            f"any_value(csv_line) AS csv_line, any_value(error_message) AS msg FROM {rj} "
            f"GROUP BY line ORDER BY line").pl()
        self.cur.sql(f"DROP TABLE IF EXISTS {rj}")
        self.cur.sql(f"DROP TABLE IF EXISTS {rs}")
        self.reader_rejected = rej.height
        if rej.height:
            self.reader_errors = pl.DataFrame({
                "row": rej["line"].cast(pl.Int64),
                "column": [self.columns[int(i) - 1] if i is not None and 0 < int(i) <= len(self.columns)
                           else "" for i in rej["column_idx"]],
                "value": [(v or "")[:200] for v in rej["csv_line"]],
                "problem": [_reader_problem(t, m, v, len(self.columns))
                            for t, m, v in zip(rej["error_type"], rej["msg"], rej["csv_line"])],
            }, schema=ERROR_COLUMNS)
            # any record swallowed by an unterminated quote is counted as read and rejected
            self.reader_lines = rej["line"].to_list()

    # -- Parquet / Excel -----------------------------------------------------------------
    def _read_parquet(self) -> None:
        try:
            desc = self.cur.sql("DESCRIBE SELECT * FROM read_parquet($p)", params={"p": str(self.path)}).pl()
        except duckdb.Error as e:
            raise ImportFailed(f"{self.file_name} could not be read as Parquet: {str(e).splitlines()[0]}")
        self.columns, w = _header_names(desc["column_name"].to_list())
        self.warnings += w
        sel = ", ".join(f"CAST(#{i + 1} AS VARCHAR) AS c{i}" for i in range(len(self.columns)))
        self.cur.sql(f"CREATE TEMP TABLE {self.table} AS SELECT file_row_number + 1 AS __i, * EXCLUDE "
                     f"(file_row_number) FROM (SELECT {sel}, file_row_number FROM read_parquet($p, "
                     f"file_row_number = true))", params={"p": str(self.path)})

    def _read_excel(self) -> None:
        try:
            df = pl.read_excel(self.path, engine="calamine", infer_schema_length=0)
        except Exception as e:  # noqa: BLE001 - any reader failure becomes a clear message
            raise ImportFailed(f"{self.file_name} could not be read as an Excel workbook: {e}") from e
        self.columns, w = _header_names(df.columns)
        self.warnings += w
        df = df.rename(dict(zip(df.columns, [f"c{i}" for i in range(df.width)]))).with_columns(
            pl.all().cast(pl.Utf8)).with_row_index("__i", offset=1)
        self.cur.register(f"{self.table}_df", df)
        self.cur.sql(f"CREATE TEMP TABLE {self.table} AS SELECT * FROM {self.table}_df")
        self.cur.unregister(f"{self.table}_df")

    # -- what the mapping editor needs ---------------------------------------------------
    def preview(self, n: int = 20) -> pl.DataFrame:
        df = self.cur.sql(f"SELECT * EXCLUDE (__i) FROM {self.table} ORDER BY __i LIMIT $n",
                          params={"n": n}).pl()
        return df.rename(dict(zip(df.columns, self.columns)))

    def detect_kind(self) -> str:
        return schema.detect_kind(self.columns)

    def suggest_mapping(self, kind: str | None = None) -> dict[str, str]:
        return schema.suggest_mapping(self.columns, kind or self.detect_kind())

    def validate(self, kind: str | None = None, mapping: dict[str, str] | None = None,
                 timezone: str = "UTC") -> "Validation":
        return Validation(self, kind or self.detect_kind(), mapping, timezone)

    def _row_numbers(self, idx: pl.Series) -> pl.Series:
        """Record index among accepted records (1-based) -> spreadsheet row number."""
        base = idx.cast(pl.Int64) + 1
        if self.format != "csv" or not self.reader_rejected:
            return base
        lines = sorted(getattr(self, "reader_lines", []))
        pos = pl.Series([ln - 2 - j for j, ln in enumerate(lines)], dtype=pl.Int64)
        return base + pos.search_sorted(idx.cast(pl.Int64), side="left").cast(pl.Int64)

    def close(self) -> None:
        try:
            self.cur.sql(f"DROP TABLE IF EXISTS {self.table}")
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


def _reader_problem(kind: str, msg: str | None, line: str | None, ncols: int) -> str:
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
_SLASH_DATE = r"^\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}"
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
    "inbound": ("inbound", "in", "incoming", "customer", "customer_initiated", "received", "inbound_call"),
    "outbound": ("outbound", "out", "outgoing", "company", "company_initiated", "sent", "brand"),
}


def _q(v: str) -> str:
    """A SQL string literal for a constant defined in this module (never user data)."""
    return "'" + v.replace("'", "''") + "'"


def _list(vals) -> str:
    return "[" + ", ".join(_q(v) for v in vals) + "]"


def _text(c: str) -> str:
    return f"NULLIF(trim(rtrim({c}, chr(13))), '')"


def _number(c: str, decimal_comma: bool) -> str:
    t = _text(c)
    s = f"regexp_replace({t}, '[^0-9,.eE+\\-]', '', 'g')"
    comma_only = (f"replace({s}, ',', '.')" if decimal_comma else
                  f"CASE WHEN regexp_matches({s}, '^[+-]?\\d{{1,3}}(,\\d{{3}})+$') THEN replace({s}, ',', '') "
                  f"ELSE replace({s}, ',', '.') END")
    dot_only = (f"CASE WHEN regexp_matches({s}, '^[+-]?\\d{{1,3}}(\\.\\d{{3}})+$') THEN replace({s}, '.', '') "
                f"ELSE {s} END") if decimal_comma else s
    cleaned = (f"CASE WHEN strpos({s}, ',') > 0 AND strpos({s}, '.') > 0 THEN "
               f"(CASE WHEN strpos(reverse({s}), ',') < strpos(reverse({s}), '.') THEN replace(replace({s}, '.', ''), ',', '.') "
               f"ELSE replace({s}, ',', '') END) "
               f"WHEN strpos({s}, ',') > 0 THEN {comma_only} ELSE {dot_only} END")
    # fast path first: plain numbers never reach the cleaning expression
    fast = f"TRY_CAST({t} AS DOUBLE)" if not decimal_comma else "NULL::DOUBLE"
    return (f"(CASE WHEN {t} IS NULL THEN NULL WHEN {fast} IS NOT NULL THEN {fast} "
            f"WHEN regexp_matches({t}, '^\\s*[(]?[-+]?[$€£¥]?\\s*[0-9][0-9 ,.]*([eE][-+]?\\d+)?[)]?\\s*[$€£¥]?\\s*$') "
            f"THEN TRY_CAST({cleaned} AS DOUBLE) * (CASE WHEN {t} LIKE '(%)' THEN -1 ELSE 1 END) END)")


def _timestamp(c: str, day_first: bool) -> str:
    t = _text(c)
    slash = _TS_FORMATS_DMY if day_first else _TS_FORMATS_MDY
    fmts = _list(slash + _TS_FORMATS_TEXT)
    return (f"(CASE WHEN {t} IS NULL THEN NULL "
            f"WHEN TRY_CAST({t} AS TIMESTAMPTZ) IS NOT NULL THEN TRY_CAST({t} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' "
            f"WHEN regexp_matches({t}, '^\\d{{9,10}}(\\.\\d+)?$') THEN to_timestamp(TRY_CAST({t} AS DOUBLE)) AT TIME ZONE 'UTC' "
            f"WHEN regexp_matches({t}, '^\\d{{12,13}}$') THEN to_timestamp(TRY_CAST({t} AS DOUBLE) / 1000) AT TIME ZONE 'UTC' "
            f"ELSE CAST(try_strptime({t}, {fmts}) AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END)")


def _enum(c: str, synonyms: dict[str, tuple[str, ...]]) -> str:
    t = f"lower(regexp_replace({_text(c)}, '[^0-9a-zA-Z]+', '_', 'g'))"
    whens = " ".join(f"WHEN {t} IN ({', '.join(_q(s) for s in syn)}) THEN {_q(k)}" for k, syn in synonyms.items())
    return f"(CASE {whens} END)"


def _bool(c: str) -> str:
    t = f"lower({_text(c)})"
    return (f"(CASE WHEN {_text(c)} IS NULL THEN NULL WHEN {t} IN ({', '.join(map(_q, _BOOL_TRUE))}) THEN true "
            f"WHEN {t} IN ({', '.join(map(_q, _BOOL_FALSE))}) THEN false END)")


def _norm_sql(expr: str) -> str:
    """SQL twin of schema.normalise_name."""
    return f"trim(lower(regexp_replace(trim({expr}), '[^0-9a-zA-Z]+', '_', 'g')), '_')"


def derive_stages_sql(con: duckdb.DuckDBPyConnection, ds_schema: str, rules: list[tuple[str, str]],
                      only_derived: bool = True) -> int:
    """Re-derive interactions.stage from keyword rules for rows whose stage came from the rules."""
    vocab = _stage_vocab_sql(con, f"SELECT DISTINCT touchpoint FROM {ds_schema}.interactions", rules)
    con.sql(f"CREATE OR REPLACE TEMP TABLE cx_vocab AS {vocab}")
    n = con.sql(f"SELECT count(*) FROM {ds_schema}.interactions WHERE _stage_derived").fetchall()[0][0]
    con.sql(f"UPDATE {ds_schema}.interactions AS i SET stage = v.stage FROM cx_vocab v "
            f"WHERE i.touchpoint = v.touchpoint AND i._stage_derived")
    con.sql(f"UPDATE {ds_schema}.interactions SET stage = NULL WHERE _stage_derived AND touchpoint NOT IN "
            f"(SELECT touchpoint FROM cx_vocab WHERE stage IS NOT NULL)")
    con.sql("DROP TABLE cx_vocab")
    return n


def _stage_vocab_sql(con, distinct_sql: str, rules: list[tuple[str, str]]) -> str:
    """SQL: touchpoint -> stage by the first matching rule (rules are data: a temp table)."""
    con.sql("CREATE OR REPLACE TEMP TABLE cx_rules (position INTEGER, pattern VARCHAR, stage VARCHAR)")
    if rules:
        con.sql("INSERT INTO cx_rules SELECT unnest($p), unnest($r), unnest($s)",
                params={"p": list(range(len(rules))), "r": [schema.keyword_regex(k) for k, _ in rules],
                        "s": [s for _, s in rules]})
    return (f"SELECT d.touchpoint, arg_min(r.stage, r.position) AS stage FROM ({distinct_sql}) d "
            f"LEFT JOIN cx_rules r ON regexp_matches({_norm_sql('d.touchpoint')}, r.pattern) GROUP BY d.touchpoint")


# ----------------------------------------------------------------------------- validation
class Validation:
    """Every value of the staging table parsed by the contract; errors with row numbers."""

    def __init__(self, src: Source, kind: str, mapping: dict[str, str] | None, timezone: str = "UTC"):
        if kind not in schema.KINDS:
            raise ImportFailed(f"'{kind}' is not a table kind (kinds: {', '.join(schema.KINDS)}).")
        self.src, self.kind, self.spec = src, kind, schema.KINDS[kind]
        self.warnings = list(src.warnings)
        mapping = dict(mapping) if mapping else src.suggest_mapping(kind)
        self.mapping = self._check_mapping(mapping)
        self.timezone = self._check_timezone(timezone)
        t = time.time()
        src.progress(0.5, "Checking every value")
        self._parse()
        self.seconds = time.time() - t

    def _check_mapping(self, mapping: dict[str, str]) -> dict[str, str]:
        out, used = {}, {}
        for source, target in mapping.items():
            if target in (None, "", "(ignore)"):
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

    def _col(self, source: str) -> str:
        return f"c{self.src.columns.index(source)}"

    def _day_first(self, c: str, name: str) -> bool:
        a, b = self.src.cur.sql(
            f"SELECT count(*) FILTER (WHERE TRY_CAST(split_part(x, '/', 1) AS INT) > 12 OR "
            f"TRY_CAST(regexp_extract(x, '^(\\d+)[.\\-/]', 1) AS INT) > 12), "
            f"count(*) FILTER (WHERE TRY_CAST(regexp_extract(x, '^\\d+[.\\-/](\\d+)[.\\-/]', 1) AS INT) > 12) "
            f"FROM (SELECT trim({c}) AS x FROM {self.src.table} WHERE regexp_matches({c}, $re))",
            params={"re": _SLASH_DATE}).fetchall()[0]
        if a and b:
            self.warnings.append(
                f"'{name}' mixes day-first and month-first dates; read as "
                f"{'day/month' if a >= b else 'month/day'} (the majority), the others are reported.")
        elif not a and not b:
            n = self.src.cur.sql(f"SELECT count(*) FROM {self.src.table} WHERE regexp_matches({c}, $re)",
                                 params={"re": _SLASH_DATE}).fetchall()[0][0]
            if n:
                self.warnings.append(f"Dates in '{name}' like 03/04/2025 were read day first (3 April); "
                                     f"no value decided the order.")
        return a >= b

    def _parse(self) -> None:
        src, cur = self.src, self.src.cur
        cur.sql(f"SET TimeZone = {_q(self.timezone)}")  # validated against pg_timezone_names
        sel, checks = ["__i"], []
        for source, target in self.mapping.items():
            c, col = self._col(source), self.spec.column(target)
            if col.type == "text":
                expr = _text(c)
            elif col.type == "timestamp":
                expr = _timestamp(c, self._day_first(c, source))
            elif col.type in ("decimal", "float"):
                expr = _number(c, src.decimal_comma)
            elif col.type == "bool":
                expr = _bool(c)
            elif col.type == "stage":
                expr = _enum(c, _STAGE_SYNONYMS)
            elif col.type == "direction":
                expr = _enum(c, _DIRECTION_SYNONYMS)
            else:  # pragma: no cover
                raise AssertionError(col.type)
            sel.append(f"{expr} AS {target}")
            if col.type != "text" or col.required:
                sel.append(f"{_text(c)} IS NOT NULL AS __r_{target}")
            checks.append((source, target, c, col))
        self._extra = []
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
                sel.append(f"{_text(f'c{i}')} AS \"{norm}\"")  # normalised: [a-z0-9_] only
        else:
            dropped = [c for c in src.columns if c not in self.mapping]
            if dropped:
                self.warnings.append(f"Not imported (not in the {self.kind} contract): {', '.join(dropped)}.")
        # problems, one boolean per check, so that the error report can say which
        problems = []
        for source, target, c, col in checks:
            raw_present = f"__r_{target}"
            if col.required:
                problems.append((source, f"{target} IS NULL AND NOT ({raw_present})", f"missing {target}"))
            if col.type != "text":
                what = {"timestamp": "a date/time", "decimal": "a number", "float": "a number",
                        "bool": "true/false", "stage": f"a stage ({', '.join(schema.STAGES)})",
                        "direction": "inbound or outbound"}[col.type]
                problems.append((source, f"{raw_present} AND {target} IS NULL", f"cannot read as {what}"))
            if target == "sentiment":
                problems.append((source, f"{target} NOT BETWEEN -1 AND 1", "sentiment outside -1..1"))
        if self.kind == "feedback" and "score" in self.mapping.values():
            src_score = next(s for s, t in self.mapping.items() if t == "score")
            for m, (lo, hi, _) in schema.METRIC_SCALES.items():
                cond = f"lower(metric) = {_q(m)} AND score NOT BETWEEN {lo} AND {hi}"
                problems.append((src_score, cond, f"outside the {m} scale {lo}–{hi}"))
        if self.kind == "customers":
            problems.append((next(s for s, t in self.mapping.items() if t == "customer_id"),
                             "__dup > 1", "duplicate customer_id (the first row with it is kept)"))
        self.problems = problems
        flags = [f"coalesce({cond}, false) AS __p{i}" for i, (_, cond, _) in enumerate(problems)]
        inner = f"SELECT {', '.join(sel)} FROM {src.table}"
        if self.kind == "customers":
            inner = (f"SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY __i) AS __dup "
                     f"FROM ({inner})")
        self.table = f"{src.table}_v"
        ok = " OR ".join(f"__p{i}" for i in range(len(problems))) or "false"
        cur.sql(f"CREATE OR REPLACE TEMP TABLE {self.table} AS SELECT *, NOT ({ok}) AS __ok FROM "
                f"(SELECT *, {', '.join(flags) if flags else 'true AS __none'} FROM ({inner}))")
        cur.sql("SET TimeZone = 'UTC'")
        counts = cur.sql(f"SELECT count(*) FILTER (WHERE __ok), count(*) FILTER (WHERE NOT __ok) "
                         f"FROM {self.table}").fetchall()[0]
        self.accepted, self.value_rejected = int(counts[0]), int(counts[1])
        self.rows_read = src.rows_read
        self.rejected = self.value_rejected + src.reader_rejected
        self.errors, self.error_count = self._errors()
        if self.kind == "interactions":
            self._stage_warnings()

    def _errors(self) -> tuple[pl.DataFrame, int]:
        src = self.src
        parts = []
        for i, (source, _cond, problem) in enumerate(self.problems):
            c = self._col(source)
            parts.append(f"SELECT v.__i, {_q(source)} AS \"column\", s.{c} AS value, {_q(problem)} AS problem "
                         f"FROM {self.table} v JOIN {src.table} s USING (__i) WHERE v.__p{i}")
        frames = [src.reader_errors]
        total = src.reader_errors.height
        if parts and self.value_rejected:
            union = " UNION ALL ".join(parts)
            total += src.cur.sql(f"SELECT count(*) FROM ({union})").fetchall()[0][0]
            df = src.cur.sql(f"SELECT * FROM ({union}) ORDER BY __i LIMIT {MAX_ERRORS}").pl()
            frames.append(pl.DataFrame({
                "row": src._row_numbers(df["__i"]), "column": df["column"],
                "value": df["value"].str.slice(0, 200), "problem": df["problem"]}, schema=ERROR_COLUMNS))
        errors = pl.concat(frames).sort("row", maintain_order=True).head(MAX_ERRORS)
        return errors, total

    def _stage_warnings(self) -> None:
        if "stage" in self.mapping.values():
            missing = self.src.cur.sql(f"SELECT count(*) FROM {self.table} WHERE __ok AND stage IS NULL").fetchall()[0][0]
            if missing:
                self.warnings.append(f"{missing:,} rows have no stage; it is derived from the touchpoint "
                                     f"by the dataset's stage rules.")
        else:
            self.warnings.append("No stage column: stages are derived from touchpoint names by the "
                                 "dataset's stage rules (editable on the Data page).")

    def preview(self, n: int = 20) -> pl.DataFrame:
        """The first rows after mapping and parsing (what will land)."""
        cols = [t for t in self.mapping.values()] + self._extra
        return self.src.cur.sql(f"SELECT {', '.join(_ident(c) for c in cols)} FROM {self.table} "
                                f"WHERE __ok ORDER BY __i LIMIT $n", params={"n": n}).pl()

    def report(self, dataset: str | None = None, imported: bool = False, seconds: float = 0.0) -> ImportReport:
        return ImportReport(kind=self.kind, dataset=dataset, file_name=self.src.file_name,
                            rows_read=self.rows_read, accepted=self.accepted, rejected=self.rejected,
                            errors=self.errors, warnings=list(self.warnings), mapping=dict(self.mapping),
                            imported=imported, seconds=seconds, error_count=self.error_count)

    # -- commit --------------------------------------------------------------------------
    def commit(self, dataset: str | None = None, mode: str = "replace", create: bool = True) -> ImportReport:
        """Land the accepted rows in one transaction: all of them, or nothing."""
        if mode not in ("replace", "append"):
            raise ImportFailed("mode is 'replace' or 'append'.")
        if self.accepted == 0:
            raise ImportFailed(f"No row of {self.src.file_name} passed validation "
                               f"({self.rejected:,} rejected): nothing was imported.")
        store, cur, t0 = self.src.store, self.src.cur, time.time()
        dataset = dataset or "default"
        self.src.progress(0.8, f"Importing {self.accepted:,} rows")
        with store._write_lock:
            cur.sql("BEGIN TRANSACTION")
            try:
                if not store.has_dataset(dataset):
                    if not create:
                        raise ImportFailed(f"There is no dataset named '{dataset}'.")
                    store.create_dataset(dataset, con=cur)
                ds = store.dataset(dataset) if store.has_dataset(dataset) else None
                if ds is None:  # created inside this transaction: read through our cursor
                    row = cur.sql("SELECT id, name, version FROM cx_meta.datasets WHERE name = $n",
                                  params={"n": dataset}).fetchall()[0]
                    from .store import Dataset
                    ds = Dataset(*row)
                self._land(cur, ds, mode)
                import_id = cur.sql("SELECT coalesce(max(id), 0) + 1 FROM cx_meta.imports").fetchall()[0][0]
                secs = time.time() - t0 + self.seconds + self.src.read_seconds
                cur.sql("INSERT INTO cx_meta.imports VALUES ($id, $ds, $k, $f, $m, $r, $a, $x, $s, $t)",
                        params={"id": import_id, "ds": ds.id, "k": self.kind, "f": self.src.file_name,
                                "m": mode, "r": self.rows_read, "a": self.accepted, "x": self.rejected,
                                "s": secs, "t": _now()})
                cur.sql("UPDATE cx_meta.datasets SET version = version + 1, updated_at = $t WHERE id = $id",
                        params={"t": _now(), "id": ds.id})
                cur.sql("COMMIT")
            except BaseException:
                cur.sql("ROLLBACK")
                raise
        self.src.progress(1.0, "Done")
        return self.report(dataset, imported=True, seconds=secs)

    def _land(self, cur, ds, mode: str) -> None:
        target = f"{ds.schema}.{self.kind}"
        exists = cur.sql("SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t",
                         params={"s": ds.schema, "t": self.kind}).fetchall()[0][0] > 0
        cols = [c.name for c in self.spec.columns]
        mapped = set(self.mapping.values())
        sel = [(c if c in mapped else f"NULL::{schema.SQL_TYPES[self.spec.column(c).type]}") + f" AS {c}"
               for c in cols]
        extra_existing: list[str] = []
        if exists and mode == "append":
            extra_existing = [c for c in self._table_cols(cur, ds.schema) if c not in cols and not c.startswith("_")]
        extras = list(dict.fromkeys(extra_existing + self._extra))
        sel += [(_ident(e) if e in self._extra else "NULL::VARCHAR") + f" AS {_ident(e)}" for e in extras]
        if self.kind == "interactions":
            seq0 = cur.sql(f"SELECT coalesce(max(_seq), 0) FROM {target}").fetchall()[0][0] \
                if exists and mode == "append" else 0
            rules = [(k, s) for k, s in cur.sql(
                "SELECT keyword, stage FROM cx_meta.stage_rules WHERE dataset_id = $id ORDER BY position",
                params={"id": ds.id}).fetchall()]
            vocab = _stage_vocab_sql(cur, f"SELECT DISTINCT touchpoint FROM {self.table} WHERE __ok", rules)
            cur.sql(f"CREATE OR REPLACE TEMP TABLE cx_vocab AS {vocab}")
            given = "v.stage" if "stage" in mapped else "NULL::VARCHAR"
            sel = [f"coalesce({given}, m.stage) AS stage" if s.endswith(" AS stage")
                   else "v.touchpoint AS touchpoint" if s.endswith(" AS touchpoint") else "v." + s
                   if not s.startswith("NULL") else s for s in sel]
            body = (f"SELECT {', '.join(sel)}, ({seq0} + v.__i)::BIGINT AS _seq, "
                    f"({given} IS NULL) AS _stage_derived FROM {self.table} v "
                    f"LEFT JOIN cx_vocab m ON v.touchpoint = m.touchpoint WHERE v.__ok")
        elif self.kind == "feedback":
            seq0 = cur.sql(f"SELECT coalesce(max(_seq), 0) FROM {target}").fetchall()[0][0] \
                if exists and mode == "append" else 0
            body = f"SELECT {', '.join(sel)}, ({seq0} + __i)::BIGINT AS _seq FROM {self.table} WHERE __ok"
        else:
            body = f"SELECT {', '.join(sel)} FROM {self.table} WHERE __ok"
        new = f"{ds.schema}.{self.kind}__new"
        cur.sql(f"DROP TABLE IF EXISTS {new}")
        if exists and mode == "append":
            keep = ", ".join(_ident(c) for c in self._table_cols(cur, ds.schema))
            old = f"SELECT {keep} FROM {target}"
            if self.kind == "customers":  # upsert: the new row of a customer wins
                old += f" WHERE customer_id NOT IN (SELECT customer_id FROM {self.table} WHERE __ok)"
            cur.sql(f"CREATE TABLE {new} AS SELECT * FROM ({old}) UNION ALL BY NAME ({body})")
        else:
            cur.sql(f"CREATE TABLE {new} AS {body}")
        cur.sql(f"DROP TABLE IF EXISTS {target}")
        cur.sql(f"ALTER TABLE {new} RENAME TO {self.kind}")
        if self.kind == "interactions":
            cur.sql("DROP TABLE IF EXISTS cx_vocab")

    def _table_cols(self, cur, ds_schema: str) -> list[str]:
        return [r[0] for r in cur.sql(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = $s AND table_name = $t "
            "ORDER BY column_index", params={"s": ds_schema, "t": self.kind}).fetchall()]


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
    """Read, validate and (unless dry_run) import one file. Returns the report; raises
    ImportFailed with a clear message when nothing can be imported."""
    t = time.time()
    with open_source(store, path, progress=progress, file_name=file_name) as src:
        val = src.validate(kind, mapping, timezone=timezone)
        if dry_run:
            return val.report(dataset, imported=False, seconds=time.time() - t)
        rep = val.commit(dataset, mode=mode, create=create)
        rep.seconds = time.time() - t
        return rep


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
