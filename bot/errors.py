"""The global error handler: log the error (never the message text), tell the resident that
something went wrong, and keep the bot running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    # BadRequest and Forbidden are NetworkError subclasses in python-telegram-bot, but they are
    # our bugs or the resident's choice, not the network's: only real network trouble is quiet.
    if isinstance(error, NetworkError | RetryAfter) and not isinstance(
        error, BadRequest | Forbidden
    ):
        log.warning("Telegram network problem: %s", error)
        return
    log.error(
        "error while handling an update (%s)",
        type(update).__name__,
        exc_info=(type(error), error, error.__traceback__) if error else None,
    )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    chat = update.effective_chat
    if chat.type != chat.PRIVATE:
        return
    try:
        from bot.common import resident_texts

        t = await resident_texts(update, context)
        text = t._("Sorry, something went wrong on our side. Please try again.")
        if update.callback_query is not None:
            await context.ack(update, text, alert=True)
        else:
            await context.bot.send_message(chat.id, text)
    except TelegramError as send_error:
        log.warning("could not tell the resident about the error: %s", send_error)
    except Exception:  # the database itself may be what failed
        log.exception("could not report the error to the resident")
