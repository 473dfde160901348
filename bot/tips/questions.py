"""A staff question on a tip, as the resident's conversation (see `bot/conversations.py`):
their next message within `QUESTION_WINDOW`, or a reply to the question at any time, is the
answer, stored and relayed to the tip's card by `bot/tips/senders.py`."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot.context import BotContext, BotData
from bot.tips import senders
from storage import tips as store

#: A resident's next message answers a staff question asked within this time.
QUESTION_WINDOW = timedelta(days=3)


async def has_open_question(data: BotData, telegram_id: int) -> bool:
    """Active: a question asked within `QUESTION_WINDOW` waits for the resident's answer."""
    since = data.clock() - QUESTION_WINDOW
    return await store.open_question(data.db, telegram_id, since) is not None


async def is_question_message(data: BotData, telegram_id: int, message_id: int) -> bool:
    """A reply to the question itself is an answer, however old the question."""
    return await store.question_by_message(data.db, telegram_id, message_id) is not None


async def take_answer_message(update: Update, context: BotContext) -> bool:
    """The reply's question, else the latest open one, gets the message as its answer."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return False
    question = None
    if message.reply_to_message is not None:
        question = await store.question_by_message(
            context.db, user.id, message.reply_to_message.message_id
        )
    if question is None:
        question = await store.open_question(context.db, user.id, context.now() - QUESTION_WINDOW)
    if question is None:
        return False
    await senders.take_answer(update, context, question)
    return True


async def no_cancel(update: Update, context: BotContext) -> bool:
    """/cancel leaves a staff question open: it is the staff's, and answering stays possible
    (it stops being the next message's destination after `QUESTION_WINDOW`)."""
    return False
