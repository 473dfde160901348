"""The benchmark command runs from a fresh checkout and writes figures in the documented shape
(a smoke run of two cheap benchmarks; the full benchmark is not part of the test suite)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = [sys.executable, "-m", "bench"]


def test_quick_benchmark_writes_median_min_max_per_figure(tmp_path: Path) -> None:
    target = tmp_path / "figures.json"
    done = subprocess.run(
        [*BENCH, "--quick", "--only", "durable", "digest", "--json", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "durable" in done.stdout and "tips_per_s" in done.stdout  # the table
    figures = json.loads(target.read_text())
    assert figures["quick"] is True and figures["runs"] == 1
    assert {"python", "cpus", "cpu_model", "load_average"} <= set(figures["machine"])
    assert set(figures["results"]) == {"durable", "digest"}
    for figure in [
        *figures["results"]["durable"].values(),
        *figures["results"]["digest"].values(),
    ]:
        assert set(figure) == {"median", "min", "max"}
        assert figure["min"] <= figure["median"] <= figure["max"]
    assert figures["results"]["durable"]["tips_per_s"]["median"] > 0
    assert figures["results"]["digest"]["outbox_rows"]["median"] >= 2000
