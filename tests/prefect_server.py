"""A real Prefect server for the orchestration tests: `prefect server start` in a subprocess with
its own PREFECT_HOME, one per session; tests reach it through PREFECT_API_URL.

Use with `pytest_plugins = ["tests.prefect_server"]` and the `prefect_server` fixture.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

STARTUP_SECONDS = 180  # a cold server migrates its SQLite database first


@dataclass(frozen=True)
class PrefectServer:
    api_url: str
    home: Path
    log: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a subprocess (a worker, the CLI) talking to this server."""
        return {
            **os.environ,
            "PREFECT_API_URL": self.api_url,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            **extra,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def prefect_server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    root = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    server = PrefectServer(f"http://127.0.0.1:{port}/api", root / "home", root / "server.log")
    env = server.env()
    env.pop("PREFECT_API_URL")  # the server itself is not a client of another API
    with open(server.log, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(server.api_url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"prefect server did not start:\n{server.log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def prefect_server(
    prefect_server_process: PrefectServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PrefectServer]:
    """The session's server as this test's Prefect API, in process and for subprocesses.

    Prefect keeps one events worker per process for "a running server", whatever its URL, and
    task run states travel as events: it is drained before and after, so that this test's
    events reach this server and later tests' events reach theirs."""
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    EventsWorker.drain_all(timeout=30, at_exit=False)
    monkeypatch.setenv("PREFECT_API_URL", prefect_server_process.api_url)
    try:
        with temporary_settings({PREFECT_API_URL: prefect_server_process.api_url}):
            yield prefect_server_process
            EventsWorker.drain_all(timeout=30, at_exit=False)
    finally:
        EventsWorker.drain_all(timeout=30, at_exit=False)
