"""`python -m bot report`: the district's figures over a period, for a project report or the
district council. Offline, on the database; no personal data in it.

    python -m bot report --from 2026-01-01 --to 2026-06-30 --output first-half.pdf
    python -m bot report --from 2026-11-01 --to 2026-11-30 --format md > november.md

`--to` is the last day included. Days are the district's days (BOT_TIMEZONE).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date

from bot.cli_output import add_output_argument, check_output, iso_date, write_export
from bot.config import Config
from bot.i18n import Catalogs
from bot.reports import render
from storage import reports
from storage.db import Database

FORMATS = ("md", "pdf")



def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser(
        "report",
        help="the district's figures over a period as PDF (needs --output) or Markdown",
    )
    report.add_argument("--from", dest="first", type=iso_date, required=True, metavar="DATE")
    report.add_argument(
        "--to", dest="last", type=iso_date, required=True, metavar="DATE", help="last day included"
    )
    report.add_argument(
        "--format", choices=FORMATS, help="md or pdf (default: from the --output name, else md)"
    )
    add_output_argument(report)
    report.set_defaults(handler=cmd_report, needs_token=False)


def period(config: Config, first: date, last: date) -> reports.Period:
    """The district's days `first` to `last` (inclusive)."""
    return reports.Period.of_days(first, last, config.timezone)


def cmd_report(config: Config, args: argparse.Namespace) -> int:
    if args.last < args.first:
        print("--to is before --from", file=sys.stderr)
        return 2
    suffix = args.output.suffix.lower().lstrip(".") if args.output else ""
    export_format = args.format or (suffix if suffix in FORMATS else "md")
    problem = check_output(export_format, args.output)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if not config.database.exists():
        print(f"no database at {config.database}", file=sys.stderr)
        return 1

    async def produce() -> reports.Figures:
        db = await Database.open(config.database)
        try:
            return await reports.figures(db, period(config, args.first, args.last))
        finally:
            await db.close()

    figures = asyncio.run(produce())
    t = Catalogs(default_language=config.default_language).texts(config.default_language)
    title = t._("Stikk innom: what residents told the district")
    if export_format == "pdf":
        data = render.pdf(t, figures, title)
    else:
        data = render.markdown(t, figures, title).encode("utf-8")
    write_export(data, args.output, "report")
    return 0
