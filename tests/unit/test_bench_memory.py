"""The benchmark harness's memory sampler sees what this process holds."""

from __future__ import annotations

import psutil

from bench.memory import MB, PeakMemory


def test_the_peak_includes_memory_held_only_inside_the_block() -> None:
    before = psutil.Process().memory_info().rss
    with PeakMemory(interval=0.02) as peak:
        block = bytearray(300 * MB)
        block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
        peak.sample()
        del block
    row = peak.as_row()
    assert row["peak_python_mb"] >= (before + 250 * MB) // MB
    assert row["peak_total_mb"] >= row["peak_python_mb"]
    assert row["peak_postgres_mb"] == 0  # no embedded server in a unit test


def test_the_start_is_what_was_resident_before_the_block() -> None:
    """A load's growth (peak minus start) counts what it allocated, not what came before."""
    held = bytearray(200 * MB)
    held[::4096] = b"x" * len(held[::4096])
    before = psutil.Process().memory_info().rss
    with PeakMemory(interval=0.02) as peak:
        block = bytearray(300 * MB)
        block[::4096] = b"x" * len(block[::4096])
        peak.sample()
        del block
    start, row = peak.start_row(), peak.as_row()
    assert abs(start["start_python_mb"] - before // MB) < 50  # the 200 MB held before count
    assert row["peak_python_mb"] - start["start_python_mb"] >= 250  # the block's 300 MB
    del held
