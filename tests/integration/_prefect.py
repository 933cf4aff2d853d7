"""Reading a flow run's task runs back from the Prefect API (shared by integration tests)."""

from __future__ import annotations

import asyncio


def task_runs(flow_run_id):
    """Every task run of the flow run ``flow_run_id``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def fetch():
        async with get_client() as client:
            return await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )

    return asyncio.run(fetch())
