"""Activities and the weekly digest.

Residents: /activities (the coming 7 days), /subscribe with their children's birth years,
/unsubscribe, "I'm going" (or the waiting list when it is full) and "Add to calendar" under
every activity; a reminder before it (BOT_ACTIVITY_REMINDER) and a notice when it is cancelled
or moved, each with "I can't come after all". Staff: .ics/.csv upload into the staff chat
(administrators), /activity_add, /activity_cancel, /activity_list, /activity_export,
/digest [lang] preview, /organiser_add and /organiser_remove, and approving organisers'
proposals. Organisers: /propose. The digest goes out weekly at BOT_DIGEST_AT through the
delivery engine (bot/delivery.py), and so do reminders and change notices (notices.py).
"""

from __future__ import annotations

import logging
from typing import cast

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import outbox
from bot.activities import management, notices, resident, subscribing
from bot.activities.digest import send_digest
from bot.context import BotApplication, BotContext
from bot.delivery import deliver, delivery_bot
from bot.i18n import N_
from bot.registry import add_deep_link, add_resident_command
from bot.scheduler_lease import run_on_takeover
from bot.staff_chat import add_staff_button, add_staff_command
from storage import activities

log = logging.getLogger(__name__)

#: Seconds after start before unfinished deliveries (a crash mid-digest) are resumed.
RESUME_DELAY = 5.0
#: Seconds before resuming is tried again while another run holds the delivery lock: one
#: that is alive finishes the rows itself; a dead one's lock goes stale
#: (`storage.outbox.LOCK_STALE_SECONDS`; at once for a killed process on this machine).
RESUME_AGAIN_AFTER = 10.0
RESUME_JOB = "resume-deliveries"
#: How often reminders that are due and changes not yet told are looked for and sent.
NOTICES_EVERY = 60.0


async def weekly_digest(context: BotContext) -> None:
    """The JobQueue's weekly run: this ISO week's edition, once."""
    config = context.config
    async with delivery_bot(config) as bot:
        name, report = await send_digest(
            bot, context.db, context.bot_data.catalogs, config, context.now()
        )
    if report.busy:
        _resume_later(context)
        return
    log.info("weekly digest %s: %d sent", name, report.sent)


async def resume_deliveries(context: BotContext) -> None:
    """After a start, or when this instance took the scheduled jobs over from one that died:
    send what a run that died left pending (nothing is sent twice)."""
    from bot.activities.digest import send_summary
    from storage import outbox

    pending = await outbox.pending(context.db)
    if not pending:
        return
    editions = sorted({row.edition for row in pending})
    async with delivery_bot(context.config) as bot:
        for edition in editions:
            report = await deliver(bot, context.db, edition, rate=context.config.delivery_rate)
            if report.busy:
                _resume_later(context)
                return
            if report.total and edition.startswith("digest-"):
                await send_summary(bot, context.bot_data.catalogs, context.config, edition, report)


def _resume_later(context: BotContext) -> None:
    """Another run holds the delivery lock: look again later (until nothing is pending)."""
    # The application is the one bot/app.py built; CallbackContext does not carry its type.
    job_queue = cast(BotApplication, context.application).job_queue
    assert job_queue is not None
    log.info("another delivery run holds the lock; trying again in %.0f s", RESUME_AGAIN_AFTER)
    job_queue.run_once(resume_deliveries, when=RESUME_AGAIN_AFTER, name=RESUME_JOB + "-again")


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("activities", resident.show_activities, filters=private))
    app.add_handler(CommandHandler("subscribe", subscribing.start, filters=private))
    app.add_handler(CommandHandler("unsubscribe", resident.unsubscribe, filters=private))
    app.add_handler(CommandHandler("propose", management.propose, filters=private))
    app.add_handler(CallbackQueryHandler(resident.show_activities, pattern=r"^menu:activities$"))
    app.add_handler(CallbackQueryHandler(subscribing.year_button, pattern=r"^sub:y:"))
    app.add_handler(
        CallbackQueryHandler(subscribing.choice_button, pattern=r"^sub:(adults|all|save)$")
    )
    # The age-group keyboard from before birth years were asked.
    app.add_handler(CallbackQueryHandler(subscribing.old_button, pattern=r"^act:(age:|save$)"))
    add_deep_link(app, "subscribe", subscribing.start)
    # The public channel's weekly list links here: the list in the resident's own language.
    add_deep_link(app, "digest", resident.digest_deep_link)
    app.add_handler(CallbackQueryHandler(resident.going_button, pattern=r"^act:go:\d+$"))
    app.add_handler(CallbackQueryHandler(resident.calendar_button, pattern=r"^act:ics:\d+$"))
    app.add_handler(CallbackQueryHandler(resident.wait_button, pattern=r"^act:wait:\d+$"))
    app.add_handler(CallbackQueryHandler(resident.drop_button, pattern=r"^act:drop:\d+$"))
    app.add_handler(CallbackQueryHandler(resident.name_button, pattern=r"^act:name:\d+:[yn]$"))
    add_resident_command(app, "activities", N_("Activities in the coming 7 days"), 10)
    add_resident_command(app, "subscribe", N_("Get the activities every week"), 11)
    add_resident_command(app, "unsubscribe", N_("Stop the weekly activities"), 12)

    add_staff_command(
        app, "activity_add", management.activity_add, N_("Add one activity"), order=20
    )
    add_staff_command(
        app, "activity_cancel", management.activity_cancel, N_("Cancel an activity"), order=21
    )
    add_staff_command(
        app,
        "digest",
        management.digest_preview,
        N_("Preview the weekly digest [language]"),
        order=22,
    )
    add_staff_command(
        app,
        "organiser_add",
        management.organiser_add,
        N_("Let a volunteer organiser suggest activities"),
        order=23,
    )
    add_staff_command(
        app, "organiser_remove", management.organiser_remove, N_("Remove an organiser"), order=24
    )
    add_staff_command(
        app,
        "activity_list",
        management.activity_list,
        N_("Coming activities with places and waiting lists"),
        order=25,
    )
    add_staff_command(
        app,
        "activity_export",
        management.activity_export,
        N_("The list of people going to an activity (CSV)"),
        order=26,
    )
    add_staff_button(app, r"^act:cancel:\d+$", management.cancel_button)
    add_staff_button(app, r"^act:(ok|no):[A-Za-z0-9-]+$", management.review_button)

    config = app.bot_data.config
    assert app.job_queue is not None, "install python-telegram-bot[job-queue]"
    # PTB's run_daily counts days from Sunday = 0; ours (like Python's) from Monday = 0.
    ptb_day = (config.digest_weekday + 1) % 7
    app.job_queue.run_daily(
        weekly_digest,
        time=config.digest_time.replace(tzinfo=config.timezone),
        days=(ptb_day,),
        name="weekly-digest",
    )
    app.job_queue.run_once(resume_deliveries, when=RESUME_DELAY, name=RESUME_JOB)
    # The holder of the scheduled jobs died in the middle of a digest: finish it now.
    run_on_takeover(app, resume_deliveries, RESUME_JOB)
    outbox.add_sender(app, activities.PLACE_TASK, notices.send_place)
    app.job_queue.run_repeating(
        notices.notices_job, interval=NOTICES_EVERY, first=RESUME_DELAY, name=notices.JOB_NAME
    )
