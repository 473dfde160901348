"""What residents do with activities: /activities, /unsubscribe, and the buttons
under every listed activity ("I'm going", "Add to calendar")."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.activities.render import calendar_file as make_calendar_file
from bot.activities.render import coming_week, render_list
from bot.common import answer, current_resident, send
from bot.context import BotContext
from bot.i18n import Texts
from bot.menu import main_menu
from storage import activities

log = logging.getLogger(__name__)


async def show_activities(update: Update, context: BotContext) -> None:
    """/activities and the menu button: the coming 7 days, with the buttons."""
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    tz = context.config.timezone
    start, end = coming_week(context.now(), tz)
    items = await activities.listed_between(context.db, start, end)
    if not items:
        await answer(
            update,
            context,
            t._("There are no activities in the coming 7 days. Look again later!"),
            main_menu(t),
        )
        return
    current = await activities.subscription(context.db, resident.telegram_id)
    footer = "" if current and current.active else t._("Get this list every week: /subscribe")
    parts = render_list(
        t, items, tz, header=t._("📅 <b>Activities in the coming 7 days</b>"), footer=footer
    )
    await context.ack(update)
    for part in parts:
        markup = InlineKeyboardMarkup.de_json(part.reply_markup, context.bot)
        await send(context, resident.telegram_id, part.text, markup)


async def unsubscribe(update: Update, context: BotContext) -> None:
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    ended = await activities.unsubscribe(context.db, resident.telegram_id, context.now())
    text = (
        t._("OK. You will not get the weekly list any more. Start again with /subscribe.")
        if ended
        else t._("You do not get the weekly list. Start it with /subscribe.")
    )
    await answer(update, context, text, main_menu(t))


async def _listed_activity(update: Update, context: BotContext, t: Texts):
    """The activity a button names, if residents may still act on it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    raw = query.data.rsplit(":", 1)[1]
    activity = await activities.get(context.db, int(raw)) if raw.isdigit() else None
    if activity is None or activity.status != "listed":
        await context.ack(update, t._("This button does not work any more."))
        return None
    if activity.cancelled:
        await context.ack(update, t._("Sorry, this activity is cancelled."), alert=True)
        return None
    return activity


async def going_button(update: Update, context: BotContext) -> None:
    """ "I'm going": stored for the presser (later features ask them how it was)."""
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    activity = await _listed_activity(update, context, t)
    if activity is None:
        return
    if activity.ends_at <= context.now():
        await context.ack(update, t._("This activity is over."))
        return
    new = await activities.mark_going(context.db, activity.id, resident.telegram_id, context.now())
    title = activity.title_in(t.language)
    await context.ack(
        update,
        t._("Great! See you at «{title}». ✋", title=title)
        if new
        else t._("You already said you are going to «{title}».", title=title),
    )


async def calendar_button(update: Update, context: BotContext) -> None:
    """Send a small .ics for the activity, with the district's time zone."""
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    activity = await _listed_activity(update, context, t)
    if activity is None:
        return
    data, filename = make_calendar_file(activity, context.config.timezone, t.language)
    await context.ack(update)
    await context.bot.send_document(
        resident.telegram_id,
        InputFile(data, filename=filename),
        caption=t._(
            "Open the file to add «{title}» to your calendar.",
            title=activity.title_in(t.language),
        ),
        parse_mode="HTML",
    )


async def digest_deep_link(update: Update, context: BotContext, _argument: str = "") -> None:
    """`/start digest`, the link under the public channel's list: the list in the resident's
    own language, with the offer to get it every week."""
    await show_activities(update, context)
