"""Warehouse: dimensions in dependency order, then facts."""

from __future__ import annotations

from datetime import date

from prefect import flow

from tasks.warehouse.merge import DIMENSIONS, FACTS, MergeCounts, merge_step


@flow(name="merge-warehouse", flow_run_name="warehouse-{run_date}")
def merge_warehouse(run_date: date) -> list[MergeCounts]:
    dimensions = [merge_step(step, run_date) for step in DIMENSIONS]
    facts = [merge_step(step, run_date) for step in FACTS]
    return dimensions + facts
