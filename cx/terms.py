"""The one shape of a glossary entry. Each area module exports ``GLOSSARY: tuple[Term, ...]``
next to the functions that compute its metrics; :mod:`cx.glossary` gathers them all (hover help,
the Glossary page, docs/metrics.md)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    key: str
    name: str
    area: str
    definition: str
    api: str = ""  # the one function that computes it, e.g. "cx.journey.funnel"
    page: str = ""  # url path of the page that shows it
