"""`python -m bot replies ...`: load the reply templates staff send with one press.

    python -m bot replies load replies/example.toml
    python -m bot replies list

Both work on the database alone (the bot may keep running).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.bridge.templates import TemplateFileError, parse_templates
from bot.config import Config
from storage import replies
from storage.db import Database


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("replies", help="load and list the reply templates")
    replies_sub = parser.add_subparsers(dest="replies_command", required=True)
    load = replies_sub.add_parser(
        "load", help="replace the reply templates with those of a TOML file"
    )
    load.add_argument("file", type=Path)
    load.set_defaults(handler=cmd_load, needs_token=False)
    listing = replies_sub.add_parser("list", help="list the reply templates and their languages")
    listing.set_defaults(handler=cmd_list, needs_token=False)


async def _load(config: Config, templates: list[replies.ReplyTemplate]) -> replies.LoadSummary:
    db = await Database.open(config.database)
    try:
        return await replies.replace_all(db, templates, datetime.now(UTC))
    finally:
        await db.close()


def cmd_load(config: Config, args: argparse.Namespace) -> int:
    try:
        source = args.file.read_bytes()
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 1
    try:
        templates = parse_templates(source, config.staff_language)
    except TemplateFileError as error:
        for problem in error.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print("Nothing was saved.", file=sys.stderr)
        return 1
    summary = asyncio.run(_load(config, templates))
    print(
        f"{len(templates)} reply templates loaded ({summary.added} new, {summary.updated}"
        f" updated, {summary.removed} removed)"
    )
    for template in templates:
        print(f"  {template.key}: {', '.join(template.texts)}")
    return 0


def cmd_list(config: Config, _args: argparse.Namespace) -> int:
    async def work() -> list[replies.ReplyTemplate]:
        db = await Database.open(config.database)
        try:
            return await replies.all_templates(db)
        finally:
            await db.close()

    templates = asyncio.run(work())
    if not templates:
        print("no reply templates; load some with: python -m bot replies load FILE")
    for template in templates:
        print(f"{template.key}\t{template.label}\t{', '.join(template.texts)}")
    return 0
