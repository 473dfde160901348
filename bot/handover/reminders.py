"""Nobody waits unseen: a repeating job reminds staff of cases waiting too long for a reply.

(Resident messages that could not be put into their topic yet are the outbox's to retry.)

The wait that triggers a reminder counts office time only (a message on Friday evening is not
"overdue" on Saturday), but the reminder shows the resident's whole waiting time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.context import BotApplication, BotContext
from bot.handover.availability import staff_chat_ready
from bot.handover.staff_side import format_duration, mention_html
from bot.handover.topics import post_in_case_topic
from bot.i18n import Raw
from storage import cases

log = logging.getLogger(__name__)

#: How often the job looks for waiting cases.
CHECK_EVERY = timedelta(minutes=1)


async def remind_waiting_cases(context: BotContext) -> int:
    """Post one reminder in each case topic whose resident waits too long; return how many.

    The job's callback; tests call it directly after moving the clock.
    """
    if not staff_chat_ready(context.bot_data):
        return 0
    now = context.now()
    config = context.config
    t = context.staff_texts()
    sent = 0
    for case in await cases.waiting_unreminded(context.db):
        assert case.waiting_since is not None
        if config.hours.office_time_between(case.waiting_since, now) < config.reminder_after:
            continue
        waited = format_duration(t, now - case.waiting_since)
        lines = [
            t._(
                "⏰ Case {number} is waiting for an answer: {time} since the resident wrote.",
                number=case.number,
                time=waited,
            ),
            t._("Taken by {name}.", name=Raw(mention_html(case.assigned_to, case.assigned_name)))
            if case.assigned_name and case.assigned_to is not None
            else t._("Nobody has taken it yet."),
        ]
        if not await cases.claim_reminder(context.db, case.id, now):
            continue
        if await post_in_case_topic(context, case.id, "\n".join(lines)) is None:
            await cases.clear_reminded(context.db, case.id)  # try again on the next round
            continue
        log.info("reminder posted for case %s", case.id)
        sent += 1
    return sent


async def _job(context: BotContext) -> None:
    await remind_waiting_cases(context)


def register(app: BotApplication) -> None:
    if app.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    app.job_queue.run_repeating(
        _job, interval=CHECK_EVERY, first=CHECK_EVERY, name="handover-reminders"
    )
