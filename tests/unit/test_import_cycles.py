"""No two modules of pdbi import each other, directly or around a circle.

Every import counts, at the top of a module, inside a function or under TYPE_CHECKING: a circle
hidden in a function is still a circle a reader has to untangle. The graph is read with `ast`
from the source, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("flows", "tasks", "panel_app", "bench", "tests")


def modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    found = {}
    for top in packages:
        for path in sorted((root / top).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imported_names(module: str, path: Path) -> set[str]:
    """Dotted names the module imports, relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(known: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """Module -> the project modules it imports (a package's own parents left out: importing
    tasks.stage.load runs tasks/stage/__init__.py, which is not a dependency it chose)."""
    known = modules() if known is None else known

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in known.items():
        targets = {resolve(name) for name in imported_names(module, path)}
        graph[module] = {t for t in targets if t and t != module and not module.startswith(t + ".")}
    return graph


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "tasks.stage.load" in graph["flows.stage"]
    assert "tasks.settings" in graph["tasks.resources.postgres"]


def test_no_module_imports_itself_around_a_circle() -> None:
    try:
        tuple(TopologicalSorter(import_graph()).static_order())
    except CycleError as circle:
        pytest.fail(f"modules import each other: {' -> '.join(circle.args[1])}")


def test_a_circle_through_a_function_and_a_relative_import_is_found(tmp_path: Path) -> None:
    """The check itself, on a made-up package: a -> b (relative) -> c (in a function) -> a."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.c import g\n")
    (pkg / "c.py").write_text("if TYPE_CHECKING:\n    import pkg.a\n")
    graph = import_graph(modules(tmp_path, ("pkg",)))
    assert graph["pkg.a"] == {"pkg.b"}
    with pytest.raises(CycleError):
        tuple(TopologicalSorter(graph).static_order())


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same imports between packages: tasks.stage.load counts as tasks.stage; a module of a
    top folder (tasks.settings) stays itself."""

    def box(module: str) -> str:
        return ".".join(module.split(".")[:2])

    boxes: dict[str, set[str]] = {}
    for module, targets in graph.items():
        boxes.setdefault(box(module), set()).update(
            box(t) for t in targets if box(t) != box(module)
        )
    return boxes


def test_packages_import_one_way() -> None:
    """The boxes of the diagram sit on the runtime and resources, never the other way round:
    resources import no box, and no two boxes import each other."""
    boxes = package_graph(import_graph())
    assert "tasks.stage" in boxes["tasks.summary"]
    try:
        tuple(TopologicalSorter(boxes).static_order())
    except CycleError as circle:
        pytest.fail(f"packages import each other: {' -> '.join(circle.args[1])}")
