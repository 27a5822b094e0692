"""A Spark standalone cluster on 127.0.0.1 for the tests: a master and workers started from
pyspark's own distribution (`bin/spark-class`; pyspark ships no `sbin/`).

Each worker runs in a mount namespace of its own (`unshare -m`; not as root, `unshare -r -m`)
with a tmpfs over the folders it must not see (the driver's data folder: its scratch, the
embedded database, Spark's working copies), so it stands in for another machine: whatever the
job reads or writes must be reached by a URL on the shared folder holding the lake. The
worker's own scratch lives inside that tmpfs, so the two workers cannot see each other's files
either. Everything started is stopped by process id, master last, also when starting fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).resolve().parent
SPARK_CLASS = SPARK_HOME / "bin" / "spark-class"
START_SECONDS = 90


class ClusterError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# a private mount namespace as root; as anyone else, inside a user namespace of their own
UNSHARES = (
    ["unshare", "-m", "--propagation", "private"],
    ["unshare", "-r", "-m", "--propagation", "private"],
)


def unshare_prefix() -> list[str] | str:
    """The first `unshare` command that gives a private mount namespace where tmpfs can be
    mounted, or why none can (a string)."""
    if shutil.which("unshare") is None:
        return "util-linux's unshare is not installed"
    errors = []
    for prefix in UNSHARES:
        probe = [*prefix, "sh", "-c", "mount -t tmpfs tmpfs /tmp"]
        done = subprocess.run(probe, capture_output=True, text=True)
        if done.returncode == 0:
            return prefix
        errors.append(f"{' '.join(prefix)}: {done.stderr.strip()}")
    return "no private mount namespace can be made here (" + "; ".join(errors) + ")"


def check_unshare() -> str | None:
    """Why a private mount namespace cannot be made here, or None when it can."""
    found = unshare_prefix()
    return found if isinstance(found, str) else None


@dataclass
class Cluster:
    """The running cluster: its master URL, its web UI's JSON, the processes started."""

    master_url: str
    web_port: int
    logs: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/json/", timeout=5) as r:
            return json.load(r)

    def log_tail(self, lines: int = 40) -> str:
        found = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text("utf-8", errors="replace").splitlines()[-lines:]
            found.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(found)

    def stop(self) -> None:
        """Workers first, then the master: SIGTERM to each process group we started (by its
        id), SIGKILL after a grace period."""
        for process in reversed(self.processes):
            _stop(process)
        self.processes.clear()


def _stop(process: subprocess.Popen, grace: float = 20) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(grace)
    # executors the worker forked share its process group: none may outlive it
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _env(local_dirs: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_"))}
    env.update(SPARK_HOME=str(SPARK_HOME), SPARK_LOCAL_IP="127.0.0.1", SPARK_NO_DAEMONIZE="1")
    if local_dirs is not None:
        env["SPARK_LOCAL_DIRS"] = str(local_dirs)
    return env


def start_cluster(
    logs: Path, hidden: list[Path], workers: int = 2, cores: int = 1, memory: str = "1g"
) -> Cluster:
    """A master and `workers` workers on 127.0.0.1, each worker blind to `hidden`. The caller
    must call stop() (a fixture's finaliser); a failure to start stops what started."""
    logs.mkdir(parents=True, exist_ok=True)
    port, web = free_port(), free_port()
    cluster = Cluster(f"spark://127.0.0.1:{port}", web, logs)
    prefix = unshare_prefix()
    if isinstance(prefix, str):
        raise ClusterError(prefix)
    try:
        master = [str(SPARK_CLASS), "org.apache.spark.deploy.master.Master",
                  "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(web)]  # fmt: skip
        cluster.processes.append(_spawn(master, logs / "master.log", _env()))
        _wait(cluster, lambda s: s.get("status") == "ALIVE", "the master to be ALIVE")
        for i in range(workers):
            scratch = hidden[0] / f"worker-{i}"
            mounts = " && ".join(f"mount -t tmpfs tmpfs '{h}'" for h in hidden)
            worker = (
                f"{mounts} && mkdir -p '{scratch}/local' && exec '{SPARK_CLASS}' "
                f"org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores {cores} "
                f"--memory {memory} --webui-port {free_port()} --work-dir '{scratch}' "
                f"{cluster.master_url}"
            )
            command = [*prefix, "sh", "-c", worker]
            env = _env(scratch / "local")
            cluster.processes.append(_spawn(command, logs / f"worker-{i}.log", env))
        _wait(
            cluster,
            lambda s: sum(w["state"] == "ALIVE" for w in s.get("workers", [])) == workers,
            f"{workers} workers to register",
        )
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _spawn(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _wait(cluster: Cluster, ready, what: str) -> dict:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        for process in cluster.processes:
            if process.poll() is not None:
                raise ClusterError(
                    f"{process.args[0]} exited ({process.returncode}) while waiting for {what}"
                    f":\n{cluster.log_tail()}"
                )
        with suppress(OSError, ValueError):
            status = cluster.status()
            if ready(status):
                return status
        time.sleep(0.5)
    raise ClusterError(f"timed out waiting for {what}:\n{cluster.log_tail()}")
