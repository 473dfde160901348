"""What residents on an activity's list are told: a reminder before it, a cancellation or a
new time or place, and a place freed for someone on the waiting list.

Reminders and change notices go to many residents at once, so they are editions of the
delivery engine (throttled, crash-safe, each resident once): `reminder-<activity>` holds one
row per resident reminded (the record that they were), and `change-<activity>-<n>` one row per
resident on the list when change n was made. A change is recorded in the transaction that
makes it (`storage.activities`), so a crash between the change and the notice loses nothing:
the next run writes the edition (writing it twice adds nothing) and sends what is pending.

A freed place is one message to one resident: an outbox task (`activity-place`), enqueued
in the transaction that gives the place.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.activities.render import when_lines
from bot.common import send
from bot.context import BotContext, BotData
from bot.delivery import OutboxItem, deliver, delivery_bot, enqueue
from bot.i18n import Texts
from storage import activities, outbox, residents
from storage.activities import Activity, Change
from storage.outbox import Task

log = logging.getLogger(__name__)

#: The editions of this module (the weekly digest and survey invitations have their own).
PREFIXES = ("reminder-", "change-")
JOB_NAME = "activity-notices"


def drop_button(t: Texts, activity: Activity) -> dict[str, Any]:
    """ "I can't come after all": off the list, and the place goes to the first one waiting."""
    button = {"text": t._("❌ I can't come after all"), "callback_data": f"act:drop:{activity.id}"}
    return {"inline_keyboard": [[button]]}


def reminder_text(t: Texts, activity: Activity, data: BotData) -> str:
    title = activity.title_in(t.language)
    lines = [t._("⏰ Reminder: «{title}»", title=title)]
    return "\n".join(lines + when_lines(t, activity, data.config.timezone))


def change_text(t: Texts, activity: Activity, kind: str, data: BotData) -> str:
    tz = data.config.timezone
    title = activity.title_in(t.language)
    if kind == "cancelled":
        day = t.weekday_date(activity.starts_at, tz)
        return t._("❌ Sorry, «{title}» on {day} is cancelled.", title=title, day=day)
    lines = [t._("🔁 «{title}» has a new time or place:", title=title)]
    return "\n".join(lines + when_lines(t, activity, tz))


def place_text(t: Texts, activity: Activity, data: BotData) -> str:
    title = activity.title_in(t.language)
    lines = [t._("🎉 Good news: a place at «{title}» is free, and it is yours!", title=title)]
    return "\n".join(lines + when_lines(t, activity, data.config.timezone))


# --- writing the editions ---
async def announce_changes(data: BotData, now: datetime) -> list[str]:
    """Write an edition for every change not announced yet; return their names."""
    editions = []
    for change in await activities.changes_to_announce(data.db):
        activity = await activities.get(data.db, change.activity_id)
        if activity is not None:
            await _write_change(data, activity, change, now)
            editions.append(change.edition)
        await activities.mark_announced(data.db, change.id)
    return editions


async def _write_change(data: BotData, activity: Activity, change: Change, now: datetime) -> None:
    # Everyone on the list, the waiting list too: they plan their day around it as well.
    entries = await activities.list_entries(data.db, activity.id)
    rendered: dict[str, tuple[str, dict[str, Any] | None]] = {}
    items = []
    for entry in entries:
        if entry.language not in rendered:
            t = data.catalogs.texts(entry.language)
            markup = drop_button(t, activity) if change.kind == "moved" else None
            rendered[entry.language] = (change_text(t, activity, change.kind, data), markup)
        text, markup = rendered[entry.language]
        items.append(
            OutboxItem(
                chat_id=entry.telegram_id,
                text=text,
                reply_markup=markup,
                resident_id=entry.telegram_id,
            )
        )
    added = await enqueue(data.db, change.edition, items, now)
    log.info("activity %d: change %s to %d residents", activity.id, change.kind, added)


async def queue_reminders(data: BotData, now: datetime) -> list[str]:
    """Write the reminders that are due: residents going to an activity whose reminder time
    has come, who decided before that time and were not reminded yet."""
    rule = data.config.activity_reminder
    if rule is None:
        return []
    tz = data.config.timezone
    editions = []
    for activity in await activities.listed_between(data.db, now, now + rule.reach):
        due = rule.due(activity.starts_at, tz)
        if due > now:
            continue
        edition = f"reminder-{activity.id}"
        entries = await activities.to_remind(data.db, activity.id, edition, due)
        if not entries:
            continue
        rendered: dict[str, tuple[str, dict[str, Any]]] = {}
        items = []
        for entry in entries:
            if entry.language not in rendered:
                t = data.catalogs.texts(entry.language)
                rendered[entry.language] = (
                    reminder_text(t, activity, data),
                    drop_button(t, activity),
                )
            text, markup = rendered[entry.language]
            items.append(
                OutboxItem(
                    chat_id=entry.telegram_id,
                    text=text,
                    reply_markup=markup,
                    resident_id=entry.telegram_id,
                )
            )
        await enqueue(data.db, edition, items, now)
        editions.append(edition)
    return editions


# --- sending ---
async def deliver_notices(data: BotData) -> int:
    """Send what is pending of reminders and change notices (also what a crash left)."""
    pending = await outbox.pending(data.db)
    editions = sorted({row.edition for row in pending if row.edition.startswith(PREFIXES)})
    sent = 0
    if not editions:
        return 0
    async with delivery_bot(data.config) as bot:
        for name in editions:
            report = await deliver(bot, data.db, name, rate=data.config.delivery_rate)
            sent += report.sent
    return sent


async def notices_job(context: BotContext) -> None:
    """The repeating job (and the run right after a change): changes, reminders, delivery."""
    data = context.bot_data
    now = context.now()
    await announce_changes(data, now)
    await queue_reminders(data, now)
    await deliver_notices(data)


def send_soon(context: BotContext) -> None:
    """After a change made by staff: tell people now rather than at the job's next run."""
    if context.job_queue is not None:
        context.job_queue.run_once(notices_job, when=0, name=f"{JOB_NAME}-now")


async def send_place(context: BotContext, task: Task) -> int | None:
    """The outbox sender of `activity-place`: the place is theirs (if it still is)."""
    activity = await activities.get(context.db, task.payload["activity_id"])
    if activity is None or activity.cancelled:
        return None
    if not await activities.is_going(context.db, activity.id, task.chat_id):
        return None  # they left again before the news went out
    resident = await residents.get(context.db, task.chat_id)
    t = context.texts(resident.language if resident else None)
    markup = InlineKeyboardMarkup.de_json(drop_button(t, activity), context.bot)
    message = await send(context, task.chat_id, place_text(t, activity, context.bot_data), markup)
    return message.message_id
