"""The staff's side of a case: what they write in a case topic reaches the resident, and the
commands /close, /note, /assign (and the "I'll take it" button), /cases and /stats.

Replies are copies sent by the bot, so the resident never sees a staff member's account; with
BOT_SIGN_STAFF_REPLIES the staff member's first name is added under the reply.
"""

from __future__ import annotations

import html
import logging
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from babel.dates import format_timedelta
from telegram import Message, MessageEntity, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot import outbox
from bot.bridge.translation import Translation
from bot.common import send
from bot.context import BotApplication, BotContext
from bot.handover.resident import message_kind, rating_keyboard
from bot.handover.topics import (
    close_case_topic,
    rename_case_topic,
)
from bot.handover.translation import (
    plan_reply,
    topic_record,
    translate_reply,
    translated_reply_text,
)
from bot.i18n import N_, Raw, Texts
from bot.registry import add_forget_hook
from bot.staff_chat import add_staff_button, add_staff_command, answer_in_thread, is_staff_member
from bot.telegram_errors import Outcome, Verdict
from storage import audit, case_labels, cases, residents, staff_members
from storage.cases import Case, CaseStatus
from storage.reports import median_duration

log = logging.getLogger(__name__)

#: Media whose caption can carry a signature.
_CAPTIONED = ("photo", "video", "document", "audio", "animation", "voice")


# --- helpers ---
async def case_here(update: Update, context: BotContext) -> Case | None:
    """The case whose topic this staff message was written in, if any."""
    message = update.effective_message
    if message is None or not message.is_topic_message or message.message_thread_id is None:
        return None
    return await cases.by_topic(context.db, message.message_thread_id)


def staff_name(update: Update) -> str:
    user = update.effective_user
    return user.first_name if user is not None else "?"


def format_duration(t: Texts, value: timedelta) -> str:
    """`2 t 10 min` in the staff's language: precise enough to see who waits longest."""
    minutes = max(0, int(value.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts: list[str] = []
    units: tuple[tuple[int, Literal["day", "hour", "minute"]], ...] = (
        (days, "day"),
        (hours, "hour"),
        (minutes, "minute"),
    )
    for amount, unit in units:
        if amount or (unit == "minute" and not parts):
            parts.append(
                format_timedelta(
                    timedelta(**{f"{unit}s": amount}),
                    granularity=unit,
                    threshold=1000,
                    format="short",
                    locale=t.locale,
                )
            )
    return " ".join(parts)


def topic_link(staff_chat_id: int, thread_id: int) -> str:
    """A t.me link that opens the topic (supergroup ids are -100 followed by the internal id)."""
    internal = str(staff_chat_id).removeprefix("-100")
    return f"https://t.me/c/{internal}/{thread_id}"


# --- the relay to the resident ---
async def relay_from_staff(update: Update, context: BotContext) -> bool:
    """Staff message consumer: a message in an open case's topic goes to that case's resident."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or user.is_bot:
        return False
    case = await case_here(update, context)
    if case is None:
        return False
    t = context.staff_texts()
    if message.forum_topic_created or message.forum_topic_closed or message.forum_topic_reopened:
        return True
    if not case.is_open or case.resident_id is None:
        await answer_in_thread(
            update, context, t._("This case is closed. The resident did not get this message.")
        )
        return True
    if message.text and message.text.startswith("/"):
        await answer_in_thread(
            update, context, t._("Unknown command. This was not sent to the resident.")
        )
        return True
    kind = message_kind(message)
    row = await cases.record_outgoing(
        context.db, case.id, message.message_id, user.id, kind, context.now()
    )
    if row is None:
        # Handled before: only a crash between storing and sending leaves it pending.
        row = await cases.undelivered(context.db, case.id, staff_message_id=message.message_id)
        if row is None:
            return True
    # Through the outbox: sent now, or retried after an outage; staff hear if it cannot go.
    payload = await reply_payload(context, case, message, user.first_name)
    payload["row"] = row
    await outbox.enqueue(
        context.db,
        "case-reply",
        f"case-out:{row}",
        payload,
        context.now(),
        chat_id=case.resident_id,
    )
    await outbox.send_pending(context)
    return True


async def reply_payload(
    context: BotContext, case: Case, message: Message, first_name: str
) -> dict[str, Any]:
    """What the sender needs to copy a staff message to the resident later: ids, and for a
    signed reply its text (dropped from the outbox once sent, see storage/outbox.py)."""
    assert case.resident_id is not None
    reply_to = None
    replied = message.reply_to_message
    if replied is not None and replied.message_id != case.topic_id:
        reply_to = await cases.resident_message_for(context.db, case.id, replied.message_id)
    payload: dict[str, Any] = {
        "case_id": case.id,
        "staff_message_id": message.message_id,
        "thread_id": message.message_thread_id,
        "reply_to": reply_to,
    }
    resident = await residents.get(context.db, case.resident_id)
    language = resident.language if resident else case.language
    bridge = await plan_reply(context, case, message, language)
    signature = ""
    if context.config.sign_staff_replies and first_name:
        signature = "\n\n— " + context.texts(language).isolate(first_name)
    if "as_written" in bridge:
        # `!text`: sent as written, without the `!` (and without its formatting).
        payload["text"] = bridge["as_written"] + signature
    elif "translate" in bridge:
        payload["translate"] = bridge["translate"]
        payload["signature"] = signature
    elif signature:
        if message.text:
            payload["text"] = message.text + signature
            payload["entities"] = [entity.to_dict() for entity in message.entities]
        elif message_kind(message) in _CAPTIONED:
            payload["caption"] = ((message.caption or "").rstrip() + signature).lstrip("\n")
            payload["caption_entities"] = [e.to_dict() for e in message.caption_entities]
    return payload


async def send_reply(context: BotContext, task: outbox.Task) -> int | None:
    """Sender of `case-reply`: a copy of a staff message to the resident (signed if set)."""
    case = await cases.get(context.db, task.payload["case_id"])
    staff_message_id = task.payload["staff_message_id"]
    if case is None or case.resident_id is None:
        return None  # the resident erased their data meanwhile
    row = await cases.undelivered(context.db, case.id, staff_message_id=staff_message_id)
    if row is None:
        return None
    if "translate" in task.payload:
        sent_id = await deliver_translated(context, case, task)
    else:
        sent_id = await deliver_to_resident(context, case.resident_id, task.payload)
    await cases.mark_delivered(context.db, row, resident_message_id=sent_id)
    await cases.mark_staff_replied(context.db, case.id, context.now())
    log.info("staff reply relayed in case %s", case.id)
    return sent_id


async def deliver_translated(context: BotContext, case: Case, task: outbox.Task) -> int:
    """A staff reply translated into the resident's language (the original quoted below it);
    as written when translation fails. The topic is told what the resident got."""
    assert case.resident_id is not None
    plan, signature = task.payload["translate"], task.payload.get("signature", "")
    translation = await translate_reply(context, task, case.resident_id)
    t = context.staff_texts()
    reply = None
    if task.payload.get("reply_to") is not None:
        reply = ReplyParameters(task.payload["reply_to"], allow_sending_without_reply=True)
    if isinstance(translation.forward, Translation):
        text = translated_reply_text(
            context.texts(plan["target"]),
            plan["source"],
            translation.forward.text,
            plan["text"],
            signature,
        )
        sent = await context.bot.send_message(
            case.resident_id, text, parse_mode=ParseMode.HTML, reply_parameters=reply
        )
        note = topic_record(t, plan["target"], translation)
    else:
        log.info("reply in case %s sent untranslated: %s", case.id, translation.forward.reason)
        sent = await context.bot.send_message(
            case.resident_id, plan["text"] + signature, reply_parameters=reply
        )
        note = t._("⚠️ Translation failed: your reply went to the resident as you wrote it.")
    await outbox.note_to_staff(
        context.db,
        f"{task.key}:bridge",
        note,
        context.now(),
        thread_id=task.payload.get("thread_id"),
        reply_to=task.payload["staff_message_id"],
    )
    return sent.message_id


async def reply_given_up(context: BotContext, task: outbox.Task, verdict: Verdict) -> None:
    """Staff learn in the topic that their message did not reach the resident."""
    await cases.mark_failed(context.db, task.payload["row"], verdict.reason, final=True)
    t = context.staff_texts()
    if verdict.outcome is Outcome.BLOCKED:
        text = t._("Not delivered: the resident has blocked the bot or deleted their account.")
    else:
        text = t._(
            "Not delivered: Telegram refused this message ({error}). Please try again.",
            error=verdict.reason,
        )
    await outbox.note_to_staff(
        context.db,
        f"{task.key}:not-sent",
        text,
        context.now(),
        thread_id=task.payload.get("thread_id"),
        reply_to=task.payload["staff_message_id"],
    )


async def deliver_to_resident(
    context: BotContext, resident_id: int, payload: dict[str, Any]
) -> int:
    """Copy a staff message to the resident (signed if configured); return its id there."""
    staff_chat = context.config.staff_chat_id
    assert staff_chat is not None
    reply = None
    if payload.get("reply_to") is not None:
        reply = ReplyParameters(payload["reply_to"], allow_sending_without_reply=True)
    if payload.get("text") is not None:
        sent = await context.bot.send_message(
            resident_id,
            payload["text"],
            entities=[MessageEntity.de_json(e, context.bot) for e in payload.get("entities", [])],
            reply_parameters=reply,
        )
        return sent.message_id
    captioned: dict[str, Any] = {}
    if payload.get("caption") is not None:
        captioned = {
            "caption": payload["caption"],
            "caption_entities": [
                MessageEntity.de_json(e, context.bot) for e in payload.get("caption_entities", [])
            ],
        }
    copied = await context.bot.copy_message(
        resident_id, staff_chat, payload["staff_message_id"], reply_parameters=reply, **captioned
    )
    return copied.message_id


# --- commands in a case topic ---
async def _case_or_explain(update: Update, context: BotContext) -> Case | None:
    t = context.staff_texts()
    case = await case_here(update, context)
    if case is None:
        await answer_in_thread(update, context, t._("Use this command inside a case topic."))
        return None
    return case


async def close_command(update: Update, context: BotContext) -> None:
    """/close: end the case, tell the resident, ask for a rating, close the topic."""
    case = await _case_or_explain(update, context)
    if case is None:
        return
    t = context.staff_texts()
    user = update.effective_user
    assert user is not None
    if not await cases.close(context.db, case.id, context.now(), user.id):
        await answer_in_thread(update, context, t._("This case is already closed."))
        return
    log.info("case %s closed by staff", case.id)
    told = await _tell_resident_closed(context, case)
    lines = [
        t._("✅ Case {number} closed by {name}.", number=case.number, name=staff_name(update))
    ]
    lines.append(
        t._("The resident was asked to rate the help.")
        if told
        else t._("The resident could not be told (blocked or deleted).")
    )
    await answer_in_thread(update, context, "\n".join(lines))
    await close_case_topic(context, case)


async def close_on_erasure(context: BotContext, telegram_id: int) -> None:
    """/deleteme: the resident's open case ends. Its topic is deleted with everything in it
    by the erasure's outbox task (bot/staff_erasure.py), and staff read why in General."""
    case = await cases.open_case_of(context.db, telegram_id)
    if case is not None:
        await cases.close(context.db, case.id, context.now(), None, cancelled=True)


async def _tell_resident_closed(context: BotContext, case: Case) -> bool:
    if case.resident_id is None:
        return False
    resident = await residents.get(context.db, case.resident_id)
    t = context.texts(resident.language if resident else case.language)
    text = (
        t._("Our conversation is finished. You can write to us again at any time.")
        + "\n\n"
        + t._("How was our help? Tap a face.")
    )
    closed = await cases.get(context.db, case.id) or case
    try:
        await send(context, case.resident_id, text, rating_keyboard(closed))
    except (Forbidden, BadRequest) as error:
        log.info("could not tell the resident of case %s it was closed: %s", case.id, error)
        return False
    return True


async def note_command(update: Update, context: BotContext) -> None:
    """/note TEXT: an internal note, stored with the case, never sent to the resident."""
    case = await _case_or_explain(update, context)
    if case is None:
        return
    t = context.staff_texts()
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    text = (message.text or "").partition(" ")[2].strip()
    if not text:
        await answer_in_thread(
            update,
            context,
            t._("Write the note after the command, for example: /note Called her on Monday."),
        )
        return
    await cases.add_note(context.db, case.id, user.id, text, context.now())
    await answer_in_thread(update, context, t._("📝 Note saved. The resident does not see it."))


async def assign_command(update: Update, context: BotContext) -> None:
    """/assign: take the case; `/assign @username`, a mention, or /assign as a reply to a
    colleague's message: give it to them."""
    case = await _case_or_explain(update, context)
    if case is None:
        return
    target = await assignee(update, context)
    if target is None:
        t = context.staff_texts()
        await answer_in_thread(
            update,
            context,
            t._(
                "I do not know this colleague yet. Reply to one of their messages with /assign,"
                " or ask them to write /assign here themselves."
            ),
        )
        return
    await _assign(update, context, case, target)


async def assignee(update: Update, context: BotContext) -> tuple[int, str] | None:
    """Who /assign gives the case to: (Telegram ID, first name), or None if unknown.

    Telegram gives a bot no lookup by username, so `@username` is found among the staff the bot
    has seen; a mention of someone without a username carries the user itself; a reply names
    the colleague who wrote the message replied to. Without any of these, the writer takes it.
    """
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    for entity in message.entities:
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
            return await _if_staff(context, entity.user.id, entity.user.first_name)
        if entity.type == MessageEntity.MENTION:
            username = message.parse_entity(entity)
            member = await staff_members.by_username(context.db, username)
            if member is None:
                return None
            return await _if_staff(context, member.user_id, member.first_name)
    replied = message.reply_to_message
    if (
        replied is not None
        and replied.forum_topic_created is None  # in a topic, every message "replies" to it
        and replied.from_user is not None
        and not replied.from_user.is_bot
        and replied.from_user.id != user.id
    ):
        return await _if_staff(context, replied.from_user.id, replied.from_user.first_name)
    return user.id, user.first_name


async def _if_staff(context: BotContext, user_id: int, first_name: str) -> tuple[int, str] | None:
    return (user_id, first_name) if await is_staff_member(context, user_id) else None


async def assign_button(update: Update, context: BotContext) -> None:
    """`case:assign:<case>` on the header card: the presser takes the case."""
    query = update.callback_query
    assert query is not None and query.data is not None
    t = context.staff_texts()
    raw_id = query.data.rpartition(":")[2]
    case = await cases.get(context.db, int(raw_id)) if raw_id.isdigit() else None
    if case is None or not case.is_open:
        await context.ack(update, t._("This case is closed."))
        return
    await context.ack(update, t._("You have taken case {number}.", number=case.number))
    user = update.effective_user
    assert user is not None
    await _assign(update, context, case, (user.id, user.first_name))


async def _assign(
    update: Update, context: BotContext, case: Case, target: tuple[int, str]
) -> None:
    t = context.staff_texts()
    user = update.effective_user
    assert user is not None
    if not case.is_open:
        await answer_in_thread(update, context, t._("This case is already closed."))
        return
    target_id, target_name = target
    await cases.assign(context.db, case.id, target_id, target_name)
    await audit.record(
        context.db,
        audit.Actor.staff(user.id, user.first_name),
        audit.Action.CASE_ASSIGN,
        context.now(),
        subject=case.number,
        detail=f"to staff {target_id}",
    )
    if target_id == user.id:
        text = t._("🙋 {name} takes case {number}.", name=user.first_name, number=case.number)
    else:
        text = t._(
            "🙋 {name} gave case {number} to {colleague}.",
            name=user.first_name,
            number=case.number,
            colleague=Raw(mention_html(target_id, target_name)),
        )
    await answer_in_thread(update, context, text)
    await rename_case_topic(context, case.id)


def mention_html(user_id: int, first_name: str) -> str:
    """A mention that notifies the staff member, also when they have no @username."""
    return f'<a href="tg://user?id={user_id}">{html.escape(first_name)}</a>'


# --- overview ---
def cases_overview(t: Texts, open_cases: list[Case], now: datetime, staff_chat_id: int) -> str:
    """The open cases, longest waiting first, each with its waiting time and a link."""
    if not open_cases:
        return t._("No open cases. 🎉")
    lines = [t._("<b>Open cases: {count}</b>", count=len(open_cases))]
    for case in open_cases:
        number: str | Raw = case.number
        if case.topic_id is not None:
            link = topic_link(staff_chat_id, case.topic_id)
            number = Raw(f'<a href="{link}">{case.number}</a>')
        if case.waiting_since is not None:
            status = t._("waiting {time}", time=format_duration(t, now - case.waiting_since))
        else:
            status = t._("answered")
        who: str | Raw = case.assigned_name or Raw(t._("nobody yet"))
        lines.append(
            t._("{number} · {status} · {who}", number=number, status=Raw(status), who=who)
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class PeriodStats:
    days: int
    opened: int
    closed: int
    median_first_reply: timedelta | None
    ratings: tuple[int, ...]

    @property
    def average_rating(self) -> float | None:
        return statistics.fmean(self.ratings) if self.ratings else None


def period_stats(all_cases: list[Case], now: datetime, days: int) -> PeriodStats:
    """Cases opened and closed in the last `days` days, reply time and ratings.

    A case counts as opened when the resident's first message came (an empty /contact is not a
    case); the reply time runs from that message to the first staff reply.
    """
    since = now - timedelta(days=days)
    opened = [c for c in all_cases if c.first_message_at and c.first_message_at >= since]
    closed = [
        c
        for c in all_cases
        if c.status == CaseStatus.CLOSED and c.closed_at and c.closed_at >= since
    ]
    replies = [
        c.first_staff_reply_at - c.first_message_at
        for c in opened
        if c.first_staff_reply_at and c.first_message_at
    ]
    return PeriodStats(
        days=days,
        opened=len(opened),
        closed=len(closed),
        median_first_reply=median_duration(replies),
        ratings=tuple(c.rating for c in closed if c.rating),
    )


def stats_text(t: Texts, periods: list[PeriodStats]) -> str:
    blocks = [t._("📊 <b>Cases</b>")]
    for period in periods:
        lines = [
            t._("<b>Last {days} days</b>", days=period.days),
            t._("Opened: {count}", count=period.opened),
            t._("Closed: {count}", count=period.closed),
        ]
        if period.median_first_reply is not None:
            lines.append(
                t._(
                    "Median time to first reply: {time}",
                    time=format_duration(t, period.median_first_reply),
                )
            )
        else:
            lines.append(t._("Median time to first reply: no replies yet"))
        if period.average_rating is not None:
            lines.append(
                t._(
                    "Rating: {average} of 5 ({count} answers)",
                    average=f"{period.average_rating:.1f}",
                    count=len(period.ratings),
                )
            )
        else:
            lines.append(t._("Rating: no answers yet"))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


async def cases_command(update: Update, context: BotContext) -> None:
    t = context.staff_texts()
    open_cases = await cases.open_cases(context.db)
    staff_chat = context.config.staff_chat_id
    assert staff_chat is not None  # the staff guard let this through
    await answer_in_thread(
        update, context, cases_overview(t, open_cases, context.now(), staff_chat)
    )


async def stats_command(update: Update, context: BotContext) -> None:
    t = context.staff_texts()
    now = context.now()
    recent = await cases.cases_since(context.db, now - timedelta(days=30))
    periods = [period_stats(recent, now, days) for days in (7, 30)]
    text = stats_text(t, periods)
    labelled = await case_labels.counts_since(context.db, now - timedelta(days=30))
    if labelled:
        tags = ", ".join(f"#{label} {count}" for label, count in labelled.items())
        text += "\n\n" + t._("<b>Labels, last 30 days</b>: {labels}", labels=tags)
    await answer_in_thread(update, context, text)


def register(app: BotApplication) -> None:
    add_staff_command(app, "close", close_command, N_("End the case in this topic"), order=10)
    add_staff_command(
        app, "note", note_command, N_("Internal note (the resident does not see it)"), order=11
    )
    add_staff_command(
        app,
        "assign",
        assign_command,
        N_("Take the case in this topic, or give it: /assign @colleague"),
        order=12,
    )
    add_staff_command(
        app, "cases", cases_command, N_("Open cases and how long they wait"), order=13
    )
    add_staff_command(
        app, "stats", stats_command, N_("Numbers for the last 7 and 30 days"), order=14
    )
    add_staff_button(app, r"^case:assign:", assign_button)
    add_forget_hook(app, close_on_erasure)
    outbox.add_sender(app, "case-reply", send_reply, on_given_up=reply_given_up)
