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


def _ident(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"unsafe identifier {name!r}")
    return f'"{name}"'
