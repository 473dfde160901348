"""The tip draft's steps: starting a tip and asking each question, moving the draft (stored in
`tip_drafts`) only along the table in `bot/tips/steps.py`.

One question at a time, each answered with a button or one message, because many residents
read little Norwegian and write on a phone. A restart in the middle costs nothing; a draft
untouched for 30 minutes is dropped quietly.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from telegram import Update

from bot.common import answer, current_resident, resident_and_texts
from bot.context import BotContext
from bot.i18n import Texts
from bot.menu import main_menu
from bot.tips.categories import Category, find_category
from bot.tips.keyboards import (
    category_keyboard,
    confirm_keyboard,
    describe_keyboard,
    external_keyboard,
    identity_keyboard,
    me_too_keyboard,
    place_keyboard,
)
from bot.tips.status import label as status_label
from bot.tips.steps import TIP_DRAFT, TipStep
from storage import tip_drafts as store
from storage import tips
from storage.tip_drafts import Draft
from storage.tips import Tip

log = logging.getLogger(__name__)

#: A draft untouched this long is abandoned: ignored, then deleted by the cleanup job.
DRAFT_TIMEOUT = timedelta(minutes=30)
#: At most this many tips per resident per hour (a flood limit, not a judgement).
MAX_TIPS_PER_HOUR = 5
#: "Same place": open tips of the same topic within this radius (metres, haversine) ...
DUPLICATE_RADIUS_M = 100.0
#: ... made in the last this many days count as possible duplicates.
DUPLICATE_DAYS = 30
#: Longest description kept; a tip is a message, not a letter.
MAX_DESCRIPTION = 3000


async def move_to(context: BotContext, telegram_id: int, step: TipStep, **fields: Any) -> Draft:
    """Put the draft on `step` (a move the flow's table has), with `fields`; the new draft."""
    current = await store.get_draft(context.db, telegram_id)
    assert current is not None
    TIP_DRAFT.check(current.step, step)
    await store.update_draft(context.db, telegram_id, context.now(), step=step.value, **fields)
    draft = await store.get_draft(context.db, telegram_id)
    assert draft is not None
    return draft


def is_fresh(draft: Draft | None, now: datetime) -> bool:
    return draft is not None and now - draft.updated_at < DRAFT_TIMEOUT


async def live_draft(context: BotContext, telegram_id: int) -> Draft | None:
    """The resident's draft, unless there is none or it was abandoned."""
    draft = await store.get_draft(context.db, telegram_id)
    return draft if is_fresh(draft, context.now()) else None


async def over_flood_limit(context: BotContext, telegram_id: int) -> bool:
    since = context.now() - timedelta(hours=1)
    return await tips.count_recent_tips(context.db, telegram_id, since) >= MAX_TIPS_PER_HOUR


def has_description(draft: Draft) -> bool:
    """Text or a voice message: residents who write little may just speak."""
    return bool((draft.description or "").strip()) or draft.count("voice") > 0


async def start_tip(update: Update, context: BotContext, category: str | None = None) -> None:
    """Begin a tip (from /tip, the menu, or a deep link that may name the topic)."""
    resident, t = await resident_and_texts(update, context)
    if await over_flood_limit(context, resident.telegram_id):
        await answer(update, context, flood_text(t), main_menu(t))
        return
    chosen = find_category(category)
    await store.start_draft(
        context.db,
        resident.telegram_id,
        TIP_DRAFT.first,
        context.now(),
        chosen.key if chosen else None,
    )
    if chosen is None:
        await answer(
            update,
            context,
            t._("📝 What is your tip about? Choose a topic:"),
            category_keyboard(t),
        )
    else:
        await after_category(update, context, t, chosen)


def flood_text(t: Texts) -> str:
    return t._(
        "Thank you for all your tips! You can send {count} tips in one hour."
        " Please wait a little and try again.",
        count=MAX_TIPS_PER_HOUR,
    )


async def tip_command(update: Update, context: BotContext) -> None:
    await start_tip(update, context)


async def tip_deep_link(update: Update, context: BotContext, argument: str) -> None:
    await start_tip(update, context, argument or None)


async def tip_menu(update: Update, context: BotContext) -> None:
    await start_tip(update, context)


async def after_category(update: Update, context: BotContext, t: Texts, chosen: Category) -> None:
    """Show "whose job is it" for topics that belong to a city agency; else ask where."""
    resident_id = _user_id(update)
    if chosen.external_url and chosen.external_note:
        await move_to(context, resident_id, TipStep.EXTERNAL, category=chosen.key)
        await answer(update, context, t._(chosen.external_note), external_keyboard(t, chosen))
        return
    await store.update_draft(context.db, resident_id, context.now(), category=chosen.key)
    await ask_place(update, context, t, resident_id, chosen)


def describe_prompt(t: Texts) -> str:
    return (
        t._("Tell us what is wrong. Write a message, or send a voice message.")
        + "\n"
        + t._("You can also send photos.")
        + "\n\n"
        + t._("When you are ready, press «Done».")
    )


def _user_id(update: Update) -> int:
    user = update.effective_user
    assert user is not None
    return user.id


async def ask_place(
    update: Update, context: BotContext, t: Texts, telegram_id: int, chosen: Category
) -> None:
    """Where first (as FixMyStreet does): a place lets us offer "me too" before any writing."""
    await move_to(context, telegram_id, TipStep.PLACE)
    await answer(
        update,
        context,
        t._("{icon} {topic}", icon=chosen.icon, topic=t._(chosen.label))
        + "\n\n"
        + t._("📍 Where is it?")
        + "\n\n"
        + t._("Press «Send my location» if you are there now. Or write the address or place."),
        place_keyboard(t),  # type: ignore[arg-type]
    )


async def after_place(update: Update, context: BotContext, t: Texts, telegram_id: int) -> None:
    """Offer "me too" on an open tip nearby; otherwise ask for the description."""
    draft = await store.get_draft(context.db, telegram_id)
    assert draft is not None
    similar = await similar_open_tip(context, draft, exclude_resident=draft.telegram_id)
    if similar is not None:
        await offer_me_too(update, context, t, draft, similar)
        return
    await ask_description(update, context, t, telegram_id)


async def similar_open_tip(
    context: BotContext, draft: Draft, *, exclude_resident: int | None = None
) -> Tip | None:
    """An open tip of the same topic near the draft's location (the duplicate rule), if any."""
    if not (draft.has_location and draft.category):
        return None
    assert draft.latitude is not None and draft.longitude is not None
    return await tips.find_similar(
        context.db,
        draft.category,
        draft.latitude,
        draft.longitude,
        context.now(),
        radius_m=DUPLICATE_RADIUS_M,
        days=DUPLICATE_DAYS,
        exclude_resident=exclude_resident,
    )


async def ask_description(update: Update, context: BotContext, t: Texts, telegram_id: int) -> None:
    draft = await move_to(context, telegram_id, TipStep.DESCRIBE)
    if has_description(draft):
        # Written already (with the category of the city's job): more may follow.
        await answer(update, context, got_text(t), describe_keyboard(t))
        return
    await answer(update, context, describe_prompt(t), describe_keyboard(t))


def got_text(t: Texts) -> str:
    return (
        t._("✍️ Thank you, I have your text.")
        + "\n"
        + t._("You can send more, or photos. When you are ready, press «Done».")
    )


async def ask_identity(update: Update, context: BotContext, t: Texts, telegram_id: int) -> None:
    await move_to(context, telegram_id, TipStep.IDENTITY)
    resident, _ = await current_resident(update, context)
    await answer(
        update,
        context,
        t._(
            "May the staff see your name ({name})? You can also be anonymous.",
            name=resident.first_name or "",
        )
        + "\n"
        + t._("We can always answer you here, also when you are anonymous."),
        identity_keyboard(t),
    )


async def offer_me_too(
    update: Update, context: BotContext, t: Texts, draft: Draft, similar: Tip
) -> None:
    """Offer to follow an open tip nearby instead of writing a new one.

    Only the topic, date and status of the other tip are shown: its text and sender are
    another resident's and stay with staff.
    """
    await move_to(context, draft.telegram_id, TipStep.SIMILAR, similar_tip_id=similar.id)
    chosen = find_category(similar.category)
    text = (
        t._(
            "Someone has already sent a tip like this near the same place: {reference}"
            " ({topic}, {date}).",
            reference=similar.reference,
            topic=t._(chosen.label) if chosen else similar.category,
            date=t.date(similar.created_at, context.config.timezone, fmt="medium"),
        )
        + "\n"
        + t._("Status: {status}", status=status_label(t, similar.status))
        + "\n\n"
        + t._("Is it the same? Press «Me too» and we will tell you when something happens.")
    )
    await answer(update, context, text, me_too_keyboard(t, similar.id))


async def ask_confirmation(update: Update, context: BotContext, t: Texts, draft: Draft) -> None:
    await move_to(context, draft.telegram_id, TipStep.CONFIRM)
    await answer(update, context, summary(t, draft), confirm_keyboard(t))


def summary(t: Texts, draft: Draft) -> str:
    """What the resident is about to send, so nothing goes out that they did not see."""
    chosen = find_category(draft.category)
    lines = [
        t._("<b>Your tip</b>"),
        t._("Topic: {topic}", topic=t._(chosen.label) if chosen else ""),
    ]
    if (draft.description or "").strip():
        lines.append(t._("Text: {text}", text=shorten(draft.description or "", 500)))
    media = []
    if draft.count("photo") + draft.count("image"):
        media.append(
            t.n_("{count} photo", "{count} photos", draft.count("photo") + draft.count("image"))
        )
    if draft.count("voice"):
        media.append(t.n_("{count} voice message", "{count} voice messages", draft.count("voice")))
    if draft.count("video"):
        media.append(t.n_("{count} video", "{count} videos", draft.count("video")))
    if media:
        lines.append("📎 " + t.format_list(media))
    if draft.place_text:
        lines.append(t._("Place: {place}", place=draft.place_text))
    elif draft.has_location:
        lines.append(t._("Place: 📍 your location"))
    lines.append(t._("Name: shown to staff") if draft.show_name else t._("Name: anonymous"))
    lines.append("")
    lines.append(t._("Send it to the district?"))
    return "\n".join(lines)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
