"""One glossary feeds the hover help, the Glossary page and docs/metrics.md: they must agree."""
import importlib

from cx import glossary
from tests.conftest import ROOT

START, END = "<!-- glossary:start -->", "<!-- glossary:end -->"


def test_the_metrics_page_is_the_glossary():
    doc = (ROOT / "docs" / "metrics.md").read_text()
    assert START in doc and END in doc, "docs/metrics.md lost its glossary markers"
    block = doc.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert block == glossary.markdown(), "docs/metrics.md differs from the glossary: run `python -m cx glossary`"


def test_every_term_names_a_function_that_exists_and_a_known_area():
    for t in glossary.TERMS:
        assert t.area in glossary.AREAS and t.definition and t.name
        mod, _, fn = t.api.rpartition(".")
        assert callable(getattr(importlib.import_module(mod), fn)), t.api
        assert (ROOT / glossary.source_file(t.api)).is_file(), t.api


def test_help_text():
    assert glossary.help_text("loop_rate").startswith("Share of customers")
    assert glossary.help_text("no such metric") == ""
