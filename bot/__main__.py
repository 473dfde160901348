"""Command line: `python -m bot run` starts the bot; `python -m bot demo` tries it without
Telegram; other subcommands operate on its data.

    python -m bot --help

Subcommands come from the feature modules listed in `CLI_MODULES`; each has
`add_cli(subparsers)` and sets `handler(config, args) -> int` (and `needs_token=False` for
commands that work offline on the database).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bot.config import Config, ConfigError

log = logging.getLogger("bot")

#: Modules that add subcommands, in the order `--help` lists them.
CLI_MODULES = (
    "bot.ops",
    "bot.activities.cli",
    "bot.surveys.cli",
    "bot.tips.cli",
    "bot.bridge.cli",
    "bot.reports.cli",
    "bot.announcements.cli",
    "bot.database_cli",
)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO, and the URL contains the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def cmd_run(config: Config, _args: argparse.Namespace) -> int:
    from bot.app import build_application, run

    # Long polling, or a webhook with BOT_WEBHOOK_URL. Either stops cleanly on SIGINT (Ctrl-C)
    # and SIGTERM: it finishes the updates in hand, stops the jobs and closes the database.
    run(build_application(config))
    return 0


def cmd_demo(config: Config, args: argparse.Namespace) -> int:
    """The real bot against a local Telegram, shown in the browser: no token, no network."""
    import asyncio

    from sandbox.demo import DemoError, run

    try:
        return asyncio.run(
            run(
                config,
                port=args.port,
                database=args.database,
                language=args.language,
                open_browser=not args.no_browser,
            )
        )
    except DemoError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1


def add_demo_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pathlib import Path

    from bot.i18n import SUPPORTED_LANGUAGES

    demo = sub.add_parser(
        "demo",
        help="try the bot without Telegram: the real bot, a local Telegram and a browser page",
        description="Starts the bot exactly as `run` does, against a local Telegram on "
        "127.0.0.1, with a fresh demo database (activities, a survey, a few residents), and "
        "opens a page that shows residents' phones and the staff group. Ctrl-C stops it.",
    )
    demo.add_argument("--port", type=int, default=8080, help="page port (default 8080; 0: any)")
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser")
    demo.add_argument(
        "--database",
        type=Path,
        help="keep the demo's data in this file (default: a fresh one, removed at the end); "
        "never the bot's own BOT_DATABASE",
    )
    demo.add_argument(
        "--language",
        choices=sorted(SUPPORTED_LANGUAGES),
        help="the bot's default language in the demo (default: BOT_DEFAULT_LANGUAGE or nb)",
    )
    demo.set_defaults(handler=cmd_demo, needs_token=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Stikk innom: the district's Telegram contact point.",
        epilog="Configuration comes from environment variables; see .env.example.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run", help="start the bot (long polling, or a webhook with BOT_WEBHOOK_URL)"
    )
    run.set_defaults(handler=cmd_run)
    add_demo_cli(sub)
    for name in CLI_MODULES:
        importlib.import_module(name).add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        config = Config.from_env(require_token=getattr(args, "needs_token", True))
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)
    return int(args.handler(config, args) or 0)


if __name__ == "__main__":
    sys.exit(main())
