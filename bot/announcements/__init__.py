"""Announcements: staff write one in the staff chat (/announce) or operators load a file
(`python -m bot announce send FILE.toml`); residents get it in their language and can stop
announcements without stopping the weekly list. Scheduled ones are stored and sent by a job,
so a restart loses none.
"""

from __future__ import annotations

import logging

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.announcements import resident, sending, staff
from bot.context import BotApplication, BotContext
from bot.delivery import delivery_bot
from bot.i18n import N_, SUPPORTED_LANGUAGES
from bot.registry import add_resident_command
from bot.staff_chat import add_staff_button, add_staff_command
from storage import announcements as store

log = logging.getLogger(__name__)

#: Seconds between looks for announcements whose time has come.
CHECK_EVERY = 60.0


async def send_due(context: BotContext) -> int:
    """Send every scheduled announcement whose time has come; how many were sent."""
    due = await store.due(context.db, context.now())
    if not due:
        return 0
    async with delivery_bot(context.config) as bot:
        for announcement in due:
            await sending.send(
                bot,
                context.db,
                context.bot_data.catalogs,
                context.config,
                announcement,
                SUPPORTED_LANGUAGES,
                context.now(),
            )
    return len(due)


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("announcements", resident.command, filters=private))
    app.add_handler(CallbackQueryHandler(resident.stop_button, pattern=r"^ann:off$"))
    add_resident_command(app, "announcements", N_("Stop or start announcements"), 13)
    add_staff_command(
        app, "announce", staff.announce, N_("Send an announcement to residents"), order=40
    )
    add_staff_button(app, r"^ann:(age|lang):[A-Za-z0-9_-]+$", staff.audience_button)
    add_staff_button(app, r"^ann:(everyone|next|now|send|drop)$", staff.step_button)
    if app.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    app.job_queue.run_repeating(
        send_due, interval=CHECK_EVERY, first=CHECK_EVERY, name="announcements"
    )
