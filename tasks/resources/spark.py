"""Spark: the only module that starts a SparkSession.

Spark is configured from Settings alone (master, memory, shuffle partitions, scratch space), so
local, Docker and Kubernetes runs differ in settings, never in code. The session is always
stopped on exit: a leaked driver JVM holds ~1.4 GB and the scratch folder's files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

from tasks.errors import ConfigError
from tasks.settings import Settings, get_settings

MIN_JAVA = 17
_INSTALL_HINT = (
    "install it, e.g. `apt-get install openjdk-17-jre-headless`, "
    "or point PDBI_JAVA_HOME at a JDK 17+."
)
# `java -version` prints `openjdk version "17.0.15" 2025-04-15` (or `java version "1.8.0_292"`);
# `java --version` prints `openjdk 17.0.15 2025-04-15`; a bare version string is accepted too.
_QUOTED_VERSION = re.compile(r'version\s+"(\d+)(?:\.(\d+))?[^"]*"')
_BARE_VERSION = re.compile(r"(?:^|\s)(\d+)(?:\.(\d+))?(?:[._+\-][0-9A-Za-z._+\-]*)?(?=\s|$)")


def parse_java_major(version_output: str) -> int | None:
    """The major Java version in `java -version` output; None when there is none to read.

    Java 8 and older report "1.<major>", Java 9+ report "<major>[.<minor>...]".
    """
    match = _QUOTED_VERSION.search(version_output) or _BARE_VERSION.search(version_output)
    if match is None:
        return None
    first, second = int(match.group(1)), match.group(2)
    if first == 1 and second is not None:
        return int(second)
    return first


def _java_executable(settings: Settings) -> str | None:
    if settings.java_home is not None:
        candidate = Path(settings.java_home) / "bin" / "java"
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return shutil.which("java")


def check_java(settings: Settings | None = None) -> int:
    """Fail fast, with the fix, before Spark's launcher fails with a cryptic gateway error."""
    settings = settings or get_settings()
    where = (
        f"PDBI_JAVA_HOME={settings.java_home}"
        if settings.java_home is not None
        else "PDBI_JAVA_HOME / JAVA_HOME unset, nothing on PATH"
    )
    java = _java_executable(settings)
    if java is None:
        raise ConfigError(
            f"Spark needs Java {MIN_JAVA} or newer but none was found ({where}); {_INSTALL_HINT}"
        )
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(
            f"Spark needs Java {MIN_JAVA} or newer but {java} could not be run ({exc}); "
            f"{_INSTALL_HINT}"
        ) from None
    major = parse_java_major(result.stderr + "\n" + result.stdout)
    if major is None or major < MIN_JAVA:
        found = f"Java {major}" if major is not None else "an unreadable version"
        raise ConfigError(
            f"Spark needs Java {MIN_JAVA} or newer but {java} is {found} "
            f"(set by PDBI_JAVA_HOME / JAVA_HOME, else PATH); {_INSTALL_HINT}"
        )
    return major


@contextmanager
def _java_home_for_launch(java_home: Path | None) -> Iterator[None]:
    """Expose settings.java_home as JAVA_HOME while the driver JVM starts.

    pyspark's launcher (java_gateway.launch_gateway) copies os.environ for the spark-submit
    child and overwrites any `env` passed through popen_kwargs, so a passed env is not
    possible; the variable is set only for the launch and restored right after.
    """
    if java_home is None:
        yield
        return
    previous = os.environ.get("JAVA_HOME")
    os.environ["JAVA_HOME"] = str(java_home)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("JAVA_HOME", None)
        else:
            os.environ["JAVA_HOME"] = previous


def build_session(app_name: str, settings: Settings) -> SparkSession:
    """A session configured from settings alone; callers own stopping it."""
    local_dir = (Path(settings.data_dir) / "spark").resolve()
    local_dir.mkdir(parents=True, exist_ok=True)
    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings.spark_master)
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.local.dir", str(local_dir))
        .config("spark.sql.session.timeZone", "UTC")
        # Python workers (if any) must run the driver's interpreter, not whatever `python3` is.
        .config("spark.pyspark.python", sys.executable)
    )
    with _java_home_for_launch(settings.java_home):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


@contextmanager
def spark_session(app_name: str = "pdbi") -> Iterator[SparkSession]:
    """Check Java, start Spark from settings, and always stop it, whatever happens inside."""
    settings = get_settings()
    check_java(settings)
    spark = build_session(app_name, settings)
    try:
        yield spark
    finally:
        spark.stop()
