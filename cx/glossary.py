"""One glossary: every metric's definition, in one place. It feeds the hover help of the app's
cards and charts, the Glossary page, and the README's metric section (`python -m cx glossary`
prints it; a test checks that the README carries exactly that text).

Each definition says what the function computes (the function named in `api` is the one
definition of the metric, used by every page, the CLI and the tests)."""
from __future__ import annotations

from . import journey, overview, profile
from .terms import Term

AREAS = ("Dataset", "Journey", "Life cycle", "Loyalty & trust", "Teams", "Segments", "Value",
         "Voice of the customer", "Overview")


# Every area keeps its definitions next to the functions that compute them: each module exports
# GLOSSARY = (Term, ...) (or, while an area moves to that shape, ({"key", "name", "definition",
# "api", "page"}, ...)). The README's order: Dataset, Journey, the areas below, then Overview.
_AREA_MODULES = (("Life cycle", "lifecycle"), ("Loyalty & trust", "loyalty"), ("Teams", "teams"),
                 ("Segments", "segments"), ("Value", "clv"), ("Voice of the customer", "voc"))


def _module_terms() -> tuple[Term, ...]:
    import importlib

    out = []
    for area, mod in _AREA_MODULES:
        for d in getattr(importlib.import_module(f"cx.{mod}"), "GLOSSARY", ()):
            if isinstance(d, Term):  # the one shape (areas move to it one by one)
                out.append(d)
            else:
                out.append(Term(d["key"], d["name"], area, d["definition"], d.get("api", ""), d.get("page", "")))
    return tuple(out)


TERMS: tuple[Term, ...] = profile.GLOSSARY + journey.GLOSSARY + _module_terms() + overview.GLOSSARY
_BY_KEY = {t.key: t for t in TERMS}
assert len(_BY_KEY) == len(TERMS), "duplicate glossary keys"
assert all(t.area in AREAS for t in TERMS)


def term(key: str) -> Term:
    return _BY_KEY[key]


def help_text(key: str) -> str:
    """The hover help of a card or chart: the definition (and where it is computed)."""
    t = _BY_KEY.get(key)
    return "" if t is None else f"{t.definition}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """The README's metric section: one table per area."""
    out = []
    for area in AREAS:
        terms = [t for t in TERMS if t.area == area]
        if not terms:
            continue
        out += [f"### {area}", "", "| metric | definition | function |", "| --- | --- | --- |"]
        out += [f"| {t.name} | {_cell(t.definition)} | `{t.api}` |" for t in terms]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
