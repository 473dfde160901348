"""/subscribe as a conversation: the family gives each child's birth year (buttons for the
last 18 years, or typed: "2019 2022"), or chooses "no children" or "everything". Birth years
are stored, not ages: the digest works out the age groups on the day it is sent
(`bot/activities/ages.py`). Where the family is lives in `digest_subscriptions.step`, so a
restart in the middle changes nothing.
"""

from __future__ import annotations

import logging
from datetime import date
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.activities.ages import groups_on, offered_years, parse_years
from bot.activities.render import age_groups_text
from bot.common import answer, current_resident
from bot.context import BotContext, BotData
from bot.i18n import Texts
from bot.steps import Flow, Move
from storage import activities
from storage.activities import ADULTS, ALL

log = logging.getLogger(__name__)


class SubscribeStep(StrEnum):
    """Stored in `digest_subscriptions.step`."""

    YEARS = "years"  # the first question: a birth year, no children, or everything
    MORE = "more"  # years chosen: another child's year, or "Save"


S = SubscribeStep
SUBSCRIBE = Flow(
    "subscription",
    (
        Move(None, S.YEARS, "/subscribe, link"),
        Move(S.YEARS, S.MORE, "a birth year, pressed or typed"),
        Move(S.YEARS, S.YEARS, "a text without a year: asked again"),
        Move(S.MORE, S.MORE, "another year, or one pressed again"),
        Move(S.MORE, S.YEARS, "the last year pressed again"),
        Move(S.YEARS, None, "no children, everything, or /cancel"),
        Move(S.MORE, None, "save, no children, everything, or /cancel"),
    ),
)

YEARS_PER_ROW = 3


def today_of(context: BotContext) -> date:
    return context.now().astimezone(context.config.timezone).date()


def subscribe_keyboard(t: Texts, today: date, chosen: tuple[int, ...]) -> InlineKeyboardMarkup:
    years = [
        InlineKeyboardButton(
            ("✅ " if year in chosen else "") + str(year), callback_data=f"sub:y:{year}"
        )
        for year in offered_years(today)
    ]
    rows = [years[i : i + YEARS_PER_ROW] for i in range(0, len(years), YEARS_PER_ROW)]
    rows.append(
        [
            InlineKeyboardButton(
                t._("👤 No children: activities for adults"), callback_data="sub:adults"
            )
        ]
    )
    rows.append([InlineKeyboardButton(t._("🌍 Everything (all ages)"), callback_data="sub:all")])
    if chosen:
        rows.append([InlineKeyboardButton(t._("💾 Save"), callback_data="sub:save")])
    return InlineKeyboardMarkup(rows)


def _years_text(t: Texts, years: tuple[int, ...]) -> str:
    return t.format_list(str(year) for year in sorted(years))


async def start(update: Update, context: BotContext, _argument: str = "") -> None:
    """/subscribe (and the `subscribe` deep link): ask for the children's birth years."""
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    current = await activities.subscription(context.db, resident.telegram_id)
    await activities.set_subscribe_step(
        context.db, resident.telegram_id, SUBSCRIBE.first, (), context.now()
    )
    ask = t._(
        "In which year was your child born? Press the year. More children? Press their years "
        "too, then «Save». You can also write the years, for example: 2019 2022"
    )
    if current and current.active:
        text = (
            t._("You get the weekly list. Answer again to change it.")
            + "\n\n"
            + ask
            + "\n\n"
            + t._("Stop the weekly list: /unsubscribe")
        )
    else:
        text = t._("📅 Every week I can send you the activities for your family.") + "\n\n" + ask
    await answer(update, context, text, subscribe_keyboard(t, today_of(context), ()))


async def is_subscribing(data: BotData, telegram_id: int) -> bool:
    return await activities.in_subscribe_step(data.db, telegram_id)


async def _choose(
    update: Update,
    context: BotContext,
    t: Texts,
    years: tuple[int, ...],
    note: str = "",
    *,
    edit: bool = False,
) -> None:
    """Store the years chosen so far and show them, with the keyboard to add more or save."""
    user = update.effective_user
    assert user is not None
    step = S.MORE if years else S.YEARS
    current = await activities.subscription(context.db, user.id)
    source = current.step if current else None
    SUBSCRIBE.check(source, step)
    await activities.set_subscribe_step(context.db, user.id, step, years, context.now())
    keyboard = subscribe_keyboard(t, today_of(context), years)
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        await context.ack(update)
        await query.edit_message_reply_markup(keyboard)
        return
    text = (
        t._(
            "Children born in: {years}. More children? Press their years too. Then press «Save».",
            years=_years_text(t, years),
        )
        if years
        else t._("Press the year your child was born, or write it, for example: 2019")
    )
    await answer(update, context, (note + "\n\n" if note else "") + text, keyboard)


async def year_button(update: Update, context: BotContext) -> None:
    """A birth-year button: chosen, or taken back when pressed again."""
    query = update.callback_query
    assert query is not None and query.data is not None
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    raw = query.data.rsplit(":", 1)[1]
    current = await activities.subscription(context.db, resident.telegram_id)
    if current is None or current.step is None or not raw.isdigit():
        await context.ack(update, t._("This button does not work any more."))
        return
    year = int(raw)
    if year not in offered_years(today_of(context)):
        await context.ack(update, t._("This button does not work any more."))
        return
    chosen = set(current.draft_years) ^ {year}
    await _choose(update, context, t, tuple(sorted(chosen)), edit=True)


async def take_message(update: Update, context: BotContext) -> bool:
    """Typed birth years while /subscribe waits for them ("2019 2022")."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not message.text:
        return False
    current = await activities.subscription(context.db, user.id)
    if current is None or current.step is None:
        return False
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    today = today_of(context)
    years, wrong = parse_years(message.text, today)
    note = ""
    if wrong:
        offered = offered_years(today)
        note = t._(
            "{years}: please write a year between {first} and {last}.",
            years=", ".join(wrong),
            first=str(offered[-1]),
            last=str(offered[0]),
        )
    elif not years:
        note = t._("I did not understand. Write the year your child was born, for example: 2019")
    chosen = tuple(sorted(set(current.draft_years) | set(years)))
    await _choose(update, context, t, chosen, note)
    return True


async def _finish(
    update: Update,
    context: BotContext,
    t: Texts,
    fixed: frozenset[str],
    years: tuple[int, ...],
) -> None:
    user = update.effective_user
    assert user is not None
    current = await activities.subscription(context.db, user.id)
    SUBSCRIBE.check(current.step if current else None, None)
    await activities.subscribe(context.db, user.id, fixed, context.now(), birth_years=years)
    weekday = t.locale.days["format"]["wide"][context.config.digest_weekday]
    if years:
        done = t._(
            "Done! 🎉 Every {weekday} you get the activities for children born in {years}. "
            "When they grow, the list grows with them.",
            weekday=weekday,
            years=_years_text(t, years),
        )
    else:
        done = t._(
            "Done! 🎉 Every {weekday} you get the activities for: {groups}.",
            weekday=weekday,
            groups=age_groups_text(t, groups_on(fixed, years, today_of(context))),
        )
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.edit_message_reply_markup(None)
    await answer(update, context, done + "\n\n" + t._("Stop the weekly list: /unsubscribe"))


async def choice_button(update: Update, context: BotContext) -> None:
    """ "No children", "Everything" or "Save"."""
    query = update.callback_query
    assert query is not None and query.data is not None
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    current = await activities.subscription(context.db, resident.telegram_id)
    if current is None or current.step is None:
        await context.ack(update, t._("This button does not work any more."))
        return
    choice = query.data.split(":", 1)[1]
    if choice == "adults":
        await _finish(update, context, t, frozenset({ADULTS}), ())
    elif choice == "all":
        await _finish(update, context, t, frozenset({ALL}), ())
    elif not current.draft_years:
        await context.ack(update, t._("Press the year your child was born."), alert=True)
    else:
        await _finish(update, context, t, frozenset(), current.draft_years)


async def old_button(update: Update, context: BotContext) -> None:
    """A button of the age-group keyboard from before birth years: ask again, the new way."""
    await start(update, context)


async def cancel(update: Update, context: BotContext) -> bool:
    """/cancel: leave /subscribe; the subscription stays as it was."""
    user = update.effective_user
    if user is None or not await activities.in_subscribe_step(context.db, user.id):
        return False
    await activities.set_subscribe_step(context.db, user.id, None, (), context.now())
    return True
