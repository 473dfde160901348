"""A staff question on a tip, as the resident's conversation (see `bot/conversations.py`):
their next message within `QUESTION_WINDOW`, or a reply to the question at any time, is the
answer, stored and relayed to the tip's card. The question and the answer travel through the
outbox (`bot/outbox.py`): their senders are here too."""

from __future__ import annotations

from datetime import timedelta

from telegram import ReplyParameters, Update
from telegram.constants import ParseMode

from bot import outbox
from bot.common import answer, resident_texts, send
from bot.context import BotApplication, BotContext, BotData
from bot.outbox import Task, in_topic, send_pending
from bot.telegram_errors import Outcome, Verdict
from bot.tips import bridge as tip_bridge
from bot.tips.senders import new_topic
from storage import residents, tip_questions
from storage import tips as store
from storage.tip_questions import Question
from storage.tips import Tip

#: A resident's next message answers a staff question asked within this time.
QUESTION_WINDOW = timedelta(days=3)


async def has_open_question(data: BotData, telegram_id: int) -> bool:
    """Active: a question asked within `QUESTION_WINDOW` waits for the resident's answer."""
    since = data.clock() - QUESTION_WINDOW
    return await tip_questions.open_question(data.db, telegram_id, since) is not None


async def is_question_message(data: BotData, telegram_id: int, message_id: int) -> bool:
    """A reply to the question itself is an answer, however old the question."""
    return await tip_questions.question_by_message(data.db, telegram_id, message_id) is not None


async def take_answer_message(update: Update, context: BotContext) -> bool:
    """The reply's question, else the latest open one, gets the message as its answer."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return False
    question = None
    if message.reply_to_message is not None:
        question = await tip_questions.question_by_message(
            context.db, user.id, message.reply_to_message.message_id
        )
    if question is None:
        since = context.now() - QUESTION_WINDOW
        question = await tip_questions.open_question(context.db, user.id, since)
    if question is None:
        return False
    await take_answer(update, context, question)
    return True


async def no_cancel(update: Update, context: BotContext) -> bool:
    """/cancel leaves a staff question open: it is the staff's, and answering stays possible
    (it stops being the next message's destination after `QUESTION_WINDOW`)."""
    return False


# --------------------------------------------------------------------------- questions
async def ask_resident(
    context: BotContext,
    question_id: int,
    telegram_id: int,
    thread_id: int | None,
    staff_message_id: int,
) -> None:
    """Enqueue a staff question for the resident and send it (or keep it for later)."""
    await outbox.enqueue(
        context.db,
        "tip-question",
        f"tip-question:{staff_message_id}",
        {"question_id": question_id, "thread_id": thread_id, "reply_to": staff_message_id},
        context.now(),
        chat_id=telegram_id,
    )
    await send_pending(context)


async def send_question(context: BotContext, task: Task) -> int | None:
    """Sender of `tip-question`: the question to the resident, then "sent" to staff."""
    question = await tip_questions.get_question(context.db, task.payload["question_id"])
    tip = await store.get_tip(context.db, question.tip_id) if question else None
    if question is None or tip is None:
        return None
    resident = await residents.get(context.db, question.telegram_id)
    language = resident.language if resident else tip.language
    rt = context.texts(language)
    asked = await tip_bridge.question_for_resident(context, task, question, language)
    sent = await send(
        context,
        question.telegram_id,
        rt._(
            "❓ A question from the district about your tip {reference}:\n\n{question}",
            reference=tip.reference,
            question=asked.text,
        )
        + "\n\n"
        + rt._("Please answer here with a message."),
    )
    await tip_questions.set_question_message(context.db, question.id, sent.message_id)
    t = context.staff_texts()
    await _note_to_staff(context, task, "sent", t._("✉️ Sent to the resident.") + asked.note(t))
    return sent.message_id


async def question_not_delivered(context: BotContext, task: Task, verdict: Verdict) -> None:
    t = context.staff_texts()
    if verdict.outcome is Outcome.BLOCKED:
        text = t._("The resident has blocked the bot and did not get the question.")
    else:
        text = t._(
            "Not delivered: Telegram refused this message ({error}). Please try again.",
            error=verdict.reason,
        )
    await _note_to_staff(context, task, "not-sent", text)


async def _note_to_staff(context: BotContext, task: Task, what: str, text: str) -> None:
    await outbox.note_to_staff(
        context.db,
        f"{task.key}:{what}",
        text,
        context.now(),
        thread_id=task.payload.get("thread_id"),
        reply_to=task.payload.get("reply_to"),
    )


# --------------------------------------------------------------------------- answers
async def take_answer(update: Update, context: BotContext, question: Question) -> None:
    """A resident answered a staff question: store it, relay it, then thank them."""
    message = update.effective_message
    assert message is not None
    t = await resident_texts(update, context)
    text: str | None
    if message.text:
        kind, text = "text", message.text
    elif message.photo or message.voice or message.video or message.location:
        kind = (
            "photo"
            if message.photo
            else "voice"
            if message.voice
            else "video"
            if message.video
            else "location"
        )
        text = message.caption
    else:
        await answer(update, context, t._("Please answer with text, a photo or a voice message."))
        return
    await tip_questions.store_answer(
        context.db, question, kind, text, message.message_id, context.now()
    )
    await send_pending(context)
    await answer(update, context, t._("✅ Thank you! I gave your answer to the staff."))


async def send_answer(context: BotContext, task: Task) -> int | None:
    """Sender of `tip-answer`: the resident's answer in the tip's topic, as a reply to the card
    (a copy, never a forward)."""
    item = await tip_questions.get_answer(context.db, task.payload["answer_id"])
    tip = await store.get_tip(context.db, item.tip_id) if item else None
    chat_id = context.config.staff_chat_id
    assert chat_id is not None
    if item is None or tip is None or tip.staff_card_message_id is None:
        if item is not None:
            await tip_questions.mark_answer_relayed(context.db, item.id, context.now())
        return None
    reply = ReplyParameters(tip.staff_card_message_id, allow_sending_without_reply=True)

    async def current() -> int | None:
        return tip.staff_thread_id

    async def post(thread: int | None) -> int:
        return await _post_answer(context, chat_id, thread, tip, item, reply)

    message_id = await in_topic(current, lambda: new_topic(context, tip.category), post)
    await store.record_staff_message(context.db, chat_id, message_id, tip.id, item.kind)
    await tip_questions.mark_answer_relayed(context.db, item.id, context.now())
    fresh = await store.get_tip(context.db, tip.id)
    thread = fresh.staff_thread_id if fresh else tip.staff_thread_id
    await tip_bridge.enqueue_answer_translation(context, item, message_id, thread)
    return message_id


async def _post_answer(
    context: BotContext,
    chat_id: int,
    thread: int | None,
    tip: Tip,
    item: tip_questions.Answer,
    reply: ReplyParameters,
) -> int:
    t = context.staff_texts()
    if item.text or item.kind == "text":
        text = t._(
            "💬 Answer from the resident about {reference}:\n\n{text}",
            reference=tip.reference,
            text=t.quote(item.text or ""),
        )
    else:
        text = t._("💬 Answer from the resident about {reference}:", reference=tip.reference)
    if item.kind == "text":
        message = await send(
            context, chat_id, text, message_thread_id=thread, reply_parameters=reply
        )
        return message.message_id
    copied = await context.bot.copy_message(
        chat_id,
        item.telegram_id,
        item.resident_message_id,
        message_thread_id=thread,
        reply_parameters=reply,
        caption=text if item.kind != "location" else None,
        parse_mode=ParseMode.HTML,
    )
    return copied.message_id


def register(app: BotApplication) -> None:
    """The senders of staff questions and residents' answers (see bot/outbox.py)."""
    outbox.add_sender(app, "tip-question", send_question, on_given_up=question_not_delivered)
    outbox.add_sender(app, "tip-answer", send_answer)
