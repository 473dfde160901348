"""/reply in a case topic: staff send one of the reply templates with one press.

The resident gets the template in their language: human-written where the file has it, else
machine-translated from the staff language and marked so (bot/bridge/templates.py). The
message with the buttons turns into a record of what was sent, so the topic shows it and one
keyboard sends one answer. Like any staff reply, it is stored before it is sent, and a press
replayed after a crash sends it only if it had not gone out yet.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.bridge.readers import language_label
from bot.bridge.templates import choose_template_text
from bot.common import send
from bot.context import BotApplication, BotContext
from bot.handover.staff_side import case_here
from bot.i18n import N_
from bot.staff_chat import add_staff_button, add_staff_command, answer_in_thread
from storage import cases, replies, residents

log = logging.getLogger(__name__)


async def reply_command(update: Update, context: BotContext) -> None:
    """`/reply` in a case topic: the templates as buttons."""
    t = context.staff_texts()
    case = await case_here(update, context)
    if case is None:
        await answer_in_thread(update, context, t._("Use this command inside a case topic."))
        return
    if not case.is_open or case.resident_id is None:
        await answer_in_thread(update, context, t._("This case is closed."))
        return
    templates = await replies.all_templates(context.db)
    if not templates:
        await answer_in_thread(
            update,
            context,
            t._(
                "There are no reply templates yet. An administrator loads them with:"
                " python -m bot replies load FILE"
            ),
        )
        return
    resident = await residents.get(context.db, case.resident_id)
    language = resident.language if resident else case.language
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(tpl.label, callback_data=f"reply:send:{case.id}:{tpl.key}")]
            for tpl in templates
        ]
    )
    await answer_in_thread(
        update,
        context,
        t._(
            "Which answer should {number} get? It goes out in {language}.",
            number=case.number,
            language=language_label(t, language),
        ),
        keyboard=keyboard,
    )


async def send_template_button(update: Update, context: BotContext) -> None:
    """`reply:send:<case>:<template>`: send the template to the case's resident."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    t = context.staff_texts()
    raw_case, _, key = query.data.removeprefix("reply:send:").partition(":")
    case = await cases.get(context.db, int(raw_case)) if raw_case.isdigit() else None
    keyboard_message = query.message
    if (
        case is None
        or not isinstance(keyboard_message, Message)
        or keyboard_message.message_thread_id != case.topic_id
    ):
        await context.ack_stale(update, t)
        return
    if not case.is_open or case.resident_id is None:
        await context.ack(update, t._("This case is closed."))
        return
    template = await replies.get(context.db, key)
    if template is None:
        await context.ack(update, t._("This reply template is gone. Write /reply again."))
        return
    row = await cases.record_outgoing(
        context.db, case.id, keyboard_message.message_id, user.id, "template", context.now()
    )
    if row is None:  # pressed before, or replayed after a crash
        row = await cases.undelivered(
            context.db, case.id, staff_message_id=keyboard_message.message_id
        )
        if row is None:
            await context.ack(update)
            return
    await context.ack(update)
    resident = await residents.get(context.db, case.resident_id)
    language = resident.language if resident else case.language
    chosen = await choose_template_text(
        template, language, context.bot_data.translator, context.config.staff_language
    )
    text = chosen.text
    if chosen.machine_translated:
        text += "\n\n<i>" + context.texts(language)._("Translated by a machine.") + "</i>"
    try:
        sent = await send(context, case.resident_id, text)
    except TelegramError as error:
        await cases.mark_failed(context.db, row, str(error), final=True)
        await answer_in_thread(
            update,
            context,
            t._("Not delivered: the resident has blocked the bot or deleted their account.")
            if isinstance(error, Forbidden)
            else t._(
                "Not delivered: Telegram refused this message ({error}). Please try again.",
                error=str(error),
            ),
        )
        return
    await cases.mark_delivered(context.db, row, resident_message_id=sent.message_id)
    await cases.mark_staff_replied(context.db, case.id, context.now())
    log.info("reply template sent in case %s (machine: %s)", case.id, chosen.machine_translated)
    heading = (
        t._(
            "✉️ “{label}” sent in {language}, machine-translated:",
            label=template.label,
            language=language_label(t, chosen.language),
        )
        if chosen.machine_translated
        else t._(
            "✉️ “{label}” sent in {language}:",
            label=template.label,
            language=language_label(t, chosen.language),
        )
    )
    try:
        await query.edit_message_text(
            heading + "\n\n" + chosen.text, parse_mode=ParseMode.HTML, reply_markup=None
        )
    except BadRequest as error:  # the record is a courtesy; the answer went out
        log.warning("could not show the sent template in the topic: %s", error)


def register(app: BotApplication) -> None:
    add_staff_command(
        app, "reply", reply_command, N_("Send a ready-made answer to the resident"), order=14
    )
    add_staff_button(app, r"^reply:send:\d+:[a-z0-9_-]+$", send_template_button)
