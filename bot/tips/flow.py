"""The resident's side of a tip: choose a topic, describe it, say where, choose whether staff
may see the name, confirm; and /mytips.

One question at a time, each answered with a button or one message, because many residents
read little Norwegian and write on a phone. The draft lives in the database (`tip_drafts`), so
a restart in the middle costs nothing; a draft untouched for 30 minutes is dropped quietly.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot.common import answer, current_resident
from bot.context import BotContext
from bot.i18n import SUPPORTED_LANGUAGES, Texts
from bot.menu import main_menu
from bot.tips import outbox
from bot.tips.media import MAX_MEDIA_PER_TIP, Attachment, Unsupported, attachment_of
from bot.tips.status import label as status_label
from bot.tips.topics import TOPICS, Topic, topic
from storage import tips as store
from storage.tips import Draft

log = logging.getLogger(__name__)

#: A press of "Send the tip" this soon after the tip was stored repeats the thanks.
RESEND_THANKS_WITHIN = timedelta(minutes=10)

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
#: A resident's next message answers a staff question asked within this time.
QUESTION_WINDOW = timedelta(days=3)

DESCRIBE_STEPS = ("describe", "place")


# --------------------------------------------------------------------------- decisions
def is_fresh(draft: Draft | None, now) -> bool:
    return draft is not None and now - draft.updated_at < DRAFT_TIMEOUT


async def live_draft(context: BotContext, telegram_id: int) -> Draft | None:
    """The resident's draft, unless there is none or it was abandoned."""
    draft = await store.get_draft(context.db, telegram_id)
    return draft if is_fresh(draft, context.now()) else None


async def over_flood_limit(context: BotContext, telegram_id: int) -> bool:
    since = context.now() - timedelta(hours=1)
    return await store.count_recent_tips(context.db, telegram_id, since) >= MAX_TIPS_PER_HOUR


def has_description(draft: Draft) -> bool:
    """Text or a voice message: residents who write little may just speak."""
    return bool((draft.description or "").strip()) or draft.count("voice") > 0


# --------------------------------------------------------------------------- keyboards
def _cancel_button(t: Texts) -> InlineKeyboardButton:
    return InlineKeyboardButton("✖️ " + t._("Cancel"), callback_data="tip:cancel")


def topic_keyboard(t: Texts) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                f"{item.icon} {t._(item.label)}", callback_data=f"tip:cat:{item.key}"
            )
        ]
        for item in TOPICS
    ]
    rows.append([_cancel_button(t)])
    return InlineKeyboardMarkup(rows)


def describe_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("✅ " + t._("Done, next step"), callback_data="tip:done")],
            [_cancel_button(t)],
        ]
    )


def place_keyboard(t: Texts) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton("📍 " + t._("Send my location"), request_location=True)],
            [KeyboardButton(skip_label(t))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def skip_label(t: Texts) -> str:
    return "➡️ " + t._("Skip")


def identity_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("👤 " + t._("Yes, show my name"), callback_data="tip:name:1")],
            [
                InlineKeyboardButton(
                    "🙈 " + t._("No, keep me anonymous"), callback_data="tip:name:0"
                )
            ],
            [_cancel_button(t)],
        ]
    )


def confirm_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("✅ " + t._("Send the tip"), callback_data="tip:send")],
            [_cancel_button(t)],
        ]
    )


# --------------------------------------------------------------------------- entry points
async def start_tip(update: Update, context: BotContext, category: str | None = None) -> None:
    """Begin a tip (from /tip, the menu, or a deep link that may name the topic)."""
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    if await over_flood_limit(context, resident.telegram_id):
        await answer(update, context, flood_text(t), main_menu(t))
        return
    chosen = topic(category)
    await store.start_draft(
        context.db, resident.telegram_id, context.now(), chosen.key if chosen else None
    )
    if chosen is None:
        await answer(
            update, context, t._("📝 What is your tip about? Choose a topic:"), topic_keyboard(t)
        )
    else:
        await after_topic(update, context, t, chosen)


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


async def after_topic(update: Update, context: BotContext, t: Texts, chosen: Topic) -> None:
    """Show "whose job is it" for topics that belong to a city agency; else ask where."""
    resident_id = _user_id(update)
    if chosen.external_url and chosen.external_note:
        await store.update_draft(
            context.db, resident_id, context.now(), category=chosen.key, step="external"
        )
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        "🌐 " + t._("Report it to the city"), url=chosen.external_url
                    )
                ],
                [
                    InlineKeyboardButton(
                        "✍️ " + t._("Send it to us anyway"), callback_data="tip:here"
                    )
                ],
                [_cancel_button(t)],
            ]
        )
        await answer(update, context, t._(chosen.external_note), keyboard)
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


# --------------------------------------------------------------------------- buttons
async def on_button(update: Update, context: BotContext) -> None:
    """Every resident button of the tip flow: `tip:<action>[:<value>]`.

    The draft is the resident's own (keyed by their Telegram id), so a button can only act on
    the presser's draft; a button whose step has passed, or of an abandoned draft, says so.
    """
    query = update.callback_query
    assert query is not None and query.data is not None
    _, action, *rest = query.data.split(":")
    value = rest[0] if rest else ""
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    if action == "cancel":
        await cancel_draft(update, context)
        await answer(
            update, context, t._("OK, the tip was deleted. Nothing was sent."), main_menu(t)
        )
        return
    draft = await live_draft(context, resident.telegram_id)
    if draft is None and action == "send" and await _sent_just_now(update, context, t):
        return
    if draft is None:
        await answer(
            update,
            context,
            t._("This tip is no longer open. You can start a new one."),
            main_menu(t),
        )
        return
    handler = _BUTTONS.get(action)
    if handler is None:
        await context.ack(update, t._("This button does not work any more."))
        return
    await handler(update, context, t, draft, value)


async def _choose_topic(update: Update, context: BotContext, t: Texts, draft: Draft, value: str):
    chosen = topic(value)
    if chosen is None or draft.step not in ("category", "external", "place"):
        await context.ack(update, t._("This button does not work any more."))
        return
    await after_topic(update, context, t, chosen)


async def _send_here(update: Update, context: BotContext, t: Texts, draft: Draft, value: str):
    chosen = topic(draft.category)
    if draft.step != "external" or chosen is None:
        await context.ack(update, t._("This button does not work any more."))
        return
    await ask_place(update, context, t, draft.telegram_id, chosen)


async def _done_describing(
    update: Update, context: BotContext, t: Texts, draft: Draft, value: str
):
    if draft.step == "identity":
        # Pressed before (or handled again after a crash cut it short): ask the question again.
        await context.ack(update)
        await ask_identity(update, context, t, draft.telegram_id)
        return
    if draft.step != "describe":
        await context.ack(update, t._("This button does not work any more."))
        return
    if not has_description(draft):
        await context.ack(update)
        await answer(
            update,
            context,
            t._("Please tell us what is wrong first: write a few words or send a voice message."),
            describe_keyboard(t),
        )
        return
    await ask_identity(update, context, t, draft.telegram_id)


async def ask_place(
    update: Update, context: BotContext, t: Texts, telegram_id: int, chosen: Topic
) -> None:
    """Where first (as FixMyStreet does): a place lets us offer "me too" before any writing."""
    await store.update_draft(context.db, telegram_id, context.now(), step="place")
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
    context: BotContext, draft: store.Draft, *, exclude_resident: int | None = None
) -> store.Tip | None:
    """An open tip of the same topic near the draft's location (the duplicate rule), if any."""
    if not (draft.has_location and draft.category):
        return None
    assert draft.latitude is not None and draft.longitude is not None
    return await store.find_similar(
        context.db,
        draft.category,
        draft.latitude,
        draft.longitude,
        context.now(),
        radius_m=DUPLICATE_RADIUS_M,
        days=DUPLICATE_DAYS,
        exclude_resident=exclude_resident,
    )


async def ask_description(update: Update, context: BotContext, t: Texts, telegram_id: int):
    await store.update_draft(context.db, telegram_id, context.now(), step="describe")
    await answer(update, context, describe_prompt(t), describe_keyboard(t))


async def ask_identity(update: Update, context: BotContext, t: Texts, telegram_id: int) -> None:
    await store.update_draft(context.db, telegram_id, context.now(), step="identity")
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


async def _choose_identity(
    update: Update, context: BotContext, t: Texts, draft: Draft, value: str
):
    # "confirm": chosen before (or handled again after a crash): the new choice counts, and
    # the summary is shown again.
    if draft.step not in ("identity", "confirm") or value not in ("0", "1"):
        await context.ack(update, t._("This button does not work any more."))
        return
    await store.update_draft(context.db, draft.telegram_id, context.now(), show_name=int(value))
    draft = await store.get_draft(context.db, draft.telegram_id)
    assert draft is not None
    await ask_confirmation(update, context, t, draft)


async def offer_me_too(
    update: Update, context: BotContext, t: Texts, draft: Draft, similar: store.Tip
) -> None:
    """Offer to follow an open tip nearby instead of writing a new one.

    Only the topic, date and status of the other tip are shown: its text and sender are
    another resident's and stay with staff.
    """
    await store.update_draft(
        context.db, draft.telegram_id, context.now(), step="similar", similar_tip_id=similar.id
    )
    chosen = topic(similar.category)
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
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("👍 " + t._("Me too"), callback_data=f"tip:metoo:{similar.id}")],
            [InlineKeyboardButton("✍️ " + t._("No, send my tip"), callback_data="tip:new")],
            [_cancel_button(t)],
        ]
    )
    await answer(update, context, text, keyboard)


async def _me_too(update: Update, context: BotContext, t: Texts, draft: Draft, value: str):
    """Follow the tip that was offered to this resident (and only that one)."""
    if draft.step != "similar" or str(draft.similar_tip_id) != value:
        await context.ack(update, t._("This button does not work any more."))
        return
    tip_id = int(value)
    tip = await store.get_tip(context.db, tip_id)
    if tip is None or not tip.status.is_open:
        await context.ack(update)
        await ask_description(update, context, t, draft.telegram_id)
        return
    await store.follow(context.db, tip_id, draft.telegram_id, context.now())
    await answer(
        update,
        context,
        t._(
            "👍 Thank you! You now follow {reference}. We will tell you when something happens.",
            reference=tip.reference,
        ),
        main_menu(t),
    )
    await outbox.refresh_card(context, tip_id)


async def _write_new(update: Update, context: BotContext, t: Texts, draft: Draft, value: str):
    if draft.step != "similar":
        await context.ack(update, t._("This button does not work any more."))
        return
    await ask_description(update, context, t, draft.telegram_id)


async def ask_confirmation(update: Update, context: BotContext, t: Texts, draft: Draft) -> None:
    await store.update_draft(context.db, draft.telegram_id, context.now(), step="confirm")
    await answer(update, context, summary(t, draft), confirm_keyboard(t))


def summary(t: Texts, draft: Draft) -> str:
    """What the resident is about to send, so nothing goes out that they did not see."""
    chosen = topic(draft.category)
    lines = [
        t._("<b>Your tip</b>"),
        t._("Topic: {topic}", topic=t._(chosen.label) if chosen else ""),
    ]
    if (draft.description or "").strip():
        lines.append(t._("Text: {text}", text=_shorten(draft.description or "", 500)))
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


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _send(update: Update, context: BotContext, t: Texts, draft: Draft, value: str):
    """Confirm: store the tip, give the reference, then post it to staff.

    The reference is given only after the commit; posting to staff happens after that and is
    retried by the outbox job if Telegram fails, so a confirmed tip is never lost.
    """
    if draft.step != "confirm":
        await context.ack(update, t._("This button does not work any more."))
        return
    if await over_flood_limit(context, draft.telegram_id):
        await answer(update, context, flood_text(t), main_menu(t))
        return
    resident, _ = await current_resident(update, context)
    similar = await similar_open_tip(context, draft)
    duplicate = similar.id if similar else None
    tip_id = await store.submit_draft(
        context.db,
        draft.telegram_id,
        resident.language,
        resident.first_name,
        duplicate,
        context.now(),
    )
    if tip_id is None:
        await answer(
            update,
            context,
            t._("This tip is no longer open. You can start a new one."),
            main_menu(t),
        )
        return
    log.info("tip %s confirmed (topic %s)", tip_id, draft.category)
    if update.callback_query is not None and update.callback_query.message is not None:
        # The confirm buttons have done their job; a second press must not look possible.
        await _drop_buttons(update)
    await _thank(update, context, t, tip_id)
    await outbox.flush(context)


async def _thank(update: Update, context: BotContext, t: Texts, tip_id: int) -> None:
    """Tell the resident the tip's number; recorded, so a replay does not say it twice."""
    await answer(
        update,
        context,
        t._("✅ Thank you! We got your tip.")
        + "\n"
        + t._("Your number is <b>{reference}</b>.", reference=store.reference(tip_id))
        + "\n"
        + t._("We will tell you here when something happens. See your tips: /mytips"),
        main_menu(t),
    )
    await store.mark_thanked(context.db, tip_id, context.now())


async def _sent_just_now(update: Update, context: BotContext, t: Texts) -> bool:
    """ "Send the tip" pressed for a draft that is already a tip: the bot stored it and then
    died before saying so, and handles the press again after the restart. Say it now,
    instead of "no longer open", which would make the resident think it was lost."""
    latest = await store.tips_of_resident(context.db, update.effective_user.id, limit=1)  # type: ignore[union-attr]
    if not latest or context.now() - latest[0].created_at > RESEND_THANKS_WITHIN:
        return False
    await context.ack(update)
    if not await store.thanked(context.db, latest[0].id):
        await _thank(update, context, t, latest[0].id)
    await outbox.flush(context)
    return True


async def _drop_buttons(update: Update) -> None:
    from telegram.error import BadRequest

    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:
        log.info("could not remove confirm buttons: %s", error)


_BUTTONS = {
    "cat": _choose_topic,
    "here": _send_here,
    "done": _done_describing,
    "name": _choose_identity,
    "metoo": _me_too,
    "new": _write_new,
    "send": _send,
}


# --------------------------------------------------------------------------- messages
async def consume_message(update: Update, context: BotContext) -> bool:
    """Take a resident's message if it belongs to a tip draft (text, media, place) or replies
    to a staff question. Returns False to let other features (and the fallback) try."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return False
    if message.text and message.text.startswith("/"):
        return False  # an unknown command: the fallback explains
    if message.reply_to_message is not None:
        question = await store.question_by_message(
            context.db, user.id, message.reply_to_message.message_id
        )
        if question is not None:
            await outbox.take_answer(update, context, question)
            return True
    draft = await live_draft(context, user.id)
    if draft is not None:
        resident, _ = await current_resident(update, context)
        t = context.texts(resident.language)
        if draft.step in DESCRIBE_STEPS:
            await take_draft_input(update, context, t, draft, message)
        else:
            await remind_step(update, context, t, draft)
        return True
    return False


async def consume_answer(update: Update, context: BotContext) -> bool:
    """The first plain message after a staff question answers it (within `QUESTION_WINDOW`).

    Asked late in the chain, so a survey or a conversation with staff that is in progress
    keeps its messages; a reply to the question itself is always taken first.
    """
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or (message.text or "").startswith("/"):
        return False
    question = await store.open_question(context.db, user.id, context.now() - QUESTION_WINDOW)
    if question is None:
        return False
    await outbox.take_answer(update, context, question)
    return True


async def is_writing_tip(db, telegram_id: int) -> bool:
    """Busy check: a resident writing a tip gets no survey invitation in between."""
    return await store.get_draft(db, telegram_id) is not None


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
        if draft.step == "place":
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
    if draft.step == "place":
        if text != skip_label(t):
            await store.update_draft(db, me, now, place_text=_shorten(text, 300))
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
        draft.description
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
        t._("✍️ Thank you, I have your text.")
        + "\n"
        + t._("You can send more, or photos. When you are ready, press «Done»."),
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
    # An album arrives as one message per photo; one acknowledgement is enough for all.
    group = message.media_group_id
    seen: set[str] = context.bot_data.extras.setdefault("tip_albums", set())
    if group is not None:
        if group in seen:
            return
        seen.add(group)
    if attachment.kind == "voice":
        text = t._("🎤 Thank you, I have your voice message.")
    else:
        text = t._("📷 Thank you, I have it.")
    keyboard = describe_keyboard(t) if draft.step == "describe" else None
    await answer(update, context, text, keyboard)


def unsupported_text(t: Texts, reason: str) -> str:
    if reason == "too_big":
        return t._("This file is too big (more than 20 MB). Please send a smaller one.")
    if reason == "not_image":
        return t._("I can only take pictures as files. Please send it as a photo instead.")
    return t._("I can't use this in a tip. Please send text, a photo, a voice message or a place.")


async def remind_step(update: Update, context: BotContext, t: Texts, draft: Draft) -> None:
    """A message while the flow waits for a button: show the question again."""
    if draft.step == "category":
        await answer(update, context, t._("Please choose a topic first:"), topic_keyboard(t))
    elif draft.step == "identity":
        await ask_identity(update, context, t, draft.telegram_id)
    elif draft.step == "confirm":
        await answer(update, context, summary(t, draft), confirm_keyboard(t))
    else:
        await answer(
            update, context, t._("Please press one of the buttons above, or /cancel to stop.")
        )


# --------------------------------------------------------------------------- cancel
async def cancel_draft(update: Update, context: BotContext) -> bool:
    """/cancel (and the Cancel button): delete the draft; nothing reaches staff."""
    user = update.effective_user
    if user is None:
        return False
    draft = await store.get_draft(context.db, user.id)
    if draft is None:
        return False
    await store.delete_draft(context.db, user.id)
    if draft.step == "place" and update.callback_query is None:
        # The location keyboard would otherwise stay on the resident's screen.
        resident, _ = await current_resident(update, context)
        t = context.texts(resident.language)
        await answer(update, context, t._("The tip was deleted."), ReplyKeyboardRemove())
    return is_fresh(draft, context.now())


# --------------------------------------------------------------------------- /mytips
async def my_tips(update: Update, context: BotContext) -> None:
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    tips = await store.tips_of_resident(context.db, resident.telegram_id)
    await answer(
        update, context, my_tips_text(t, tips, resident.telegram_id, context), main_menu(t)
    )


def my_tips_text(t: Texts, tips: list[store.Tip], telegram_id: int, context: BotContext) -> str:
    if not tips:
        return t._("You have not sent any tips yet. Press «Report a tip or problem» to send one.")
    lines = [t._("<b>Your tips</b>"), ""]
    for tip in tips:
        chosen = topic(tip.category)
        name = t._(chosen.label) if chosen else tip.category
        lines.append(t._("<b>{reference}</b> · {topic}", reference=tip.reference, topic=name))
        details = t._(
            "{date} · {status}",
            date=t.date(tip.created_at, context.config.timezone, fmt="medium"),
            status=status_label(t, tip.status),
        )
        if tip.telegram_id != telegram_id:
            details += " · " + t._("you follow it")
        lines.append(details)
        lines.append("")
    return "\n".join(lines).strip()


def language_name(code: str) -> str:
    return SUPPORTED_LANGUAGES.get(code, code)
