"""The README's settings table is the user's reference: it must name every setting."""

from __future__ import annotations

import re
from pathlib import Path

from tasks.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Settings") :]
    table = table[: table.index("\n## ", 3)]
    documented = set(re.findall(r"`(PDBI_[A-Z_]+)`", table))
    expected = {f"PDBI_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "settings missing from README.md"
    assert documented - expected == set(), "README.md documents settings that do not exist"


def tasks_of_the_project() -> list:
    """Every Prefect task defined in tasks/ and flows/ (imported: the decorators hold the tags)."""
    import importlib
    import pkgutil

    from prefect import Task

    import flows
    import tasks

    found = []
    for package in (tasks, flows):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name.endswith(".cli"):
                continue
            module = importlib.import_module(info.name)
            found += [v for v in vars(module).values() if isinstance(v, Task)]
    return found


def test_the_tags_the_readme_lists_are_the_tags_tasks_carry() -> None:
    """The README names the tags an operator can put a concurrency limit on; each must be on
    a task, and every tag a task carries must be named."""
    text = README.read_text(encoding="utf-8")
    words = r"\s+".join(["tagged", "by", "the", "shared", "resource", "they", "load"])
    sentence = re.search(words + r"\s+\(([^)]*)\)", text)
    assert sentence, "the README's sentence about tags is gone"
    documented = set(re.findall(r"`([a-z-]+)`", sentence.group(1)))
    carried = {tag for task in tasks_of_the_project() for tag in task.tags}
    assert documented == carried


def test_the_artifact_keys_the_readme_lists_are_created() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("Its Artifacts tab holds") :]
    section = section[: section.index("\n\n")]
    documented = set(re.findall(r"`([a-z-]+(?:<entity>)?)`", section))
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in (README.parent / "tasks").rglob("*.py")
    )
    created = set(re.findall(r'key="([a-z-]+)"', source))
    assert created <= documented, created - documented
    assert documented - {"stage-<entity>"} <= created, documented - created
