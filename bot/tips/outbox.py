"""Everything the tip feature sends after a commit: tip cards to the staff chat, status news to
residents, residents' answers to staff.

Each item is stored first and marked done after Telegram took it, so a crash or a Telegram
failure loses nothing: `flush` runs right after each commit and again from a repeating job.
One lock keeps the job and a handler from sending the same item twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.common import answer, current_resident, send
from bot.context import BotContext
from bot.i18n import SUPPORTED_LANGUAGES, Texts
from bot.images import clean_image
from bot.tips.status import CODE_OF, LABELS, NEWS
from bot.tips.status import label as status_label
from bot.tips.topics import topic
from storage import tips as store
from storage.tips import Question, Tip, TipStatus

log = logging.getLogger(__name__)

#: Longest description shown on a card (Telegram allows 4096 characters per message).
CARD_DESCRIPTION_LIMIT = 3000


def _lock(context: BotContext) -> asyncio.Lock:
    return context.bot_data.extras.setdefault("tips_outbox_lock", asyncio.Lock())


async def flush(context: BotContext) -> None:
    """Send whatever is stored and not yet sent: cards, answers, status news."""
    async with _lock(context):
        if context.config.staff_chat_id is not None:
            for tip_id in await store.unposted_tips(context.db):
                try:
                    await post_tip(context, tip_id)
                except BadRequest as error:
                    # About this tip only (a file Telegram refuses): the others still go.
                    log.warning("tip %s not posted yet: %s", tip_id, error)
                except TelegramError as error:
                    log.warning("tip %s not posted yet: %s", tip_id, error)
                    break  # Telegram is unwell: the job retries later, in order
                except Exception:
                    # A fault in one tip (a bug, a hostile file) must not hold up the others.
                    log.exception("tip %s could not be posted; the next ones go on", tip_id)
            for item in await store.unrelayed_answers(context.db):
                try:
                    await relay_answer(context, item)
                except BadRequest as error:
                    log.warning("answer %s not relayed yet: %s", item.id, error)
                except TelegramError as error:
                    log.warning("answer %s not relayed yet: %s", item.id, error)
                    break
                except Exception:
                    log.exception("answer %s could not be relayed; the next ones go on", item.id)
        for change in await store.unnotified_changes(context.db):
            try:
                await notify_change(context, change)
            except Exception:
                log.exception("news of status change %s could not be sent", change.id)


# --------------------------------------------------------------------------- staff topics
async def ensure_topic(context: BotContext, category: str) -> int | None:
    """The staff forum topic for a tip category, created on first use.

    Returns None (post in the general chat) if the group has no topics or the bot may not
    create them; `python -m bot check` tells the operator.
    """
    thread = await store.topic_thread(context.db, category)
    if thread is not None:
        return thread
    t = staff_texts(context)
    chosen = topic(category)
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


def staff_texts(context: BotContext) -> Texts:
    return context.texts(context.config.default_language)


def _thread_gone(error: BadRequest) -> bool:
    return "thread not found" in str(error).lower()


# --------------------------------------------------------------------------- the card
def card_text(
    t: Texts,
    tip: Tip,
    tz,
    *,
    last_change: tuple[str, datetime] | None = None,
) -> str:
    """The staff card of a tip, in the district's language; every value escaped by `Texts`."""
    chosen = topic(tip.category)
    description = (tip.description or "").strip()
    if len(description) > CARD_DESCRIPTION_LIMIT:
        description = description[: CARD_DESCRIPTION_LIMIT - 1] + "…"
    # The resident's words are quoted and their place kept to one line, so neither can add
    # lines that look like the card's own ("Status: …", "👤 From: …").
    lines = [
        t._(
            "📝 <b>{reference}</b> · {topic}\n\n{text}",
            reference=tip.reference,
            topic=f"{chosen.icon} {t._(chosen.label)}" if chosen else tip.category,
            text=t.quote(description) if description else t._("(no text: see the voice message)"),
        ),
        "",
    ]
    if tip.place_text:
        lines.append(t._("📍 Place: {place}", place=" ".join(tip.place_text.split())))
    elif tip.has_location:
        lines.append(t._("📍 Place: see the map pin"))
    else:
        lines.append(t._("📍 Place: not given"))
    attachments = tip.count("photo") + tip.count("image")
    if attachments:
        lines.append(t.n_("📷 {count} photo", "📷 {count} photos", attachments))
    if tip.count("voice"):
        lines.append(
            t.n_("🎤 {count} voice message", "🎤 {count} voice messages", tip.count("voice"))
        )
    if tip.count("video"):
        lines.append(t.n_("🎬 {count} video", "🎬 {count} videos", tip.count("video")))
    lines.append(
        t._("🗣 Language: {language}", language=SUPPORTED_LANGUAGES.get(tip.language, tip.language))
    )
    if tip.show_name and tip.reporter_name:
        lines.append(t._("👤 From: {name}", name=tip.reporter_name))
    else:
        lines.append(t._("👤 From: anonymous"))
    lines.append(t._("🕒 Sent: {when}", when=t.datetime(tip.created_at, tz, fmt="short")))
    if tip.followers:
        lines.append(
            t.n_(
                "👥 {count} more resident reports the same",
                "👥 {count} more residents report the same",
                tip.followers,
            )
        )
    if tip.possible_duplicate_of and tip.status != TipStatus.MERGED:
        lines.append(
            t._(
                "⚠️ Possibly the same as {other}",
                other=store.reference(tip.possible_duplicate_of),
            )
        )
    lines.append("")
    if tip.status == TipStatus.MERGED and tip.merged_into:
        lines.append(t._("🔗 Merged into {other}", other=store.reference(tip.merged_into)))
    elif last_change is not None:
        who, when = last_change
        lines.append(
            t._(
                "Status: {status} ({who}, {when})",
                status=status_label(t, tip.status),
                who=who,
                when=t.datetime(when, tz, fmt="short"),
            )
        )
    else:
        lines.append(t._("Status: {status}", status=status_label(t, tip.status)))
    if tip.status.is_open and tip.telegram_id is not None:
        lines.append(t._("Reply to this message to ask the resident a question."))
    return "\n".join(lines)


def card_keyboard(t: Texts, tip: Tip) -> InlineKeyboardMarkup | None:
    if tip.status == TipStatus.MERGED:
        return None

    def button(status: TipStatus) -> InlineKeyboardButton:
        text = status_label(t, status)
        if status == tip.status:
            text = "• " + text
        return InlineKeyboardButton(text, callback_data=f"tip:st:{tip.id}:{CODE_OF[status]}")

    rows = [
        [button(TipStatus.RECEIVED), button(TipStatus.IN_PROGRESS)],
        [button(TipStatus.RESOLVED), button(TipStatus.REJECTED)],
        [button(TipStatus.FORWARDED)],
    ]
    if tip.possible_duplicate_of:
        rows.append(
            [
                InlineKeyboardButton(
                    "🔗 "
                    + t._("Merge into {other}", other=store.reference(tip.possible_duplicate_of)),
                    callback_data=f"tip:merge:{tip.id}:{tip.possible_duplicate_of}",
                )
            ]
        )
    return InlineKeyboardMarkup(rows)


async def post_tip(context: BotContext, tip_id: int) -> None:
    """Post a tip to its category's staff topic: the card, then media and map pin as replies."""
    tip = await store.get_tip(context.db, tip_id)
    if tip is None or tip.posted_at is not None:
        return
    chat_id = context.config.staff_chat_id
    assert chat_id is not None
    t = staff_texts(context)
    thread = tip.staff_thread_id
    card_id = tip.staff_card_message_id
    if card_id is None:
        thread = await ensure_topic(context, tip.category)
        try:
            card = await send(
                context,
                chat_id,
                card_text(t, tip, context.config.timezone),
                card_keyboard(t, tip),
                message_thread_id=thread,
            )
        except BadRequest as error:
            if not _thread_gone(error):
                raise
            # Staff deleted the category's topic: make a new one and post there.
            await store.forget_topic(context.db, tip.category)
            thread = await ensure_topic(context, tip.category)
            card = await send(
                context,
                chat_id,
                card_text(t, tip, context.config.timezone),
                card_keyboard(t, tip),
                message_thread_id=thread,
            )
        card_id = card.message_id
        await store.set_card(context.db, tip.id, thread, card_id)
        await store.record_staff_message(context.db, chat_id, card_id, tip.id)
    where = {
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
        await store.record_staff_message(context.db, chat_id, message.message_id, tip.id)
    await store.mark_posted(context.db, tip.id, context.now())
    log.info("tip %s posted to staff (%d attachments)", tip.id, len(sent))


async def _send_clean_image(
    context: BotContext, chat_id: int, tip: Tip, item: store.TipMedia, number: int, where: dict
) -> Message | None:
    """Download an image sent as a file, strip its hidden data, upload the clean copy."""
    t = staff_texts(context)
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
    """Redraw a posted card after a change (status, followers, merge)."""
    tip = await store.get_tip(context.db, tip_id)
    chat_id = context.config.staff_chat_id
    if tip is None or tip.staff_card_message_id is None or chat_id is None:
        return
    t = staff_texts(context)
    try:
        await context.bot.edit_message_text(
            card_text(t, tip, context.config.timezone, last_change=last_change),
            chat_id,
            tip.staff_card_message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=card_keyboard(t, tip),
        )
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            log.warning("could not update the card of tip %s: %s", tip_id, error)


# --------------------------------------------------------------------------- status news
async def notify_change(context: BotContext, change: store.StatusChange) -> None:
    """Tell the reporter and followers of a status change, each in their own language."""
    tip = await store.get_tip(context.db, change.tip_id)
    if tip is None:
        await store.mark_change_notified(context.db, change.id, context.now())
        return
    for telegram_id, language in await store.recipients_to_notify(context.db, change.id):
        t = context.texts(language)
        try:
            await send(context, telegram_id, news_text(t, tip, change.status))
            outcome = "sent"
        except Forbidden:
            outcome = "blocked"  # they blocked the bot or left Telegram: nothing more to do
        except RetryAfter as error:
            log.warning("status news delayed by flood control: %s", error)
            return  # the job tries again
        except TelegramError as error:
            log.warning("status news for tip %s failed: %s", tip.id, error)
            outcome = "failed"
        await store.record_notification(context.db, change.id, telegram_id, outcome, context.now())
    await store.mark_change_notified(context.db, change.id, context.now())


def news_text(t: Texts, tip: Tip, status: TipStatus) -> str:
    chosen = topic(tip.category)
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


# --------------------------------------------------------------------------- answers
async def take_answer(update: Update, context: BotContext, question: Question) -> None:
    """A resident answered a staff question: store it, relay it, then thank them."""
    message = update.effective_message
    assert message is not None
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
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
    await store.store_answer(context.db, question, kind, text, message.message_id, context.now())
    await flush(context)
    await answer(update, context, t._("✅ Thank you! I gave your answer to the staff."))


async def relay_answer(context: BotContext, item: store.Answer) -> None:
    """Post an answer in the tip's topic as a reply to the card (a copy, never a forward)."""
    tip = await store.get_tip(context.db, item.tip_id)
    chat_id = context.config.staff_chat_id
    assert chat_id is not None
    if tip is None or tip.staff_card_message_id is None:
        await store.mark_answer_relayed(context.db, item.id, context.now())
        return
    reply = ReplyParameters(tip.staff_card_message_id, allow_sending_without_reply=True)
    try:
        message_id = await _post_answer(context, chat_id, tip.staff_thread_id, tip, item, reply)
    except BadRequest as error:
        if not _thread_gone(error):
            raise
        message_id = await _post_answer(context, chat_id, None, tip, item, reply)
    await store.record_staff_message(context.db, chat_id, message_id, tip.id)
    await store.mark_answer_relayed(context.db, item.id, context.now())


async def _post_answer(
    context: BotContext,
    chat_id: int,
    thread: int | None,
    tip: Tip,
    item: store.Answer,
    reply: ReplyParameters,
) -> int:
    t = staff_texts(context)
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
