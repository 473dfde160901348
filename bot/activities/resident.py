"""What residents do with activities: /activities, /unsubscribe, and the buttons under every
listed activity ("I'm going", "Add to calendar"), the waiting list, "I can't come after all"
and whether staff's list may show their first name. /subscribe is bot/activities/subscribing.py."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update

from bot import outbox
from bot.activities.render import calendar_file as make_calendar_file
from bot.activities.render import coming_week, render_list
from bot.common import answer, resident_and_texts, send
from bot.context import BotContext
from bot.i18n import Texts
from bot.menu import main_menu
from storage import activities
from storage.activities import Activity, Join

log = logging.getLogger(__name__)


async def show_activities(update: Update, context: BotContext) -> None:
    """/activities and the menu button: the coming 7 days, with the buttons."""
    resident, t = await resident_and_texts(update, context)
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
        markup = (
            InlineKeyboardMarkup.de_json(part.reply_markup, context.bot)
            if part.reply_markup is not None
            else None
        )
        await send(context, resident.telegram_id, part.text, markup)


async def unsubscribe(update: Update, context: BotContext) -> None:
    resident, t = await resident_and_texts(update, context)
    ended = await activities.unsubscribe(context.db, resident.telegram_id, context.now())
    text = (
        t._("OK. You will not get the weekly list any more. Start again with /subscribe.")
        if ended
        else t._("You do not get the weekly list. Start it with /subscribe.")
    )
    await answer(update, context, text, main_menu(t))


async def _listed_activity(update: Update, context: BotContext, t: Texts) -> Activity | None:
    """The activity a button names, if residents may still act on it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    raw = query.data.rsplit(":", 1)[1]
    activity = await activities.get(context.db, int(raw)) if raw.isdigit() else None
    if activity is None or activity.status != "listed":
        await context.ack_stale(update, t)
        return None
    if activity.cancelled:
        await context.ack(update, t._("Sorry, this activity is cancelled."), alert=True)
        return None
    return activity


async def going_button(update: Update, context: BotContext) -> None:
    """ "I'm going": a place if there is one (then, where places are counted, may staff see
    the first name?); when it is full, the waiting list is offered."""
    resident, t = await resident_and_texts(update, context)
    activity = await _open_activity(update, context, t)
    if activity is None:
        return
    result, number = await activities.join(
        context.db, activity.id, resident.telegram_id, context.now()
    )
    title = activity.title_in(t.language)
    if result is Join.FULL:
        await context.ack(update)
        button = InlineKeyboardButton(
            t._("📝 Put me on the waiting list"), callback_data=f"act:wait:{activity.id}"
        )
        await send(
            context,
            resident.telegram_id,
            t._(
                "«{title}» is full. Do you want to be on the waiting list? If a place becomes "
                "free, it is yours and I tell you.",
                title=title,
            ),
            InlineKeyboardMarkup([[button]]),
        )
        return
    if result is Join.ALREADY_WAITING:
        await context.ack(
            update, t._("You are number {number} on the waiting list.", number=number), alert=True
        )
        return
    await context.ack(
        update,
        t._("Great! See you at «{title}». ✋", title=title)
        if result is Join.GOING
        else t._("You already said you are going to «{title}».", title=title),
    )
    if result is Join.GOING and activity.capacity is not None:
        await ask_show_name(context, t, activity, resident.telegram_id)


async def ask_show_name(
    context: BotContext, t: Texts, activity: Activity, telegram_id: int
) -> None:
    """Places are counted, so staff keep a list: may it show the resident's first name?
    Until they say yes, the list says "anonymous"."""
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t._("Yes, show my first name"), callback_data=f"act:name:{activity.id}:y"
                )
            ],
            [
                InlineKeyboardButton(
                    t._("No, keep me anonymous"), callback_data=f"act:name:{activity.id}:n"
                )
            ],
        ]
    )
    await send(
        context,
        telegram_id,
        t._(
            "You have a place at «{title}». May the organisers see your first name on the list?",
            title=activity.title_in(t.language),
        ),
        keyboard,
    )


async def _open_activity(update: Update, context: BotContext, t: Texts) -> Activity | None:
    """The listed activity a button names, if it has not ended."""
    activity = await _listed_activity(update, context, t)
    if activity is not None and activity.ends_at <= context.now():
        await context.ack(update, t._("This activity is over."))
        return None
    return activity


async def wait_button(update: Update, context: BotContext) -> None:
    """ "Put me on the waiting list" (or a place, if one became free meanwhile)."""
    resident, t = await resident_and_texts(update, context)
    activity = await _open_activity(update, context, t)
    if activity is None:
        return
    result, number = await activities.join(
        context.db, activity.id, resident.telegram_id, context.now(), wait=True
    )
    if result in (Join.WAITING, Join.ALREADY_WAITING):
        await context.ack(
            update, t._("You are number {number} on the waiting list.", number=number), alert=True
        )
        return
    title = activity.title_in(t.language)
    await context.ack(update, t._("Great! See you at «{title}». ✋", title=title))
    if result is Join.GOING:
        await ask_show_name(context, t, activity, resident.telegram_id)


async def drop_button(update: Update, context: BotContext) -> None:
    """ "I can't come after all": off the list; the first one waiting gets the place (told
    through the outbox, in the transaction that gives it)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    resident, t = await resident_and_texts(update, context)
    activity_id = int(query.data.rsplit(":", 1)[1])
    left, promoted = await activities.leave(
        context.db, activity_id, resident.telegram_id, context.now()
    )
    await context.ack(
        update,
        t._("OK, you are not on the list any more. Thank you for telling us!")
        if left
        else t._("You are not on the list."),
    )
    if left and query.message is not None:
        await query.edit_message_reply_markup(None)
    if promoted:
        await outbox.send_pending(context)


async def name_button(update: Update, context: BotContext) -> None:
    """The answer to "may the organisers see your first name?"."""
    query = update.callback_query
    assert query is not None and query.data is not None
    resident, t = await resident_and_texts(update, context)
    _, _, raw_id, answer_code = query.data.split(":")
    stored = await activities.set_show_name(
        context.db, int(raw_id), resident.telegram_id, answer_code == "y"
    )
    await context.ack(update, t._("OK, saved.") if stored else t._("You are not on the list."))
    if query.message is not None:
        await query.edit_message_reply_markup(None)


async def calendar_button(update: Update, context: BotContext) -> None:
    """Send a small .ics for the activity, with the district's time zone."""
    resident, t = await resident_and_texts(update, context)
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
