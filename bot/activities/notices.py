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
from datetime import datetime, tzinfo
from typing import Any, cast

from telegram import InlineKeyboardMarkup

from bot.activities.render import when_lines
from bot.common import send
from bot.config import Config
from bot.context import BotApplication, BotContext
from bot.delivery import OutboxItem, deliver, delivery_bot, enqueue
from bot.i18n import Catalogs, Texts
from storage import activities, outbox, residents
from storage.activities import Activity, Change
from storage.db import Database
from storage.outbox import Task

log = logging.getLogger(__name__)

#: The editions of this module (the weekly digest and survey invitations have their own).
PREFIXES = ("reminder-", "change-")
JOB_NAME = "activity-notices"


def drop_button(t: Texts, activity: Activity) -> dict[str, Any]:
    """ "I can't come after all": off the list, and the place goes to the first one waiting."""
    button = {"text": t._("❌ I can't come after all"), "callback_data": f"act:drop:{activity.id}"}
    return {"inline_keyboard": [[button]]}


def reminder_text(t: Texts, activity: Activity, tz: tzinfo) -> str:
    title = activity.title_in(t.language)
    lines = [t._("⏰ Reminder: «{title}»", title=title)]
    return "\n".join(lines + when_lines(t, activity, tz))


def change_text(t: Texts, activity: Activity, kind: str, tz: tzinfo) -> str:
    title = activity.title_in(t.language)
    if kind == "cancelled":
        day = t.weekday_date(activity.starts_at, tz)
        return t._("❌ Sorry, «{title}» on {day} is cancelled.", title=title, day=day)
    lines = [t._("🔁 «{title}» has a new time or place:", title=title)]
    return "\n".join(lines + when_lines(t, activity, tz))


def place_text(t: Texts, activity: Activity, tz: tzinfo) -> str:
    title = activity.title_in(t.language)
    lines = [t._("🎉 Good news: a place at «{title}» is free, and it is yours!", title=title)]
    return "\n".join(lines + when_lines(t, activity, tz))


# --- writing the editions ---
async def announce_changes(
    db: Database, catalogs: Catalogs, config: Config, now: datetime
) -> list[str]:
    """Write an edition for every change not announced yet; return their names. Writing one
    again after a crash adds nothing, so the change is marked only after its edition."""
    editions = []
    for change in await activities.changes_to_announce(db):
        activity = await activities.get(db, change.activity_id)
        if activity is not None:
            await _write_change(db, catalogs, config, activity, change, now)
            editions.append(change.edition)
        await activities.mark_announced(db, change.id)
    return editions


async def _write_change(
    db: Database,
    catalogs: Catalogs,
    config: Config,
    activity: Activity,
    change: Change,
    now: datetime,
) -> None:
    # Everyone on the list, the waiting list too: they plan their day around it as well.
    entries = await activities.list_entries(db, activity.id)
    rendered: dict[str, tuple[str, dict[str, Any] | None]] = {}
    items = []
    for entry in entries:
        if entry.language not in rendered:
            t = catalogs.texts(entry.language)
            markup = drop_button(t, activity) if change.kind == "moved" else None
            text = change_text(t, activity, change.kind, config.timezone)
            rendered[entry.language] = (text, markup)
        text, markup = rendered[entry.language]
        items.append(
            OutboxItem(
                chat_id=entry.telegram_id,
                text=text,
                reply_markup=markup,
                resident_id=entry.telegram_id,
            )
        )
    added = await enqueue(db, change.edition, items, now)
    log.info("activity %d: change %s to %d residents", activity.id, change.kind, added)


async def queue_reminders(
    db: Database, catalogs: Catalogs, config: Config, now: datetime
) -> list[str]:
    """Write the reminders that are due: residents going to an activity whose reminder time
    has come, who decided before that time and were not reminded yet."""
    rule = config.activity_reminder
    if rule is None:
        return []
    tz = config.timezone
    editions = []
    for activity in await activities.listed_between(db, now, now + rule.reach):
        due = rule.due(activity.starts_at, tz)
        if due > now:
            continue
        edition = f"reminder-{activity.id}"
        entries = await activities.to_remind(db, activity.id, edition, due)
        if not entries:
            continue
        rendered: dict[str, tuple[str, dict[str, Any]]] = {}
        items = []
        for entry in entries:
            if entry.language not in rendered:
                t = catalogs.texts(entry.language)
                rendered[entry.language] = (
                    reminder_text(t, activity, tz),
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
        await enqueue(db, edition, items, now)
        editions.append(edition)
    return editions


# --- sending ---
async def deliver_notices(db: Database, config: Config) -> int:
    """Send what is pending of reminders and change notices (also what a crash left)."""
    pending = await outbox.pending(db)
    editions = sorted({row.edition for row in pending if row.edition.startswith(PREFIXES)})
    sent = 0
    if not editions:
        return 0
    async with delivery_bot(config) as bot:
        for name in editions:
            report = await deliver(bot, db, name, rate=config.delivery_rate)
            sent += report.sent
    return sent


async def notices_job(context: BotContext) -> None:
    """The repeating job (and the run right after a change): changes, reminders, delivery."""
    db, catalogs, config, now = (
        context.db,
        context.bot_data.catalogs,
        context.config,
        context.now(),
    )
    await announce_changes(db, catalogs, config, now)
    await queue_reminders(db, catalogs, config, now)
    await deliver_notices(db, config)


def send_soon(context: BotContext) -> None:
    """After a change made by staff: tell people now rather than at the job's next run."""
    # The application is the one bot/app.py built; CallbackContext does not carry its type.
    job_queue = cast(BotApplication, context.application).job_queue
    if job_queue is not None:
        job_queue.run_once(notices_job, when=0, name=f"{JOB_NAME}-now")


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
    text = place_text(t, activity, context.config.timezone)
    message = await send(context, task.chat_id, text, markup)
    return message.message_id
