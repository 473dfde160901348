"""The weekly summary in the staff chat: last week's figures and a chart, once a week.

The job looks every few minutes whether this week's summary is due (`BOT_WEEKLY_SUMMARY`,
default Monday 08:00) and not yet posted, rather than firing once at 08:00: a bot that was down
at that moment posts it when it is back. The week is claimed in the database before posting,
so a restart or a second run never posts it twice; a post that failed gives the claim back.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta, tzinfo

from telegram.error import TelegramError

from bot.context import BotApplication, BotContext
from bot.reports import render
from storage import reports

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(minutes=10)
JOB_NAME = "weekly-summary"


def due_period(now: datetime, weekday: int, at: time, tz: tzinfo) -> reports.Period | None:
    """The seven days before this week's summary moment, if that moment has passed."""
    local = now.astimezone(tz)
    summary_day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    moment = datetime.combine(summary_day, at, tzinfo=tz)
    if local < moment:
        return None
    return reports.Period.of_days(
        summary_day - timedelta(days=7), summary_day - timedelta(days=1), tz
    )


def week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


async def post_weekly_summary(context: BotContext) -> bool:
    """Post the summary if it is due and not yet posted; True when it was posted now."""
    config = context.config
    if config.weekly_summary is None or config.staff_chat_id is None:
        return False
    weekday, at = config.weekly_summary
    period = due_period(context.now(), weekday, at, config.timezone)
    if period is None:
        return False
    week = week_key(period.first_day)
    db = context.db
    if await reports.summary_posted(db, week) or not await reports.claim_summary(
        db, week, context.now()
    ):
        return False
    figures = await reports.figures(db, period)
    t = context.texts(config.default_language)
    heading = t._("📈 <b>Last week in numbers</b>")
    text = render.summary_html(t, figures, heading)
    try:
        chart = await asyncio.to_thread(render.chart_png, t, figures, render.plain(heading))
        message = await context.bot.send_message(config.staff_chat_id, text, parse_mode="HTML")
        await context.bot.send_photo(config.staff_chat_id, chart)
    except TelegramError as error:
        log.warning("weekly summary %s not posted (%s); trying again later", week, error)
        await reports.release_summary(db, week)
        return False
    await reports.mark_summary_posted(db, week, message.message_id, context.now())
    log.info("weekly summary %s posted", week)
    return True


async def _job(context: BotContext) -> None:
    await post_weekly_summary(context)


def register(app: BotApplication) -> None:
    if app.bot_data.config.weekly_summary is None:
        return
    assert app.job_queue is not None, "install python-telegram-bot[job-queue]"
    app.job_queue.run_repeating(_job, interval=CHECK_EVERY, first=CHECK_EVERY, name=JOB_NAME)
