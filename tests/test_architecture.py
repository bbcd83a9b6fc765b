"""The house plan holds: imports point down the layers, there are no import circles, and nothing imports a
project module inside a function to dodge one (docs/architecture.md).

Layers, lowest first: the ground floor (errors, k8s_names, naming) → catalog/ → config/ → online/ → rules/ →
load.py, plan.py → builders/ → components/. A module may import its own layer and the ones below it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kserve_intel", "components")
LAYERS = (
    ("kserve_intel.errors", "kserve_intel.k8s_names", "kserve_intel.naming", "kserve_intel"),
    ("kserve_intel.catalog",),
    ("kserve_intel.config",),
    ("kserve_intel.online",),
    ("kserve_intel.rules",),
    ("kserve_intel.load", "kserve_intel.plan"),
    ("kserve_intel.builders",),
    ("components",),
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def layer(module: str) -> int:
    best = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    assert best is not None, module
    return best[0]


def resolve(module: str, node: ast.ImportFrom | ast.Import, is_package: bool) -> list[str]:
    """Project modules an import statement names (`from . import x` names the module x when it is one)."""
    known = modules()
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] in PACKAGES]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] not in PACKAGES:
        return []
    found = []
    for alias in node.names:
        candidate = f"{target}.{alias.name}"
        found.append(candidate if candidate in known else target)
    return sorted(set(found))


def imports() -> dict[str, tuple[set[str], list[str]]]:
    """Per module: the project modules it imports at module level, and any imported inside a function."""
    graph = {}
    for name, path in modules().items():
        tree = ast.parse(path.read_text())
        top: set[str] = set()
        nested: list[str] = []
        package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets = resolve(name, node, package)
                if node in tree.body:
                    top.update(targets)
                else:
                    nested += [f"{t} (line {node.lineno})" for t in targets]
        graph[name] = (top - {name}, nested)
    return graph


def test_no_project_module_is_imported_inside_a_function():
    nested = {m: n for m, (_, n) in imports().items() if n}
    assert nested == {}


def test_there_are_no_import_circles():
    graph = {m: top for m, (top, _) in imports().items()}
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_imports_point_down_the_layers():
    upward = [f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)})"
              for m, (top, _) in imports().items() for t in sorted(top) if layer(t) > layer(m)]
    assert upward == []


@pytest.mark.parametrize("name", sorted(m for m in modules() if m.startswith("kserve_intel")))
def test_the_package_never_imports_pulumi_tests_or_tooling(name):
    tree = ast.parse(modules()[name].read_text())
    roots = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    roots |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and not node.level}
    assert not roots & {"pulumi", "pulumi_kubernetes", "tests", "offline", "engine", "components"}


def test_the_checks_fail_on_a_circle_and_on_an_upward_import(monkeypatch):
    """The walker sees what it must: a planted circle and an upward import are reported."""
    graph = {"kserve_intel.catalog.a": ({"kserve_intel.rules.b"}, []),
             "kserve_intel.rules.b": ({"kserve_intel.catalog.a"}, [])}
    monkeypatch.setattr(sys.modules[__name__], "imports", lambda: graph)
    with pytest.raises(AssertionError):
        test_there_are_no_import_circles()
    with pytest.raises(AssertionError):
        test_imports_point_down_the_layers()
