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
    staff_form.py  tips staff register: from a case (/tip_from_case), for a walk-in (/tip_new)
    fixed.py   "is it fixed?" some days after a tip was resolved; "no" reopens it
    senders.py what the outbox sends for tips: cards and status news
    questions.py staff questions on a tip and the residents' answers
    card.py    the staff card of a tip (text and status buttons)
    topics.py  the topics a district offers (edit there), with "whose job is it" links
    media.py   accepted attachments and EXIF removal
    export.py  CSV, XLSX and Open311 exports (also `python -m bot tips export`)
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import outbox
from bot.context import BotApplication, BotContext
from bot.i18n import N_
from bot.registry import add_case_header_part, add_deep_link, add_resident_command
from bot.staff_chat import add_staff_button, add_staff_command
from bot.tips import buttons, drafting, fixed, handling, mytips, questions, senders, staff_form
from storage import staff_tips, tip_drafts

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
    dropped = await staff_tips.delete_stale_forms(
        context.db, context.now() - staff_form.FORM_TIMEOUT
    )
    if dropped:
        log.info("dropped %d abandoned staff tip forms", dropped)
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
    add_staff_command(
        app,
        "tip_new",
        staff_form.tip_new_command,
        N_("Register a tip for a visitor at the office"),
        order=21,
    )
    add_staff_command(
        app,
        "tip_from_case",
        staff_form.tip_from_case_command,
        N_("Make a tip from the case in this topic"),
        order=22,
    )
    add_staff_button(app, r"^tipf:", staff_form.on_button)
    app.add_handler(CallbackQueryHandler(fixed.on_answer, pattern=r"^fixed:"))
    outbox.add_sender(app, "tip-reference", staff_form.send_reference)
    outbox.add_sender(app, "tip-fixed-ask", fixed.send_question)
    outbox.add_sender(app, "tip-reopened", fixed.send_reopened_note)
    add_deep_link(app, "tip", drafting.tip_deep_link)
    add_deep_link(app, "claim", staff_form.claim_deep_link)
    add_case_header_part(app, handling.open_tips_header)
    add_resident_command(app, "tip", N_("Send a tip or report a problem"), 10)
    add_resident_command(app, "mytips", N_("Your tips and their status"), 11)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            outbox_job, interval=OUTBOX_INTERVAL, first=OUTBOX_INTERVAL, name="tips-outbox"
        )
        app.job_queue.run_repeating(
            fixed.ask_if_fixed,
            interval=fixed.CHECK_INTERVAL,
            first=timedelta(minutes=5),
            name="tips-fixed-check",
        )
