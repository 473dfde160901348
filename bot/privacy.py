"""Residents' privacy rights: see everything stored (/mydata), erase it (/deleteme), and the
daily job that removes personal data from finished cases and tips after the retention period."""

from __future__ import annotations

import json
import logging
from datetime import time, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import staff_erasure
from bot.common import answer, resident_and_texts, resident_texts, send
from bot.context import BotApplication, BotContext
from bot.i18n import N_
from bot.outbox import send_pending
from bot.registry import add_resident_command
from storage import audit, privacy

log = logging.getLogger(__name__)


async def mydata(update: Update, context: BotContext) -> None:
    """Send the resident a JSON file with everything stored about them (GDPR art. 15)."""
    resident, t = await resident_and_texts(update, context)
    data = await privacy.export_resident(context.db, resident.telegram_id)
    await audit.record(context.db, audit.RESIDENT, audit.Action.EXPORT_MYDATA, context.now())
    document = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    await context.ack(update)
    await context.bot.send_document(
        resident.telegram_id,
        InputFile(document, filename="my-data.json"),
        caption=t._("This is everything we have stored about you."),
    )


async def deleteme(update: Update, context: BotContext) -> None:
    resident, t = await resident_and_texts(update, context)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "🗑 " + t._("Yes, delete everything"),
                    callback_data=f"privacy:forget:{resident.telegram_id}",
                )
            ],
            [InlineKeyboardButton(t._("No, keep it"), callback_data="privacy:keep")],
        ]
    )
    await answer(
        update,
        context,
        t._(
            "Do you want us to delete everything about you? Your tips stay as anonymous"
            " numbers only. Open conversations with staff are closed."
        ),
        keyboard,
    )


async def confirm(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    t = await resident_texts(update, context)
    _, _, action = query.data.partition(":")
    if action == "keep":
        await context.ack(update)
        await answer(update, context, t._("OK, nothing was deleted."))
        return
    owner = action.removeprefix("forget:")
    if owner != str(update.effective_user.id):
        # A forged or someone else's button: never erase anybody from it.
        log.warning("refused a forget button for another resident")
        await context.ack_stale(update, t)
        return
    await context.ack(update)
    for hook in context.bot_data.forget_hooks:
        await hook(context, update.effective_user.id)
    # The same transaction plans the staff chat's part (topic, card, media: the outbox).
    await privacy.forget_resident(context.db, update.effective_user.id, context.now())
    await audit.record(
        context.db, audit.RESIDENT, audit.Action.ERASE_RESIDENT, context.now(), detail="/deleteme"
    )
    log.info("a resident erased their data")
    await send_pending(context)
    if query.message is not None:
        await query.edit_message_reply_markup(None)
    await send(
        context,
        update.effective_user.id,
        t._("Your data is deleted. Goodbye! Write /start if you want to come back."),
    )


async def retention_job(context: BotContext) -> None:
    """Daily: remove personal data from cases and tips finished before the retention period,
    in the database at once and in the staff chat through the outbox."""
    cutoff = context.now() - timedelta(days=context.config.retention_days)
    touched = await privacy.expire(context.db, cutoff, context.now())
    if touched:
        log.info("retention: removed personal data from %d records", touched)
        await audit.record(
            context.db,
            audit.SYSTEM,
            audit.Action.ERASE_RETENTION,
            context.now(),
            detail=f"{touched} records older than {context.config.retention_days} days",
        )
    await audit.expire(context.db, context.now())
    await send_pending(context)


def register(app: BotApplication) -> None:
    staff_erasure.register(app)
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("mydata", mydata, filters=private))
    app.add_handler(CommandHandler("deleteme", deleteme, filters=private))
    app.add_handler(CallbackQueryHandler(confirm, pattern=r"^privacy:(keep|forget:\d+)$"))
    add_resident_command(app, "mydata", N_("See your data"), 94)
    add_resident_command(app, "deleteme", N_("Delete your data"), 95)
    assert app.job_queue is not None
    app.job_queue.run_daily(
        retention_job,
        time=time(3, 30, tzinfo=app.bot_data.config.timezone),
        name="retention",
    )
