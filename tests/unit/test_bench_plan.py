"""What `python -m bench` runs: the full report is every benchmark, the pipeline at 3 scales."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.__main__ import BENCHMARKS, plan


def test_the_report_runs_the_pipeline_at_three_scales_and_the_rest_once() -> None:
    runs = plan(None, None, report=True)
    assert [s for s, name in runs if name == "pipeline"] == [0.25, 1.0, 4.0]
    others = [(s, name) for s, name in runs if name != "pipeline"]
    assert sorted(name for _, name in others) == sorted(set(BENCHMARKS) - {"pipeline"})
    assert {s for s, name in others if name not in ("replay", "dashboard_days")} == {1.0}
    assert (0.25, "replay") in others  # seven days at scale 0.25
    assert (0.25, "dashboard_days") in others  # thirty days at scale 0.25, as issue 19 sets it


def test_scales_and_names_multiply() -> None:
    assert plan([0.5, 2.0], ["stage", "merge"], report=False) == [
        (0.5, "stage"), (0.5, "merge"), (2.0, "stage"), (2.0, "merge")
    ]  # fmt: skip
    assert plan(None, ["lake"], report=False) == [(0.01, "lake")]


def test_the_benchmarks_import_from_any_folder(tmp_path: Path) -> None:
    """`pdbi bench` outside the checkout: bench/ may import only installed packages (tests/ is
    not one; the replay benchmark once imported its driver from there)."""
    done = subprocess.run(
        [sys.executable, "-c", "import bench.__main__"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
