"""Private scratch folders on this machine's disk, under PDBI_DATA_DIR, removed after use.

A stage load spills the raw text of each record here while it streams the file into the
database, so that the few rows a suite rejects can be quarantined exactly as the file held them
without keeping the whole file in memory nor reading the lake twice; and a JSON array that is not
on this machine's disk is copied here first, for DuckDB to read by path (tasks/stage/parse.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.settings import get_settings


@contextmanager
def scratch_folder(purpose: str) -> Iterator[Path]:
    """A fresh folder `<data_dir>/scratch/<purpose>-XXXX`, removed with its files on exit."""
    parent = get_settings().data_dir.resolve() / "scratch"
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{purpose}-", dir=parent) as folder:
        yield Path(folder)
