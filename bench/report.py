"""Print a figures file as the Markdown table in the README's Performance section:
`python -m bench.report docs/benchmark-results.json`."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def markdown(figures: dict) -> str:
    machine = figures["machine"]
    lines = [
        f"{machine['cpus']} CPUs ({machine['cpu_model']}), Python {machine['python']},"
        f" {machine['platform']}; load average {machine['load_average']} before and"
        f" {figures.get('load_average_after', '?')} after; {figures['runs']} runs each.",
        "",
        "| benchmark | figure | median | min | max |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, values in figures["results"].items():
        for key, value in values.items():
            lines.append(
                f"| {name} | {key} | {_number(value['median'])} | {_number(value['min'])}"
                f" | {_number(value['max'])} |"
            )
    return "\n".join(lines)


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


if __name__ == "__main__":
    print(markdown(json.loads(Path(sys.argv[1]).read_text())))
