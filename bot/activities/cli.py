"""Subcommands: `activities import FILE` (offline) and `digest send` (sends now)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from bot.activities import notices
from bot.activities.digest import send_digest
from bot.activities.importer import ImportSummary, import_file
from bot.config import Config
from bot.delivery import DeliveryReport, delivery_bot
from bot.i18n import Catalogs
from storage.db import Database


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    acts = sub.add_parser("activities", help="manage the list of activities")
    acts_sub = acts.add_subparsers(dest="activities_command", required=True)
    imp = acts_sub.add_parser(
        "import",
        help="import activities from an iCalendar (.ics) or CSV file (see "
        "docs/activities-template.csv); idempotent: importing again updates",
    )
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=cmd_import, needs_token=False)

    digest = sub.add_parser("digest", help="the weekly digest of activities")
    digest_sub = digest.add_subparsers(dest="digest_command", required=True)
    send = digest_sub.add_parser(
        "send",
        help="send this week's digest now (sends only what was not sent yet this week)",
    )
    send.set_defaults(handler=cmd_send)


def cmd_import(config: Config, args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"no file {path}", file=sys.stderr)
        return 1

    data = path.read_bytes()

    async def run() -> tuple[ImportSummary, int | None]:
        db = await Database.open(config.database)
        try:
            now = datetime.now(UTC)
            summary = await import_file(db, path.name, data, config.timezone, now)
            # Cancellations and new times reach those going now (with a token) or from the
            # running bot's next round; a run cut short is finished by the next one.
            catalogs = Catalogs(default_language=config.default_language)
            await notices.announce_changes(db, catalogs, config, now)
            told = await notices.deliver_notices(db, config) if config.token else None
            return summary, told
        finally:
            await db.close()

    summary, told = asyncio.run(run())
    print(
        f"{summary.series} series: {summary.added} new, {summary.updated} updated, "
        f"{summary.cancelled} cancelled activities"
    )
    if told is not None:
        print(f"{told} residents told of cancellations and changes")
    for line, problem in summary.errors:
        print(f"line {line}: {problem}", file=sys.stderr)
    return 1 if summary.errors else 0


def cmd_send(config: Config, _args: argparse.Namespace) -> int:
    async def run() -> tuple[str, DeliveryReport]:
        db = await Database.open(config.database)
        bar = tqdm(unit="msg", desc="digest", disable=None)

        def total(count: int) -> None:
            bar.reset(total=count)

        def progress(report: DeliveryReport) -> None:
            bar.n = report.done
            bar.set_postfix(blocked=report.blocked, failed=report.failed, refresh=False)
            bar.refresh()

        try:
            async with delivery_bot(config) as bot:
                return await send_digest(
                    bot,
                    db,
                    Catalogs(default_language=config.default_language),
                    config,
                    datetime.now(UTC),
                    on_progress=progress,
                    on_total=total,
                )
        finally:
            bar.close()
            await db.close()

    name, report = asyncio.run(run())
    if report.busy:
        print("another delivery is running; try again when it has finished", file=sys.stderr)
        return 1
    if not report.total:
        print(f"{name}: nothing left to send")
        return 0
    print(
        f"{name}: {report.sent} sent, {report.blocked} blocked, {report.failed} failed "
        f"({report.retried} retries)"
    )
    return 0
