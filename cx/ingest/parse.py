"""SQL expressions that parse text values by the data contract (numbers, timestamps, enums,
booleans). Constants of this module reach SQL as literals; user data never does."""
from __future__ import annotations

import re


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
    if decimal_comma:  # NaN and Infinity are read as numbers (and then rejected) in every file
        return (f"(CASE WHEN {t} IS NULL THEN NULL WHEN NOT isfinite(TRY_CAST({t} AS DOUBLE)) "
                f"THEN TRY_CAST({t} AS DOUBLE) ELSE {slow} END)")
    return f"coalesce(TRY_CAST({t} AS DOUBLE), CASE WHEN {t} IS NOT NULL THEN {slow} END)"


# Unicode white space (the White_Space property): trimmed from the edges of ids and metric names
_EDGE_SPACE = r"^[\t-\r\x{85}\p{Z}]+|[\t-\r\x{85}\p{Z}]+$"
# full-width ASCII forms U+FF01..U+FF5E -> U+0021..U+007E; zero-width characters (no counterpart: removed)
_FULLWIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def _customer_id(t: str) -> str:
    """t: a text column (blank = NULL). Customer ids are one key across interactions, customers and
    feedback, so invisible differences must not make two customers: NFC, full-width ASCII forms ->
    ASCII, zero-width characters removed, Unicode white space trimmed at the edges. Plain ASCII ids
    without edge white space (nearly all) take the fast path: two length functions and two bytes."""
    slow = (f"NULLIF(regexp_replace(translate(nfc_normalize({t}), {_q(_FULLWIDTH + _ZERO_WIDTH)}, {_q(_ASCII)}), "
            f"{_q(_EDGE_SPACE)}, '', 'g'), '')")
    return (f"(CASE WHEN strlen({t}) = length({t}) AND ascii({t}) > 32 AND ascii(right({t}, 1)) > 32 "
            f"THEN {t} ELSE {slow} END)")


def _metric(t: str) -> str:
    """Metric names are matched to their scales trimmed and in lower case ('NPS ' is nps)."""
    return f"NULLIF(lower(regexp_replace({t}, {_q(_EDGE_SPACE)}, '', 'g')), '')"


def _finite(x: str) -> str:
    """A condition: the parsed number is NaN or infinite (the value is rejected, whatever the delimiter)."""
    return f"NOT isfinite({x})"


def _iso(x: str, typ: str = "TIMESTAMPTZ") -> str:
    """ISO 8601 by DuckDB's cast, only for values that begin with a digit (after spaces): the words
    the cast would also read ('epoch', 'infinity', '-infinity') are not dates."""
    return (f"CASE WHEN ascii({x}) BETWEEN 48 AND 57 OR (ascii({x}) = 32 AND ascii(ltrim({x})) BETWEEN 48 AND 57) "
            f"THEN TRY_CAST({x} AS {typ}) END")


def _local_iso(x: str) -> str:
    """The wall time of an ISO value that carries no offset or zone name (no '+', no '-' after the
    date, ends with a digit: not 'Z', '+02:00', '-05', ' CET', ' Europe/Paris'), else NULL: only
    such a value can fall where the clocks skip or repeat. Cheap tests first, one cast."""
    return (f"CASE WHEN ascii(right(rtrim({x}), 1)) BETWEEN 48 AND 57 AND NOT contains({x}, '+') AND NOT "
            f"contains(substr(ltrim({x}), 11), '-') THEN {_iso(x, 'TIMESTAMP')} END")


def _epoch(t: str, iso: str) -> str:
    """Epoch seconds (9-10 digits) or milliseconds (12-13) where the ISO cast failed: an instant."""
    return (f"CASE WHEN {iso} IS NULL AND {t} IS NOT NULL THEN CASE "
            f"WHEN regexp_matches({t}, '^\\d{{9,10}}(\\.\\d+)?$') THEN to_timestamp(TRY_CAST({t} AS DOUBLE)) "
            f"WHEN regexp_matches({t}, '^\\d{{12,13}}$') THEN to_timestamp(TRY_CAST({t} AS DOUBLE) / 1000) END END")


def wall_formats(day_first: bool, first: tuple[str, ...] | str | None = None) -> list[str]:
    """The day- or month-first and named-month formats, in the order they are tried; `first` (the
    formats the file's first rows are written in) at the front: strptime tries the formats one by
    one and a failed try costs (yyyymmdd, the last, would cost 20 tries a value: 14 s per million
    rows instead of 1). The formats are exclusive on a full match but for %Y, which also reads a
    two-digit year as the year 24: the %y formats come before the others (and a %y format the first
    rows use before its %Y twin), so the order does not change which one reads a value."""
    formats = (_TS_FORMATS_DMY if day_first else _TS_FORMATS_MDY) + _TS_FORMATS_TEXT
    head = [f for f in ((first,) if isinstance(first, str) else first or ()) if f in formats]
    short = [f for f in formats if "%y" in f and f not in head]
    return head + short + [f for f in formats if "%y" not in f and f not in head]


def _wall_time(t: str, iso: str, epoch: str, day_first: bool, first: tuple[str, ...] | str | None = None) -> str:
    """Day- or month-first and named-month formats, where neither ISO nor epoch read the value: a
    local wall time (TIMESTAMP, no offset). A value without a digit is no date (strptime, too,
    reads 'epoch' and 'infinity'). `first`: see wall_formats."""
    return (f"CASE WHEN {iso} IS NULL AND {epoch} IS NULL AND regexp_matches({t}, '[0-9]') THEN "
            f"try_strptime(trim({t}), {_list(wall_formats(day_first, first))}) END")


def _instant(iso: str, epoch: str, wall: str) -> str:
    """TIMESTAMPTZ: ISO (any offset; none: the session's time zone = the import's), epoch, or the
    wall time in the import's time zone. Local times the clocks skip or repeat are resolved by
    DuckDB here (skipped: moved forward by the gap; repeated: the later instant) and corrected to
    the stated rule by the local-time layers."""
    return f"coalesce({iso}, {epoch}, CAST({wall} AS TIMESTAMPTZ))"


def _local_time_layers(i: int) -> list[list[str]]:
    """Layers (SELECT *, ... over the previous one) that find the local times without an offset that
    the import's time zone skips (clocks going forward: no such time) or repeats (clocks going back:
    two instants), for timestamp column i: columns __gap{i} and __amb{i} (booleans), and __at{i}, the
    instant by the stated rule: a skipped time moves forward by the gap (02:30 -> 03:30), a repeated
    one is the earlier instant (summer time). In: __iso{i}, __loc{i} (the wall time of an ISO value
    without an offset), __ep{i}, __wall{i}. Only when the import's time zone is not UTC."""
    n, inst, loc = f"__n{i}", f"__inst{i}", f"__lt{i}"
    return [
        # DuckDB's instant; the wall time as written (NULL for epoch values); the wall time of the instant
        [f"{_instant(f'__iso{i}', f'__ep{i}', f'__wall{i}')} AS {inst}",
         f"CASE WHEN __iso{i} IS NOT NULL THEN __loc{i} ELSE __wall{i} END AS {n}"],
        [f"CASE WHEN {n} IS NOT NULL THEN CAST({inst} AS TIMESTAMP) END AS {loc}"],
        # d: how much the offset fell in the 3 hours before the instant (clocks went back)
        [f"CASE WHEN {n} = {loc} THEN CAST({inst} - INTERVAL 3 HOUR AS TIMESTAMP) + INTERVAL 3 HOUR - {loc} "
         f"END AS __d{i}", f"{n} <> {loc} AS __gap0{i}"],
        [f"coalesce(__d{i} > INTERVAL '0 seconds' AND CAST({inst} - __d{i} AS TIMESTAMP) = {n}, false) AS __amb{i}",
         f"coalesce(__gap0{i}, false) AS __gap{i}"],
        [f"CASE WHEN __amb{i} THEN {inst} - __d{i} ELSE {inst} END AS __at{i}"],
    ]


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


def _ident(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"unsafe identifier {name!r}")
    return f'"{name}"'


# ----------------------------------------------------------------------------- typed attributes
# Extra columns (attributes) are typed by their values: a number, a date/time, true/false, else
# text. A value with a leading zero ('007', '01234') or an integer of more than 15 digits is an
# identifier, not a number (a number would lose the zero or the last digits): such a column is text.
ATTRIBUTE_TYPES = {"DOUBLE": "number", "TIMESTAMP": "date/time", "BOOLEAN": "true/false", "VARCHAR": "text"}
_TYPE_PLURAL = {"DOUBLE": "numbers", "TIMESTAMP": "dates/times", "BOOLEAN": "true/false values", "VARCHAR": "text"}
_ATTR_BOOL = {"true": True, "yes": True, "t": True, "y": True, "1": True,
              "false": False, "no": False, "f": False, "n": False, "0": False}


def _identifier_like(t: str) -> str:
    """A condition on a trimmed text: it looks like an identifier rather than a number."""
    return (f"((ascii({t}) = 48 AND ascii(substr({t}, 2, 1)) BETWEEN 48 AND 57) OR "
            f"(strlen({t}) > 15 AND TRY_CAST({t} AS HUGEINT) IS NOT NULL))")


def _attr_bool(t: str) -> str:
    pairs = ", ".join(f"{_q(k)}: {'true' if v else 'false'}" for k, v in _ATTR_BOOL.items())
    return f"map_extract_value(MAP {{{pairs}}}, lower({t}))"


def attr_value(t: str, typ: str, decimal_comma: bool = False, dates: tuple = (True, None)) -> str:
    """SQL: a trimmed text attribute value `t` read as `typ` (DOUBLE, TIMESTAMP, BOOLEAN or VARCHAR);
    NULL when it does not read. One expression (for samples and for the values of a table being
    appended to; the pass uses attr_layers, which evaluate each slow part once). Timestamps without
    an offset are in the session's time zone, stored as naive UTC; `dates`: (day first, the formats
    tried first) of the other date formats (_wall_time)."""
    if typ == "DOUBLE":
        n = _number(t, decimal_comma)
        return f"(CASE WHEN {_identifier_like(t)} THEN NULL WHEN isfinite({n}) THEN {n} END)"
    if typ == "TIMESTAMP":
        iso = _iso(t)
        return (f"(coalesce({iso}, CAST({_wall_time(t, iso, 'NULL', *dates)} AS TIMESTAMPTZ)) "
                f"AT TIME ZONE 'UTC')")
    if typ == "BOOLEAN":
        return _attr_bool(t)
    return t


def attr_layers(t: str, out: str, typ: str, decimal_comma: bool, dates: tuple) -> tuple[str, str, str]:
    """The pass's expressions for a typed attribute, one per layer (each slow part once): an
    intermediate over `t` (the trimmed text, a column of the layer before), the parsed value
    `__p_<out>`, and the attribute `out` (a safe identifier) from it."""
    p = f"__p_{out}"
    if typ == "DOUBLE":
        return (f"CASE WHEN NOT {_identifier_like(t)} THEN {t} END AS __q_{out}",
                f"{_number(f'__q_{out}', decimal_comma)} AS {p}",
                f"CASE WHEN isfinite({p}) THEN {p} END AS {_ident(out)}")
    if typ == "TIMESTAMP":
        iso = f"__q_{out}"
        return (f"{_iso(t)} AS {iso}",
                f"coalesce({iso}, CAST({_wall_time(t, iso, 'NULL', *dates)} AS TIMESTAMPTZ)) AT TIME ZONE 'UTC' "
                f"AS {p}", f"{p} AS {_ident(out)}")
    if typ == "BOOLEAN":
        return (f"{t} AS __q_{out}", f"{_attr_bool(f'__q_{out}')} AS {p}", f"{p} AS {_ident(out)}")
    raise ValueError(typ)


def attr_text(c: str, typ: str) -> str:
    """SQL: a typed attribute column as text, the way it would be written (5 not 5.0, a date
    without a midnight time)."""
    if typ == "DOUBLE":
        return (f"CASE WHEN {c} = trunc({c}) AND abs({c}) < 1e15 THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) "
                f"ELSE CAST({c} AS VARCHAR) END")
    if typ == "TIMESTAMP":
        return f"CASE WHEN {c} = date_trunc('day', {c}) THEN strftime({c}, '%Y-%m-%d') ELSE CAST({c} AS VARCHAR) END"
    if typ == "BOOLEAN":
        return f"CAST({c} AS VARCHAR)"
    return c
