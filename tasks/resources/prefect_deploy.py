"""Registering deployments/prefect.yaml against the configured Prefect API.

The definitions stay in prefect.yaml, where `prefect deploy` reads them; this module adds what
that command leaves to an operator: the work pools must exist first (deployments/work-pools.yaml,
the Kubernetes one with its job template), the image comes from PDBI_IMAGE, and a missing
PREFECT_API_URL fails in one sentence instead of deploying to a temporary server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tasks.errors import ConfigError
from tasks.settings import get_settings

PROJECT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = PROJECT / "deployments"
PREFECT_FILE = DEPLOYMENTS / "prefect.yaml"


def api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ConfigError(
            "PREFECT_API_URL is not set: start a server (`pdbi ui`) and export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api, or point it at Prefect Cloud."
        )
    return url


def pool_definitions() -> dict[str, dict[str, Any]]:
    """Pool name -> {type, base_job_template (a dict, or None for the type's default)}."""
    pools = yaml.safe_load((DEPLOYMENTS / "work-pools.yaml").read_text(encoding="utf-8"))
    for spec in pools.values():
        template = spec.get("base_job_template")
        spec["base_job_template"] = (
            json.loads((DEPLOYMENTS / template).read_text(encoding="utf-8")) if template else None
        )
    return pools


def ensure_work_pools() -> list[str]:
    """Create the pools that do not exist; returns the names created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.utilities.asyncutils import run_coro_as_sync
    from prefect.workers.utilities import get_default_base_job_template_for_infrastructure_type

    created = []
    with get_client(sync_client=True) as client:
        for name, spec in pool_definitions().items():
            try:
                client.read_work_pool(name)
                continue
            except ObjectNotFound:
                pass
            template = spec["base_job_template"]
            if template is None:  # the type's default, from the server's worker metadata
                template = run_coro_as_sync(
                    get_default_base_job_template_for_infrastructure_type(spec["type"])
                )
            client.create_work_pool(
                WorkPoolCreate(name=name, type=spec["type"], base_job_template=template or {})
            )
            created.append(name)
    return created


def deploy(names: list[str] | None = None) -> list[str]:
    """Create missing pools, then `prefect deploy` the definitions (all, or those named);
    returns the deployment names registered."""
    api_url()
    ensure_work_pools()
    definitions = yaml.safe_load(PREFECT_FILE.read_text(encoding="utf-8"))["deployments"]
    chosen = [d["name"] for d in definitions if not names or d["name"] in names]
    unknown = set(names or ()) - set(chosen)
    if unknown:
        raise ConfigError(
            f"no deployment named {', '.join(sorted(unknown))} in deployments/prefect.yaml; "
            f"there are {', '.join(d['name'] for d in definitions)}."
        )
    command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy"]
    command += ["--prefect-file", str(PREFECT_FILE)]
    for name in chosen:
        command += ["--name", name]
    env = {**os.environ, "PDBI_IMAGE": get_settings().image}
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ConfigError(f"prefect deploy failed: {(done.stderr or done.stdout).strip()[-2000:]}")
    return chosen


def prefect_command(*args: str) -> list[str]:
    """The prefect CLI of this environment (the worker and the server run through it)."""
    return [sys.executable, "-m", "prefect", *args]
