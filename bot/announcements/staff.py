"""/announce in the staff chat: the text (in the staff language; lines such as `ar: ...` give
other languages), the audience (age groups, languages, or `going NUMBER`), when (now or a
time), then a preview in every audience language and a confirmation. The draft and its step
live in the `announcements` table, so a restart in the middle loses nothing.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.activities.forms import parse_start
from bot.activities.render import AGE_GROUP_LABELS
from bot.announcements import sending
from bot.announcements.sending import Audience
from bot.context import BotContext
from bot.i18n import SUPPORTED_LANGUAGES, Texts
from bot.staff_chat import answer_in_thread
from bot.steps import Flow, Move
from storage import activities
from storage import announcements as store
from storage.activities import AGE_GROUPS
from storage.announcements import Announcement


class AnnounceStep(StrEnum):
    """Stored in `announcements.step`."""

    TEXT = "text"  # the staff write the text
    AUDIENCE = "audience"  # age groups, languages, or those going to an activity
    WHEN = "when"  # now or a time
    CONFIRM = "confirm"  # the preview in every language: send or drop


S = AnnounceStep
ANNOUNCE = Flow(
    "announcement",
    (
        Move(None, S.TEXT, "/announce"),
        Move(S.TEXT, S.AUDIENCE, "the text"),
        Move(S.AUDIENCE, S.AUDIENCE, "an age group, a language, going NUMBER"),
        Move(S.AUDIENCE, S.WHEN, "next"),
        Move(S.WHEN, S.CONFIRM, "now, or a time"),
        Move(S.AUDIENCE, None, "drop"),
        Move(S.WHEN, None, "drop"),
        Move(S.CONFIRM, None, "send, or drop"),
    ),
)

_LANGUAGE_LINE = re.compile(r"^\s*([a-z]{2}(?:_[A-Z]{2})?)\s*:\s*(.*)$")
TIME_EXAMPLE = "2026-12-02 09:00"


def staff_texts(context: BotContext) -> Texts:
    return context.texts(context.config.staff_language)


def _thread_of(message: Message | None) -> int | None:
    return message.message_thread_id if message and message.is_topic_message else None


def split_texts(raw: str, staff_language: str) -> dict[str, str]:
    """The staff language's text, and lines `ar: ...` (and what follows them) for others."""
    texts: dict[str, list[str]] = {}
    current = staff_language
    for line in raw.splitlines():
        match = _LANGUAGE_LINE.match(line)
        if match and match.group(1) in SUPPORTED_LANGUAGES:
            current = match.group(1)
            line = match.group(2)
        texts.setdefault(current, []).append(line)
    return {code: "\n".join(lines).strip() for code, lines in texts.items() if "".join(lines)}


async def announce(update: Update, context: BotContext) -> None:
    """/announce: start a draft in this forum topic."""
    user = update.effective_user
    assert user is not None
    t = staff_texts(context)
    await store.start_draft(
        context.db, user.id, _thread_of(update.effective_message), ANNOUNCE.first, context.now()
    )
    await answer_in_thread(
        update,
        context,
        t._(
            "📣 Write the announcement in {language}. For other languages, add lines that "
            "start with the language code, for example: {example}",
            language=SUPPORTED_LANGUAGES[context.config.staff_language],
            example="ar: ...",
        ),
    )


def audience_keyboard(t: Texts, audience: Audience) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                ("✅ " if code in audience.ages else "") + t._(AGE_GROUP_LABELS[code]),
                callback_data=f"ann:age:{code}",
            )
            for code in AGE_GROUPS[i : i + 3]
        ]
        for i in range(0, len(AGE_GROUPS), 3)
    ]
    languages = [
        InlineKeyboardButton(
            ("✅ " if code in audience.languages else "") + code, callback_data=f"ann:lang:{code}"
        )
        for code in SUPPORTED_LANGUAGES
    ]
    rows += [languages[i : i + 6] for i in range(0, len(languages), 6)]
    rows.append(
        [
            InlineKeyboardButton(t._("All subscribers"), callback_data="ann:everyone"),
            InlineKeyboardButton(t._("Next"), callback_data="ann:next"),
        ]
    )
    rows.append([InlineKeyboardButton(t._("🗑 Drop"), callback_data="ann:drop")])
    return InlineKeyboardMarkup(rows)


def _audience(draft: Announcement) -> Audience:
    return Audience.from_dict(draft.audience, SUPPORTED_LANGUAGES)


def audience_text(t: Texts, audience: Audience, activity_title: str | None) -> str:
    parts = []
    if audience.ages:
        parts.append(
            t.format_list(t._(AGE_GROUP_LABELS[c]) for c in AGE_GROUPS if c in audience.ages)
        )
    if audience.languages:
        parts.append(t.format_list(SUPPORTED_LANGUAGES[c] for c in sorted(audience.languages)))
    if activity_title:
        parts.append(t._("going to «{title}»", title=activity_title))
    return "; ".join(parts) if parts else t._("All subscribers")


async def _ask_audience(update: Update, context: BotContext, draft: Announcement) -> None:
    t = staff_texts(context)
    audience = _audience(draft)
    title = None
    if audience.going is not None:
        activity = await activities.get(context.db, audience.going)
        title = activity.title if activity else None
    await answer_in_thread(
        update,
        context,
        t._(
            "Who gets it? Press age groups or languages, or write: going NUMBER (the "
            "activity's number). Now: {audience}. Then press «Next».",
            audience=audience_text(t, audience, title),
        ),
        keyboard=audience_keyboard(t, audience),
    )


def _when_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t._("Now"), callback_data="ann:now")],
            [InlineKeyboardButton(t._("🗑 Drop"), callback_data="ann:drop")],
        ]
    )


async def take_message(update: Update, context: BotContext) -> bool:
    """Staff chat route: the text, `going NUMBER` or the time of the staff member's draft."""
    message, user = update.effective_message, update.effective_user
    if message is None or message.text is None or user is None:
        return False
    if message.text.startswith("/"):
        return False
    draft = await store.draft_of(context.db, user.id)
    if draft is None or draft.thread_id != _thread_of(message):
        return False
    t = staff_texts(context)
    staff_language = context.config.staff_language
    if draft.step == S.TEXT:
        texts = split_texts(message.text, staff_language)
        if staff_language not in texts:
            return False
        if max(len(text) for text in texts.values()) > sending.TEXT_LIMIT:
            await answer_in_thread(
                update,
                context,
                t._(
                    "Please make the text shorter (at most {limit} characters).",
                    limit=sending.TEXT_LIMIT,
                ),
            )
            return True
        ANNOUNCE.check(draft.step, S.AUDIENCE)
        await store.update_draft(
            context.db, draft.id, step=S.AUDIENCE, texts=texts, audience=Audience().as_dict()
        )
        draft = await store.draft_of(context.db, user.id)
        assert draft is not None
        await _ask_audience(update, context, draft)
        return True
    if draft.step == S.AUDIENCE:
        match = re.fullmatch(r"\s*\S+\s+#?(\d+)\s*", message.text)
        activity = await activities.get(context.db, int(match.group(1))) if match else None
        if activity is None:
            await answer_in_thread(
                update,
                context,
                t._("Write: going NUMBER (the activity's number in /activity_list)."),
            )
            return True
        audience = _audience(draft)
        going = Audience(audience.ages, audience.languages, activity.id)
        await store.update_draft(context.db, draft.id, step=S.AUDIENCE, audience=going.as_dict())
        draft = await store.draft_of(context.db, user.id)
        assert draft is not None
        await _ask_audience(update, context, draft)
        return True
    if draft.step == S.WHEN:
        try:
            send_at = datetime.fromisoformat(
                parse_start(message.text, {}, context.config.timezone, context.now())
            )
        except ValueError:
            await answer_in_thread(
                update,
                context,
                t._("Not a time I understand. Write for example: {example}", example=TIME_EXAMPLE),
                keyboard=_when_keyboard(t),
            )
            return True
        await _preview(update, context, draft, send_at)
        return True
    return False


async def audience_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    t = staff_texts(context)
    draft = await store.draft_of(context.db, user.id)
    if draft is None or draft.step != S.AUDIENCE:
        await context.ack(update, t._("This button does not work any more."))
        return
    _, kind, code = query.data.split(":", 2)
    audience = _audience(draft)
    if kind == "age" and code in AGE_GROUPS:
        audience = Audience(audience.ages ^ {code}, audience.languages, audience.going)
    elif kind == "lang" and code in SUPPORTED_LANGUAGES:
        audience = Audience(audience.ages, audience.languages ^ {code}, audience.going)
    await store.update_draft(context.db, draft.id, step=S.AUDIENCE, audience=audience.as_dict())
    await context.ack(update)
    if query.message is not None:
        await query.edit_message_reply_markup(audience_keyboard(t, audience))


async def step_button(update: Update, context: BotContext) -> None:
    """«All subscribers», «Next», «Now», «Send» and «Drop»."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    t = staff_texts(context)
    choice = query.data.split(":", 1)[1]
    draft = await store.draft_of(context.db, user.id)
    allowed = {
        "everyone": {S.AUDIENCE},
        "next": {S.AUDIENCE},
        "now": {S.WHEN},
        "send": {S.CONFIRM},
        "drop": {S.AUDIENCE, S.WHEN, S.CONFIRM},
    }[choice]
    if draft is None or draft.step not in allowed:
        await context.ack(update, t._("This button does not work any more."))
        return
    if query.message is not None:
        await query.edit_message_reply_markup(None)
    if choice == "everyone":
        await store.update_draft(
            context.db, draft.id, step=S.AUDIENCE, audience=Audience().as_dict()
        )
        draft = await store.draft_of(context.db, user.id)
        assert draft is not None
        await _ask_audience(update, context, draft)
    elif choice == "next":
        ANNOUNCE.check(draft.step, S.WHEN)
        await store.update_draft(context.db, draft.id, step=S.WHEN)
        await answer_in_thread(
            update,
            context,
            t._(
                "When? Press «Now», or write a date and time, for example: {example}",
                example=TIME_EXAMPLE,
            ),
            keyboard=_when_keyboard(t),
        )
    elif choice == "now":
        await _preview(update, context, draft, context.now())
    elif choice == "drop":
        ANNOUNCE.check(draft.step, None)
        await store.cancel_draft(context.db, user.id)
        await answer_in_thread(update, context, t._("OK, the announcement is dropped."))
    else:
        await _confirm(update, context, draft)
    await context.ack(update)


async def _preview(
    update: Update, context: BotContext, draft: Announcement, send_at: datetime
) -> None:
    """The text in every audience language, as residents will read it, then «Send»."""
    t = staff_texts(context)
    ANNOUNCE.check(draft.step, S.CONFIRM)
    audience = _audience(draft)
    recipients = await sending.audience_of(context.db, audience, context.config, context.now())
    languages = set(audience.languages) or {r.language for r in recipients}
    languages.add(context.config.staff_language)
    texts, machine = await sending.texts_for(
        languages, draft.texts, context.config.staff_language, context.bot_data.translator
    )
    await store.update_draft(
        context.db, draft.id, step=S.CONFIRM, texts=texts, machine=machine, send_at=send_at
    )
    stored = await store.draft_of(context.db, draft.staff_id or 0)
    assert stored is not None
    draft = stored
    blocks = [
        t.n_(
            "📣 Preview: {count} resident gets this, at {time}.",
            "📣 Preview: {count} residents get this, at {time}.",
            len(recipients),
            time=send_at.astimezone(context.config.timezone).strftime("%Y-%m-%d %H:%M"),
        )
    ]
    staff_name = SUPPORTED_LANGUAGES[context.config.staff_language]
    for code in sorted(languages):
        reader = context.texts(code)
        if code in draft.machine:
            how = t._("machine translation")
        elif code in draft.texts:
            how = t._("written by staff")
        else:
            how = t._("not translated: the text in {language} with a note", language=staff_name)
        blocks.append(
            f"<b>{html.escape(SUPPORTED_LANGUAGES[code])}</b> ({how})\n"
            + sending.message_for(
                reader, draft, context.config.staff_language, SUPPORTED_LANGUAGES
            )
        )
    blocks.append(t._("Send it?"))
    # One message (split only when too long): the staff chat allows few messages a minute.
    await answer_in_thread(
        update,
        context,
        "\n\n".join(blocks),
        keyboard=InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(t._("✅ Send"), callback_data="ann:send")],
                [InlineKeyboardButton(t._("🗑 Drop"), callback_data="ann:drop")],
            ]
        ),
    )


async def _confirm(update: Update, context: BotContext, draft: Announcement) -> None:
    t = staff_texts(context)
    ANNOUNCE.check(draft.step, None)
    send_at = draft.send_at or context.now()
    await store.schedule(context.db, draft.id, send_at)
    if send_at <= context.now():
        await answer_in_thread(
            update, context, t._("📣 Announcement {number} is being sent.", number=draft.id)
        )
        from bot.announcements import send_due

        await send_due(context)
    else:
        await answer_in_thread(
            update,
            context,
            t._(
                "📣 Announcement {number} will be sent at {time}.",
                number=draft.id,
                time=send_at.astimezone(context.config.timezone).strftime("%Y-%m-%d %H:%M"),
            ),
        )
