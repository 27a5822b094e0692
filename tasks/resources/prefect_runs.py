"""What the Prefect API recorded of a run: its task runs, subflows included.

The benchmarks split a run's time by task from these records, and the tests check task states
with them; both read the API rather than timing code of their own.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID


def task_runs(flow_run_id: UUID, name: str | None = None) -> list[Any]:
    """Task runs of the flow run and of its subflows; only those called `name` when given."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterParentFlowRunId,
        TaskRunFilter,
        TaskRunFilterName,
    )

    names = TaskRunFilter(name=TaskRunFilterName(any_=[name])) if name else None
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])
            )
        )
        ids = [flow_run_id, *(c.id for c in children)]
        return client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), task_run_filter=names
        )
