"""The tip draft as a conversation (see `bot/conversations.py`): whether a resident is
writing a tip, what their messages add to it, and /cancel."""

from __future__ import annotations

from telegram import Message, ReplyKeyboardRemove, Update

from bot.albums import first_of_album
from bot.common import answer, resident_texts
from bot.context import BotContext, BotData
from bot.i18n import Texts
from bot.tips.categories import find_category
from bot.tips.drafting import (
    MAX_DESCRIPTION,
    after_place,
    ask_description,
    ask_identity,
    ask_place,
    got_text,
    is_fresh,
    live_draft,
    move_to,
    shorten,
    summary,
)
from bot.tips.keyboards import category_keyboard, confirm_keyboard, describe_keyboard, skip_label
from bot.tips.media import MAX_MEDIA_PER_TIP, Attachment, Unsupported, attachment_of
from bot.tips.steps import DESCRIBING, TipStep
from storage import tip_drafts as store
from storage.tip_drafts import Draft


async def take_message(update: Update, context: BotContext) -> bool:
    """The tip draft's message: a place, text or media where the draft asks for them; the
    description for the district after a category of the city's job (the resident chose to
    write instead of pressing «Send it to us anyway»); else the question again."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return False
    draft = await live_draft(context, user.id)
    if draft is None:
        return False
    t = await resident_texts(update, context)
    if draft.step in DESCRIBING:
        await take_draft_input(update, context, t, draft, message)
    elif draft.step == TipStep.EXTERNAL:
        await take_instead_of_here(update, context, t, draft, message)
    else:
        await remind_step(update, context, t, draft)
    return True


async def is_writing_tip(data: BotData, telegram_id: int) -> bool:
    """Active: the resident has a draft they touched in the last `DRAFT_TIMEOUT`."""
    draft = await store.get_draft(data.db, telegram_id)
    return is_fresh(draft, data.clock())


async def take_instead_of_here(
    update: Update, context: BotContext, t: Texts, draft: Draft, message: Message
) -> None:
    """A message after "whose job is it": the intent is clear, the tip is for us. A place is
    the answer to "where?"; text or media is the description, and "where?" comes next."""
    chosen = find_category(draft.category)
    if chosen is None:
        await remind_step(update, context, t, draft)
        return
    if message.location is not None:
        draft = await move_to(context, draft.telegram_id, TipStep.PLACE)
        await take_draft_input(update, context, t, draft, message)
        return
    try:
        attachment = attachment_of(message)
    except Unsupported as problem:
        await answer(update, context, unsupported_text(t, problem.reason))
        return
    if attachment is not None:
        await take_attachment(update, context, t, draft, message, attachment)
        if first_of_album(context.bot_data, message.media_group_id):
            await ask_place(update, context, t, draft.telegram_id, chosen)
        return
    text = (message.text or "").strip()
    if not text:
        await answer(update, context, unsupported_text(t, "unsupported"))
        return
    await store.update_draft(
        context.db, draft.telegram_id, context.now(), description=text[:MAX_DESCRIPTION]
    )
    await answer(update, context, t._("✍️ Thank you, I have your text."))
    await ask_place(update, context, t, draft.telegram_id, chosen)


async def take_draft_input(
    update: Update, context: BotContext, t: Texts, draft: Draft, message: Message
) -> None:
    db, now, me = context.db, context.now(), draft.telegram_id
    if message.location is not None:
        place = None
        if message.venue is not None:
            place = ", ".join(p for p in (message.venue.title, message.venue.address) if p)
        await store.update_draft(
            db,
            me,
            now,
            latitude=message.location.latitude,
            longitude=message.location.longitude,
            place_text=place or draft.place_text,
        )
        if draft.step == TipStep.PLACE:
            await answer(
                update, context, t._("📍 Thank you, I have the place."), ReplyKeyboardRemove()
            )
            await after_place(update, context, t, me)
        else:
            await answer(
                update, context, t._("📍 Thank you, I have the place."), describe_keyboard(t)
            )
        return
    try:
        attachment = attachment_of(message)
    except Unsupported as problem:
        await answer(update, context, unsupported_text(t, problem.reason))
        return
    if attachment is not None:
        await take_attachment(update, context, t, draft, message, attachment)
        return
    text = (message.text or "").strip()
    if not text:
        await answer(update, context, unsupported_text(t, "unsupported"))
        return
    if draft.step == TipStep.PLACE:
        chosen = find_category(draft.category)
        if _is_description_again(draft, text) and chosen is not None:
            # The description written instead of «Send it to us anyway», handled a second
            # time (a crash cut the answer short): it is not the place; ask where again.
            await ask_place(update, context, t, me, chosen)
            return
        if text != skip_label(t):
            await store.update_draft(db, me, now, place_text=shorten(text, 300))
        await answer(update, context, t._("Thank you."), ReplyKeyboardRemove())
        await after_place(update, context, t, me)
        return
    if text == skip_label(t) and not draft.description:
        # The "Skip" key again (tapped twice, or handled again after a crash cut the answer
        # short): it is not a description; ask for one.
        await ask_description(update, context, t, me)
        return
    parts = (draft.description or "").split("\n")
    # The same text again right after itself is the same message handled a second time (a
    # crash cut the answer short), or sent twice by mistake: keep it once.
    description = (
        (draft.description or "")
        if parts[-1] == text
        else "\n".join(p for p in (draft.description, text) if p)
    )
    if len(description) > MAX_DESCRIPTION:
        await answer(
            update,
            context,
            t._("Your text is very long. Please make it shorter, then press «Done»."),
            describe_keyboard(t),
        )
        return
    await store.update_draft(db, me, now, description=description)
    await answer(
        update,
        context,
        got_text(t),
        describe_keyboard(t),
    )


async def take_attachment(
    update: Update,
    context: BotContext,
    t: Texts,
    draft: Draft,
    message: Message,
    attachment: Attachment,
) -> None:
    if len(draft.media) >= MAX_MEDIA_PER_TIP:
        await answer(
            update,
            context,
            t._("That is enough photos for one tip. Press «Done» to go on."),
            describe_keyboard(t),
        )
        return
    await store.add_draft_media(
        context.db,
        draft.telegram_id,
        attachment.kind,
        attachment.file_id,
        attachment.mime_type,
        context.now(),
    )
    caption = (message.caption or "").strip()
    if caption:
        description = "\n".join(p for p in (draft.description, caption) if p)
        await store.update_draft(
            context.db, draft.telegram_id, context.now(), description=description[:MAX_DESCRIPTION]
        )
    group = message.media_group_id
    if not first_of_album(context.bot_data, group):
        return
    if attachment.kind == "voice":
        text = t._("🎤 Thank you, I have your voice message.")
    else:
        text = t._("📷 Thank you, I have it.")
    keyboard = describe_keyboard(t) if draft.step == TipStep.DESCRIBE else None
    await answer(update, context, text, keyboard)


def unsupported_text(t: Texts, reason: str) -> str:
    if reason == "too_big":
        return t._("This file is too big (more than 20 MB). Please send a smaller one.")
    if reason == "not_image":
        return t._("I can only take pictures as files. Please send it as a photo instead.")
    return t._("I can't use this in a tip. Please send text, a photo, a voice message or a place.")


async def remind_step(update: Update, context: BotContext, t: Texts, draft: Draft) -> None:
    """A message while the flow waits for a button: show the question again."""
    if draft.step == TipStep.CATEGORY:
        await answer(update, context, t._("Please choose a topic first:"), category_keyboard(t))
    elif draft.step == TipStep.IDENTITY:
        await ask_identity(update, context, t, draft.telegram_id)
    elif draft.step == TipStep.CONFIRM:
        await answer(update, context, summary(t, draft), confirm_keyboard(t))
    else:
        await answer(
            update, context, t._("Please press one of the buttons above, or /cancel to stop.")
        )


async def cancel_draft(update: Update, context: BotContext) -> bool:
    """/cancel (and the Cancel button): delete the draft; nothing reaches staff."""
    user = update.effective_user
    if user is None:
        return False
    draft = await store.get_draft(context.db, user.id)
    if draft is None:
        return False
    await store.delete_draft(context.db, user.id)
    if draft.step == TipStep.PLACE and update.callback_query is None:
        # The location keyboard would otherwise stay on the resident's screen.
        t = await resident_texts(update, context)
        await answer(update, context, t._("The tip was deleted."), ReplyKeyboardRemove())
    return is_fresh(draft, context.now())


def _is_description_again(draft: Draft, text: str) -> bool:
    return (
        bool(draft.description)
        and (draft.description or "").split("\n")[-1] == text
        and draft.place_text is None
        and not draft.has_location
    )
