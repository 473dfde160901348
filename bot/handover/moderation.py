"""Staff tools against abuse in cases, and the case that goes quiet.

- `/block [reason]` in a case topic: the resident's messages are no longer relayed. They are
  told once, politely, in their language, that the office will contact them another way;
  later messages get at most one short hint a day and are not relayed. Commands such as
  /privacy, /mydata and /deleteme keep working (they are commands, not case messages).
  `/unblock` lifts it (the resident hears they can write again); `/blocked` lists blocked
  cases: number, when, who, reason; never a resident's identity. Both go to the audit trail.
- Flood: more than `BOT_CASE_FLOOD_PER_MINUTE` messages of one resident within a minute are
  not relayed: the resident gets one notice per minute saying so and asking them to send the
  rest again in a minute. Dropped with a notice rather than held back: a held-back burst
  would reach the topic all at once a minute later, which is the spam this prevents, and the
  resident still has every message in their own chat. Nothing is dropped silently.
- Auto-close: a job closes open cases with no message on either side for
  `BOT_CASE_AUTO_CLOSE_DAYS` days, in one transaction with the notices to the resident and
  to the topic (outbox tasks), so a crash closes and tells exactly once.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import datetime, timedelta

from telegram import Update
from telegram.error import BadRequest

from bot import outbox
from bot.common import send
from bot.context import BotApplication, BotContext
from bot.handover.topics import close_case_topic
from bot.i18n import N_, Texts
from bot.outbox import Task
from bot.staff_chat import add_staff_command, answer_in_thread
from bot.telegram_errors import is_topic_gone
from storage import audit, cases, moderation, residents
from storage.cases import Case

log = logging.getLogger(__name__)

#: How often the auto-close job looks for silent cases.
AUTO_CLOSE_EVERY = timedelta(hours=1)
FLOOD_WINDOW = timedelta(minutes=1)


def resident_texts(context: BotContext, language: str | None) -> Texts:
    return context.texts(language)


# --------------------------------------------------------------------------- staff commands
async def _case_here(update: Update, context: BotContext) -> Case | None:
    from bot.handover.staff_side import case_here  # the topic's case, as every case command

    case = await case_here(update, context)
    if case is None or not case.is_open:
        t = context.staff_texts()
        await answer_in_thread(update, context, t._("Use this command inside a case topic."))
        return None
    return case


async def block_command(update: Update, context: BotContext) -> None:
    """/block [reason]: stop relaying the resident's messages in this case."""
    case = await _case_here(update, context)
    if case is None:
        return
    t = context.staff_texts()
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    reason = (message.text or "").partition(" ")[2].strip()[:200]
    now = context.now()
    async with context.db.transaction() as tx:
        done = await moderation.block(tx, case.id, user.id, user.first_name, reason, now)
        if done and case.resident_id is not None:
            await outbox.enqueue(
                tx,
                "case-blocked",
                f"case-blocked:{case.id}:{now.isoformat()}",
                {"case_id": case.id, "language": case.language},
                now,
                chat_id=case.resident_id,
            )
    if not done:
        await answer_in_thread(update, context, t._("This case is blocked already."))
        return
    await audit.record(
        context.db,
        audit.Actor.staff(user.id, user.first_name),
        audit.Action.CASE_BLOCK,
        now,
        subject=case.number,
    )
    log.info("case %s blocked by staff", case.id)
    await answer_in_thread(
        update,
        context,
        t._(
            "🚫 Case {number} is blocked by {name}. The resident's messages are not passed on"
            " any more; they were told once that the office will contact them another way."
            " /unblock lifts it.",
            number=case.number,
            name=user.first_name,
        ),
    )
    await outbox.send_pending(context)


async def unblock_command(update: Update, context: BotContext) -> None:
    """/unblock: relay the resident's messages again."""
    case = await _case_here(update, context)
    if case is None:
        return
    t = context.staff_texts()
    user = update.effective_user
    assert user is not None
    now = context.now()
    async with context.db.transaction() as tx:
        done = await moderation.unblock(tx, case.id)
        if done and case.resident_id is not None:
            await outbox.enqueue(
                tx,
                "case-unblocked",
                f"case-unblocked:{case.id}:{now.isoformat()}",
                {"case_id": case.id, "language": case.language},
                now,
                chat_id=case.resident_id,
            )
    if not done:
        await answer_in_thread(update, context, t._("This case is not blocked."))
        return
    await audit.record(
        context.db,
        audit.Actor.staff(user.id, user.first_name),
        audit.Action.CASE_UNBLOCK,
        now,
        subject=case.number,
    )
    await answer_in_thread(
        update,
        context,
        t._(
            "✅ Case {number} is unblocked. The resident's messages are passed on again.",
            number=case.number,
        ),
    )
    await outbox.send_pending(context)


async def blocked_command(update: Update, context: BotContext) -> None:
    """/blocked: the blocked cases, with when, who and why (never who the resident is)."""
    t = context.staff_texts()
    blocks = await moderation.blocked(context.db)
    if not blocks:
        await answer_in_thread(update, context, t._("No case is blocked."))
        return
    tz = context.config.timezone
    lines = [t._("🚫 Blocked cases:")]
    for block in blocks:
        lines.append(
            t._(
                "{number} · {when} · {name} · {reason}",
                number=block.number,
                when=t.datetime(block.at, tz, fmt="short"),
                name=block.by_name or "?",
                reason=block.reason or t._("no reason given"),
            )
        )
    await answer_in_thread(update, context, "\n".join(lines))


# --------------------------------------------------------------------------- resident side
async def held_back(context: BotContext, case: Case, resident_id: int, language: str) -> bool:
    """Called before a resident's message is relayed into their case: True if it must not be
    (blocked, or flooding); the resident is told as the module's docstring says."""
    t = resident_texts(context, language)
    now = context.now()
    if await moderation.block_of(context.db, case.id) is not None:
        if await moderation.hint_due(context.db, case.id, now):
            await send(
                context,
                resident_id,
                t._(
                    "Your messages here are not passed on at the moment. The district office"
                    " will contact you in another way."
                ),
            )
        log.info("case %s: a message of a blocked resident was not relayed", case.id)
        return True
    if _flooding(context, case.id, now):
        if _notice_due(context, case.id, now):
            await send(
                context,
                resident_id,
                t._(
                    "You are sending many messages at once. Please wait a minute. The last"
                    " messages were not passed on: send them again in a minute."
                ),
            )
        log.info("case %s: flood limit reached; a message was not relayed", case.id)
        return True
    return False


def _flooding(context: BotContext, case_id: int, now: datetime) -> bool:
    """Count this message in the case's last minute; True if it is over the limit."""
    windows: dict[int, deque[datetime]] = context.bot_data.extras.setdefault("case_flood", {})
    window = windows.setdefault(case_id, deque())
    while window and now - window[0] >= FLOOD_WINDOW:
        window.popleft()
    if len(window) >= context.config.case_flood_per_minute:
        return True
    window.append(now)
    return False


def _notice_due(context: BotContext, case_id: int, now: datetime) -> bool:
    told: dict[int, datetime] = context.bot_data.extras.setdefault("case_flood_told", {})
    last = told.get(case_id)
    if last is not None and now - last < FLOOD_WINDOW:
        return False
    told[case_id] = now
    return True


# --------------------------------------------------------------------------- senders
async def _resident_notice(context: BotContext, task: Task, text: str) -> int | None:
    message = await send(context, task.chat_id, text)
    return message.message_id


async def _language(context: BotContext, task: Task) -> str | None:
    resident = await residents.get(context.db, task.chat_id)
    return resident.language if resident else task.payload.get("language")


async def send_blocked(context: BotContext, task: Task) -> int | None:
    """Sender of `case-blocked`: the one polite notice to the resident."""
    t = resident_texts(context, await _language(context, task))
    return await _resident_notice(
        context,
        task,
        t._(
            "Thank you for your messages. The district office will contact you in another way."
            " Messages you write here are not passed on to staff for now."
        ),
    )


async def send_unblocked(context: BotContext, task: Task) -> int | None:
    """Sender of `case-unblocked`."""
    t = resident_texts(context, await _language(context, task))
    return await _resident_notice(
        context, task, t._("You can write to us here again. Staff will read your messages.")
    )


async def send_auto_closed(context: BotContext, task: Task) -> int | None:
    """Sender of `case-auto-closed`: tell the resident their quiet case was closed."""
    t = resident_texts(context, await _language(context, task))
    return await _resident_notice(
        context,
        task,
        t.n_(
            "We closed our conversation because nobody wrote for {count} day."
            " You can write to us again at any time.",
            "We closed our conversation because nobody wrote for {count} days."
            " You can write to us again at any time.",
            task.payload["days"],
        ),
    )


async def send_auto_closed_staff(context: BotContext, task: Task) -> int | None:
    """Sender of `case-auto-closed-staff`: the note in the topic, then the topic is closed."""
    case = await cases.get(context.db, task.payload["case_id"])
    if case is None or case.topic_id is None:
        return None
    t = context.staff_texts()
    chat_id = context.config.staff_chat_id
    assert chat_id is not None
    try:
        message = await send(
            context,
            chat_id,
            t.n_(
                "⏳ Case {number} was closed automatically: no messages for {count} day.",
                "⏳ Case {number} was closed automatically: no messages for {count} days.",
                task.payload["days"],
                number=case.number,
            ),
            message_thread_id=case.topic_id,
        )
    except BadRequest as error:
        if not is_topic_gone(error):
            raise
        return None  # staff deleted the topic: nobody to tell there
    await close_case_topic(context, case)  # tidiness only: a failure is logged, not retried
    return message.message_id


# --------------------------------------------------------------------------- the job
async def auto_close_job(context: BotContext) -> None:
    """Close the cases silent on both sides for `case_auto_close_days`, with their notices."""
    days = context.config.case_auto_close_days
    now = context.now()
    async with context.db.transaction() as tx:
        closed = await moderation.close_silent(tx, now - timedelta(days=days), now)
        for case_id, resident_id, topic_id, language in closed:
            payload = {"case_id": case_id, "days": days, "language": language}
            if resident_id is not None:
                await outbox.enqueue(
                    tx,
                    "case-auto-closed",
                    f"case-auto-closed:{case_id}",
                    payload,
                    now,
                    chat_id=resident_id,
                )
            if topic_id is not None:
                await outbox.enqueue(
                    tx,
                    "case-auto-closed-staff",
                    f"case-auto-closed-staff:{case_id}",
                    payload,
                    now,
                )
    if closed:
        log.info("closed %d cases silent for %d days", len(closed), days)
        await outbox.send_pending(context)


def register(app: BotApplication) -> None:
    add_staff_command(
        app, "block", block_command, N_("Stop passing on this resident's messages"), order=15
    )
    add_staff_command(
        app, "unblock", unblock_command, N_("Pass on this resident's messages again"), order=16
    )
    add_staff_command(app, "blocked", blocked_command, N_("List blocked cases"), order=17)
    outbox.add_sender(app, "case-blocked", send_blocked)
    outbox.add_sender(app, "case-unblocked", send_unblocked)
    outbox.add_sender(app, "case-auto-closed", send_auto_closed)
    outbox.add_sender(app, "case-auto-closed-staff", send_auto_closed_staff)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            auto_close_job, interval=AUTO_CLOSE_EVERY, first=60.0, name="case-auto-close"
        )
