"""How feature modules plug into the shared parts: deep links, start-up, the header of a case,
erasure and the command menus. Each feature calls these from its `register(app)`.

Free-form messages (and /cancel, and "is this resident busy?") are not registered here: they
follow the one ordered list of conversations in `bot/conversations.py`.
"""

from __future__ import annotations

from bot.context import (
    BotApplication,
    CaseHeaderPart,
    DeepLinkHandler,
    ForgetHook,
    StartupHook,
)


def add_deep_link(app: BotApplication, prefix: str, handler: DeepLinkHandler) -> None:
    """Route `/start <prefix>` and `/start <prefix>-<arg>` to `handler(update, context, arg)`."""
    if prefix in app.bot_data.deep_links:
        raise ValueError(f"deep link {prefix!r} registered twice")
    app.bot_data.deep_links[prefix] = handler


def add_resident_command(
    app: BotApplication, command: str, description: str, order: int = 50
) -> None:
    """List a command in the residents' command menu (`description` marked with N_)."""
    app.bot_data.resident_commands.append((command, description, order))


def add_staff_command_description(
    app: BotApplication, command: str, description: str, order: int = 50
) -> None:
    app.bot_data.staff_commands.append((command, description, order))


def add_startup_hook(app: BotApplication, hook: StartupHook) -> None:
    """Run `hook(app)` once at start, after the database is open and the menus are set."""
    app.bot_data.startup_hooks.append(hook)


def add_case_header_part(app: BotApplication, part: CaseHeaderPart) -> None:
    """Contribute lines (e.g. the resident's open tips) to the header card of new staff cases."""
    app.bot_data.case_header_parts.append(part)


def add_forget_hook(app: BotApplication, hook: ForgetHook) -> None:
    """Run `hook(context, telegram_id)` when a resident erases their data with /deleteme,
    before the database forgets them (e.g. to close their case topic in the staff chat)."""
    app.bot_data.forget_hooks.append(hook)
