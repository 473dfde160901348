"""`python -m bot db copy --from URL --to URL`: move a district's data between databases.

For moving from SQLite to PostgreSQL (or back): both are opened (and migrated) by this bot's
version, the target must be empty, and the copy is verified by counting every table's rows.
Stop the bot first: rows written during the copy would be missed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import Config
from storage.copy import CopyError, copy
from storage.db import Database, DatabaseErrors, parse_location


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="move the bot's data between databases")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    copy_parser = db_sub.add_parser(
        "copy",
        help="copy every row into a new, empty database (e.g. SQLite to PostgreSQL), "
        "verified by row counts",
    )
    copy_parser.add_argument(
        "--from", dest="source", required=True, help="a path, sqlite:///path or postgresql://..."
    )
    copy_parser.add_argument(
        "--to", dest="target", required=True, help="a path, sqlite:///path or postgresql://..."
    )
    copy_parser.set_defaults(handler=cmd_copy, needs_token=False)


def cmd_copy(config: Config, args: argparse.Namespace) -> int:
    try:
        source_location = parse_location(args.source)
        target_location = parse_location(args.target)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    if not source_location.exists():
        print(f"no database at {source_location}", file=sys.stderr)
        return 1

    async def run() -> int:
        source = await Database.open(source_location)
        try:
            target = await Database.open(target_location)
            try:
                copied = await copy(source, target)
            finally:
                await target.close()
        finally:
            await source.close()
        for table in copied:
            print(f"{table.name}: {table.rows}")
        total = sum(table.rows for table in copied)
        print(f"copied {total} rows in {len(copied)} tables to {target_location}; counts match")
        return 0

    try:
        return asyncio.run(run())
    except CopyError as error:
        print(f"nothing copied: {error}", file=sys.stderr)
        return 1
    except DatabaseErrors as error:
        print(f"nothing copied: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"nothing copied: {error}", file=sys.stderr)
        return 1
