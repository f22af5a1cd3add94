"""Attributes: the columns of a file outside the data contract, kept. Typed by their values on the
first rows (a number, a date/time, true/false, else text) and checked on every row by the pass: a
value that does not read makes its column text (the pass runs again), never a rejected row."""
from __future__ import annotations

import re

import polars as pl

from .. import schema
from .parse import _TYPE_PLURAL, ATTRIBUTE_TYPES, _day_first, _q, attr_value, wall_formats

_TYPED_ORDER = ("DOUBLE", "TIMESTAMP", "BOOLEAN")  # an attribute's type: the first its values all read as
_PER_MASK = 62  # typed attributes per __untyped bitmask column
# attribute names that hold identifiers (never a number, even when every value is digits)
_IDENTIFIER_NAME = re.compile(r"(^|_)(id|ids|uuid|guid|key|code|sku|ean|isbn|zip|zipcode|postcode|postal_code|phone|"
                              r"number|no|nr|ref|reference)$")


def _chunks(typed: list) -> int:
    return -(-len(typed) // _PER_MASK)


class Attributes:
    """The attribute half of a Validation: which columns are attributes, their types, and what the
    pass found (see cx.ingest.validate)."""

    def _attribute_types(self) -> dict[str, tuple[str, str, tuple]]:
        """Source column -> (attribute name, type, (day first, date formats tried first)) for each
        column not mapped: typed by the sample's values (every non-empty value a number: DOUBLE;
        else a date/time: TIMESTAMP; else true/false: BOOLEAN; else VARCHAR; a name that holds
        identifiers: VARCHAR). Customers' attributes are text. The pass checks every row and turns
        a column whose values do not all read into text (Validation.run)."""
        src = self.src
        names = schema.attribute_names(self.kind, src.columns, set(self.mapping))
        if not self.spec.typed_attributes or not names:
            return {s: (n, "VARCHAR", (True, ())) for s, n in names.items()}
        typed = [s for s, n in names.items() if not _IDENTIFIER_NAME.search(n)]
        out = {s: (n, "VARCHAR", (True, ())) for s, n in names.items()}
        if not typed or src.sample.height == 0:
            return out
        col = {s: f"c{src.columns.index(s)}" for s in typed}
        left = [s for s in typed if src.sample[col[s]].str.strip_chars().replace("", None).drop_nulls().len()]
        for typ in _TYPED_ORDER:  # each type tried on the columns no earlier type took (one query each)
            if not left:
                break
            sel, dates = [], {}
            for s in left:
                t = f"NULLIF(trim({col[s]}), '')"
                if typ == "TIMESTAMP":
                    values = src.sample[col[s]].drop_nulls().to_list()
                    day_first = _day_first(values)[0]
                    dates[s] = (day_first, self._sample_format(values, day_first))
                sel += [f"count({t})", f"count({attr_value(t, typ, src.decimal_comma, dates.get(s, (True, ())))})"]
            rows = ", ".join(f"unnest(${col[s]}) AS {col[s]}" for s in left)  # lists: no Arrow needed
            counts = src.cur.sql(f"SELECT {', '.join(sel)} FROM (SELECT {rows})",
                                 params={col[s]: src.sample[col[s]].to_list() for s in left}).fetchall()[0]
            took = {s for k, s in enumerate(left) if counts[2 * k] and counts[2 * k + 1] == counts[2 * k]}
            for s in took:
                out[s] = (names[s], typ, dates.get(s, (True, ())))
            left = [s for s in left if s not in took]
        return out

    @property
    def attributes(self) -> dict[str, str]:
        """Attribute name -> its type (DOUBLE, TIMESTAMP, BOOLEAN or VARCHAR): the columns outside
        the contract, kept."""
        return {n: typ for n, typ, _ in self._attrs.values()}

    def _attribute_warning(self) -> list[str]:
        if not self._attrs:
            return []
        said = ", ".join((f"{n}" if n == s else f"'{s}' as {n}") + f" ({ATTRIBUTE_TYPES[typ]})"
                         for s, (n, typ, _) in self._attrs.items())
        notes = []
        for s, (typ, idx) in self._untyped_at.items():
            row = self.src._row_numbers(pl.Series([idx], dtype=pl.Int64))[0]
            notes.append(f"{self._attrs[s][0]} is kept as text: its values read as {_TYPE_PLURAL[typ]} in the first "
                         f"rows, but the one of row {row:,} does not.")
        return [f"Kept as attributes (columns outside the {self.kind} contract, usable as filters and breakdowns): "
                f"{said}."] + notes

    def _sample_format(self, values: list[str], day_first: bool) -> tuple[str, ...]:
        """The date format (of wall_formats) that reads the most of the first rows' values, tried
        first on every row (see wall_formats); its two-digit-year twin before it when some of those
        values have a two-digit year. () when none reads them (ISO dates, epochs, no date)."""
        values = [v.strip() for v in values[:500] if v and v.strip()]
        if not values:
            return ()
        formats = wall_formats(day_first)  # constants of cx.ingest.parse (strptime takes a constant format)
        counts = self.src.cur.sql(f"SELECT {', '.join(f'count(try_strptime(v, {_q(f)}))' for f in formats)} "
                                  f"FROM (SELECT unnest($v) AS v)", params={"v": values}).fetchall()[0]
        n = dict(zip(formats, counts))
        # a %Y format also reads two-digit years: compare it on the values its %y twin does not read
        best = max(formats, key=lambda f: (n[f] - n.get(f.replace("%Y", "%y"), 0) if "%Y" in f else n[f],
                                           -formats.index(f)))
        if not n[best]:
            return ()
        twin = best.replace("%Y", "%y")
        return (twin, best) if twin != best and n.get(twin) else (best,)

    def _untyped(self) -> dict[str, int]:
        """After a pass: the typed attributes (source columns) whose value on some accepted row did
        not read as their type -> the first such row (its index among the records read, from 1)."""
        typed = self._typed_attrs()
        if not typed:
            return {}
        first = ", ".join(f"min(rowid) FILTER (WHERE (__untyped{k // _PER_MASK} >> {k % _PER_MASK}) & 1 = 1)"
                          for k in range(len(typed)))
        got = self.src.cur.sql(f"SELECT (SELECT min(rowid) FROM {self.table}), {first} FROM {self.table} "
                               f"WHERE __bad = 0").fetchall()[0]
        return {s: int(rid - got[0] + 1) for s, rid in zip(typed, got[1:]) if rid is not None}

    def _as_text(self, failed: dict[str, int]) -> None:
        for s, idx in failed.items():
            name, typ, dates = self._attrs[s]
            self._attrs[s] = (name, "VARCHAR", dates)
            self._untyped_at[s] = (typ, idx)

    def _typed_attrs(self) -> list[str]:
        return [s for s, (_, typ, _) in self._attrs.items() if typ != "VARCHAR"]
