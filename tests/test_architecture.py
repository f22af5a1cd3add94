"""The house itself (issue 20): imports go one way, modules stay small, the README is a front door
and every document it or the code cites exists."""
import ast
import re

from tests.conftest import ROOT

MAX_LINES = 600


def _modules(pkg: str, root=ROOT) -> dict[str, object]:
    out = {}
    for p in (root / pkg).rglob("*.py"):
        name = ".".join(p.relative_to(root).with_suffix("").parts)
        out[name[: -len(".__init__")] if name.endswith(".__init__") else name] = p
    return out


def _graph(pkg: str, root=ROOT) -> dict[str, set[str]]:
    """Module -> modules of `pkg` it imports: at the top or inside functions, relative or absolute,
    and every parent package an import runs (importing a.b.c runs a and a.b first). Imports under
    `if TYPE_CHECKING:` never run and do not count."""
    mods = _modules(pkg, root)
    g = {m: set() for m in mods}
    for m, p in mods.items():
        tree = ast.parse(p.read_text())
        skip = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.If) and getattr(n.test, "id", getattr(n.test, "attr", "")) == "TYPE_CHECKING":
                skip |= {id(x) for b in n.body for x in ast.walk(b)}
        here = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
            for x in names:
                parts = x.split(".")
                for i in range(1, len(parts) + 1):
                    y = ".".join(parts[:i])
                    if y in mods and y != m and not m.startswith(y + "."):
                        g[m].add(y)
    return g


def _cycles(g: dict[str, set[str]]) -> list[list[str]]:
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_in_cx_or_ui():
    for pkg in ("cx", "ui"):
        assert _cycles(_graph(pkg)) == [], pkg


def test_the_cycle_check_sees_a_cycle(tmp_path):
    """The check is not blind: two modules importing each other (one inside a function) are a cycle."""
    (tmp_path / "pk").mkdir()
    (tmp_path / "pk" / "__init__.py").write_text("")
    (tmp_path / "pk" / "a.py").write_text("from . import b\n")
    (tmp_path / "pk" / "b.py").write_text("def f():\n    from .a import x\n")
    assert _cycles(_graph("pk", tmp_path)) == [["pk.a", "pk.b"]]
    (tmp_path / "pk" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import x\n")
    assert _cycles(_graph("pk", tmp_path)) == []  # annotations only: never run


def test_the_layers_go_one_way():
    """The storage layer knows nothing above it; cx never imports streamlit."""
    g = _graph("cx")
    assert not (g["cx.store"] - {"cx.schema", "cx.stages", "cx.eventstore"}), g["cx.store"]
    assert not (g["cx.eventstore"] - {"cx.schema"}), g["cx.eventstore"]
    assert not (g["cx.filters"]), g["cx.filters"]
    assert not (g["cx.data"] - {"cx.filters", "cx.store", "cx.schema", "cx.stages"}), g["cx.data"]
    for m, p in _modules("cx").items():
        assert not re.search(r"^\s*(import streamlit|from streamlit)", p.read_text(), re.M), m


def test_no_module_is_too_long():
    for pkg in ("cx", "ui"):
        for m, p in _modules(pkg).items():
            n = len(p.read_text().splitlines())
            assert n <= MAX_LINES, f"{m} has {n} lines"


def test_the_readme_is_a_front_door_and_every_cited_doc_exists():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 300
    texts = {"README.md": readme}
    texts.update({str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / "docs").rglob("*.md")})
    texts.update({str(p.relative_to(ROOT)): p.read_text() for pkg in ("cx", "ui", "views")
                  for p in (ROOT / pkg).rglob("*.py")})
    for name, text in texts.items():
        assert "DESIGN.md" not in text, f"{name} cites DESIGN.md, which is not in the repository"
        for ref in re.findall(r"(docs/[A-Za-z0-9_./-]+\.md)", text):
            assert (ROOT / ref).is_file(), f"{name} cites {ref}, which does not exist"
        for ref in re.findall(r"\]\(((?:docs/)?[A-Za-z0-9_/-]+\.md)\)", text):
            base = ROOT if name == "README.md" else (ROOT / name).parent
            assert (base / ref).is_file() or (ROOT / ref).is_file(), f"{name} links to {ref}, which does not exist"
