"""The baseline: python-telegram-bot's echo bot and nothing else, configured like ours
(BOT_TOKEN, BOT_API_BASE_URL), run as its own process."""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    text = (message.text if message else None) or "ok"
    await context.bot.send_message(update.effective_chat.id, text)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()
    await context.bot.send_message(update.effective_chat.id, "pressed")


def main() -> None:
    root = os.environ["BOT_API_BASE_URL"].rstrip("/")
    app = (
        ApplicationBuilder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .build()
    )
    app.add_handler(MessageHandler(filters.ALL, echo))
    app.add_handler(CallbackQueryHandler(press))
    app.run_polling()


if __name__ == "__main__":
    main()
