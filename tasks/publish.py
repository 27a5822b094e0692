"""Publishing analytics outputs to the lake, each file replaced atomically."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from tasks.resources.lake import get_lake
from tasks.retry import only_transient


def publish_files(outputs: dict[str, dict]) -> dict[str, int]:
    """Copy each local output to analytics/<name>.csv; returns rows per published file."""
    lake = get_lake()
    published: dict[str, int] = {}
    for name, info in outputs.items():
        if name.startswith("_"):
            continue  # job statistics, not files
        target = Path(info["path"]).name
        lake.publish_file(Path(info["path"]), "analytics", target)
        published[target] = int(info["rows"])
    return published


@task(
    retries=3,
    retry_delay_seconds=exponential_backoff(2),
    retry_condition_fn=only_transient,
    cache_policy=NO_CACHE,
    tags=["publish"],
)
def publish_outputs(outputs: dict[str, dict]) -> dict[str, int]:
    return publish_files(outputs)
