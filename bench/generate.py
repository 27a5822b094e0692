"""How fast the generator writes a day, against the floor of writing the same bytes raw.

`ratio` is the number to watch: seconds spent per second a plain buffered write of the same
volume takes on this disk, so it stays comparable across machines.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from tasks.generator.day import generate
from tasks.resources.lake import Lake
from tasks.settings import CASE_STUDY_DATE

FLOOR_BLOCK = 8 << 20  # bytes per write() in the floor measurement


def bench_generate(scale: float, seed: int = 7, run_date: date = CASE_STUDY_DATE) -> dict:
    """Generate one day into a fresh temporary local lake; time it and the raw-write floor."""
    root = Path(tempfile.mkdtemp(prefix="pdbi-bench-generate-"))
    try:
        lake = Lake(str(root / "lake"))
        started = time.perf_counter()
        counts = generate(lake, scale, seed, run_date)
        seconds = time.perf_counter() - started
        size = sum(f.stat().st_size for f in (root / "lake").rglob("*") if f.is_file())
        floor = _floor_seconds(root / "floor.bin", size)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = sum(counts.values())
    return {
        "stage": "generate",
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "floor": "plain write of the same bytes",
        "floor_seconds": round(floor, 3),
        "ratio": round(seconds / floor, 1),
        "bytes": size,
    }


def _floor_seconds(path: Path, size: int) -> float:
    """Time to write `size` bytes from a prepared buffer with plain file writes."""
    block = b"x" * FLOOR_BLOCK
    started = time.perf_counter()
    with open(path, "wb") as out:
        for offset in range(0, size, FLOOR_BLOCK):
            out.write(block[: min(FLOOR_BLOCK, size - offset)])
    seconds = time.perf_counter() - started
    path.unlink()
    return seconds


if __name__ == "__main__":
    import sys

    print(bench_generate(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0))
