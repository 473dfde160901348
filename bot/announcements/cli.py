"""`python -m bot announce send FILE.toml`: an announcement from a file (texts per language,
audience, time), checked before anything is stored. Sent at once ("now") or stored for the
running bot to send at its time (see announcements/example.toml).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.activities.importer import RowError, parse_local_datetime
from bot.announcements import sending
from bot.announcements.sending import Audience, AudienceError
from bot.config import Config
from bot.delivery import DeliveryReport, delivery_bot
from bot.i18n import SUPPORTED_LANGUAGES, Catalogs
from storage import announcements as store
from storage.db import Database


class AnnouncementFileError(ValueError):
    """What is wrong with the file, said so that an operator can fix it."""


@dataclass(frozen=True)
class AnnouncementFile:
    texts: dict[str, str]
    audience: Audience
    send_at: datetime | None  # None: now


def parse_file(source: str, config: Config) -> AnnouncementFile:
    try:
        data: dict[str, Any] = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise AnnouncementFileError(f"not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"texts", "audience", "send_at"})
    if unknown:
        raise AnnouncementFileError(
            f"unknown key {', '.join(unknown)} (use texts, audience, send_at)"
        )
    texts = data.get("texts")
    if not isinstance(texts, dict) or not texts:
        raise AnnouncementFileError('[texts] is missing: one text per language, e.g. nb = "..."')
    for code, text in texts.items():
        if code not in SUPPORTED_LANGUAGES:
            raise AnnouncementFileError(
                f"[texts] {code}: not a language of the bot ({', '.join(SUPPORTED_LANGUAGES)})"
            )
        if not isinstance(text, str) or not text.strip():
            raise AnnouncementFileError(f"[texts] {code}: the text is empty")
        if len(text) > sending.TEXT_LIMIT:
            raise AnnouncementFileError(
                f"[texts] {code}: {len(text)} characters; at most {sending.TEXT_LIMIT}"
            )
    if config.staff_language not in texts:
        raise AnnouncementFileError(
            f"[texts] needs the staff language ({config.staff_language}): it is what readers "
            "of other languages get when their text is missing"
        )
    audience_data = data.get("audience", {})
    if not isinstance(audience_data, dict):
        raise AnnouncementFileError("[audience] must be a table")
    extra = sorted(set(audience_data) - {"ages", "languages", "going"})
    if extra:
        raise AnnouncementFileError(
            f"[audience] unknown key {', '.join(extra)} (use ages, languages, going)"
        )
    try:
        audience = Audience.from_dict(audience_data, SUPPORTED_LANGUAGES)
    except AudienceError as error:
        raise AnnouncementFileError(f"[audience] {error}") from None
    raw_when = str(data.get("send_at", "now")).strip()
    send_at = None
    if raw_when.lower() != "now":
        try:
            send_at = parse_local_datetime(raw_when, config.timezone, "send_at")
        except RowError as error:
            raise AnnouncementFileError(f'send_at: {error} (or "now")') from None
    return AnnouncementFile({k: v.strip() for k, v in texts.items()}, audience, send_at)


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    announce = sub.add_parser("announce", help="send an announcement to residents from a file")
    announce_sub = announce.add_subparsers(dest="announce_command", required=True)
    send = announce_sub.add_parser(
        "send", help="check FILE.toml and send it now or store it for its time"
    )
    send.add_argument("file", type=Path)
    send.add_argument(
        "--check", action="store_true", help="only check the file; store and send nothing"
    )
    send.set_defaults(handler=cmd_send)


def cmd_send(config: Config, args: argparse.Namespace) -> int:
    try:
        source = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"cannot read {args.file}: {error}", file=sys.stderr)
        return 1
    try:
        parsed = parse_file(source, config)
    except AnnouncementFileError as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        print("Nothing was stored or sent.", file=sys.stderr)
        return 1
    if args.check:
        print(f"{args.file}: fine ({', '.join(sorted(parsed.texts))})")
        return 0

    async def run() -> tuple[int, DeliveryReport | None]:
        now = datetime.now(UTC)
        db = await Database.open(config.database)
        try:
            number = await store.add_scheduled(
                db,
                parsed.texts,
                frozenset(),
                parsed.audience.as_dict(),
                parsed.send_at or now,
                now,
            )
            if parsed.send_at is not None and parsed.send_at > now:
                return number, None
            announcement = await store.get(db, number)
            assert announcement is not None
            async with delivery_bot(config) as bot:
                report = await sending.send(
                    bot,
                    db,
                    Catalogs(default_language=config.default_language),
                    config,
                    announcement,
                    SUPPORTED_LANGUAGES,
                    now,
                )
            return number, report
        finally:
            await db.close()

    number, report = asyncio.run(run())
    if report is None:
        assert parsed.send_at is not None
        print(
            f"announcement {number} stored; the bot sends it at "
            f"{parsed.send_at.astimezone(config.timezone):%Y-%m-%d %H:%M}"
        )
        return 0
    print(
        f"announcement {number}: {report.sent} sent, {report.blocked} blocked, "
        f"{report.failed} failed"
    )
    return 0
