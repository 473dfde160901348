"""Run the benchmarks: `python -m bench [--quick] [--runs N] [--only NAME ...] [--json FILE]
[--postgresql URL]`.

Each benchmark runs against the Telegram test double on 127.0.0.1; each figure is the median of
the runs, with min and max. The table goes to stdout, the figures to a JSON file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from bench import delivery, digest, durable, footprint, handling, relay
from bench.common import summarize

Benchmark = Callable[..., Awaitable[dict[str, float]]]


async def bench_handling(tmp: Path, quick: bool, **engine: str) -> dict[str, float]:
    """Throughput at 50 concurrent residents, latency at 5 (a busy but not saturated bot).

    On PostgreSQL only the bot runs: the echo baseline has no database.
    """
    total = 300 if quick else 5000
    ours = await handling.run(tmp / "ours", total, 50, echo=False, **engine)
    if engine.get("engine", "sqlite") != "sqlite":
        ours_light = await handling.run(tmp / "ours-light", total // 5, 5, echo=False, **engine)
        return {
            "updates": ours["updates"],
            "ours_updates_per_s": ours["updates_per_s"],
            "ours_p50_ms@50": ours["p50_ms"],
            "ours_p99_ms@50": ours["p99_ms"],
            "ours_relay_p50_ms@50": ours["relay_p50_ms"],
            "ours_relay_p99_ms@50": ours["relay_p99_ms"],
            "ours_others_p99_ms@50": ours["others_p99_ms"],
            "ours_p50_ms@5": ours_light["p50_ms"],
            "ours_p99_ms@5": ours_light["p99_ms"],
        }
    echo = await handling.run(tmp / "echo", total, 50, echo=True)
    ours_light = await handling.run(tmp / "ours-light", total // 5, 5, echo=False)
    echo_light = await handling.run(tmp / "echo-light", total // 5, 5, echo=True)
    return {
        "updates": ours["updates"],
        "ours_updates_per_s": ours["updates_per_s"],
        "echo_updates_per_s": echo["updates_per_s"],
        "ratio_ours_to_echo": ours["updates_per_s"] / echo["updates_per_s"],
        "ours_p50_ms@50": ours["p50_ms"],
        "ours_p99_ms@50": ours["p99_ms"],
        "ours_relay_p50_ms@50": ours["relay_p50_ms"],
        "ours_relay_p99_ms@50": ours["relay_p99_ms"],
        "ours_others_p99_ms@50": ours["others_p99_ms"],
        "echo_p50_ms@50": echo["p50_ms"],
        "echo_p99_ms@50": echo["p99_ms"],
        "ours_p50_ms@5": ours_light["p50_ms"],
        "ours_p99_ms@5": ours_light["p99_ms"],
        "echo_p50_ms@5": echo_light["p50_ms"],
        "echo_p99_ms@5": echo_light["p99_ms"],
    }


async def bench_relay(tmp: Path, quick: bool, **engine: str) -> dict[str, float]:
    """Resident to staff topic and back, five conversations at once."""
    return await relay.run(tmp, 50 if quick else 500, **engine)


async def bench_digest(tmp: Path, quick: bool, **engine: str) -> dict[str, float]:
    """From the start of the weekly job to every outbox row committed."""
    return await digest.run(tmp, 2_000 if quick else 50_000, 45, **engine)


async def bench_city_digest(tmp: Path, quick: bool, **engine: str) -> dict[str, float]:
    """A city's digest (a dozen districts in one database): PostgreSQL only."""
    return await digest.run(tmp, 20_000 if quick else 500_000, 45, **engine)


async def bench_delivery(tmp: Path, quick: bool) -> dict[str, float]:
    """The engine at a limit the double enforces, and without any limit."""
    limited = await delivery.run(tmp / "limited", 200 if quick else 2_000, LIMIT)
    ceiling = await delivery.run(tmp / "ceiling", 300 if quick else 3_000, None)
    engine = await delivery.run_engine_only(tmp, 500 if quick else 5_000)
    return {
        "messages": limited["messages"],
        "limit_per_s": limited["limit_per_s"],
        "achieved_per_s": limited["msgs_per_s"],
        "achieved_to_limit": limited["achieved_to_limit"],
        "arrivals_to_limit": limited["arrivals_to_limit"],
        "sends_to_limit": limited["sends_to_limit"],
        "sends_over_limit": limited["sends_over_limit"],
        "http_429": limited["http_429"],
        "ceiling_msgs_per_s": ceiling["msgs_per_s"],
        "engine_only_msgs_per_s": engine["msgs_per_s"],
    }


#: The limit of the delivery benchmark: Telegram's 30 per second, raised to keep 2,000 short.
LIMIT = 100.0


async def bench_footprint(tmp: Path, quick: bool) -> dict[str, float]:
    """Start-up and memory of `python -m bot run` on a district-sized database."""
    if quick:
        return await footprint.run(tmp, 5_000, 500, 2_500)
    return await footprint.run(tmp, 100_000, 10_000, 50_000)


async def bench_durable(tmp: Path, quick: bool) -> dict[str, float]:
    """Confirmed tips (and survey answers) committed per second."""
    return await durable.run(tmp, 300 if quick else 5_000)


BENCHMARKS: dict[str, Benchmark] = {
    "handling": bench_handling,
    "relay": bench_relay,
    "digest": bench_digest,
    "delivery": bench_delivery,
    "footprint": bench_footprint,
    "durable": bench_durable,
}


#: Benchmarks that also run on PostgreSQL when `--postgresql URL` is given (named NAME@postgresql
#: in the results), and those that run only there.
ON_BOTH = ("handling", "relay", "digest")
POSTGRESQL_ONLY: dict[str, Benchmark] = {"city_digest": bench_city_digest}


def plan(names: list[str], server: str | None) -> list[tuple[str, Benchmark]]:
    """The runs in order: each SQLite benchmark, then its PostgreSQL twin beside it."""
    runs: list[tuple[str, Benchmark]] = []
    for name in names:
        if name in BENCHMARKS:
            runs.append((name, BENCHMARKS[name]))
        if server is None:
            continue
        if name in ON_BOTH:
            runs.append(
                (
                    f"{name}@postgresql",
                    partial(BENCHMARKS[name], engine="postgresql", server=server),
                )
            )
        if name in POSTGRESQL_ONLY:
            runs.append(
                (
                    f"{name}@postgresql",
                    partial(POSTGRESQL_ONLY[name], engine="postgresql", server=server),
                )
            )
    return runs


def machine() -> dict[str, str]:
    """Where the figures come from: they only mean something next to this."""
    import os

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_model": model,
        "cpus": str(os.cpu_count()),
        "load_average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run (smoke test)")
    parser.add_argument("--runs", type=int, default=3, help="runs per benchmark (default 3)")
    parser.add_argument(
        "--only", nargs="*", choices=sorted([*BENCHMARKS, *POSTGRESQL_ONLY]), help="run only these"
    )
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="also run handling, relay and digest on PostgreSQL, and the 500,000-subscriber"
        " city digest; URL names the server (postgresql://user@host:port/db); each run creates"
        " a fresh database there and drops it afterwards",
    )
    parser.add_argument("--json", type=Path, default=Path("bench/results/latest.json"))
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    names = args.only or [*BENCHMARKS, *POSTGRESQL_ONLY]
    results: dict[str, dict[str, dict[str, float]]] = {}
    before = machine()
    for name, benchmark in plan(names, args.postgresql):
        collected = []
        for run in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                collected.append(asyncio.run(benchmark(Path(tmp), args.quick)))
                print(
                    f"  {name} run {run + 1}/{runs}: {time.perf_counter() - started:.1f}s",
                    file=sys.stderr,
                )
        results[name] = summarize(collected)
    print_table(results, runs)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "machine": before,
                "load_average_after": machine()["load_average"],
                "quick": args.quick,
                "runs": runs,
                "results": results,
            },
            indent=2,
        )
    )
    print(f"\nfigures written to {args.json}")
    return 0


def print_table(results: dict[str, dict[str, dict[str, float]]], runs: int) -> None:
    print(f"\n{'benchmark':<22} {'figure':<28} {'median':>12} {'min':>12} {'max':>12}")
    print("-" * 90)
    for name, figures in results.items():
        for key, value in figures.items():
            print(
                f"{name:<22} {key:<28} {value['median']:>12.2f} {value['min']:>12.2f}"
                f" {value['max']:>12.2f}"
            )
    print(f"({runs} run(s) each; median, min and max)")


if __name__ == "__main__":
    sys.exit(main())
