"""One glossary: every metric's definition, in one place. It feeds the hover help of the app's
cards and charts, the Glossary page, and docs/metrics.md (`python -m cx glossary` prints it; a
test checks that the docs carry exactly that text).

Each definition says what the function computes (the function named in `api` is the one
definition of the metric, used by every page, the CLI and the tests)."""
from __future__ import annotations

from . import cases, clv, journey, lifecycle, loyalty, overview, profile, segments, teams, voc
from .terms import Term

AREAS = ("Dataset", "Journey", "Life cycle", "Loyalty & trust", "Teams", "Segments", "Value",
         "Voice of the customer", "Overview", "Closed loop")

# Every area keeps its definitions next to the functions that compute them: each module or package
# exports GLOSSARY = (Term, ...). The order of docs/metrics.md: Dataset, Journey, the areas, Overview, Closed loop.
TERMS: tuple[Term, ...] = (profile.GLOSSARY + journey.GLOSSARY + lifecycle.GLOSSARY + loyalty.GLOSSARY
                           + teams.GLOSSARY + segments.GLOSSARY + clv.GLOSSARY + voc.GLOSSARY + overview.GLOSSARY
                           + cases.GLOSSARY)
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


def source_file(api: str) -> str:
    """The file (relative to the project) that holds the function named by `api`, e.g.
    "cx.journey.funnel" -> "cx/journey/funnel.py": where a metric's one definition lives."""
    import importlib
    import inspect
    from pathlib import Path

    mod, _, name = api.rpartition(".")
    fn = inspect.unwrap(getattr(importlib.import_module(mod), name))
    path = Path(inspect.getsourcefile(fn)).resolve()
    return path.relative_to(Path(__file__).resolve().parent.parent).as_posix()


def markdown() -> str:
    """docs/metrics.md's definitions: one table per area, each metric with its function and the
    file that holds it."""
    out = []
    for area in AREAS:
        terms = [t for t in TERMS if t.area == area]
        if not terms:
            continue
        out += [f"## {area}", "", "| metric | definition | function (file) |", "| --- | --- | --- |"]
        out += [f"| {t.name} | {_cell(t.definition)} | `{t.api}` ({source_file(t.api)}) |" for t in terms]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
