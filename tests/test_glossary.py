"""One glossary feeds the hover help, the Glossary page and the README: they must agree."""
import importlib

from cx import glossary
from tests.conftest import ROOT

START, END = "<!-- glossary:start -->", "<!-- glossary:end -->"


def test_readme_metric_section_is_the_glossary():
    readme = (ROOT / "README.md").read_text()
    assert START in readme and END in readme, "the README lost its glossary markers"
    block = readme.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert block == glossary.markdown(), "README metric section differs: run `python -m cx glossary`"


def test_every_term_names_a_function_that_exists_and_a_known_area():
    for t in glossary.TERMS:
        assert t.area in glossary.AREAS and t.definition and t.name
        mod, _, fn = t.api.rpartition(".")
        assert callable(getattr(importlib.import_module(mod), fn)), t.api


def test_help_text():
    assert glossary.help_text("loop_rate").startswith("Share of customers")
    assert glossary.help_text("no such metric") == ""
