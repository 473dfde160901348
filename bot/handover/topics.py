"""Case topics in the staff chat: created on a case's first message, with a header card, and
created again when staff deleted the old one, so that no message is lost.

Staff-facing text is in the district's default language.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.context import BotContext, BotData
from bot.handover.availability import mark_unusable
from bot.i18n import Texts
from bot.outbox import in_topic
from bot.telegram_errors import Outcome, classify
from storage import case_labels, cases, residents
from storage.cases import Case

log = logging.getLogger(__name__)

#: What a send returns: a Message, or a MessageId for a copy.
Sent = TypeVar("Sent")

#: Telegram's limit for a topic name.
TOPIC_NAME_LIMIT = 128
CLOSED_MARK = "✅ "


def language_name(t: Texts, code: str) -> str:
    """The resident's language as staff call it ("urdu"), from the locale data."""
    return str(t.locale.languages.get(code, code))


def topic_name(case: Case, first_name: str | None, t: Texts, labels: Sequence[str] = ()) -> str:
    """`S-0042 · urdu · Amina · 🙋 Kari · #paths`: the topic's header, enough to find a case
    in the topic list at a glance and to see who has it and what it is about."""
    who = first_name if first_name and not case.anonymous else t._("anonymous")
    name = f"{case.number} · {language_name(t, case.language)} · {who}"
    if case.assigned_name:
        name += f" · 🙋 {case.assigned_name}"
    if labels:
        name += " · " + " ".join(f"#{label}" for label in labels)
    if not case.is_open:
        name = CLOSED_MARK + name
    return name[:TOPIC_NAME_LIMIT]


def assign_keyboard(t: Texts, case: Case) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t._("🙋 I'll take it"), callback_data=f"case:assign:{case.id}")],
            # bot/tips/staff_form.py: what the resident described becomes a tracked tip.
            [InlineKeyboardButton(t._("📝 Make a tip"), callback_data=f"tipf:case:{case.id}")],
        ]
    )


async def earlier_cases_part(data: BotData, resident_id: int, t: Texts) -> list[str]:
    """Header line: the resident's earlier cases, so staff see the history at once."""
    current = await cases.open_case_of(data.db, resident_id)
    before = current.id if current else 1 << 62
    earlier = await cases.earlier_cases(data.db, resident_id, before)
    if not earlier:
        return [t._("Earlier cases: none")]
    numbers = t.format_list(case.number for case in earlier[:5])
    return [t._("Earlier cases: {count} ({numbers})", count=len(earlier), numbers=numbers)]


async def header_card(context: BotContext, case: Case, *, replacing: bool) -> str:
    t = context.staff_texts()
    resident = await residents.get(context.db, case.resident_id) if case.resident_id else None
    who = (
        resident.first_name
        if resident and resident.first_name and not case.anonymous
        else t._("anonymous")
    )
    lines = [
        t._("💬 <b>Case {number}</b>", number=case.number),
        t._("Language: {language}", language=language_name(t, case.language)),
        t._("Name: {name}", name=who),
        t._(
            "Opened: {when}",
            when=t.datetime(case.opened_at, context.config.timezone, fmt="short"),
        ),
    ]
    if case.resident_id is not None:
        for part in context.bot_data.case_header_parts:
            try:
                lines.extend(await part(context.bot_data, case.resident_id, t))
            except Exception:  # one broken part must not stop the case from opening
                log.exception("a case header part failed")
    lines.append("")
    if replacing:
        lines.append(t._("The earlier topic of this case was deleted; the case goes on here."))
    lines.append(
        t._(
            "Everything you write in this topic goes to the resident (your name stays hidden)."
            " /note TEXT: internal note. /close: end the case."
        )
    )
    return "\n".join(lines)


async def create_case_topic(context: BotContext, case_id: int, *, replacing: bool) -> int:
    """Create the forum topic of a case, store it, post the header; return the thread id.

    Raises TelegramError if Telegram refuses; a refusal only the operator can fix (not a forum,
    no rights) also switches handover off until the next start.
    """
    case = await cases.get(context.db, case_id)
    assert case is not None
    t = context.staff_texts()
    resident = await residents.get(context.db, case.resident_id) if case.resident_id else None
    chat_id = context.config.staff_chat_id
    assert chat_id is not None
    try:
        topic = await context.bot.create_forum_topic(
            chat_id, topic_name(case, resident.first_name if resident else None, t)
        )
    except (BadRequest, Forbidden) as error:
        text = str(error).lower()
        if "not a forum" in text or "rights" in text or "admin" in text or "not found" in text:
            mark_unusable(context.bot_data, f"creating a case topic failed ({error})")
        raise
    thread_id = topic.message_thread_id
    await cases.set_topic(context.db, case.id, thread_id)
    log.info("case %s has topic %s", case.id, thread_id)
    card = await header_card(context, case, replacing=replacing)
    try:
        await context.bot.send_message(
            chat_id,
            card,
            parse_mode=ParseMode.HTML,
            message_thread_id=thread_id,
            reply_markup=assign_keyboard(t, case),
            disable_web_page_preview=True,
        )
    except TelegramError as error:
        log.warning("could not post the header of case %s: %s", case.id, error)
    return thread_id


async def send_to_case_topic(
    context: BotContext, case_id: int, send: Callable[[int], Awaitable[Sent]]
) -> Sent:
    """Send into the case's topic with `send(thread_id)`, creating the topic when needed.

    If staff deleted the topic, a new one is created for the case and the message goes there
    (`bot.outbox.in_topic`, the same handling as for tip categories). Other Telegram errors
    are raised to the caller.
    """
    case = await cases.get(context.db, case_id)
    assert case is not None

    async def current() -> int:
        if case.topic_id is not None:
            return case.topic_id
        return await create_case_topic(context, case_id, replacing=False)

    async def replace() -> int:
        log.warning("the topic of case %s is gone; creating a new one", case_id)
        return await create_case_topic(context, case_id, replacing=True)

    async def post(thread_id: int | None) -> Sent:
        assert thread_id is not None
        return await send(thread_id)

    return await in_topic(current, replace, post)


async def post_in_case_topic(
    context: BotContext,
    case_id: int,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Post the bot's own HTML text (from `Texts._`) in the case topic; None if it failed."""
    chat_id = context.config.staff_chat_id
    if chat_id is None:
        return None

    async def send(thread_id: int) -> Message:
        return await context.bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            message_thread_id=thread_id,
            reply_markup=keyboard,
            disable_web_page_preview=True,
        )

    try:
        return await send_to_case_topic(context, case_id, send)
    except TelegramError as error:
        log.warning("could not post in the topic of case %s: %s", case_id, error)
        return None


async def rename_case_topic(context: BotContext, case_id: int) -> None:
    """Keep the topic name in step with the case (anonymity, closed mark)."""
    case = await cases.get(context.db, case_id)
    chat_id = context.config.staff_chat_id
    if case is None or case.topic_id is None or chat_id is None:
        return
    t = context.staff_texts()
    resident = await residents.get(context.db, case.resident_id) if case.resident_id else None
    labels = await case_labels.of_case(context.db, case.id)
    try:
        await context.bot.edit_forum_topic(
            chat_id,
            case.topic_id,
            name=topic_name(case, resident.first_name if resident else None, t, labels),
        )
    except TelegramError as error:
        if classify(error).outcome is not Outcome.NOT_MODIFIED:
            log.info("could not rename the topic of case %s: %s", case_id, error)


async def close_case_topic(context: BotContext, case: Case) -> None:
    """Mark the topic as finished (name) and close it; a failure only costs tidiness."""
    await rename_case_topic(context, case.id)
    if case.topic_id is None or context.config.staff_chat_id is None:
        return
    try:
        await context.bot.close_forum_topic(context.config.staff_chat_id, case.topic_id)
    except TelegramError as error:
        log.info("could not close the topic of case %s: %s", case.id, error)
