""" "Is it fixed?": some days after a tip is marked resolved (`BOT_FIXED_CHECK_DAYS`, default 14),
its reporter and followers are asked, one tap, whether it really is. "No" opens the tip again
(status `reopened`, counted in the figures) and tells staff under its card; "yes" is recorded.

A job finds the resolutions old enough and enqueues one question per person per resolution
(`storage/staff_tips.py`, the `tip_fixed_checks` table); the outbox sends them, so a restart or
an outage neither loses nor repeats one.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.error import BadRequest

from bot import outbox
from bot.common import answer, resident_texts, send
from bot.context import BotContext
from bot.i18n import Texts
from bot.tips import senders
from bot.tips.categories import find_category
from storage import residents, staff_tips
from storage import tips as store
from storage.tips import TipStatus

log = logging.getLogger(__name__)

#: How often the job looks for resolutions old enough to ask about.
CHECK_INTERVAL = timedelta(hours=1)


async def ask_if_fixed(context: BotContext) -> int:
    """The job: enqueue and send the questions that are due; returns how many were enqueued."""
    days = context.config.fixed_check_days
    if days is None:
        return 0
    now = context.now()
    wait = timedelta(days=days)
    # Resolutions up to twice the wait back: a bot that was down still asks, a first start does
    # not ask about tips resolved long ago.
    asked = await staff_tips.ask_if_fixed(context.db, now - wait, now - 2 * wait, now)
    if asked:
        log.info("asked %d people whether their tip is fixed", asked)
    await outbox.send_pending(context)
    return asked


def question_keyboard(t: Texts, change_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "👍 " + t._("Yes, it is fixed"), callback_data=f"fixed:y:{change_id}"
                ),
                InlineKeyboardButton(
                    "👎 " + t._("No, not fixed"), callback_data=f"fixed:n:{change_id}"
                ),
            ]
        ]
    )


async def send_question(context: BotContext, task: outbox.Task) -> int | None:
    """Sender of `tip-fixed-ask`: the question to one person, in their language. A tip that is
    not resolved any more (staff or another resident reopened it) is not asked about."""
    change = await store.status_change(context.db, task.payload["change_id"])
    tip = await store.get_tip(context.db, change.tip_id) if change else None
    if change is None or tip is None or tip.status != TipStatus.RESOLVED:
        return None
    resident = await residents.get(context.db, task.chat_id)
    t = context.texts(resident.language if resident else tip.language)
    chosen = find_category(tip.category)
    text = t._(
        "Your tip {reference} ({topic}) was marked as done on {date}. Is it fixed now?",
        reference=tip.reference,
        topic=t._(chosen.label) if chosen else tip.category,
        date=t.date(change.changed_at, context.config.timezone, fmt="medium"),
    )
    message = await send(context, task.chat_id, text, question_keyboard(t, change.id))
    return message.message_id


async def on_answer(update: Update, context: BotContext) -> None:
    """`fixed:<y|n>:<change id>`: only the person who was asked can answer, once."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    t = await resident_texts(update, context)
    parts = query.data.split(":")
    valid = len(parts) == 3 and parts[1] in ("y", "n") and parts[2].isdigit()
    result = (
        await staff_tips.answer_fixed(
            context.db, int(parts[2]), user.id, parts[1] == "y", context.now()
        )
        if valid
        else None
    )
    if result is None:
        await context.ack(update, t._("This button does not work any more."))
        return
    await context.ack(update)
    await _drop_buttons(update)
    if result.answered_before:
        await answer(update, context, t._("Thank you, we have your answer already."))
        return
    if parts[1] == "y":
        await answer(update, context, t._("Thank you for your answer!"))
        return
    await answer(update, context, t._("Thank you. We opened the tip again and told the staff."))
    if result.reopened_change is not None:
        log.info("tip %s reopened: not fixed", result.tip_id)
        await senders.refresh_card(context, result.tip_id)
    await outbox.send_pending(context)


async def _drop_buttons(update: Update) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:
        log.info("could not remove the fixed-question buttons: %s", error)


async def send_reopened_note(context: BotContext, task: outbox.Task) -> int | None:
    """Sender of `tip-reopened`: staff read under the tip's card that it is open again."""
    tip = await store.get_tip(context.db, task.payload["tip_id"])
    chat_id = context.config.staff_chat_id
    if tip is None or chat_id is None:
        return None
    t = context.staff_texts()
    text = t._(
        "🔁 {reference}: a resident says it is not fixed. The tip is open again.",
        reference=tip.reference,
    )
    reply = (
        ReplyParameters(tip.staff_card_message_id, allow_sending_without_reply=True)
        if tip.staff_card_message_id
        else None
    )

    async def current() -> int | None:
        return tip.staff_thread_id

    async def post(thread: int | None) -> int:
        message = await send(
            context, chat_id, text, message_thread_id=thread, reply_parameters=reply
        )
        return message.message_id

    return await outbox.in_topic(current, lambda: senders.new_topic(context, tip.category), post)
