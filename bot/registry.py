"""How feature modules plug into the shared parts: deep links, free-form messages, /cancel,
and the command menus. Each feature calls these from its `register(app)`.

Free-form messages need a chain rather than plain handlers: whether a resident's photo belongs
to a tip being written or to an open staff case is known only from the database, and
python-telegram-bot stops at the first handler that matches.
"""

from __future__ import annotations

from bot.context import (
    BotApplication,
    BusyCheck,
    CancelHook,
    CaseHeaderPart,
    DeepLinkHandler,
    ForgetHook,
    MessageConsumer,
    StartupHook,
)


def add_deep_link(app: BotApplication, prefix: str, handler: DeepLinkHandler) -> None:
    """Route `/start <prefix>` and `/start <prefix>-<arg>` to `handler(update, context, arg)`."""
    if prefix in app.bot_data.deep_links:
        raise ValueError(f"deep link {prefix!r} registered twice")
    app.bot_data.deep_links[prefix] = handler


def add_message_consumer(
    app: BotApplication, name: str, consumer: MessageConsumer, priority: int = 50
) -> None:
    """Offer residents' private messages to `consumer`; lower priority numbers ask first."""
    app.bot_data.message_consumers.append((priority, name, consumer))
    app.bot_data.message_consumers.sort(key=lambda item: item[0])


def add_staff_message_consumer(
    app: BotApplication, name: str, consumer: MessageConsumer, priority: int = 50
) -> None:
    """Offer messages written in the staff chat to `consumer`."""
    app.bot_data.staff_message_consumers.append((priority, name, consumer))
    app.bot_data.staff_message_consumers.sort(key=lambda item: item[0])


def add_cancel_hook(app: BotApplication, hook: CancelHook) -> None:
    app.bot_data.cancel_hooks.append(hook)


def add_busy_check(app: BotApplication, name: str, check: BusyCheck) -> None:
    """Hold back unasked messages (survey invitations) while `check(db, telegram_id)` is True.

    The handover feature registers "a conversation with staff is open": nobody is asked for
    feedback in the middle of asking for help.
    """
    app.bot_data.busy_checks.append((name, check))


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
