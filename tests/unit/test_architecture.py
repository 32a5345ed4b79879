"""The house rules of issue 10: the import contracts hold, no import circle anywhere, no file in src/ over 400 lines,
a short README whose links (and the docs' links) resolve.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "scenebridge"
MAX_LINES = 400

pytestmark = pytest.mark.unit


def test_no_source_file_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in sorted(SRC.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"files over {MAX_LINES} lines (carve them): {long}"


def test_readme_is_short_and_its_links_resolve() -> None:
    readme = ROOT / "README.md"
    assert len(readme.read_text(encoding="utf-8").splitlines()) <= 250, "README.md: move detail into docs/"
    links, broken = 0, []
    for page in [readme, *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            links += 1
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert links >= 10, "the README links the docs/ pages"
    assert not broken, broken


def test_import_contracts_hold() -> None:
    pytest.importorskip("importlinter", reason="import-linter comes with the dev extra")
    lint = Path(sys.executable).with_name("lint-imports")
    # A CLI run, not a server: the same check `make test` runs, so a broken contract names its chain here too.
    done = subprocess.run(
        [str(lint), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _cycles(graph: Any) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_between_any_modules() -> None:
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter in the dev extra")
    # TYPE_CHECKING imports count, as in .importlinter: a circle that only the type checker walks is still one.
    graph = grimp.build_graph("scenebridge", cache_dir=None)
    report = []
    for component in _cycles(graph):
        members = set(component)
        edges = [
            f"{importer}:{detail['line_number']} -> {imported}"
            for importer in component
            for imported in sorted(graph.find_modules_directly_imported_by(importer) & members)
            for detail in graph.get_import_details(importer=importer, imported=imported)
        ]
        report.append(" | ".join(edges))
    assert not report, "import circles:\n" + "\n".join(report)


def test_cycle_finder_sees_a_circle() -> None:
    """The finder itself: a three-module circle is one component; a module that only imports into it is not."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    graph = SimpleNamespace(modules=set(edges), find_modules_directly_imported_by=edges.__getitem__)
    assert _cycles(graph) == [["a", "b", "c"]]
