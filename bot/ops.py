"""Operators' subcommands: `check`, `backup PATH`, `residents forget TELEGRAM_ID`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path

from telegram import Bot, ChatMemberAdministrator
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.bridge.check import check_bridge
from bot.cli_output import iso_date
from bot.config import Config
from storage import audit, privacy, staff_erasure
from storage.db import BackupError, Database, backup_file

Say = Callable[[str], None]


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser(
        "check",
        help="verify configuration, database, token and the bot's rights in the staff chat",
    )
    check.set_defaults(handler=cmd_check)

    backup = sub.add_parser("backup", help="write a consistent online backup of the database")
    backup.add_argument("path", type=Path, help="file to write (must not exist)")
    backup.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="give up after this many seconds if the database stays locked (default 60)",
    )
    backup.set_defaults(handler=cmd_backup, needs_token=False)

    residents = sub.add_parser("residents", help="manage residents' data")
    residents_sub = residents.add_subparsers(dest="residents_command", required=True)
    forget = residents_sub.add_parser(
        "forget", help="erase a resident (for a request made at the office)"
    )
    forget.add_argument("telegram_id", type=int)
    forget.set_defaults(handler=cmd_forget, needs_token=False)

    trail = sub.add_parser(
        "audit",
        help="list exports, erasures, blocks and case assignments (who, what, when; no content)",
    )
    trail.add_argument(
        "--since", type=iso_date, help="only entries on or after this date (YYYY-MM-DD)"
    )
    trail.set_defaults(handler=cmd_audit, needs_token=False)



def cmd_audit(config: Config, args: argparse.Namespace) -> int:
    """Print the audit trail, one tab-separated line per entry, times in BOT_TIMEZONE."""
    if not config.database.exists():
        print(f"no database at {config.database}", file=sys.stderr)
        return 1
    since = datetime.combine(args.since, time(0), tzinfo=config.timezone) if args.since else None

    async def read() -> list[audit.Entry]:
        db = await Database.open(config.database)
        try:
            return await audit.entries(db, since.astimezone(UTC) if since else None)
        finally:
            await db.close()

    for entry in asyncio.run(read()):
        when = entry.at.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M")
        fields = [when, entry.actor.label, entry.action, entry.subject or "", entry.detail or ""]
        print("\t".join(fields))
    return 0


def cmd_check(config: Config, _args: argparse.Namespace) -> int:
    problems = asyncio.run(run_checks(config, print))
    if problems:
        print(f"\n{problems} problem(s) to fix.")
        return 1
    print("\nAll good.")
    return 0


async def run_checks(config: Config, say: Say) -> int:
    """Check everything an operator can get wrong; `say` each finding; return the problem count."""
    problems = 0

    def ok(text: str) -> None:
        say(f"OK    {text}")

    def fix(text: str) -> None:
        nonlocal problems
        problems += 1
        say(f"FIX   {text}")

    def note(text: str) -> None:
        say(f"NOTE  {text}")

    ok(f"configuration (time zone {config.timezone.key}, language {config.default_language})")
    try:
        db = await Database.open(config.database)
        ok(f"database {config.database} (schema version {await db.schema_version()})")
        await db.close()
    except Exception as error:  # any failure here is the operator's to see
        fix(f"database {config.database}: {error}")

    bot = Bot(
        config.token,
        base_url=f"{config.api_root}/bot",
        base_file_url=f"{config.api_root}/file/bot",
    )
    try:
        async with bot:
            me = await bot.get_me()
            ok(f"token: the bot is @{me.username}")
            await _check_webhook(bot, config, ok, fix, note)
            await _check_staff_chat(bot, config, ok, fix)
    except TelegramError as error:
        if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
            # No answer at all (connection refused, DNS, timeout): nothing was refused.
            fix(
                f"Telegram could not be reached at {config.api_root} ({error}); check the"
                " network and BOT_API_BASE_URL"
            )
        else:
            fix(f"token: Telegram refused it ({error}); check BOT_TOKEN and BOT_API_BASE_URL")
    await check_bridge(config, ok, fix, note)
    return problems


async def _check_webhook(bot: Bot, config: Config, ok: Say, fix: Say, note: Say) -> None:
    """How updates reach the bot, as Telegram sees it (getWebhookInfo)."""
    info = await bot.get_webhook_info()
    waiting = f"{info.pending_update_count} update(s) waiting at Telegram"
    if config.webhook_url is None:
        if info.url:
            note(
                f"a webhook is set at Telegram ({info.url}) but BOT_WEBHOOK_URL is not: `run`"
                " removes it and uses long polling"
            )
        else:
            ok(f"updates by long polling; {waiting}")
        return
    if not info.url:
        note(
            f"webhook: not set at Telegram yet; `run` sets it to {config.webhook_url} ({waiting})"
        )
    elif info.url != config.webhook_url:
        fix(
            f"webhook: Telegram posts to {info.url}, not to BOT_WEBHOOK_URL"
            f" {config.webhook_url}: does another bot use this token?"
        )
    else:
        ok(f"webhook: Telegram posts to {info.url}; {waiting}")
    if info.last_error_date is not None:
        when = info.last_error_date.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M")
        error = f"Telegram's last error at the webhook, {when}: {info.last_error_message}"
        if info.pending_update_count:
            fix(f"{error}; check the reverse proxy, BOT_WEBHOOK_LISTEN and that the bot runs")
        else:
            note(error)


async def _check_staff_chat(bot: Bot, config: Config, ok: Say, fix: Say) -> None:
    if config.staff_chat_id is None:
        fix("BOT_STAFF_CHAT_ID is not set: staff cannot answer residents")
        return
    try:
        chat = await bot.get_chat(config.staff_chat_id)
    except TelegramError as error:
        fix(f"staff chat {config.staff_chat_id}: {error}; add the bot to the staff group")
        return
    if chat.type != chat.SUPERGROUP or not chat.is_forum:
        fix(f"staff chat {chat.title!r} is not a supergroup with Topics: switch on Topics")
    else:
        ok(f"staff chat {chat.title!r} is a forum supergroup")
    member = await bot.get_chat_member(config.staff_chat_id, bot.id)
    if not isinstance(member, ChatMemberAdministrator):
        fix(f"the bot is not an administrator in {chat.title!r}: make it admin")
    elif not member.can_manage_topics:
        fix(f"the bot may not manage topics in {chat.title!r}: give it 'Manage topics'")
    else:
        ok("the bot is an administrator who can manage topics")
    if isinstance(member, ChatMemberAdministrator) and not member.can_delete_messages:
        # deleteForumTopic needs it: erasure (/deleteme, retention) deletes case topics.
        fix(
            f"the bot may not delete messages in {chat.title!r}: give it 'Delete messages'"
            " (erasure deletes case topics)"
        )


def cmd_backup(config: Config, args: argparse.Namespace) -> int:
    target: Path = args.path
    if target.exists():
        print(f"{target} exists already; choose a new file name", file=sys.stderr)
        return 1
    if not isinstance(config.database, Path):
        print(
            f"{config.database} is a PostgreSQL database: back it up with pg_dump "
            "(or the server's own backups)",
            file=sys.stderr,
        )
        return 1
    if not config.database.exists():
        print(f"no database at {config.database}", file=sys.stderr)
        return 1

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        backup_file(config.database, target, timeout=args.timeout)
    except (BackupError, OSError) as error:
        print(f"no backup written: {error}", file=sys.stderr)
        return 1
    print(f"backup written to {target}")
    return 0


def cmd_forget(config: Config, args: argparse.Namespace) -> int:
    async def forget() -> tuple[bool, int]:
        db = await Database.open(config.database)
        try:
            known = await privacy.forget_resident(db, args.telegram_id, datetime.now(UTC))
            in_staff_chat = await staff_erasure.pending(db)
            if known:
                await audit.record(
                    db,
                    audit.OPERATOR,
                    audit.Action.ERASE_RESIDENT,
                    datetime.now(UTC),
                    detail="python -m bot residents forget",
                )
            return known, in_staff_chat
        finally:
            await db.close()

    known, in_staff_chat = asyncio.run(forget())
    if known:
        print(f"resident {args.telegram_id} erased")
    else:
        print(f"no resident {args.telegram_id} was stored; nothing to erase")
    if in_staff_chat:
        # The CLI has no Telegram connection of its own: the outbox of the bot does it.
        print(
            f"{in_staff_chat} removals from the staff chat (case topics, tip cards, media) are"
            " queued; the running bot (python -m bot run) makes them within a minute and posts"
            " a note in the staff chat listing anything Telegram did not let it remove"
        )
    return 0
