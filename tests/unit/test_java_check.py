"""Java detection: the version parser, and the operator-facing error when Java is missing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tasks.errors import ConfigError
from tasks.resources.spark import check_java, parse_java_major
from tasks.settings import Settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ("1.8.0_292", 8),
        ("17.0.15", 17),
        ("21", 21),
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6)', 17),
        ('java version "1.8.0_292"\nJava(TM) SE Runtime Environment (build 1.8.0_292-b10)', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ('openjdk version "9-ea"', 9),
        ("openjdk 17.0.15 2025-04-15", 17),
        ('Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version "23.0.1" 2024-10-15', 23),
    ],
)
def test_parse_java_major_reads_old_and_new_schemes(output: str, major: int) -> None:
    assert parse_java_major(output) == major


@pytest.mark.parametrize("output", ["", "bash: java: command not found", "version unknown"])
def test_parse_java_major_returns_none_without_a_version(output: str) -> None:
    assert parse_java_major(output) is None


def test_check_java_names_the_setting_when_java_home_is_empty(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        check_java(Settings(java_home=tmp_path))
    message = str(caught.value)
    assert "PDBI_JAVA_HOME" in message
    assert "Java 17 or newer" in message
    assert "none was found" in message
    assert "openjdk-17-jre-headless" in message


def _fake_java(home: Path, version_line: str) -> None:
    java = home / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)


def test_check_java_names_the_old_version_found(tmp_path: Path) -> None:
    _fake_java(tmp_path, 'java version "1.8.0_292"')
    with pytest.raises(ConfigError, match=r"is Java 8 .*PDBI_JAVA_HOME"):
        check_java(Settings(java_home=tmp_path))


def test_check_java_accepts_java_17(tmp_path: Path) -> None:
    _fake_java(tmp_path, 'openjdk version "17.0.15" 2025-04-15')
    assert check_java(Settings(java_home=tmp_path)) == 17
