"""Tips and complaints: residents report by topic with text, photos, voice and place; staff
triage them in one forum topic per category; residents hear of every status change.

    flow.py    the resident's steps, /tip, /mytips, "me too"
    staff.py   status buttons, merging, follow-up questions, /tipsexport
    senders.py what the outbox sends for tips: cards, status news, questions, answers
    card.py    the staff card of a tip (text and status buttons)
    topics.py  the topics a district offers (edit there), with "whose job is it" links
    media.py   accepted attachments and EXIF removal
    export.py  CSV, XLSX and Open311 exports (also `python -m bot tips export`)
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BotApplication, BotContext
from bot.i18n import N_
from bot.registry import (
    add_busy_check,
    add_cancel_hook,
    add_case_header_part,
    add_deep_link,
    add_message_consumer,
    add_resident_command,
    add_staff_message_consumer,
)
from bot.staff import add_staff_button, add_staff_command
from bot.tips import flow, senders, staff
from storage import tips as store

log = logging.getLogger(__name__)

#: How often the job drops abandoned drafts (and runs the outbox, which also has its own job).
OUTBOX_INTERVAL = timedelta(minutes=1)


async def outbox_job(context: BotContext) -> None:
    """Forget abandoned drafts, and send what the outbox holds."""
    dropped = await store.delete_stale_drafts(context.db, context.now() - flow.DRAFT_TIMEOUT)
    if dropped:
        log.info("dropped %d abandoned tip drafts", dropped)
    await senders.flush(context)


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED
    app.add_handler(CommandHandler("tip", flow.tip_command, filters=private))
    app.add_handler(CommandHandler("mytips", flow.my_tips, filters=private))
    app.add_handler(CallbackQueryHandler(flow.tip_menu, pattern=r"^menu:tip$"))
    app.add_handler(
        CallbackQueryHandler(
            flow.on_button, pattern=r"^tip:(cat|here|done|name|metoo|new|send|cancel)(:|$)"
        )
    )
    senders.register(app)
    add_staff_button(app, r"^tip:st:", staff.on_status_button)
    add_staff_button(app, r"^tip:merge:", staff.on_merge_button)
    add_staff_command(
        app,
        "tipsexport",
        staff.export_command,
        N_("Export tips: /tipsexport [csv|xlsx|open311] [YYYY-MM-DD]"),
        admin=True,
        order=20,
    )
    add_deep_link(app, "tip", flow.tip_deep_link)
    add_message_consumer(app, "tips", flow.consume_message, priority=10)
    add_message_consumer(app, "tip-answers", flow.consume_answer, priority=40)
    add_staff_message_consumer(app, "tips", staff.consume_staff_reply, priority=10)
    add_cancel_hook(app, flow.cancel_draft)
    add_busy_check(app, "tips", flow.is_writing_tip)
    add_case_header_part(app, staff.open_tips_header)
    add_resident_command(app, "tip", N_("Send a tip or report a problem"), 10)
    add_resident_command(app, "mytips", N_("Your tips and their status"), 11)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            outbox_job, interval=OUTBOX_INTERVAL, first=OUTBOX_INTERVAL, name="tips-outbox"
        )
