"""Every package pdbi imports is declared in pyproject.toml, and what is installed is what the
declarations allow: a clean install gets the packages the tests ran on, not whatever another
package happened to pull in."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
OURS = {"flows", "tasks", "panel_app", "bench", "tests"}
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def requirements(group: str | None = None) -> list[Requirement]:
    listed = PROJECT["dependencies"] if group is None else PROJECT["optional-dependencies"][group]
    return [Requirement(line) for line in listed]


def imported_modules(folder: str) -> dict[str, set[str]]:
    """Top-level module -> the files importing it (absolute imports, stdlib and pdbi left out)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in OURS:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize(
    ("folder", "groups"),
    [("flows", [None]), ("tasks", [None]), ("panel_app", [None]), ("bench", [None, "bench"])],
)
def test_every_imported_package_is_declared(folder: str, groups: list[str | None]) -> None:
    declared = {canonicalize_name(r.name) for group in groups for r in requirements(group)}
    distributions = packages_distributions()
    undeclared = {
        module: sorted(files)
        for module, files in imported_modules(folder).items()
        if not {canonicalize_name(d) for d in distributions.get(module, [])} & declared
    }
    assert undeclared == {}, f"imported but not declared in pyproject.toml: {undeclared}"


@pytest.mark.parametrize("group", [None, "s3", "bench", "dev"])
def test_the_installed_versions_are_the_declared_ones(group: str | None) -> None:
    wrong = {}
    for requirement in requirements(group):
        if canonicalize_name(requirement.name) == "pdbi":
            continue  # dev names the other extras
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            wrong[requirement.name] = "not installed"
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            wrong[requirement.name] = f"{installed} installed, {requirement.specifier} declared"
    assert wrong == {}


def test_the_check_sees_an_undeclared_import(tmp_path: Path, monkeypatch) -> None:
    """The walk finds imports at any depth, inside functions too."""
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "m.py").write_text("def f():\n    import yaml.constructor\n    from numpy import x\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert imported_modules("pkg") == {"yaml": {"pkg/m.py"}, "numpy": {"pkg/m.py"}}
