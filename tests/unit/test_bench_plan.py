"""What `python -m bench` runs: the full report is every benchmark, the pipeline at 3 scales."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.__main__ import BENCHMARKS, default_results, plan


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


def test_results_go_to_the_checkout_else_to_the_current_folder(tmp_path: Path) -> None:
    checkout, wheel = tmp_path / "checkout", tmp_path / "site-packages"
    for root in (checkout, wheel):
        (root / "bench").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("[project]\n")
    assert default_results(checkout / "bench") == checkout / "bench" / "results"
    assert default_results(wheel / "bench") == Path.cwd() / "bench-results"  # not site-packages


def test_pdbi_bench_writes_its_json_where_it_is_told(tmp_path: Path) -> None:
    out = tmp_path / "figures"
    command = ["bench", "--only", "generate", "--scale", "0.001", "--results", "figures"]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("pdbi")), *command],
        cwd=tmp_path,  # relative to the folder it runs in
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (written,) = out.glob("bench-*.json")
    rows = json.loads(written.read_text())["rows"]
    assert [r["stage"] for r in rows] == ["generate"] and rows[0]["rows"] > 0
    assert f"results: {written}" in done.stdout
