"""First contact and navigation: /start, language choice, /help, /privacy, /cancel.

A new resident sees a greeting and the languages as buttons, each in its own language; the
language their Telegram app uses is already selected, so one tap (or none) is enough.
"""

from __future__ import annotations

import logging
import re

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import conversations
from bot.bridge.service import service_host
from bot.common import answer, current_resident, resident_and_texts, resident_texts
from bot.context import BotApplication, BotContext
from bot.i18n import N_, SUPPORTED_LANGUAGES, Texts
from bot.menu import language_keyboard, main_menu
from bot.registry import add_resident_command
from storage import residents

log = logging.getLogger(__name__)

_PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def parse_deep_link(payload: str, known: set[str]) -> tuple[str, str] | None:
    """Split a `/start` payload into (prefix, argument) for a registered prefix.

    `tip` -> ("tip", ""), `survey-park-2026` -> ("survey", "park-2026"). Telegram allows at most
    64 characters of A-Z, a-z, 0-9, _ and -; anything else is not ours.
    """
    if not _PAYLOAD_RE.match(payload):
        return None
    if payload in known:
        return payload, ""
    prefix, _, argument = payload.partition("-")
    if prefix in known and argument:
        return prefix, argument
    return None


async def start(update: Update, context: BotContext) -> None:
    """Greet; ask a new resident for their language; follow a deep link if there is one."""
    resident, is_new = await current_resident(update, context)
    payload = context.args[0] if context.args else ""
    if is_new or not resident.language_chosen:
        t = context.texts(resident.language)
        if payload and context.user_data is not None:
            context.user_data["pending_start"] = payload
        await answer(
            update,
            context,
            t._("Hello! 👋 I am the digital contact point of your district.")
            + "\n\n"
            + t._("Choose your language:"),
            language_keyboard(resident.language, payload),
        )
        return
    if payload and await follow_deep_link(update, context, payload):
        return
    await show_welcome(update, context, resident.language)


async def follow_deep_link(update: Update, context: BotContext, payload: str) -> bool:
    """Run the handler registered for a deep link; False if the payload is not ours."""
    parsed = parse_deep_link(payload, set(context.bot_data.deep_links))
    if parsed is None:
        return False
    prefix, argument = parsed
    await context.bot_data.deep_links[prefix](update, context, argument)
    return True


async def show_welcome(update: Update, context: BotContext, language: str) -> None:
    t = context.texts(language)
    await answer(
        update,
        context,
        t._("Welcome! Here you can see activities, send a tip, give feedback or talk to us.")
        + "\n\n"
        + t._("What do you want to do?"),
        main_menu(t),
    )


async def choose_language(update: Update, context: BotContext) -> None:
    """A language button (`lang:<code>` or `lang:<code>:<pending deep link>`)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, _, rest = query.data.partition(":")
    code, _, payload = rest.partition(":")
    resident, _ = await current_resident(update, context)
    if code not in SUPPORTED_LANGUAGES:
        t = context.texts(resident.language)
        await context.ack_stale(update, t)
        return
    await residents.set_language(context.db, resident.telegram_id, code)
    t = context.texts(code)
    await context.ack(update, t._("Language: {name}", name=SUPPORTED_LANGUAGES[code]))
    if query.message is not None and code != resident.language:
        await query.edit_message_reply_markup(language_keyboard(code))
    if not payload and context.user_data is not None:
        payload = context.user_data.pop("pending_start", "")
    elif context.user_data is not None:
        context.user_data.pop("pending_start", None)
    if resident.privacy_notice_shown is None:
        await answer(
            update, context, t._("We keep only what we need to help you. Read more with /privacy.")
        )
        await residents.mark_privacy_notice_shown(context.db, resident.telegram_id, context.now())
    if payload and await follow_deep_link(update, context, payload):
        return
    await show_welcome(update, context, code)


async def language(update: Update, context: BotContext) -> None:
    resident, t = await resident_and_texts(update, context)
    await answer(
        update, context, t._("Choose your language:"), language_keyboard(resident.language)
    )


async def help_command(update: Update, context: BotContext) -> None:
    t = await resident_texts(update, context)
    await answer(update, context, help_text(t, context), main_menu(t))


def help_text(t: Texts, context: BotContext) -> str:
    lines = [t._("I can help you with this:")]
    for command, description, _ in sorted(
        context.bot_data.resident_commands, key=lambda item: item[2]
    ):
        lines.append(f"/{command} - {t._(description)}")
    lines.append("")
    lines.append(t._("You can also just press a button below."))
    return "\n".join(lines)


async def privacy(update: Update, context: BotContext) -> None:
    t = await resident_texts(update, context)
    config = context.config
    text = privacy_text(
        t,
        config.retention_days,
        translation_host=service_host(config.translation_url) if config.translation_url else None,
        transcription_host=(
            service_host(config.transcription_url) if config.transcription_url else None
        ),
    )
    await answer(update, context, text, main_menu(t))


def privacy_text(
    t: Texts,
    retention_days: int,
    *,
    translation_host: str | None = None,
    transcription_host: str | None = None,
) -> str:
    """What is stored and why; names the outside services residents' words may go to."""
    services = []
    if translation_host:
        services.append(
            t._(
                "Your messages may be translated by a machine at {service}, so that staff can"
                " understand you.",
                service=translation_host,
            )
        )
    if transcription_host:
        services.append(
            t._(
                "Your voice messages may be written down by a machine at {service}.",
                service=transcription_host,
            )
        )
    return "\n\n".join(
        [
            t._("<b>Your data</b>"),
            t._(
                "We store your Telegram ID (the number of your account, not your phone number),"
                " your first name, your language, and when you last wrote to us. If you send a"
                " tip, a question or an answer, we store that too."
            ),
            t._("We use it only to answer you and to improve the district's services."),
            *services,
            t._("Staff see your first name only if you allow it. You can always be anonymous."),
            t.n_(
                "We delete tips and conversations {count} day after they are finished.",
                "We delete tips and conversations {count} days after they are finished.",
                retention_days,
            ),
            t._("See your data: /mydata\nDelete your data: /deleteme"),
        ]
    )


async def cancel(update: Update, context: BotContext) -> None:
    """Leave whatever flow the resident is in."""
    t = await resident_texts(update, context)
    cancelled = await conversations.cancel_all(update, context)
    text = t._("OK, I stopped.") if cancelled else t._("There is nothing to stop.")
    await answer(update, context, text + "\n\n" + t._("What do you want to do?"), main_menu(t))


async def menu_entry(update: Update, context: BotContext) -> None:
    """Menu buttons handled here: language and privacy."""
    query = update.callback_query
    assert query is not None
    if query.data == "menu:language":
        await language(update, context)
    elif query.data == "menu:privacy":
        await privacy(update, context)
    else:
        await help_command(update, context)


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start, filters=private))
    app.add_handler(CommandHandler("help", help_command, filters=private))
    app.add_handler(CommandHandler("language", language, filters=private))
    app.add_handler(CommandHandler("privacy", privacy, filters=private))
    app.add_handler(CommandHandler("cancel", cancel, filters=private))
    app.add_handler(CallbackQueryHandler(choose_language, pattern=r"^lang:"))
    app.add_handler(CallbackQueryHandler(menu_entry, pattern=r"^menu:(language|privacy|home)$"))
    add_resident_command(app, "start", N_("Start and main menu"), 0)
    add_resident_command(app, "help", N_("What I can do"), 90)
    add_resident_command(app, "language", N_("Change language"), 91)
    add_resident_command(app, "privacy", N_("Your data and privacy"), 92)
    add_resident_command(app, "cancel", N_("Stop what you are doing"), 93)
