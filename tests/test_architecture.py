"""The layers of docs/architecture.md hold: imports point down, and no two modules import each other.

``lint-imports`` checks the layers contract of pyproject.toml (``[tool.importlinter]``). The cycle test reads
every ``import`` of src/rnnkit from the source, including the ones inside functions: an import placed in a
function to dodge a cycle is still a cycle. ``from package import name`` counts as importing the package
(its ``__init__`` runs and the name is read from it) and, when ``name`` is a submodule, that module too.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _modules() -> dict[str, Path]:
    """Every module of the rnnkit package by its dotted name (a package by its own name)."""
    modules = {}
    for path in sorted((SRC / "rnnkit").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The rnnkit modules one import statement of ``module`` imports."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = module.split(".") if is_package else module.split(".")[:-1]
        if node.level:
            base = base[:len(base) - node.level + 1]
            prefix = ".".join([*base, *([node.module] if node.module else [])])
        else:
            prefix = node.module or ""
        names = [prefix]
        names += [f"{prefix}.{alias.name}" for alias in node.names if f"{prefix}.{alias.name}" in known]
    found = []
    for name in names:
        while name not in known and "." in name:  # `from rnnkit.nn.cells import LSTMCell` imports rnnkit.nn.cells
            name = name.rsplit(".", 1)[0]
        if name in known and name != module:
            found.append(name)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    """module → {module it imports: the line of the first such import}."""
    modules = _modules()
    known = set(modules)
    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _imported(node, module, path.name == "__init__.py", known):
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def _reachable(graph: dict[str, dict[str, int]], start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def cycles(graph: dict[str, dict[str, int]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module: each is a set of modules that import
    each other, directly or through the others."""
    reach = {module: _reachable(graph, module) for module in graph}
    components = set()
    for module in graph:
        component = frozenset(other for other in reach[module] if module in reach[other])
        if len(component) > 1:
            components.add(component)
    return components


def _one_cycle(graph: dict[str, dict[str, int]], component: frozenset[str]) -> str:
    """One cycle through ``component`` as text: ``a (l.3) -> b (l.9) -> a``."""
    start = min(component)
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for target in graph[module]:
            if target == start:
                path = [module]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                path.reverse()
                hops = [f"{a} (l.{graph[a][b]})" for a, b in zip(path, [*path[1:], start], strict=True)]
                return " -> ".join([*hops, start])
            if target in component and target not in parent and target != start:
                parent[target] = module
                queue.append(target)
    return ", ".join(sorted(component))


def test_no_import_cycle_between_modules():
    graph = import_graph()
    found = [_one_cycle(graph, component) for component in cycles(graph)]
    assert not found, "modules that import each other:\n" + "\n".join(found)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3, "d": 4}, "d": {}}
    assert cycles(graph) == {frozenset({"a", "b", "c"})}
    assert _one_cycle(graph, frozenset({"a", "b", "c"})) == "a (l.1) -> b (l.2) -> c (l.3) -> a"


def test_nothing_imports_the_top_level():
    """``rnnkit`` (load, fit) sits above every layer: no module imports it (``import rnnkit``, ``from rnnkit
    import load``); the version has its own module at the bottom."""
    graph = import_graph()
    importers = sorted(f"{module} (l.{edges['rnnkit']})" for module, edges in graph.items() if "rnnkit" in edges)
    assert not importers, f"these modules import the rnnkit top level: {importers}"


def test_layers_hold():
    """``lint-imports`` (import-linter, the dev extra) checks pyproject.toml's layers contract."""
    pytest.importorskip("importlinter", reason="the dev extra: pip install -e '.[dev]'")
    command = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([str(command), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout
