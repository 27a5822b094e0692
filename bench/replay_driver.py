"""The warehouse section of the daily flow as plain calls, for the replay benchmark and tests.

`Driver` runs, for one day, what flows/daily.py and flows/warehouse.py run inside the
warehouse lock, with the same plain functions in the same order and no Prefect: the pending
days before it, the new files, stage, the day's rewind and merges, the manifest, the day
recorded as loaded, the archive, the later days from their archives, the export as of the day.
It lives here, not under tests/, so that `pdbi bench` runs from any folder (tests/ is not an
installed package).
"""

from __future__ import annotations

from datetime import date
from itertools import count

from tasks.entities import ENTITIES, SOURCES
from tasks.lake.archive import archive_day, restore_archive
from tasks.lake.extract import plan_extraction, record_files
from tasks.resources import postgres
from tasks.resources.lake import Lake
from tasks.stage.load import stage_source
from tasks.warehouse.export import export_day
from tasks.warehouse.history import days_after, mark_loaded, pending_before, read_history
from tasks.warehouse.merge import DIMENSIONS, FACTS, rewind_history, run_merge_step


class Driver:
    """The warehouse section of a daily run, as plain calls on one database and lake."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.loads = count(1)
        self.replayed: list[date] = []

    def run(self, day: date, replay_later: bool = True) -> None:
        with postgres.connect() as conn:
            before = pending_before(read_history(conn), day)
        for earlier in before:
            self.replay(earlier)
        load_id = self.load_id(day)
        with postgres.connect() as conn:
            new_files = plan_extraction(conn, self.lake, day)
        for name in new_files.sources:
            stage_source(SOURCES[name], day, load_id)
        if new_files.merges:
            self.merge(day)
        with postgres.connect() as conn:
            record_files(conn, new_files.files, load_id, day)
            conn.commit()
            if new_files.merges:
                mark_loaded(conn, day, load_id)
                conn.commit()
            archive_day(conn, self.lake, day, {f.path for f in new_files.files})
            later = days_after(read_history(conn), day, replay_later)
        for replayed in later:
            self.replay(replayed)
        self.export(day)

    def replay(self, day: date) -> None:
        load_id = self.load_id(day)
        with postgres.connect() as conn:
            sources = restore_archive(conn, self.lake, day)
        for name in sources:
            stage_source(ENTITIES[name], day, load_id, archived=True)
        self.merge(day)
        with postgres.connect() as conn:
            mark_loaded(conn, day, load_id)
        self.export(day)
        self.replayed.append(day)

    def merge(self, day: date) -> None:
        with postgres.connect() as conn:
            rewind_history(conn, day)
            conn.commit()
            for step in (*DIMENSIONS, *FACTS):
                run_merge_step(conn, step, day)
                conn.commit()

    def export(self, day: date) -> None:
        with postgres.connect() as conn:
            export_day(conn, self.lake, day)  # as the flow does: kept when dw is unchanged

    def load_id(self, day: date) -> str:
        """Shaped like a flow's (`<day>-<run id>`); a counter stands in for the run id."""
        return f"{day.isoformat()}-replay{next(self.loads)}"
