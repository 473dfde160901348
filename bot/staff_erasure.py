"""Erasure and retention in the staff chat: the outbox senders that remove what the bot posted
there for a tip or a case, within what Telegram allows.

`storage/staff_erasure.py` plans one task per removal in the transaction that erases the
database rows (/deleteme, `python -m bot residents forget`, the retention job). Here:

- `erase-topic`: a case topic goes with `deleteForumTopic`, all its messages with it, however
  old (the resident's relayed messages, staff replies, notes).
- `redact-card`: a tip card is edited to the anonymous facts (category, date, status, why it
  was removed). Bots may edit their own messages at any age, so this always works.
- `erase-media`: a photo, document, video, voice message, map pin or relayed answer is deleted
  while Telegram allows (48 hours after it was sent). Later a photo, document or video is
  replaced by a neutral picture (`editMessageMedia`) and a text by the notice. A voice
  message or a map pin cannot be turned into anything else (a static pin is not a live
  location that could be stopped): it is kept, and listed.
- `erase-report`: one note in the staff chat's General topic per erasure, with the links of
  what the bot could not remove, so that an administrator deletes them by hand (people may
  delete any message of their group, at any age). The log names them by message id.

Each sender records its outcome in `staff_chat_erasures`, so a task tried again after a
crash finds it done and calls Telegram no more.
"""

from __future__ import annotations

import io
import logging
from functools import cache

from PIL import Image
from telegram import InputMediaPhoto
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot import outbox
from bot.common import send
from bot.context import BotApplication, BotContext
from bot.i18n import Texts
from bot.outbox import Postpone, Task
from bot.telegram_errors import Outcome, Verdict, classify, is_message_gone, is_topic_gone
from bot.tips.card import card_keyboard, redacted_card_text
from bot.tips.card import removal_notice as notice
from storage import staff_erasure as store
from storage import tips
from storage.staff_erasure import Erasure

log = logging.getLogger(__name__)

#: Kinds whose file `editMessageMedia` can replace; text is edited; the rest is kept.
REPLACEABLE_MEDIA = frozenset({"photo", "document", "video"})
#: The longest list of links in one note (the rest is counted).
LIST_LIMIT = 40


def staff_texts(context: BotContext) -> Texts:
    return context.texts(context.config.default_language)


@cache
def placeholder_image() -> bytes:
    """A plain grey picture that replaces a photo, image or video too old to delete."""
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 200, 200)).save(out, format="PNG")
    return out.getvalue()


async def _pending(context: BotContext, task: Task) -> Erasure | None:
    erasure = await store.get(context.db, task.payload["erasure_id"])
    if erasure is None or erasure.outcome != "pending":
        return None  # done before a crash or a retry: nothing more to call
    return erasure


def _chat(context: BotContext) -> int:
    chat_id = context.config.staff_chat_id
    assert chat_id is not None  # the runner keeps staff tasks waiting without a staff chat
    return chat_id


# --------------------------------------------------------------------------- senders
async def erase_topic(context: BotContext, task: Task) -> int | None:
    """Sender of `erase-topic`: delete a case's forum topic with every message in it."""
    erasure = await _pending(context, task)
    if erasure is None:
        return None
    assert erasure.thread_id is not None
    try:
        await context.bot.delete_forum_topic(_chat(context), erasure.thread_id)
        outcome = "deleted"
    except BadRequest as error:
        if not is_topic_gone(error):
            raise
        outcome = "gone"  # staff deleted it already
    await store.done(context.db, erasure.id, outcome, context.now())
    return None


async def redact_card(context: BotContext, task: Task) -> int | None:
    """Sender of `redact-card`: edit a tip card down to the anonymous facts."""
    erasure = await _pending(context, task)
    if erasure is None:
        return None
    assert erasure.tip_id is not None and erasure.message_id is not None
    tip = await tips.get_tip(context.db, erasure.tip_id)
    outcome = "gone"
    if tip is not None:
        t = context.staff_texts()
        try:
            await context.bot.edit_message_text(
                redacted_card_text(t, tip, erasure.reason, context.config.timezone),
                _chat(context),
                erasure.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=card_keyboard(t, tip),  # the status may still change
            )
            outcome = "edited"
        except BadRequest as error:
            verdict = classify(error).outcome
            if verdict is Outcome.NOT_MODIFIED:
                outcome = "edited"
            elif not is_message_gone(error):
                raise
    await store.done(context.db, erasure.id, outcome, context.now())
    return None


async def erase_message(context: BotContext, task: Task) -> int | None:
    """Sender of `erase-media`: delete one message, or replace it when it is too old."""
    erasure = await _pending(context, task)
    if erasure is None:
        return None
    assert erasure.message_id is not None
    chat_id = _chat(context)
    try:
        await context.bot.delete_message(chat_id, erasure.message_id)
        outcome = "deleted"
    except BadRequest as error:
        if is_message_gone(error):
            outcome = "gone"
        elif classify(error).outcome is Outcome.TOO_OLD:
            outcome = await _replace(context, erasure)
        else:
            raise
    await store.done(context.db, erasure.id, outcome, context.now())
    if outcome == "kept":
        log.warning(
            "staff chat: message %s (%s, %s) is older than Telegram lets a bot delete; kept",
            erasure.message_id,
            erasure.kind or "unknown",
            erasure.subject,
        )
    return None


async def _replace(context: BotContext, erasure: Erasure) -> str:
    """A message too old to delete: 'edited' if it could be overwritten, else 'kept'."""
    assert erasure.message_id is not None
    text = notice(context.staff_texts(), erasure.reason)
    chat_id = _chat(context)
    attempts = []
    if erasure.kind in ("text", "copy", None):
        attempts.append("text")
    if erasure.kind in REPLACEABLE_MEDIA or erasure.kind in ("copy", None):
        attempts.append("media")
    for attempt in attempts:
        try:
            if attempt == "text":
                await context.bot.edit_message_text(
                    text, chat_id, erasure.message_id, parse_mode=ParseMode.HTML
                )
            else:
                media = InputMediaPhoto(
                    placeholder_image(),  # bytes: uploaded as an attachment of the request
                    caption=text,
                    parse_mode=ParseMode.HTML,
                )
                await context.bot.edit_message_media(media, chat_id, erasure.message_id)
            return "edited"
        except BadRequest as error:
            if is_message_gone(error):
                return "gone"
            if classify(error).outcome is Outcome.NOT_MODIFIED:
                return "edited"
            # Not this kind of message (a caption, a voice message): try the next way.
            log.info(
                "staff chat: message %s not replaced by %s: %s", erasure.message_id, attempt, error
            )
    return "kept"


async def erasure_given_up(context: BotContext, task: Task, verdict: Verdict) -> None:
    """Telegram kept refusing (e.g. the bot may not delete topics): listed for staff."""
    erasure = await store.get(context.db, task.payload["erasure_id"])
    if erasure is not None and erasure.outcome == "pending":
        await store.done(context.db, erasure.id, "failed", context.now())
        log.warning(
            "staff chat: could not remove %s %s of %s: %s",
            erasure.target,
            erasure.thread_id if erasure.target == "topic" else erasure.message_id,
            erasure.subject,
            verdict.reason,
        )


async def report(context: BotContext, task: Task) -> int | None:
    """Sender of `erase-report`: the note in General, once every removal of the batch ended.

    A retention run that removed everything says nothing (it runs every day); an erasure a
    resident asked for is always reported, so staff know why a topic or a picture went."""
    rows = await store.batch(context.db, task.payload["batch"])
    if any(row.outcome == "pending" for row in rows):
        raise Postpone("removals of this erasure are still under way")
    left = [row for row in rows if row.outcome in ("kept", "failed")]
    reason = rows[0].reason if rows else "retention"
    if not left and reason != "resident":
        return None
    t = context.staff_texts()
    chat_id = _chat(context)
    counts = {
        "deleted": sum(row.outcome in ("deleted", "gone") for row in rows),
        "edited": sum(row.outcome == "edited" for row in rows),
    }
    if reason == "resident":
        head = t._(
            "🗑 A resident asked us to delete their data. In this chat: {deleted} deleted,"
            " {edited} replaced by a notice.",
            **counts,
        )
    else:
        head = t._(
            "🗑 Old cases and tips were deleted after the retention period. In this chat:"
            " {deleted} deleted, {edited} replaced by a notice.",
            **counts,
        )
    lines = [head]
    if left:
        lines += [
            "",
            t._(
                "⚠️ The bot could not remove these messages: Telegram lets a bot delete only"
                " for 48 hours. Please delete them by hand:"
            ),
        ]
        for row in left[:LIST_LIMIT]:
            lines.append(f"• {row.subject} · {link(chat_id, row)}")
            log.warning(
                "staff chat: %s of %s not removed (%s): id %s",
                row.target,
                row.subject,
                row.outcome,
                row.thread_id if row.target == "topic" else row.message_id,
            )
        if len(left) > LIST_LIMIT:
            lines.append(f"• … +{len(left) - LIST_LIMIT}")
    message = await send(context, chat_id, "\n".join(lines))
    return message.message_id


def link(chat_id: int, erasure: Erasure) -> str:
    """A t.me link to the message (or topic) in a supergroup, for staff to open and delete."""
    internal = str(chat_id).removeprefix("-100")
    target = erasure.thread_id if erasure.target == "topic" else erasure.message_id
    return f"https://t.me/c/{internal}/{target}"


def register(app: BotApplication) -> None:
    outbox.add_sender(app, store.ERASE_TOPIC, erase_topic, on_given_up=erasure_given_up)
    outbox.add_sender(app, store.REDACT_CARD, redact_card, on_given_up=erasure_given_up)
    outbox.add_sender(app, store.ERASE_MESSAGE, erase_message, on_given_up=erasure_given_up)
    outbox.add_sender(app, store.ERASE_REPORT, report)
