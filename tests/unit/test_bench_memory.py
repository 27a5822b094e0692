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
