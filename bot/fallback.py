"""Whatever no feature took: every resident message gets an answer, never silence.

Registered after all features. Free-form private messages first go to the conversation the
resident is in (`bot/conversations.py`: a tip draft, a survey, a case with staff, ...); what is
left gets a short, friendly hint with the menu, matched to what was sent (a sticker, an unknown
command, text).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot import conversations
from bot.common import answer, resident_texts
from bot.context import BotApplication, BotContext
from bot.menu import main_menu
from bot.staff_chat import in_staff_chat

log = logging.getLogger(__name__)


async def private_message(update: Update, context: BotContext) -> None:
    if await conversations.take_resident_message(update, context):
        return
    t = await resident_texts(update, context)
    message = update.effective_message
    assert message is not None
    if message.text and message.text.startswith("/"):
        text = t._("I don't know that command. Choose from the menu:")
    elif message.sticker or message.dice or message.game:
        text = t._("Nice! 😊 I can't answer stickers, but I can help with this:")
    elif message.text:
        text = t._(
            "Thank you for your message! To reach a person, press «Talk to a person»."
            " Or choose something else:"
        )
    else:
        text = t._("I can't use this here. Choose from the menu:")
    await answer(update, context, text, main_menu(t))


async def edited_message(update: Update, context: BotContext) -> None:
    """Edits are not passed on: say so, so the resident does not think staff saw the change."""
    t = await resident_texts(update, context)
    await answer(
        update, context, t._("I can't see changes to messages. Please send a new message.")
    )


async def staff_chat_message(update: Update, context: BotContext) -> None:
    """Staff chatter is not for the bot unless a feature (a case topic, a tip reply) takes it."""
    await conversations.take_staff_message(update, context)


async def unknown_button(update: Update, context: BotContext) -> None:
    """A button no handler knows: an old message, or forged data. Say so, change nothing."""
    query = update.callback_query
    assert query is not None
    if in_staff_chat(update, context) or query.message is None or update.effective_user is None:
        t = context.staff_texts()
    else:
        t = await resident_texts(update, context)
    await context.ack_stale(update, t)


def register(app: BotApplication) -> None:
    """Must be called after every feature has registered its handlers."""
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED, private_message)
    )
    app.add_handler(
        MessageHandler(
            filters.ChatType.SUPERGROUP & ~filters.UpdateType.EDITED & ~filters.StatusUpdate.ALL,
            _staff_only(staff_chat_message),
        )
    )
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.EDITED, edited_message)
    )
    app.add_handler(CallbackQueryHandler(unknown_button))


def _staff_only(
    callback: Callable[[Update, BotContext], Coroutine[Any, Any, None]],
) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    async def wrapped(update: Update, context: BotContext) -> None:
        if in_staff_chat(update, context):
            await callback(update, context)

    return wrapped
