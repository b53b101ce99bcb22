"""The layering holds: dependencies point one way and no module imports itself back.

Layers, bottom to top: inference (reading, scoring, batch runs, review formats) → training
(gold data, fitting, evaluation) → policy_clauses (the command line). A module may import
its own layer and the layers below it, never above. Imports inside functions count too: a
lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"inference": 0, "training": 1, "policy_clauses": 2}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    modules = {}
    for top in LAYERS:
        for path in (ROOT / top).rglob("*.py"):
            modules[_module_name(path)] = path
    return modules


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Project modules that ``module`` imports (resolving ``from pkg import submodule``)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _project_modules()
    known = set(modules)
    return {name: _imports(path, name, known) for name, path in modules.items()}


def test_dependencies_point_down() -> None:
    upward = []
    for module, imported in _graph().items():
        layer = LAYERS[module.split(".")[0]]
        for target in imported:
            if LAYERS[target.split(".")[0]] > layer:
                upward.append(f"{module} imports {target}")
    assert upward == [], "imports that point up a layer:\n" + "\n".join(sorted(upward))


def test_no_import_cycles() -> None:
    graph = _graph()
    # A package's __init__ importing its own submodules is not a cycle of design.
    edges = {m: {t for t in ts if not m or not t.startswith(m + ".")} for m, ts in graph.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target):], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
