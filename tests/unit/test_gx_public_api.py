"""pdbi uses Great Expectations through its public API only, so a GX minor release cannot break
the validation silently: no private name (a leading underscore) imported from great_expectations,
no `._validate` call, no constant of GX's modules reassigned. Checked statically over every
Python file of the project but the tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    p for folder in ("tasks", "flows", "panel_app", "bench") for p in (ROOT / folder).rglob("*.py")
)


def _private(dotted: str) -> bool:
    return any(part.startswith("_") for part in dotted.split("."))


def gx_misuses(source: str) -> list[str]:
    """What in this code reaches past GX's public API."""
    tree = ast.parse(source)
    found: list[str] = []
    gx_names: set[str] = set()  # local names bound to GX modules or objects
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "great_expectations":
                    gx_names.add((alias.asname or alias.name).split(".")[0])
                    if _private(alias.name):
                        found.append(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "great_expectations"
        ):
            module = node.module or ""
            for alias in node.names:
                gx_names.add(alias.asname or alias.name)
                if _private(module) or alias.name.startswith("_"):
                    found.append(f"from {module} import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "_validate":
            found.append("._validate")
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                root = target
                while isinstance(root, ast.Attribute):
                    root = root.value
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(root, ast.Name)
                    and root.id in gx_names
                ):
                    found.append(f"assigns {ast.unparse(target)}")
    return found


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("from great_expectations.expectations.expectation import _x", 1),
        ("from great_expectations._internal import y", 1),
        ("import great_expectations._core", 1),
        ("e._validate(metrics)", 1),
        (
            "from great_expectations.execution_engine import pandas_execution_engine as p\n"
            "p.HASH_THRESHOLD = 0",
            1,
        ),  # fmt: skip
        ("import great_expectations as gx\ngx.get_context()", 0),
    ],
)
def test_the_check_finds_private_use(code: str, expected: int) -> None:
    assert len(gx_misuses(code)) == expected


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_reaches_past_great_expectations_public_api(path: Path) -> None:
    assert gx_misuses(path.read_text(encoding="utf-8")) == []
