"""`python -m bot surveys ...`: load a survey file, print a QR poster, export the results.

    python -m bot surveys load surveys/example.toml
    python -m bot surveys list
    python -m bot surveys qr park-2026 --output poster.pdf --languages nb,en,ar,so,ur,pl
    python -m bot surveys results park-2026 --format xlsx --output park.xlsx
    python -m bot surveys results park-2026 > park.csv

All work on the database alone; `qr` asks Telegram for the bot's username unless it is given.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from telegram import Bot
from telegram.error import TelegramError

from bot.cli_output import add_output_argument, check_output, write_export
from bot.config import Config
from bot.i18n import SUPPORTED_LANGUAGES, normalize_language
from bot.surveys import results
from bot.surveys.definition import SurveyFileError, localized
from bot.surveys.management import deep_link, load_survey
from storage import audit
from storage import surveys as store
from storage.db import Database
from storage.surveys import ResponseRow, Survey

T = TypeVar("T")


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    surveys = sub.add_parser("surveys", help="load surveys, print QR posters, export results")
    surveys_sub = surveys.add_subparsers(dest="surveys_command", required=True)

    load = surveys_sub.add_parser("load", help="add or update a survey from a TOML file")
    load.add_argument("file", type=Path)
    load.set_defaults(handler=cmd_load, needs_token=False)

    listing = surveys_sub.add_parser("list", help="list the surveys and their answers")
    listing.set_defaults(handler=cmd_list, needs_token=False)

    qr = surveys_sub.add_parser("qr", help="write a printable poster with the survey's QR code")
    qr.add_argument("slug")
    qr.add_argument("--output", type=Path, help="PNG or PDF file (default: SLUG-poster.pdf)")
    qr.add_argument(
        "--languages",
        default="",
        help="comma-separated languages of the title, in print order (default: all)",
    )
    qr.add_argument("--bot-username", help="the bot's @username (default: ask Telegram)")
    qr.add_argument("--font", type=Path, help="a TrueType font with every letter needed")
    qr.set_defaults(handler=cmd_qr, needs_token=False)

    export = surveys_sub.add_parser(
        "results",
        help="export the answers as CSV (standard output by default) or XLSX (needs --output)",
    )
    export.add_argument("slug")
    export.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    add_output_argument(export)
    export.set_defaults(handler=cmd_results, needs_token=False)


def _with_db(config: Config, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = await Database.open(config.database)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())


def cmd_load(config: Config, args: argparse.Namespace) -> int:
    try:
        source = args.file.read_bytes()
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 1

    async def work(db: Database) -> tuple[Survey, bool]:
        return await load_survey(db, source, config.default_language, datetime.now(UTC))

    try:
        survey, created = _with_db(config, work)
    except SurveyFileError as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        print("Nothing was saved.", file=sys.stderr)
        return 1
    verb = "added" if created else "updated"
    print(f"survey {survey.slug} {verb}: {len(survey.questions)} questions")
    return 0


def cmd_list(config: Config, _args: argparse.Namespace) -> int:
    async def work(db: Database) -> list[tuple[Survey, int]]:
        found = []
        for survey in await store.all_surveys(db):
            found.append((survey, len(await store.responses(db, survey.id))))
        return found

    for survey, count in _with_db(config, work):
        title = localized(survey.title, config.default_language, config.default_language)
        window = f"{survey.opens_on or '…'} – {survey.closes_on or '…'}"
        print(f"{survey.slug}\t{window}\t{count} answers\t{title}")
    return 0


def cmd_qr(config: Config, args: argparse.Namespace) -> int:
    from bot.surveys.poster import make_poster

    requested = [code.strip() for code in args.languages.split(",") if code.strip()]
    unknown = [code for code in requested if normalize_language(code) is None]
    if unknown:
        print(f"unknown language {unknown[0]!r}; use {', '.join(SUPPORTED_LANGUAGES)}")
        return 2
    languages = [code for code in map(normalize_language, requested) if code is not None]
    survey = _with_db(config, lambda db: store.by_slug(db, args.slug.lower()))
    if survey is None:
        print(f"no survey {args.slug!r}; load it first (python -m bot surveys load FILE)")
        return 1
    username = (args.bot_username or "").lstrip("@") or _ask_username(config)
    if not username:
        return 1
    link = deep_link(username, survey.slug)
    if not languages:
        languages = [code for code in SUPPORTED_LANGUAGES if code in survey.title]
        languages = languages or [config.default_language]
    titles = [(code, localized(survey.title, code, config.default_language)) for code in languages]
    poster = make_poster(link, titles, font=args.font)
    output = args.output or Path(f"{survey.slug}-poster.pdf")
    if output.suffix.lower() not in (".png", ".pdf"):
        print("the poster can be a .png or a .pdf file")
        return 2
    output.parent.mkdir(parents=True, exist_ok=True)
    poster.save(output)
    for code in poster.left_out:
        print(
            f"warning: the {SUPPORTED_LANGUAGES[code]} title was left out: no font has all its"
            " letters; pass --font with one that does (for example the Noto font of that script)"
        )
    print(f"poster written to {output} ({link})")
    return 0


def _ask_username(config: Config) -> str:
    if not config.token:
        print("set BOT_TOKEN, or pass --bot-username", file=sys.stderr)
        return ""

    async def get_me() -> str:
        bot = Bot(
            config.token,
            base_url=f"{config.api_root}/bot",
            base_file_url=f"{config.api_root}/file/bot",
        )
        async with bot:
            return (await bot.get_me()).username or ""

    try:
        return asyncio.run(get_me())
    except TelegramError as error:
        print(f"could not ask Telegram for the bot's name ({error}); pass --bot-username")
        return ""


def cmd_results(config: Config, args: argparse.Namespace) -> int:
    problem = check_output(args.format, args.output)
    if problem:
        print(problem, file=sys.stderr)
        return 2

    async def work(db: Database) -> tuple[Survey | None, list[ResponseRow]]:
        survey = await store.by_slug(db, args.slug.lower(), all_questions=True)
        if survey is None:
            return None, []
        if not survey.anonymous:
            await audit.record(
                db,
                audit.OPERATOR,
                audit.Action.EXPORT_SURVEY,
                datetime.now(UTC),
                subject=survey.slug,
                detail=f"format={args.format}",
            )
        return survey, await store.responses(db, survey.id)

    survey, rows = _with_db(config, work)
    if survey is None:
        print(f"no survey {args.slug!r}", file=sys.stderr)
        return 1
    table = results.table(survey, rows, config.default_language)
    if args.format == "csv":
        data = results.to_csv(table)
    else:
        data = results.to_xlsx(table, results.question_legend(survey, config.default_language))
    write_export(data, args.output, f"{len(rows)} answers")
    return 0
