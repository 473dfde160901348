"""The tip feature's part of the outbox: the senders of tip cards and status news, and what a
handler calls after a commit (staff questions and residents' answers: `bot/tips/questions.py`).

Storage enqueues the tasks in the transaction that stores the tip, the status change or the
answer (`storage/tips.py`); the questions are enqueued here. Each sender below makes the
Telegram calls of one task and records its own progress (the card's message id, who was
told), so a task tried again after a crash or an outage carries on where it stopped. What
Telegram's errors mean, the retries and the giving up are `bot/outbox.py`'s.
The card's text and buttons are `bot/tips/card.py`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from telegram import InputFile, InputMediaPhoto, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot import outbox
from bot.common import send
from bot.context import BotApplication, BotContext
from bot.i18n import Texts
from bot.images import clean_image
from bot.outbox import Task, in_topic, send_pending
from bot.telegram_errors import Outcome, Verdict, classify
from bot.tips import bridge as tip_bridge
from bot.tips.card import card_keyboard, card_text, redacted_card_text
from bot.tips.categories import find_category
from bot.tips.status import LABELS, NEWS
from storage import residents, staff_erasure, translations
from storage import tips as store
from storage.tips import Tip, TipStatus

log = logging.getLogger(__name__)


async def flush(context: BotContext) -> None:
    """Send whatever is due in the outbox (after a commit that enqueued something)."""
    await send_pending(context)


# --------------------------------------------------------------------------- staff topics
async def ensure_topic(context: BotContext, category: str) -> int | None:
    """The staff forum topic for a tip category, created on first use.

    Returns None (post in the general chat) if the group has no topics or the bot may not
    create them; `python -m bot check` tells the operator.
    """
    thread = await store.topic_thread(context.db, category)
    if thread is not None:
        return thread
    t = context.staff_texts()
    chosen = find_category(category)
    name = f"{chosen.icon} {t._(chosen.label)}" if chosen else category
    chat_id = context.config.staff_chat_id
    assert chat_id is not None
    try:
        created = await context.bot.create_forum_topic(chat_id, name[:128])
    except BadRequest as error:
        log.warning("could not create a staff topic for %s: %s", category, error)
        return None
    await store.save_topic(context.db, category, created.message_thread_id, context.now())
    return created.message_thread_id


async def new_topic(context: BotContext, category: str) -> int | None:
    """Staff deleted the category's topic: forget it and make a new one."""
    await store.forget_topic(context.db, category)
    return await ensure_topic(context, category)


# --------------------------------------------------------------------------- the card
async def send_card(context: BotContext, task: Task) -> int | None:
    """Sender of `tip-card`: the card in its category's topic, then media and map pin as
    replies. The card's id is stored at once, so a retry sends only what is missing."""
    tip = await store.get_tip(context.db, task.payload["tip_id"])
    if tip is None or tip.posted_at is not None:
        return None
    if tip.telegram_id is None and tip.staff_card_message_id is None:
        # Erased before its card went out (an outage): nothing personal is left to post.
        await store.mark_posted(context.db, tip.id, context.now())
        return None
    chat_id = context.config.staff_chat_id
    assert chat_id is not None
    t = context.staff_texts()
    thread = tip.staff_thread_id
    card_id = tip.staff_card_message_id
    if card_id is None:

        async def post(where: int | None) -> tuple[int | None, Message]:
            message = await send(
                context,
                chat_id,
                card_text(
                    t,
                    tip,
                    context.config.timezone,
                    bridge=await translations.tip_bridge(context.db, tip.id),
                ),
                card_keyboard(t, tip),
                message_thread_id=where,
            )
            return where, message

        thread, card = await in_topic(
            lambda: ensure_topic(context, tip.category),
            lambda: new_topic(context, tip.category),
            post,
        )
        card_id = card.message_id
        await store.set_card(context.db, tip.id, thread, card_id)
        await store.record_staff_message(context.db, chat_id, card_id, tip.id, "card")
        await tip_bridge.enqueue(context, tip)
    where: dict[str, Any] = {
        "message_thread_id": thread,
        "reply_parameters": ReplyParameters(card_id, allow_sending_without_reply=True),
    }
    sent: list[Message] = []
    photos = [item for item in tip.media if item.kind == "photo"]
    if len(photos) > 1:
        sent += await context.bot.send_media_group(
            chat_id, [InputMediaPhoto(item.file_id) for item in photos[:10]], **where
        )
    elif photos:
        sent.append(await context.bot.send_photo(chat_id, photos[0].file_id, **where))
    for number, item in enumerate(tip.media, start=1):
        if item.kind == "image":
            message = await _send_clean_image(context, chat_id, tip, item, number, where)
            if message is not None:
                sent.append(message)
        elif item.kind == "voice":
            sent.append(await context.bot.send_voice(chat_id, item.file_id, **where))
        elif item.kind == "video":
            sent.append(await context.bot.send_video(chat_id, item.file_id, **where))
    if tip.has_location:
        assert tip.latitude is not None and tip.longitude is not None
        sent.append(await context.bot.send_location(chat_id, tip.latitude, tip.longitude, **where))
    for message in sent:
        await store.record_staff_message(
            context.db, chat_id, message.message_id, tip.id, media_kind(message)
        )
    await store.mark_posted(context.db, tip.id, context.now())
    log.info("tip %s posted to staff (%d attachments)", tip.id, len(sent))
    return card_id


def media_kind(message: Message) -> str:
    """What a message the bot posted is, as erasure needs to know it (see storage/tips.py)."""
    for kind in ("photo", "document", "voice", "video", "location"):
        if getattr(message, kind):
            return kind
    return "text"


async def _send_clean_image(
    context: BotContext,
    chat_id: int,
    tip: Tip,
    item: store.TipMedia,
    number: int,
    where: dict[str, Any],
) -> Message | None:
    """Download an image sent as a file, strip its hidden data, upload the clean copy."""
    t = context.staff_texts()
    try:
        file = await context.bot.get_file(item.file_id)
        data = bytes(await file.download_as_bytearray())
    except BadRequest as error:  # e.g. "file is too big": asking again will not help
        log.warning("tip %s: an image could not be downloaded: %s", tip.id, error)
        clean = None
    else:
        clean = await clean_image(data, item.mime_type)
    if clean is None:
        # Never the original instead: it may carry the resident's GPS position.
        log.warning("tip %s: an image could not be read; not forwarded", tip.id)
        return await send(
            context,
            chat_id,
            t._("⚠️ One picture could not be opened, so it was not forwarded."),
            **where,
        )
    return await context.bot.send_document(
        chat_id,
        InputFile(clean.data, filename=f"{tip.reference}-{number}.{clean.extension}"),
        **where,
    )


async def refresh_card(
    context: BotContext, tip_id: int, last_change: tuple[str, datetime] | None = None
) -> None:
    """Redraw a posted card after a change (status, followers, merge).

    Sent directly, not through the outbox: a newer redraw replaces a lost one, and the
    status itself is stored.
    """
    tip = await store.get_tip(context.db, tip_id)
    chat_id = context.config.staff_chat_id
    if tip is None or tip.staff_card_message_id is None or chat_id is None:
        return
    t = context.staff_texts()
    text = card_text(
        t,
        tip,
        context.config.timezone,
        last_change=last_change,
        bridge=await translations.tip_bridge(context.db, tip.id),
    )
    redacted = await staff_erasure.card_reason(context.db, tip.id)
    if redacted is not None:  # erased: the card shows only the anonymous facts, for good
        text = redacted_card_text(t, tip, redacted, context.config.timezone)
    try:
        await context.bot.edit_message_text(
            text,
            chat_id,
            tip.staff_card_message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=card_keyboard(t, tip),
        )
    except BadRequest as error:
        if classify(error).outcome is not Outcome.NOT_MODIFIED:
            log.warning("could not update the card of tip %s: %s", tip_id, error)


# --------------------------------------------------------------------------- status news
async def fan_out_news(context: BotContext, task: Task) -> int | None:
    """Sender of `tip-news` (one status change): one `tip-news-to` task per person to tell,
    the reporter and every follower, each then sent and retried on its own."""
    change_id = task.payload["change_id"]
    for telegram_id, _ in await store.recipients_to_notify(context.db, change_id):
        await outbox.enqueue(
            context.db,
            "tip-news-to",
            f"tip-news:{change_id}:{telegram_id}",
            {"change_id": change_id},
            context.now(),
            chat_id=telegram_id,
        )
    await store.mark_change_notified(context.db, change_id, context.now())
    return None


async def send_news(context: BotContext, task: Task) -> int | None:
    """Sender of `tip-news-to`: tell one person of a status change, in their language."""
    change = await store.status_change(context.db, task.payload["change_id"])
    tip = await store.get_tip(context.db, change.tip_id) if change else None
    if change is None or tip is None:
        return None
    resident = await residents.get(context.db, task.chat_id)
    t = context.texts(resident.language if resident else None)
    message = await send(context, task.chat_id, news_text(t, tip, change.status))
    await store.record_notification(context.db, change.id, task.chat_id, "sent", context.now())
    return message.message_id


async def news_not_delivered(context: BotContext, task: Task, verdict: Verdict) -> None:
    outcome = "blocked" if verdict.outcome is Outcome.BLOCKED else "failed"
    await store.record_notification(
        context.db, task.payload["change_id"], task.chat_id, outcome, context.now()
    )


def news_text(t: Texts, tip: Tip, status: TipStatus) -> str:
    chosen = find_category(tip.category)
    head = t._(
        "🔔 News about tip {reference} ({topic}):",
        reference=tip.reference,
        topic=t._(chosen.label) if chosen else tip.category,
    )
    if status == TipStatus.MERGED and tip.merged_into:
        body = t._(
            "Someone sent a tip about the same thing. We joined them. You now follow {other}.",
            other=store.reference(tip.merged_into),
        )
    else:
        body = t._(NEWS.get(status, LABELS[status]))
    return head + "\n" + body


def register(app: BotApplication) -> None:
    """The tip feature's senders (see bot/outbox.py)."""
    outbox.add_sender(app, "tip-card", send_card)
    outbox.add_sender(app, "tip-news", fan_out_news)
    outbox.add_sender(app, "tip-news-to", send_news, on_given_up=news_not_delivered)
    outbox.add_sender(app, "tip-bridge", tip_bridge.send_bridge)
    outbox.add_sender(app, "tip-answer-translation", tip_bridge.send_answer_translation)
