"""Small helpers every resident-facing handler uses: who is this, in which language, and how
to answer them."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, ReplyKeyboardRemove, Update
from telegram.constants import ParseMode

from bot.context import BotContext
from bot.i18n import Texts, normalize_language
from bot.render import split_html
from storage import residents
from storage.residents import Resident


async def current_resident(update: Update, context: BotContext) -> tuple[Resident, bool]:
    """Load the resident behind an update (creating them on first contact) and mark them seen.

    A new resident starts in the language their Telegram app reports, if we ship it; otherwise
    in the district's default language. Returns (resident, is_new).
    """
    user = update.effective_user
    assert user is not None, "resident handlers run only for updates with a user"
    language = normalize_language(user.language_code) or context.config.default_language
    return await residents.touch(context.db, user.id, language, user.first_name, context.now())


async def resident_texts(update: Update, context: BotContext) -> Texts:
    """Texts in the language of the resident behind this update."""
    _, t = await resident_and_texts(update, context)
    return t


async def resident_and_texts(update: Update, context: BotContext) -> tuple[Resident, Texts]:
    """The resident behind this update and texts in their language: the start of most
    resident handlers."""
    resident, _ = await current_resident(update, context)
    return resident, context.texts(resident.language)


async def send(
    context: BotContext,
    chat_id: int,
    text: str,
    keyboard: InlineKeyboardMarkup | ReplyKeyboardRemove | None = None,
    **kwargs: object,
) -> Message:
    """Send an HTML message; the text must come from `Texts._` (values already escaped).

    A text longer than Telegram allows goes out in several messages; the keyboard is attached
    to the last one, and the last one is returned.
    """
    parts = split_html(text)
    message = None
    for index, part in enumerate(parts):
        message = await context.bot.send_message(
            chat_id,
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard if index == len(parts) - 1 else None,
            disable_web_page_preview=True,
            **kwargs,  # type: ignore[arg-type]
        )
    assert message is not None
    return message


async def answer(
    update: Update,
    context: BotContext,
    text: str,
    keyboard: InlineKeyboardMarkup | ReplyKeyboardRemove | None = None,
) -> Message:
    """Answer the resident in the chat the update came from (and stop a button's spinner)."""
    await context.ack(update)
    chat = update.effective_chat
    assert chat is not None
    return await send(context, chat.id, text, keyboard)
