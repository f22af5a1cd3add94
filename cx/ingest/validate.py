"""Validation: one pass over the file, every value parsed by the contract, every problem flagged."""
from __future__ import annotations

import itertools
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import duckdb
import polars as pl

from .. import schema
from .attributes import _PER_MASK, Attributes, _chunks
from .land import Landing
from .notes import Note, duplicate_rows, note_mask, note_warnings
from .parse import (_DIRECTION_SYNONYMS, _STAGE_SYNONYMS, _bool, _customer_id, _day_first, _enum,
                    _epoch, _finite, _ident, _instant, _iso, _local_iso, _local_time_layers, _metric, _number, _q,
                    _text, _wall_time, attr_layers)
from .report import ERROR_COLUMNS, MAX_ERRORS, ImportFailed, ImportReport, Progress, plain_errors
from . import source as _source
from .source import _NotStrict, _Retry, with_retries


def _no_nul(c: str) -> str:
    return f"CASE WHEN contains({c}, chr(0)) THEN replace({c}, chr(0), '') ELSE {c} END"


def _constant_label(target: str) -> str:
    """How a constant is named where a column name would be (reports, notes)."""
    return f"{target} (constant)"


def _constant_target(label: str) -> str | None:
    return label[: -len(" (constant)")] if label.endswith(" (constant)") else None


_UTC_NAMES = {"UTC", "ETC/UTC", "GMT", "ETC/GMT", "UNIVERSAL", "ETC/UNIVERSAL", "ZULU", "ETC/ZULU"}
EARLIEST = date(1970, 1, 1)  # the default plausible range: 1970-01-01 to one year after today


def _as_date(v, name: str) -> date | datetime:
    if isinstance(v, (date, datetime)):
        return v
    try:
        return datetime.fromisoformat(str(v).strip()) if "T" in str(v) or ":" in str(v) else date.fromisoformat(str(v).strip())
    except ValueError:
        raise ImportFailed(f"{name} takes a date like 2020-01-31, not {v!r}.") from None


def plausible_dates(valid_from=None, valid_to=None) -> tuple[date, date, datetime, datetime]:
    """The range of plausible timestamps (a timestamp outside it is rejected with its row): by
    default 1970-01-01 to one year after today (UTC). Dates are whole days (valid_to included).
    Returns (from, to, lowest and highest timestamp accepted)."""
    today = datetime.now(timezone.utc).date()
    lo = _as_date(valid_from, "valid_from") if valid_from is not None else EARLIEST
    hi = (_as_date(valid_to, "valid_to") if valid_to is not None
          else today.replace(year=today.year + 1) if (today.month, today.day) != (2, 29) else today + timedelta(days=365))
    ts_lo = lo if isinstance(lo, datetime) else datetime.combine(lo, datetime.min.time())
    ts_hi = hi if isinstance(hi, datetime) else datetime.combine(hi, datetime.max.time())
    ts_lo, ts_hi = (d.astimezone(timezone.utc).replace(tzinfo=None) if d.tzinfo else d for d in (ts_lo, ts_hi))
    if ts_lo > ts_hi:
        raise ImportFailed(f"The plausible dates are empty: valid_from {lo} is after valid_to {hi}.")
    return lo, hi, ts_lo, ts_hi


# ----------------------------------------------------------------------------- validation
class Validation(Attributes, Landing):
    """One pass over the file: every value parsed by the contract into a table, with one helper
    column per possible problem (the raw value where it occurred, else NULL)."""

    def __init__(self, src: _source.Source, kind: str, mapping: dict[str, str] | None, timezone: str = "UTC",
                 valid_from: date | datetime | str | None = None, valid_to: date | datetime | str | None = None,
                 constants: dict[str, object] | None = None):
        if kind not in schema.KINDS:
            raise ImportFailed(f"'{kind}' is not a table kind (kinds: {', '.join(schema.KINDS)}).")
        self.src, self.kind, self.spec = src, kind, schema.KINDS[kind]
        self.warnings = list(src.warnings)
        self.constants = self._check_constants(constants or {})
        suggested = {s: t for s, t in src.suggest_mapping(kind).items() if t not in self.constants}
        self.mapping = self._check_mapping(dict(mapping) if mapping else suggested)
        self.timezone = self._check_timezone(timezone)
        self.valid_from, self.valid_to, self._ts_lo, self._ts_hi = plausible_dates(valid_from, valid_to)
        self.table: str | None = None
        self.persistent = False
        self.seconds = 0.0
        self._untyped_at: dict[str, tuple[str, int]] = {}  # attributes made text by the pass: (type, first row)
        self._attrs = self._attribute_types()
        if self.constants:
            self._probe_constants()

    def _check_constants(self, constants: dict[str, object]) -> dict[str, str]:
        """Contract column -> the value every row gets (a column the file lacks: "every row is an
        order"). Parsed and checked like a mapped column (_probe_constants)."""
        out = {}
        for target, value in constants.items():
            if target not in self.spec.column_names:
                raise ImportFailed(f"A constant is given for '{target}', which is not a column of {self.kind} "
                                   f"(columns: {', '.join(self.spec.column_names)}).")
            text = ("true" if value else "false") if isinstance(value, bool) else "" if value is None else str(value)
            if not text.strip():
                raise ImportFailed(f"The constant for {target} is empty: give it a value or leave it out.")
            out[target] = text.replace("\0", "")
        return out

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
            if target in self.constants:
                raise ImportFailed(f"{target} is mapped from the column '{source}' and also given the constant "
                                   f"'{self.constants[target]}': map it or give a constant, not both.")
            used[target] = source
            out[source] = target
        missing = [r for r in self.spec.required if r not in used and r not in self.constants]
        if missing:
            raise ImportFailed(
                f"The required column(s) {', '.join(missing)} of {self.kind} are not mapped. Columns in "
                f"{self.src.file_name}: {', '.join(self.src.columns)}. A column the file lacks can be given a "
                f"constant value (constants={{'{missing[0]}': ...}}; command line: --constant {missing[0]}=...).")
        return out

    def _probe_constants(self) -> None:
        """Each constant parsed and checked like a mapped column, once, before any row is read: a
        constant that is not a number for amount (a stage for stage ...) is an ImportFailed."""
        sql, params = self._select(probe=True)
        cur = self.src.cur
        cur.sql(f"SET TimeZone = {_q(self.timezone)}")
        try:
            bad = cur.sql(f"SELECT __bad FROM ({sql})", params=params).fetchall()[0][0]
        finally:
            cur.sql("SET TimeZone = 'UTC'")
        for j, (label, _, _, problem) in enumerate(self.problems):
            target = _constant_target(label)
            if target in self.constants and bad >> j & 1:
                raise ImportFailed(f"The constant '{self.constants[target]}' given for {target} is not usable: "
                                   f"{problem}.")

    def _check_timezone(self, tz: str) -> str:
        ok = self.src.cur.sql("SELECT count(*) FROM pg_timezone_names() WHERE name = $tz",
                              params={"tz": tz}).fetchall()[0][0]
        if not ok:
            raise ImportFailed(f"'{tz}' is not a time zone name (for example UTC, Europe/Paris).")
        return tz

    # -- the SQL of the pass -------------------------------------------------------------
    def _select(self, strict: bool = False, probe: bool = False) -> tuple[str, dict]:
        """The pass as layers of SELECT *, ... (each expression is evaluated once a row): raw text
        columns c0..cN -> text __t{i} -> parsed contract columns -> __bad (problems bitmask), __raw
        (the raw values of bad rows) and __note (notes bitmask); attributes, typed, with
        __untyped{j} (the rows whose value did not read). `probe`: over one row of empty values
        (the constants' check)."""
        src = self.src
        self.warnings = list(src.warnings)  # a retried pass says its notes once
        rel, params = src.relation(rejects=None if strict else src.name, strict=strict)
        nul = src.may_hold_nul
        utc = self.timezone.upper() in _UTC_NAMES
        texts, epochs, parsed, problems, notes = [], [], [], [], []
        local: list[list[list[str]]] = []  # per timestamp column (other time zones than UTC): its layers
        raw_cols = []
        # the contract columns: from a column of the file (c{key}), or a constant (a parameter)
        inputs = [(s, t, str(src.columns.index(s)), f"c{src.columns.index(s)}") for s, t in self.mapping.items()]
        inputs += [(_constant_label(t), t, f"k_{t}", f"CAST($k_{t} AS VARCHAR)") for t in self.constants]
        params.update({f"k_{t}": v for t, v in self.constants.items()})
        self._labels = {t: s for s, t, _, _ in inputs}
        for source, target, key, c in inputs:
            col = self.spec.column(target)
            t = f"__t{key}"
            const = target in self.constants
            x = _no_nul(c) if nul and not const else c  # NUL characters are removed (and noted)
            if not const:
                raw_cols.append(c)
            # Blank = missing. Text is kept as written; typed values are trimmed inside their (rarely
            # taken) slow paths: casts ignore edge spaces.
            texts.append(f"NULLIF({x}, '') AS {t}")
            if target == "customer_id":
                expr = _customer_id(t)
                notes.append(Note(f"customer_id IS DISTINCT FROM {t}",
                                  "{n} customer id{s} {were} normalised (white space at the edges, Unicode NFC, "
                                  "full-width or zero-width characters), so the same customer is one id: {rows}."))
            elif target == "metric":
                expr = _metric(t)
                notes.append(Note(f"metric IS DISTINCT FROM {t}",
                                  "{n} metric name{s} {were} trimmed or put in lower case (so 'NPS ' is nps and its "
                                  "scale is checked): {rows}."))
            elif col.type == "text":
                expr = t
            elif col.type == "timestamp":
                texts[-1] += f", {_iso(x)} AS __iso{key}" + ("" if utc else f", {_local_iso(x)} AS __loc{key}")
                values = ([self.constants[target]] if const else
                          src.sample[c].drop_nulls().to_list() if src.sample.height else [])
                day_first, note = _day_first(values)
                if note:
                    self.warnings.append(f"'{source}' " + note.format("day first" if day_first else "month first")
                                         + ".")
                epochs.append(f"{_epoch(t, f'__iso{key}')} AS __ep{key}")
                wall = _wall_time(t, f"__iso{key}", f"__ep{key}", day_first, self._sample_format(values, day_first))
                if utc:  # (each expression once in a layer: a repeated one would run on every row)
                    expr = f"{_instant(f'__iso{key}', f'__ep{key}', wall)} AT TIME ZONE 'UTC'"
                else:
                    parsed.append(f"{wall} AS __wall{key}")
                    local.append(_local_time_layers(key) + [[f"__at{key} AT TIME ZONE 'UTC' AS {target}"]])
                    notes.append(Note(f"__amb{key}", f"{{n}} ambiguous local time{{s}} in '{source}' (occurring twice "
                                      f"in {self.timezone}: the clocks went back) read as the earlier instant "
                                      f"(summer time): {{rows}}."))
                    notes.append(Note(f"__gap{key}", f"{{n}} non-existent local time{{s}} in '{source}' (skipped in "
                                      f"{self.timezone}: the clocks went forward) moved forward by the gap "
                                      f"(a one-hour gap reads 02:30 as 03:30): {{rows}}."))
                    expr = None
                problems.append((source, f"{target} NOT BETWEEN $ts_lo AND $ts_hi", t,
                                 f"outside the plausible dates {self.valid_from:%Y-%m-%d} to "
                                 f"{self.valid_to:%Y-%m-%d}"))
                params.update(ts_lo=self._ts_lo, ts_hi=self._ts_hi)
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
            if expr is not None:
                parsed.append(f"{expr} AS {target}")
            if col.required:
                missing = f"{target} IS NULL" if col.type == "text" else f"{t} IS NULL"
                problems.append((source, missing, f"coalesce({t}, '')", f"missing {target}"))
            if col.type != "text":
                what = {"timestamp": "a date/time", "decimal": "a number", "float": "a number",
                        "bool": "true/false", "stage": f"a stage ({', '.join(schema.STAGES)})",
                        "direction": "inbound or outbound"}[col.type]
                problems.append((source, f"{t} IS NOT NULL AND {target} IS NULL", t, f"cannot read as {what}"))
            if col.type in ("decimal", "float"):
                problems.append((source, _finite(target), t, "not a finite number"))
            if target == "sentiment":
                problems.append((source, f"isfinite({target}) AND {target} NOT BETWEEN -1 AND 1", t,
                                 "sentiment outside -1..1"))
            if target == "comment":
                from ..voc.sentiment import MAX_SCORED_CHARS  # (voc loads Ibis: only for feedback, which it scores)

                notes.append(Note(f"strlen(comment) > {MAX_SCORED_CHARS} AND length(comment) > {MAX_SCORED_CHARS}",
                                  f"{{n}} comment{{s}} longer than {MAX_SCORED_CHARS:,} characters: the sentiment "
                                  f"is read from the first {MAX_SCORED_CHARS:,} (the whole comment is kept): "
                                  f"{{rows}}."))
        if self.kind == "feedback" and "score" in self._labels:
            s_src, t = self._labels["score"], f"__t{next(k for _, tg, k, _ in inputs if tg == 'score')}"
            for m, (lo, hi, _) in schema.METRIC_SCALES.items():
                problems.append((s_src, f"metric = {_q(m)} AND isfinite(score) AND score NOT BETWEEN {lo} AND {hi}",
                                 t, f"outside the {m} scale {lo}–{hi}"))
        # the attributes: text as it is (customers, and columns whose values are text), or typed over
        # three layers (attr_layers) with a bitmask of the rows whose value did not read (__untyped{j})
        self._extra = []
        extra_sel, typed_layer = [], []
        typed = self._typed_attrs()
        untyped: list[list[str]] = [[] for _ in range(_chunks(typed))]
        for source, (name, typ, dates) in self._attrs.items():
            i = src.columns.index(source)
            raw_cols.append(f"c{i}")
            x = _no_nul(f"c{i}") if nul else f"c{i}"
            self._extra.append(name)
            if typ == "VARCHAR":
                extra_sel.append(f"{_text(x)} AS {_ident(name)}")  # names: [a-z][a-z0-9_]* (schema.attribute_names)
                continue
            a = f"__a{i}"
            extra_sel.append(f"{_text(x)} AS {a}")
            q, parse, value = attr_layers(a, name, typ, src.decimal_comma, dates)
            epochs.append(q)
            parsed.append(parse)
            typed_layer.append(value)
            k = typed.index(source)
            untyped[k // _PER_MASK].append(f"(CASE WHEN {a} IS NOT NULL AND {_ident(name)} IS NULL THEN "
                                           f"{1 << (k % _PER_MASK)} ELSE 0 END)")
        if nul:
            texts.append(f"({' OR '.join(f'contains({c}, chr(0))' for c in raw_cols) or 'false'}) AS __nul")
            notes.insert(0, Note("__nul", "NUL characters (\\0) were removed from the values of {n} row{s}: {rows}."))
        if self.kind == "customers":  # a later row of a customer_id is a duplicate
            cid = self._labels["customer_id"]
            problems.append((cid, "__dup > 1", "customer_id", "duplicate customer_id (the first row with it is kept)"))
        self.problems, self.notes = problems, notes
        # Three helper columns, whatever the number of checks: __bad, a bitmask of the problems of
        # the row (0 = accepted), __raw, the raw values of the checked columns on bad rows only, and
        # __note, a bitmask of the notes.
        marks = [f"__untyped{j}" for j in range(len(untyped))]
        self.helpers = ["__bad", "__raw", "__note"] + marks + (["__i"] if self.kind == "customers" else [])
        mapped = set(self._labels)
        out = [(c if c in mapped else f"NULL::{schema.SQL_TYPES[self.spec.column(c).type]}") + f" AS {c}"
               for c in self.spec.column_names]
        mask = " + ".join(f"(CASE WHEN {cond} THEN {1 << j} ELSE 0 END)"
                          for j, (_, cond, _, _) in enumerate(problems)) or "0"
        raws = ", ".join(f"CAST({raw} AS VARCHAR)" for _, _, raw, _ in problems)
        number = "row_number() OVER () AS __i, " if self.kind == "customers" else ""  # the window's file order
        if probe:  # one row of empty values: only the constants are checked
            rel = "SELECT " + ", ".join(f"NULL::VARCHAR AS c{i}" for i in range(len(src.columns)))
            params = {k: v for k, v in params.items() if k in ("ts_lo", "ts_hi") or k.startswith("k_")}
        sql = f"SELECT {number}{', '.join(texts + extra_sel) or '*'} FROM ({rel})"
        for layer in [epochs, parsed, *(sum(ls, []) for ls in itertools.zip_longest(*local, fillvalue=[])),
                      typed_layer]:
            if layer:
                sql = f"SELECT *, {', '.join(layer)} FROM ({sql})"
        if self.kind == "customers":
            sql = f"SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY __i) AS __dup FROM ({sql})"
        flagged = "".join(f", ({' + '.join(u)})::BIGINT AS {m}" for m, u in zip(marks, untyped))
        flagged = (f"SELECT *, ({mask})::BIGINT AS __bad, ({note_mask(notes)})::BIGINT AS __note{flagged} "
                   f"FROM ({sql})")
        keep = "".join(f", {m}" for m in marks) + (", __i" if self.kind == "customers" else "")
        sql = (f"SELECT {', '.join(out + [_ident(e) for e in self._extra])}, __bad, "
               f"CASE WHEN __bad <> 0 THEN [{raws}] END AS __raw, __note{keep} FROM ({flagged})")
        return sql, params

    def run(self, into: str | None = None, strict: bool = False) -> None:
        """The pass: into a temporary table (a check), or into ``into`` (a persistent table, inside
        the caller's transaction: the one-pass import). strict: the fast read that stops at the
        first malformed CSV row (raises _NotStrict: run again with strict=False)."""
        src, cur, t0 = self.src, self.src.cur, time.time()
        strict = strict and src.format == "csv"
        src.progress(0.1, f"Reading and checking every row of {src.file_name}")
        self.persistent = into is not None
        self.table = into or f"{src.name}_v"
        cur.sql(f"SET TimeZone = {_q(self.timezone)}")  # validated against pg_timezone_names
        try:
            for again in (False, True):
                sql, params = self._select(strict=strict)
                cur.sql(f"DROP TABLE IF EXISTS {self.table}")
                with _progress_poller(cur, src.progress, 0.1, 0.8,
                                      f"Reading and checking every row of {src.file_name}"):
                    cur.sql(f"CREATE {'' if into else 'TEMP '}TABLE {self.table} AS {sql}", params=params)
                failed = {} if again else self._untyped()
                if not failed:
                    break
                # a typed attribute with a value that does not read (past the sample): text, read again
                self._as_text(failed)
                for t in ("rj", "rs"):
                    cur.sql(f"DROP TABLE IF EXISTS {src.name}_{t}")
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
        self.warnings += note_warnings(cur, self.table, self._index, self._rid0, self.notes, src._row_numbers)
        self.warnings += self._attribute_warning()
        if self.kind != "customers" and self.accepted:  # customers: a repeated id is rejected already
            dup = duplicate_rows(cur, self.table, list(self.mapping.values()) + self._extra, list(self.spec.key_columns))
            if dup:
                self.warnings.append(f"{dup:,} row{'s' if dup != 1 else ''} repeat{'' if dup != 1 else 's'} an earlier "
                                     f"row exactly (every imported column equal); imported.")
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
        """The first accepted rows after mapping and parsing (what will land): the mapped columns,
        the constants, the attributes."""
        cols = list(self.mapping.values()) + list(self.constants) + self._extra
        return self.src.cur.sql(f"SELECT {', '.join(_ident(c) for c in cols)} FROM {self.table} "
                                f"WHERE NOT ({self._bad}) ORDER BY {self._index} LIMIT {int(n)}").pl()

    def report(self, dataset: str | None = None, imported: bool = False, seconds: float = 0.0) -> ImportReport:
        return ImportReport(kind=self.kind, dataset=dataset, file_name=self.src.file_name,
                            rows_read=self.rows_read, accepted=self.accepted, rejected=self.rejected,
                            errors=self.errors, warnings=list(self.warnings), mapping=dict(self.mapping),
                            imported=imported, seconds=seconds or self.seconds, error_count=self.error_count,
                            events_seconds=self.events_seconds,
                            constants=dict(self.constants), attributes=self.attributes,
                            delimiter=self.src.delimiter if self.src.format == "csv" else None,
                            read_as=self.src.read_as)


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


class Source(_source.Source):
    """A file to import (see cx.ingest.source.Source) that can check itself: validate() reads and
    checks every row (Validation), commit() on the result imports it."""

    def validate(self, kind: str | None = None, mapping: dict[str, str] | None = None,
                 timezone: str = "UTC", valid_from=None, valid_to=None,
                 constants: dict[str, object] | None = None) -> "Validation":
        """Read and check the whole file (into a temporary table); commit() imports it. Timestamps
        outside valid_from..valid_to (default 1970-01-01 to a year after today) are rejected.
        `constants`: contract column -> the value of every row (a column the file lacks)."""
        with plain_errors(self.file_name):
            v = Validation(self, kind or self.detect_kind(), mapping, timezone, valid_from, valid_to, constants)
            with_retries(self, lambda strict: v.run(strict=strict))
        return v
