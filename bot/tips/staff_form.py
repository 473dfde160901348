"""Tips that staff register: from a case (`/tip_from_case`, or «Make a tip» on the case's header
card) and for a walk-in visitor at the office (`/tip_new`).

A short staff conversation in the chat and forum topic where it started: category (buttons),
text and media, place, then «Save the tip». In a case topic, staff take the resident's own words
by replying to the resident's messages there (their text, photos, voice, location); whatever
staff write or send themselves is taken too. While the form is open, the staff member's messages
in that topic go to the form, not to the resident. The form is stored in the database
(`storage/staff_tips.py`), so a restart in the middle costs nothing.

The saved tip is an ordinary tip (reference, card in its category's topic through the outbox,
status news); its `source` says where it came from (`case`, `walk-in`). The case's resident gets
the reference in their language through the outbox. A walk-in tip is anonymous until the visitor
opens the one-time link `t.me/<bot>?start=claim-CODE`, which links it to them: from then on they
hear its status news like any reporter.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot import outbox
from bot.common import answer, resident_and_texts, send
from bot.context import BotContext, BotData
from bot.handover.marking import words_in
from bot.handover.staff_side import case_here
from bot.i18n import Texts
from bot.menu import main_menu
from bot.staff_chat import answer_in_thread
from bot.steps import Flow, Move
from bot.tips.categories import CATEGORIES, find_category
from storage import cases, residents
from storage import staff_tips as store
from storage import tips as tip_store
from storage.staff_tips import Reporter, StaffTipForm, TipSource

log = logging.getLogger(__name__)

#: A form untouched this long is abandoned: the staff member's messages go where they usually go.
FORM_TIMEOUT = timedelta(hours=1)
#: How long a walk-in visitor's link works.
CLAIM_VALID = timedelta(days=30)
#: Claim codes: no letters that look alike (0/O, 1/I).
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class StaffTipStep(StrEnum):
    """Stored in `staff_tip_forms.step`."""

    CATEGORY = "category"  # choose a category (buttons)
    DESCRIBE = "describe"  # text, photos, voice; replies take the resident's messages
    PLACE = "place"  # a typed place, a location, a reply to the resident's location, or skip
    CONFIRM = "confirm"  # the summary: «Save the tip»


S = StaffTipStep
STAFF_TIP = Flow(
    "staff tip",
    (
        Move(None, S.CATEGORY, "/tip_new, /tip_from_case, Make a tip"),
        Move(S.CATEGORY, S.DESCRIBE, "category"),
        Move(S.DESCRIBE, S.DESCRIBE, "text, media, a reply to the resident's message"),
        Move(S.DESCRIBE, S.PLACE, "done"),
        Move(S.PLACE, S.CONFIRM, "place, location or skip"),
        Move(S.CONFIRM, None, "save the tip"),
    ),
)


# --------------------------------------------------------------------------- texts
def category_keyboard(t: Texts) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                f"{item.icon} {t._(item.label)}", callback_data=f"tipf:cat:{item.key}"
            )
        ]
        for item in CATEGORIES
    ]
    rows.append([stop_button(t)])
    return InlineKeyboardMarkup(rows)


def stop_button(t: Texts) -> InlineKeyboardButton:
    return InlineKeyboardButton("✖️ " + t._("Cancel"), callback_data="tipf:stop")


def one_button(t: Texts, label: str, action: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"tipf:{action}")], [stop_button(t)]]
    )


def describe_prompt(t: Texts, from_case: bool) -> str:
    text = t._("Write what the tip is about, or send photos. Then press «Done, next step».")
    if from_case:
        text += "\n" + t._("Reply to the resident's messages here to take their words and photos.")
    return text


def place_prompt(t: Texts) -> str:
    return t._(
        "Where is it? Write the place, send a location, or reply to the resident's location."
    )


def summary(t: Texts, form: StaffTipForm) -> str:
    chosen = find_category(form.category)
    lines = [t._("Topic: {topic}", topic=f"{chosen.icon} {t._(chosen.label)}" if chosen else "")]
    if (form.description or "").strip():
        lines.append(t._("Text: {text}", text=form.description or ""))
    photos = form.count("photo")
    if photos:
        lines.append(t.n_("📷 {count} photo", "📷 {count} photos", photos))
    if form.count("voice"):
        lines.append(
            t.n_("🎤 {count} voice message", "🎤 {count} voice messages", form.count("voice"))
        )
    if form.count("video"):
        lines.append(t.n_("🎬 {count} video", "🎬 {count} videos", form.count("video")))
    if form.place_text:
        lines.append(t._("📍 Place: {place}", place=form.place_text))
    elif form.has_location:
        lines.append(t._("📍 Place: see the map pin"))
    else:
        lines.append(t._("📍 Place: not given"))
    return "\n".join(lines)


# --------------------------------------------------------------------------- starting
def _thread_of(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


async def tip_new_command(update: Update, context: BotContext) -> None:
    """/tip_new: register a tip for a visitor at the office (anonymous, or linked later)."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    await _start(update, context, user.id, message.chat_id, _thread_of(message), None)


async def tip_from_case_command(update: Update, context: BotContext) -> None:
    """/tip_from_case in a case topic: turn what the resident described into a tip."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    case = await case_here(update, context)
    if case is None:
        t = context.staff_texts()
        await answer_in_thread(update, context, t._("Use this command inside a case topic."))
        return
    await _start(update, context, user.id, message.chat_id, case.topic_id, case.id)


async def _start(
    update: Update,
    context: BotContext,
    user_id: int,
    chat_id: int,
    thread_id: int | None,
    case_id: int | None,
) -> None:
    await store.start_form(
        context.db, user_id, chat_id, thread_id, case_id, STAFF_TIP.first.value, context.now()
    )
    t = context.staff_texts()
    await answer_in_thread(
        update,
        context,
        t._("Which category is the tip about?") + "\n" + t._("(Stop with /cancel)"),
        keyboard=category_keyboard(t),
    )


# --------------------------------------------------------------------------- the route
async def is_live(data: BotData, form: StaffTipForm | None) -> bool:
    return form is not None and data.clock() - form.updated_at < FORM_TIMEOUT


async def take_message(update: Update, context: BotContext) -> bool:
    """Staff chat route: the staff member's message in the chat and forum topic where their
    tip form is open (`/cancel` there stops it)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or user.is_bot:
        return False
    form = await store.form_of(context.db, user.id)
    if (
        form is None
        or not await is_live(context.bot_data, form)
        or (form.chat_id, form.thread_id) != (message.chat_id, _thread_of(message))
    ):
        return False
    t = context.staff_texts()
    text = (message.text or "").strip()
    if text.lower().startswith("/cancel"):
        await store.delete_form(context.db, user.id)
        await answer_in_thread(update, context, t._("OK, I stopped."))
        return True
    if text.startswith("/"):
        return False
    step = StaffTipStep(form.step)
    source = _source_message(message)
    if step is S.CATEGORY:
        await answer_in_thread(
            update, context, t._("Which category is the tip about?"), keyboard=category_keyboard(t)
        )
    elif step is S.DESCRIBE:
        await _describe(update, context, t, form, source)
    elif step is S.PLACE:
        await _place(update, context, t, form, source)
    else:
        await _confirm(update, context, t, form)
    return True


def _source_message(message: Message) -> Message:
    """What a message gives the form: a reply takes the message replied to (the resident's words
    in the case topic), anything else is itself. In a forum topic every message "replies" to the
    topic's first message; that one is not a reply."""
    replied = message.reply_to_message
    if replied is not None and replied.forum_topic_created is None:
        return replied
    return message


def _media(message: Message) -> tuple[str, str, str | None] | None:
    if message.photo:
        return "photo", message.photo[-1].file_id, None
    if message.voice:
        return "voice", message.voice.file_id, message.voice.mime_type
    if message.video:
        return "video", message.video.file_id, message.video.mime_type
    return None


async def _describe(
    update: Update, context: BotContext, t: Texts, form: StaffTipForm, source: Message
) -> None:
    words = words_in(source, t).strip()
    media = _media(source)
    location = source.location
    if not words and media is None and location is None:
        await answer_in_thread(
            update, context, t._("Please write text, or send a photo or a voice message.")
        )
        return
    # Taken once: the same staff message handled again after a crash adds nothing.
    assert update.effective_message is not None
    await store.add_to_form(
        context.db,
        form.staff_user_id,
        update.effective_message.message_id,
        context.now(),
        words=words or None,
        media=media,
        location=(location.latitude, location.longitude) if location else None,
    )
    await answer_in_thread(
        update,
        context,
        t._("Added. Send more, or press «Done, next step»."),
        keyboard=one_button(t, "✅ " + t._("Done, next step"), "done"),
    )


async def _place(
    update: Update, context: BotContext, t: Texts, form: StaffTipForm, source: Message
) -> None:
    now = context.now()
    if source.location is not None:
        await store.update_form(
            context.db,
            form.staff_user_id,
            now,
            latitude=source.location.latitude,
            longitude=source.location.longitude,
        )
    elif (source.text or "").strip():
        await store.update_form(
            context.db, form.staff_user_id, now, place_text=(source.text or "").strip()[:300]
        )
    else:
        await answer_in_thread(update, context, place_prompt(t), keyboard=_skip_keyboard(t))
        return
    await _move(context, form, S.CONFIRM)
    await _confirm(update, context, t, form)


def _skip_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return one_button(t, "➡️ " + t._("Skip"), "skip")


async def _confirm(update: Update, context: BotContext, t: Texts, form: StaffTipForm) -> None:
    fresh = await store.form_of(context.db, form.staff_user_id) or form
    await answer_in_thread(
        update,
        context,
        summary(t, fresh),
        keyboard=one_button(t, "✅ " + t._("Save the tip"), "save"),
    )


async def _move(context: BotContext, form: StaffTipForm, target: StaffTipStep) -> None:
    STAFF_TIP.check(form.step, target)
    await store.update_form(context.db, form.staff_user_id, context.now(), step=target.value)


# --------------------------------------------------------------------------- buttons
async def on_button(update: Update, context: BotContext) -> None:
    """`tipf:<action>[:<arg>]`: the form's buttons; each works only on the presser's own form
    in its step (a colleague's press, or an old button, "does not work any more")."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    t = context.staff_texts()
    _, action, arg = [*query.data.split(":", 2), ""][:3]
    if action == "case":
        await _start_from_header(update, context, arg)
        return
    form = await store.form_of(context.db, user.id)
    if form is None or not await is_live(context.bot_data, form):
        await context.ack(update, t._("This button does not work any more."))
        return
    step = StaffTipStep(form.step)
    if action == "stop":
        await store.delete_form(context.db, user.id)
        await context.ack(update)
        await answer_in_thread(update, context, t._("OK, I stopped."))
    elif action == "cat" and step is S.CATEGORY and find_category(arg):
        await context.ack(update)
        await store.update_form(context.db, user.id, context.now(), category=arg)
        await _move(context, form, S.DESCRIBE)
        await answer_in_thread(update, context, describe_prompt(t, form.case_id is not None))
    elif action == "done" and step is S.DESCRIBE:
        await context.ack(update)
        await _move(context, form, S.PLACE)
        await answer_in_thread(update, context, place_prompt(t), keyboard=_skip_keyboard(t))
    elif action == "skip" and step is S.PLACE:
        await context.ack(update)
        await _move(context, form, S.CONFIRM)
        await _confirm(update, context, t, form)
    elif action == "save" and step is S.CONFIRM:
        await context.ack(update)
        await _save(update, context, t, form)
    else:
        await context.ack(update, t._("This button does not work any more."))


async def _start_from_header(update: Update, context: BotContext, raw_case_id: str) -> None:
    """«Make a tip» on a case's header card."""
    user = update.effective_user
    assert user is not None
    t = context.staff_texts()
    case = await cases.get(context.db, int(raw_case_id)) if raw_case_id.isdigit() else None
    chat_id = context.config.staff_chat_id
    if case is None or case.topic_id is None or chat_id is None:
        await context.ack(update, t._("This button does not work any more."))
        return
    await context.ack(update)
    await _start(update, context, user.id, chat_id, case.topic_id, case.id)


async def _save(update: Update, context: BotContext, t: Texts, form: StaffTipForm) -> None:
    """Store the tip (with its card's task, and the resident's reference or a claim code) in
    one transaction, then tell staff its number."""
    STAFF_TIP.check(form.step, None)
    code: str | None = None
    if form.case_id is not None:
        source = TipSource.CASE
        reporter = await _case_reporter(context, form.case_id)
    else:
        source = TipSource.WALK_IN
        reporter = Reporter(None, context.config.default_language, None)
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    tip_id = await store.save_form(
        context.db, form.staff_user_id, source, reporter, code, context.now()
    )
    if tip_id is None:
        await answer_in_thread(update, context, t._("This button does not work any more."))
        return
    log.info("tip %s made by staff (%s)", tip_id, source.value)
    reference = tip_store.reference(tip_id)
    if source is TipSource.CASE:
        text = t._("✅ Tip {reference} saved.", reference=reference)
        if reporter.telegram_id is not None:
            text += "\n" + t._("The resident gets its number and news about it.")
    else:
        link = f"https://t.me/{context.bot.username}?start=claim-{code}"
        text = (
            t._("✅ Tip {reference} saved.", reference=reference)
            + "\n"
            + t._(
                "If the visitor wants news about it on Telegram, they open this link"
                " (it works once, for {days} days): {link}",
                days=CLAIM_VALID.days,
                link=link,
            )
        )
    await answer_in_thread(update, context, text)
    await outbox.send_pending(context)


async def _case_reporter(context: BotContext, case_id: int) -> Reporter:
    """The case's resident, named on the card only if they let staff see their name."""
    case = await cases.get(context.db, case_id)
    if case is None or case.resident_id is None:
        return Reporter(None, case.language if case else context.config.default_language, None)
    resident = await residents.get(context.db, case.resident_id)
    name = resident.first_name if resident and not case.anonymous else None
    language = resident.language if resident else case.language
    return Reporter(case.resident_id, language, name or None)


# --------------------------------------------------------------------------- the resident
async def claim_deep_link(update: Update, context: BotContext, code: str) -> None:
    """`t.me/<bot>?start=claim-CODE`: the walk-in visitor links the tip to themselves."""
    resident, t = await resident_and_texts(update, context)
    tip_id = await store.claim(
        context.db,
        code.strip().upper(),
        resident.telegram_id,
        context.now(),
        context.now() - CLAIM_VALID,
    )
    if tip_id is None:
        await answer(
            update,
            context,
            t._("This link does not work any more. Ask at the office for a new one."),
            main_menu(t),
        )
        return
    log.info("walk-in tip %s linked to its visitor", tip_id)
    await outbox.send_pending(context)


async def send_reference(context: BotContext, task: outbox.Task) -> int | None:
    """Sender of `tip-reference`: a tip staff made for a resident (from their case, or at the
    office) and its number, in the resident's language."""
    tip = await tip_store.get_tip(context.db, task.payload["tip_id"])
    if tip is None or tip.telegram_id != task.chat_id:
        return None
    resident = await residents.get(context.db, task.chat_id)
    t = context.texts(resident.language if resident else tip.language)
    chosen = find_category(tip.category)
    topic = t._(chosen.label) if chosen else tip.category
    text = (
        t._("📝 We made a tip from what you told us: {topic}.", topic=topic)
        + "\n"
        + t._("Your number is <b>{reference}</b>.", reference=tip.reference)
        + "\n"
        + t._("We will tell you here when something happens. See your tips: /mytips")
    )
    message = await send(context, task.chat_id, text)
    await tip_store.mark_thanked(context.db, tip.id, context.now())
    return message.message_id
