"""Peak memory of a benchmark: this Python process, the PostgreSQL server and the Spark JVM.

A background thread samples resident set sizes every `interval` seconds with psutil. The Spark
driver JVM is a child of this process (py4j starts it); PostgreSQL is every process of the
server pdbi uses: the embedded pgserver's postmaster (found by its data directory) and its
backends, or nothing when the database is elsewhere (a remote server's memory is not ours).
The peak of the sum is reported beside each part's own peak.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

import psutil

MB = 1 << 20


def _postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """The embedded server's postmaster and its children, found by `-D <pgdata>`."""
    pgdata = str((data_dir / "pgdata").resolve())
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = proc.info["cmdline"] or []
            if proc.info["name"] == "postgres" and pgdata in cmdline:
                return [proc, *proc.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return []


def _embedded_postgres() -> list[psutil.Process]:
    """The embedded server of the settings in force now (a benchmark sets its own data
    folder once it starts); none when a database URL points elsewhere."""
    from tasks.settings import get_settings

    settings = get_settings()
    return [] if settings.database_url else _postgres_processes(settings.data_dir)


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for proc in processes:
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


class PeakMemory:
    """`with PeakMemory() as peak: ...` then `peak.as_row()` (megabytes)."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peaks = {"python": 0, "postgres": 0, "spark_jvm": 0, "total": 0}
        self.start: dict[str, int] = {}  # the first sample: what was resident before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def sample(self) -> None:
        me = psutil.Process()
        children = me.children(recursive=True)
        jvms = [c for c in children if _name(c) == "java"]
        now = {
            "python": _rss([me]),
            "postgres": _rss(_embedded_postgres()),
            "spark_jvm": _rss(jvms),
        }
        now["total"] = sum(now.values())
        self.start = self.start or dict(now)
        for part, value in now.items():
            self.peaks[part] = max(self.peaks[part], value)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def as_row(self) -> dict[str, int]:
        return {f"peak_{part}_mb": round(value / MB) for part, value in self.peaks.items()}

    def start_row(self) -> dict[str, int]:
        """What was resident as the block started (megabytes), to tell growth from leftovers."""
        return {f"start_{part}_mb": round(value / MB) for part, value in self.start.items()}


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return ""
