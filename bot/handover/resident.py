"""The resident's side of a case: /contact, the relay into the staff topic, the rating, and the
question whether to open a new case after the last one was closed.

Everything a resident sends while their case is open is copied (never forwarded: no account is
shown) into the case topic; the copy carries the exact text, so `<b>` or `&` arrive literally.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageId,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import outbox
from bot.albums import first_of_album
from bot.common import answer, current_resident, resident_and_texts, resident_texts, send
from bot.context import BotApplication, BotContext, BotData
from bot.handover import marking
from bot.handover.availability import staff_chat_ready
from bot.handover.moderation import held_back
from bot.handover.steps import CASE
from bot.handover.topics import (
    close_case_topic,
    post_in_case_topic,
    rename_case_topic,
    send_to_case_topic,
)
from bot.handover.translation import enqueue_translation, hold_for_translation
from bot.i18n import N_, Texts
from bot.images import clean_image, is_cleanable
from bot.menu import SMILEYS, main_menu
from bot.registry import add_resident_command
from bot.telegram_errors import Verdict
from storage import cases
from storage.cases import Case, CaseStatus
from storage.residents import Resident

log = logging.getLogger(__name__)

#: After a case is closed, a resident who writes within this time is asked about a new case.
ASK_AGAIN_WITHIN = timedelta(days=14)
MESSAGE_KINDS = (
    "text",
    "photo",
    "voice",
    "video",
    "video_note",
    "audio",
    "animation",
    "document",
    "sticker",
    "venue",
    "location",
    "contact",
)


#: Kinds whose copy can carry a caption (the label and the resident's quoted caption).
CAPTIONED_KINDS = ("photo", "video", "document", "audio", "animation", "voice")
#: The Bot API lets bots download files up to 20 MB.
MAX_FILE_BYTES = 20 * 1024 * 1024


def message_kind(message: Message) -> str:
    """What kind of message this is (for records and logs; never the content)."""
    for kind in MESSAGE_KINDS:
        if getattr(message, kind, None):
            return kind
    return "other"


def closed_notice(t: Texts, opening: datetime | None, now: datetime, tz: tzinfo) -> str:
    """When staff will answer, the way the resident's language writes days and times."""
    if opening is None:
        return t._("Our office is closed now. Your message is saved.")
    local_open, local_now = opening.astimezone(tz), now.astimezone(tz)
    when_time = t.time(local_open)
    if local_open.date() == local_now.date():
        return t._(
            "Our office is closed now. Staff will answer you today from {time}."
            " Your message is saved.",
            time=when_time,
        )
    if local_open.date() == local_now.date() + timedelta(days=1):
        return t._(
            "Our office is closed now. Staff will answer you tomorrow from {time}."
            " Your message is saved.",
            time=when_time,
        )
    return t._(
        "Our office is closed now. Staff will answer you on {day} from {time}."
        " Your message is saved.",
        day=t.weekday_date(local_open),
        time=when_time,
    )


def name_keyboard(t: Texts, case: Case) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t._("Yes, show my name"), callback_data=f"case:name:{case.id}:1"
                )
            ],
            [
                InlineKeyboardButton(
                    t._("No, stay anonymous"), callback_data=f"case:name:{case.id}:0"
                )
            ],
        ]
    )


def rating_keyboard(case: Case) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(face, callback_data=f"case:rate:{case.id}:{score}")
                for score, face in enumerate(SMILEYS, start=1)
            ]
        ]
    )


def not_available_text(t: Texts) -> str:
    return t._(
        "Sorry, you cannot talk to a person here right now. Please try again later,"
        " or visit us at the office."
    )


async def _closed_notice_if_due(
    context: BotContext, case: Case, t: Texts, now: datetime
) -> str | None:
    """The office-closed answer, once per closed period (not for every message)."""
    hours = context.config.hours
    if hours.is_open(now):
        return None
    opening = hours.next_opening(now)
    period = opening or datetime.max.replace(tzinfo=now.tzinfo)
    if case.closed_notice_for == period:
        return None
    await cases.mark_closed_notice(context.db, case.id, period)
    return closed_notice(t, opening, now, context.config.timezone)


# --- opening a case ---
async def contact(update: Update, context: BotContext) -> None:
    """`/contact` and the menu's "Talk to a person": open a case; the topic comes later."""
    resident, t = await resident_and_texts(update, context)
    if not staff_chat_ready(context.bot_data):
        await answer(update, context, not_available_text(t), main_menu(t))
        return
    case = await cases.open_case(
        context.db, resident.telegram_id, resident.language, context.now()
    )
    if case.first_message_at is not None:
        await answer(
            update,
            context,
            t._("You are already talking with us. Just write your message here."),
        )
        return
    log.info("case %s opened", case.id)
    await answer(update, context, opening_text(t, resident), name_keyboard(t, case))
    notice = await _closed_notice_if_due(context, case, t, context.now())
    if notice:
        await answer(update, context, notice)


def opening_text(t: Texts, resident: Resident) -> str:
    return "\n\n".join(
        [
            t._("💬 Write your message here. A person from the district will answer you here."),
            t._("You can write in your own language, or send a photo or a voice message."),
            name_question(t, resident),
        ]
    )


def name_question(t: Texts, resident: Resident) -> str:
    return t._(
        "May staff see your first name ({name})? If you do not choose, you stay anonymous.",
        name=resident.first_name or "",
    )


async def choose_name(update: Update, context: BotContext) -> None:
    """`case:name:<case>:<1|0>`: may staff see the resident's first name?"""
    query = update.callback_query
    assert query is not None and query.data is not None
    resident, t = await resident_and_texts(update, context)
    parts = query.data.split(":")
    case = await _own_case(context, resident, parts[2] if len(parts) == 4 else "")
    if case is None or not case.is_open or parts[3] not in ("0", "1"):
        await context.ack_stale(update, t)
        return
    show = parts[3] == "1"
    await cases.set_anonymous(context.db, case.id, not show)
    await context.ack(
        update,
        t._("OK, staff will see your first name.") if show else t._("OK, you stay anonymous."),
    )
    await _remove_buttons(update)
    if case.anonymous == show:
        await rename_case_topic(context, case.id)


async def _own_case(context: BotContext, resident: Resident, raw_id: str) -> Case | None:
    """The case a button names, only if it belongs to the resident who pressed it."""
    if not raw_id.isdigit():
        return None
    case = await cases.get(context.db, int(raw_id))
    if case is None or case.resident_id != resident.telegram_id:
        return None
    return case


async def _remove_buttons(update: Update) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(None)
    except TelegramError as error:
        log.debug("could not remove buttons: %s", error)


# --- the relay ---
async def has_open_case(data: BotData, telegram_id: int) -> bool:
    """Active: the resident's case is open (from /contact until it is closed)."""
    return await cases.open_case_of(data.db, telegram_id) is not None


async def relay_from_resident(update: Update, context: BotContext) -> bool:
    """The case conversation: an open case takes everything the resident sends."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return False
    case = await cases.open_case_of(context.db, user.id)
    if case is None:
        return False
    resident, _ = await current_resident(update, context)
    if await held_back(context, case, resident.telegram_id, resident.language):
        return True  # blocked by staff, or too many at once: the resident was told
    await take_message(update, context, resident, case, message.message_id)
    return True


async def take_message(
    update: Update, context: BotContext, resident: Resident, case: Case, message_id: int
) -> None:
    """Store a resident's message in the case, relay it, and tell them what happens next."""
    t = context.texts(resident.language)
    now = context.now()
    message = update.effective_message
    kind = message_kind(message) if message and message.message_id == message_id else "other"
    row = await cases.record_incoming(context.db, case.id, message_id, kind, now)
    if row is None:
        # The same message again: handled a second time after a crash. Relay it if the
        # first time did not get that far; staff see it once, the resident is not told twice.
        pending = await cases.undelivered(context.db, case.id, resident_message_id=message_id)
        if pending is not None:
            if message is not None and message.message_id == message_id:
                await hold_for_translation(context, case, pending, message)
            await relay_to_topic(
                context, case, pending, message_id, _replied_to(update, message_id), message
            )
        return
    if message is not None and message.message_id == message_id:
        await hold_for_translation(context, case, row, message)
    first = case.first_message_at is None
    if not staff_chat_ready(context.bot_data):
        # Stored and enqueued: it goes to staff once the staff chat works (after a restart).
        await enqueue_relay(
            context, case, row, message_id, _replied_to(update, message_id), message
        )
        await answer(
            update,
            context,
            t._("Thank you, your message is saved.") + "\n" + not_available_text(t),
        )
        return
    await relay_to_topic(context, case, row, message_id, _replied_to(update, message_id), message)
    album = message.media_group_id if message and message.message_id == message_id else None
    if album and not first_of_album(context.bot_data, album):
        return
    notice = await _closed_notice_if_due(context, case, t, now)
    if notice:
        await send(context, resident.telegram_id, notice)
    elif first:
        # Outside office hours the closed notice came with /contact already: no promise of "soon".
        text = (
            t._("Thank you! We got your message. A person will answer you here soon.")
            if context.config.hours.is_open(now)
            else t._("Thank you, your message is saved.")
        )
        await send(context, resident.telegram_id, text)


def _replied_to(update: Update, message_id: int) -> int | None:
    message = update.effective_message
    if message is None or message.message_id != message_id or message.reply_to_message is None:
        return None
    return message.reply_to_message.message_id


async def relay_to_topic(
    context: BotContext,
    case: Case,
    row: int,
    message_id: int,
    reply_to: int | None,
    message: Message | None = None,
) -> None:
    """Enqueue one resident message for the case topic and start sending what is due (the
    outbox sends it after the handler, `outbox.send_pending`).

    The outbox retries it after a failure (`send_relay`); enqueueing it again (an update
    handled a second time after a crash) adds nothing. With the `message` in hand, its text
    goes quoted under a label and an image file cleaned of its hidden data (`relay_marked`).
    """
    await enqueue_relay(context, case, row, message_id, reply_to, message)
    await outbox.send_pending(context)


async def enqueue_relay(
    context: BotContext,
    case: Case,
    row: int,
    message_id: int,
    reply_to: int | None,
    message: Message | None = None,
) -> str:
    """Store the task of relaying one resident message (once; a second call adds nothing).

    The message's text or caption and an image file's id travel in the task until it is sent
    (the outbox drops a payload once its task is done): Telegram lets a bot copy a message
    but not read it back, and the relay must quote the words and clean the image.
    """
    key = f"case-in:{row}"
    payload: dict[str, Any] = {
        "row": row,
        "case_id": case.id,
        "message_id": message_id,
        "reply_to": reply_to,
    }
    if message is not None and message.message_id == message_id:
        payload["source"] = asdict(RelaySource.of(message))
    await outbox.enqueue(context.db, "case-relay", key, payload, context.now())
    return key


async def send_relay(context: BotContext, task: outbox.Task) -> int | None:
    """Sender of `case-relay`: copy a resident's message into the case topic (never a forward)."""
    chat_id = context.config.staff_chat_id
    assert chat_id is not None
    case = await cases.get(context.db, task.payload["case_id"])
    if case is None or not case.is_open or case.resident_id is None:
        return None  # closed or erased meanwhile: nothing to relay any more
    if not staff_chat_ready(context.bot_data):
        raise outbox.Postpone("the staff chat is switched off until it is fixed")
    row, message_id = task.payload["row"], task.payload["message_id"]
    if await cases.undelivered(context.db, case.id, resident_message_id=message_id) is None:
        return None  # delivered before (or given up)
    resident_id = case.resident_id
    reply = None
    if task.payload.get("reply_to") is not None:
        target = await cases.staff_message_for(context.db, case.id, task.payload["reply_to"])
        if target is not None:
            reply = ReplyParameters(target, allow_sending_without_reply=True)

    async def copy(thread_id: int) -> Message | MessageId:
        source = task.payload.get("source")
        if source is None:
            # Enqueued without the message in hand (an update replayed after a crash): only
            # the id is known, so it goes as a plain copy.
            return await context.bot.copy_message(
                chat_id,
                resident_id,
                message_id,
                message_thread_id=thread_id,
                reply_parameters=reply,
            )
        return await relay_marked(
            context, chat_id, RelaySource(**source), resident_id, message_id, thread_id, reply
        )

    try:
        copied = await send_to_case_topic(context, case.id, copy)
    except TelegramError:
        if not staff_chat_ready(context.bot_data):
            # Making the topic showed the staff chat unusable (an operator's to fix): the
            # message waits for the fix instead of being given up.
            raise outbox.Postpone("the staff chat was switched off") from None
        raise
    await cases.mark_delivered(context.db, row, staff_message_id=copied.message_id)
    await enqueue_translation(context, case, row, copied.message_id)
    return copied.message_id


async def relay_given_up(context: BotContext, task: outbox.Task, verdict: Verdict) -> None:
    log.warning("relay of a message of case %s given up: %s", task.payload["case_id"], verdict)
    await cases.mark_failed(context.db, task.payload["row"], verdict.reason, final=True)


@dataclass(frozen=True)
class RelaySource:
    """What the relay needs of a resident's message: its words and, for an image sent as a
    file, where to fetch it. Built from the message while the update is in hand."""

    kind: str
    text: str | None = None
    caption: str | None = None
    file_id: str | None = None
    mime_type: str | None = None
    file_size: int | None = None

    @classmethod
    def of(cls, message: Message) -> RelaySource:
        document = message.document
        return cls(
            kind=message_kind(message),
            text=message.text,
            caption=message.caption,
            file_id=document.file_id if document else None,
            mime_type=document.mime_type if document else None,
            file_size=document.file_size if document else None,
        )

    @property
    def is_image_file(self) -> bool:
        return self.file_id is not None and (self.mime_type or "").lower().startswith("image/")


async def relay_marked(
    context: BotContext,
    chat_id: int,
    source: RelaySource,
    resident_id: int,
    message_id: int,
    thread_id: int,
    reply: ReplyParameters | None,
) -> Message | MessageId:
    """Send a resident's message into the topic so it cannot pass for the bot's own words.

    Text is quoted under a label (`bot.handover.marking`); media are copied with the label and
    the quoted caption; an image sent as a file is re-encoded without its EXIF data (GPS
    position, camera, time), as for tips. Kinds without a caption (a location, a sticker) are
    copied as they are: they carry no text to imitate a notice with.
    """
    t = context.staff_texts()
    where: dict[str, Any] = {"message_thread_id": thread_id, "reply_parameters": reply}
    if source.text is not None:
        first: Message | None = None
        for part in marking.quoted_text(t, source.text):
            sent = await context.bot.send_message(
                chat_id, part, parse_mode=ParseMode.HTML, disable_web_page_preview=True, **where
            )
            first = first or sent
        assert first is not None
        return first
    if source.is_image_file:
        return await _relay_clean_image(context, chat_id, source, where)
    if source.kind not in CAPTIONED_KINDS:
        return await context.bot.copy_message(chat_id, resident_id, message_id, **where)
    caption, rest = marking.quoted_caption(t, source.caption)
    copied = await context.bot.copy_message(
        chat_id,
        resident_id,
        message_id,
        caption=caption,
        parse_mode=ParseMode.HTML,
        **where,
    )
    if rest is not None:
        await context.bot.send_message(chat_id, rest, parse_mode=ParseMode.HTML, **where)
    return copied


async def _relay_clean_image(
    context: BotContext, chat_id: int, source: RelaySource, where: dict[str, Any]
) -> Message:
    """An image file: its pixels only, or a notice to staff; never the original bytes."""
    t = context.staff_texts()
    assert source.file_id is not None
    clean = None
    if is_cleanable(source.mime_type) and (source.file_size or 0) <= MAX_FILE_BYTES:
        try:
            file = await context.bot.get_file(source.file_id)
            clean = await clean_image(bytes(await file.download_as_bytearray()))
        except BadRequest as error:  # too big for bots to download, or gone
            log.warning("an image file of a case could not be downloaded: %s", error)
    if clean is None:
        return await context.bot.send_message(
            chat_id,
            marking.label(t)
            + "\n"
            + t._(
                "⚠️ A picture sent as a file could not be opened, so it was not passed on."
                " Ask the resident to send it as a photo."
            ),
            parse_mode=ParseMode.HTML,
            **where,
        )
    caption, rest = marking.quoted_caption(t, source.caption)
    sent = await context.bot.send_document(
        chat_id,
        InputFile(clean.data, filename=f"picture.{clean.extension}"),
        caption=caption,
        parse_mode=ParseMode.HTML,
        **where,
    )
    if rest is not None:
        await context.bot.send_message(chat_id, rest, parse_mode=ParseMode.HTML, **where)
    return sent


# --- after a case was closed ---
async def offer_new_case(update: Update, context: BotContext) -> bool:
    """A resident writes soon after their case was closed: ask before opening a new one."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return False
    latest = await cases.latest_case_of(context.db, user.id)
    if (
        latest is None
        or latest.status != CaseStatus.CLOSED
        or latest.closed_at is None
        or context.now() - latest.closed_at > ASK_AGAIN_WITHIN
    ):
        return False
    if message.media_group_id and not first_of_album(context.bot_data, message.media_group_id):
        return True
    t = await resident_texts(update, context)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t._("Yes, send it to a person"),
                    callback_data=f"case:new:{message.message_id}",
                )
            ],
            [InlineKeyboardButton(t._("No, thank you"), callback_data="case:no")],
        ]
    )
    # A reply to the resident's message: the button then acts on the message it answers,
    # whatever data a client sends with the press.
    await send(
        context,
        message.chat_id,
        t._("Your last conversation with us is closed. Do you want to start a new one?"),
        keyboard,
        reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
    )
    return True


async def new_case_button(update: Update, context: BotContext) -> None:
    """`case:new:<message id>`: open a new case and pass on the message that prompted it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    resident, t = await resident_and_texts(update, context)
    if query.data == "case:no":
        await context.ack(update)
        await _remove_buttons(update)
        await answer(update, context, t._("OK. What do you want to do?"), main_menu(t))
        return
    raw_id = query.data.rpartition(":")[2]
    asked_about = query.message.reply_to_message if isinstance(query.message, Message) else None
    if asked_about is None or str(asked_about.message_id) != raw_id:
        # Forged or outdated data: only the message the question answered may be passed on.
        await context.ack_stale(update, t)
        return
    if not staff_chat_ready(context.bot_data):
        await answer(update, context, not_available_text(t), main_menu(t))
        return
    await context.ack(update)
    await _remove_buttons(update)
    case = await cases.open_case(
        context.db, resident.telegram_id, resident.language, context.now()
    )
    log.info("case %s opened after a closed one", case.id)
    # The message id comes from the presser's own chat: the bot copies only from there.
    await take_message(update, context, resident, case, int(raw_id))
    case = await cases.get(context.db, case.id) or case
    await answer(
        update,
        context,
        name_question(t, resident),
        name_keyboard(t, case),
    )


# --- rating and leaving ---
async def rate(update: Update, context: BotContext) -> None:
    """`case:rate:<case>:<1-5>`: one tap on a face after the case was closed."""
    query = update.callback_query
    assert query is not None and query.data is not None
    resident, t = await resident_and_texts(update, context)
    parts = query.data.split(":")
    case = await _own_case(context, resident, parts[2] if len(parts) == 4 else "")
    score = int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else 0
    if case is None or not 1 <= score <= 5:
        await context.ack_stale(update, t)
        return
    if not await cases.rate(context.db, case.id, resident.telegram_id, score, context.now()):
        await context.ack_stale(update, t)
        return
    await context.ack(update, t._("Thank you for your answer!"))
    await _remove_buttons(update)
    await answer(
        update, context, t._("Thank you for your answer! {face}", face=SMILEYS[score - 1])
    )
    staff_t = context.staff_texts()
    await post_in_case_topic(
        context,
        case.id,
        staff_t._(
            "The resident rated the help: {score} of 5 {face}",
            score=score,
            face=SMILEYS[score - 1],
        ),
    )


async def end_case_on_cancel(update: Update, context: BotContext) -> bool:
    """/cancel ends the resident's case; staff see that the resident left."""
    user = update.effective_user
    if user is None or update.effective_chat is None or update.effective_chat.type != "private":
        return False
    case = await cases.open_case_of(context.db, user.id)
    if case is None:
        return False
    started = case.first_message_at is not None
    CASE.check(case.status, CaseStatus.CLOSED if started else CaseStatus.CANCELLED)
    await cases.close(context.db, case.id, context.now(), None, cancelled=not started)
    if started:
        t = context.staff_texts()
        await post_in_case_topic(
            context,
            case.id,
            t._(
                "The resident ended the conversation (/cancel). Case {number} is closed.",
                number=case.number,
            ),
        )
        await close_case_topic(context, case)
    log.info("case %s ended by the resident", case.id)
    return True


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("contact", contact, filters=filters.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(contact, pattern=r"^menu:contact$"))
    app.add_handler(CallbackQueryHandler(choose_name, pattern=r"^case:name:"))
    app.add_handler(CallbackQueryHandler(rate, pattern=r"^case:rate:"))
    app.add_handler(CallbackQueryHandler(new_case_button, pattern=r"^case:(new:|no$)"))
    outbox.add_sender(app, "case-relay", send_relay, on_given_up=relay_given_up)
    add_resident_command(app, "contact", N_("Talk to a person"), 30)
