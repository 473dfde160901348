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


def test_quick_benchmark_runs_digests_and_relay_on_postgresql_beside_sqlite(
    tmp_path: Path,
) -> None:
    """`--postgresql URL` adds each engine-bound benchmark's PostgreSQL twin and the city
    digest, each in a fresh database (named after the process) dropped afterwards."""
    import asyncio

    from tests.postgres import ADMIN_URL, _connect

    async def databases_of(pid: int | None) -> list[str]:
        admin = await _connect()  # skips (or fails under CI=true) without a server
        try:
            rows = await admin.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", f"bench_{pid}_%"
            )
            return [row[0] for row in rows]
        finally:
            await admin.close()

    asyncio.run(databases_of(None))
    target = tmp_path / "figures.json"
    process = subprocess.Popen(
        [
            *BENCH,
            "--quick",
            "--only",
            "digest",
            "city_digest",
            "relay",
            "--postgresql",
            ADMIN_URL,
            "--json",
            str(target),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr[-2000:]
    results = json.loads(target.read_text())["results"]
    assert list(results) == [
        "digest",
        "digest@postgresql",
        "city_digest@postgresql",
        "relay",
        "relay@postgresql",
    ]
    assert results["digest@postgresql"]["outbox_rows"] == results["digest"]["outbox_rows"]
    city = results["city_digest@postgresql"]
    assert city["subscribers"]["median"] == 20_000
    assert city["outbox_rows"]["median"] >= 20_000
    assert city["peak_rss_mb"]["median"] > 0
    assert results["relay@postgresql"]["messages_each_way"]["median"] == 50
    assert asyncio.run(databases_of(process.pid)) == []  # every benchmark database dropped
