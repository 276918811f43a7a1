"""The house follows the report (STYLE.md): imports only go down the floors, no two modules import each
other (function-level imports included), routing stays pure, and no module grows past 400 lines. The
contract itself is `.importlinter`, run by `make test`; these tests show it holds and that it bites."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("config", "core", "intake", "routing", "casework", "oversight", "jobs", "demo", "wiring")
LINT = Path(sys.executable).parent / "lint-imports"


@pytest.fixture(scope="module")
def graph():
    sys.path.insert(0, str(ROOT))
    return grimp.build_graph(*PACKAGES, include_external_packages=True, cache_dir=None)


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. import loops."""
    modules = sorted(m for m in graph.modules if m.split(".")[0] in PACKAGES)
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w.split(".")[0] not in PACKAGES:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for m in modules:
        if m not in index:
            visit(m)
    return out


def _package_cycles(graph) -> list[list[str]]:
    """Loops through a package's __init__ count too: a package is a module like any other."""
    return [c for c in _cycles(graph)]


def test_no_import_loop_between_any_two_modules(graph):
    assert _package_cycles(graph) == []


def test_the_graph_sees_imports_inside_functions(tmp_path):
    """The loop check is only worth something if an import hidden in a function is an edge."""
    pkg = tmp_path / "loopy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from loopy import b\n")
    (pkg / "b.py").write_text("def later():\n    from loopy import a\n    return a\n")
    sys.path.insert(0, str(tmp_path))
    try:
        g = grimp.build_graph("loopy", cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert "loopy.a" in g.find_modules_directly_imported_by("loopy.b")


def test_routing_imports_neither_flask_nor_sqlalchemy_nor_the_floors_above(graph):
    offenders = []
    for module in sorted(graph.find_children("routing") | {"routing"}):
        if module == "routing.cli":
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.split(".")[0] in ("flask", "sqlalchemy", "intake", "casework", "oversight", "jobs",
                                          "demo", "wiring", "core"):
                offenders.append((module, imported))
    assert offenders == []


def test_no_module_outside_tests_has_more_than_400_lines():
    long = {}
    for package in (*PACKAGES, "bench", "migrations"):
        for path in (ROOT / package).rglob("*.py"):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > 400:
                long[str(path.relative_to(ROOT))] = lines
    assert long == {}


def test_every_package_says_what_lives_there_and_what_it_may_import():
    for package in PACKAGES:
        doc = (ROOT / package / "__init__.py").read_text(encoding="utf-8")
        assert doc.startswith('"""') and len(doc) > 120, package


def _run_lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": str(LINT.parent), "PYTHONPATH": str(cwd)})


def test_the_layer_contract_holds():
    result = _run_lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, upward", [
    ("casework/queue.py", "from oversight import reminders"),  # a floor reaching up
    ("routing/matrix.py", "from intake import models"),  # routing must stay independent of intake
    ("core/units.py", "import flask_login\nfrom casework import access"),  # the ground floor reaching up
])
def test_the_contract_bites_when_a_layer_is_broken(tmp_path, module, upward):
    """Break a layer on purpose in a copy of the tree, inside a function, and watch lint-imports fail."""
    copy = tmp_path / "tree"
    copy.mkdir()
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    target = copy / module
    body = "\n".join("    " + line for line in upward.splitlines())
    target.write_text(target.read_text(encoding="utf-8") + f"\n\ndef _hidden():\n{body}\n", encoding="utf-8")
    result = _run_lint(copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
