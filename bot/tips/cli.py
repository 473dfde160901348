"""`python -m bot tips export`: the tips export for operators, offline on the database.

python -m bot tips export --format xlsx --since 2026-01-01 --output tips.xlsx
python -m bot tips export --format open311 > requests.json

Text formats (csv, open311) go to standard output unless --output is given; xlsx needs --output.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from bot.cli_output import add_output_argument, check_output, iso_date, write_export
from bot.config import Config
from bot.i18n import Catalogs
from bot.tips import export
from storage import audit
from storage.db import Database


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tips = sub.add_parser("tips", help="residents' tips")
    tips_sub = tips.add_subparsers(dest="tips_command", required=True)
    run = tips_sub.add_parser(
        "export", help="export tips as CSV, XLSX or Open311 GeoReport v2 JSON"
    )
    run.add_argument("--format", choices=export.FORMATS, default="csv")
    run.add_argument(
        "--since", type=iso_date, help="only tips made on or after this date (YYYY-MM-DD)"
    )
    add_output_argument(run)
    run.set_defaults(handler=cmd_export, needs_token=False)


def cmd_export(config: Config, args: argparse.Namespace) -> int:
    problem = check_output(args.format, args.output)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if not config.database.exists():
        print(f"no database at {config.database}", file=sys.stderr)
        return 1

    async def produce() -> bytes:
        db = await Database.open(config.database)
        try:
            texts = Catalogs(default_language=config.default_language).texts(None)
            data = await export.export_bytes(db, args.format, args.since, config, texts)
            await audit.record(
                db,
                audit.OPERATOR,
                audit.Action.EXPORT_TIPS,
                datetime.now(UTC),
                detail=export.export_detail(args.format, args.since),
            )
            return data
        finally:
            await db.close()

    write_export(asyncio.run(produce()), args.output, "export")
    return 0
