"""What a run takes from the lake: a file version (`LakeFile`) and the day's new ones (`NewFiles`).

Shared by extraction (which finds them) and the backup (which copies the raw ones), so neither
imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tasks.entities import ENTITIES


@dataclass(frozen=True)
class LakeFile:
    source: str  # the entity it feeds (tasks/entities.py SOURCES)
    zone: str
    path: str  # relative to the zone: <day>/<file name>
    size: int
    checksum: str

    @property
    def source_file(self) -> str:
        """As stage's lineage columns and meta.load_counts name it."""
        return f"{self.zone}/{self.path}"


@dataclass(frozen=True)
class NewFiles:
    """What a run must take: the new file versions, and the BASE A sources to load into stage
    (the events are validated and analysed by the Spark job, not staged)."""

    run_date: date
    files: tuple[LakeFile, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def events(self) -> tuple[LakeFile, ...]:
        return tuple(f for f in self.files if f.zone == "raw")

    @property
    def merges(self) -> bool:
        """Whether the run merges the warehouse: a BASE A export is loaded (events alone are
        not merged, so a late part file does not rewind the day's history)."""
        return any(name in ENTITIES for name in self.sources)
