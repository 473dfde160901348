"""Tips and complaints: residents report by topic with text, photos, voice and place; staff
triage them in one forum topic per category; residents hear of every status change.

    steps.py      the draft's steps and which button works where (data)
    drafting.py   starting a tip and asking each question
    messages.py   the draft as a conversation: the resident's messages, /cancel
    buttons.py    the draft's buttons, "me too", sending
    keyboards.py  the flow's keyboards
    questions.py  a staff question to the resident and their answer (conversation, senders)
    mytips.py     /mytips
    handling.py status buttons, merging, follow-up questions, /tipsexport
    senders.py what the outbox sends for tips: cards and status news
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
from bot.registry import add_case_header_part, add_deep_link, add_resident_command
from bot.staff_chat import add_staff_button, add_staff_command
from bot.tips import buttons, drafting, handling, mytips, questions, senders
from storage import tip_drafts

log = logging.getLogger(__name__)

#: How often the job drops abandoned drafts (and runs the outbox, which also has its own job).
OUTBOX_INTERVAL = timedelta(minutes=1)


async def outbox_job(context: BotContext) -> None:
    """Forget abandoned drafts, and send what the outbox holds."""
    dropped = await tip_drafts.delete_stale_drafts(
        context.db, context.now() - drafting.DRAFT_TIMEOUT
    )
    if dropped:
        log.info("dropped %d abandoned tip drafts", dropped)
    await senders.flush(context)


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED
    app.add_handler(CommandHandler("tip", drafting.tip_command, filters=private))
    app.add_handler(CommandHandler("mytips", mytips.my_tips, filters=private))
    app.add_handler(CallbackQueryHandler(drafting.tip_menu, pattern=r"^menu:tip$"))
    app.add_handler(CallbackQueryHandler(buttons.on_button, pattern=buttons.BUTTON_PATTERN))
    senders.register(app)
    questions.register(app)
    add_staff_button(app, r"^tip:st:", handling.on_status_button)
    add_staff_button(app, r"^tip:merge:", handling.on_merge_button)
    add_staff_command(
        app,
        "tipsexport",
        handling.export_command,
        N_("Export tips: /tipsexport [csv|xlsx|open311] [YYYY-MM-DD]"),
        admin=True,
        order=20,
    )
    add_deep_link(app, "tip", drafting.tip_deep_link)
    add_case_header_part(app, handling.open_tips_header)
    add_resident_command(app, "tip", N_("Send a tip or report a problem"), 10)
    add_resident_command(app, "mytips", N_("Your tips and their status"), 11)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            outbox_job, interval=OUTBOX_INTERVAL, first=OUTBOX_INTERVAL, name="tips-outbox"
        )
