"""Inviting residents to a survey, through the delivery engine.

An invitation is a message nobody asked for, so it is rationed: at most one a week per
resident, never to someone who already answered, and never while a feature says the resident
is busy (in the middle of a conversation; see `bot/conversations.py`). Invitations are
recorded together with their outbox rows' edition, so a second run invites nobody twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.context import BotData
from bot.delivery import DeliveryReport, OutboxItem, deliver, delivery_bot, enqueue
from bot.i18n import Texts
from bot.surveys.answering import question_keyboard, question_text, title_of
from storage import outbox, residents
from storage import surveys as store
from storage.surveys import Survey

log = logging.getLogger(__name__)

#: Nobody gets more than one survey invitation in this time.
INVITATION_GAP = timedelta(days=7)
EDITION_PREFIX = "survey-"


@dataclass(frozen=True)
class Invitations:
    """Who is invited, and how many were left out and why."""

    invited: list[int]
    #: answered this survey already, or were invited to it before
    already: int = 0
    recently_invited: int = 0
    busy: int = 0
    unknown: int = 0

    @property
    def skipped(self) -> int:
        return self.already + self.recently_invited + self.busy + self.unknown


async def choose(
    data: BotData, survey: Survey, candidates: Iterable[int], now: datetime
) -> Invitations:
    """Decide who may be invited to `survey` now (the rules in the module docstring)."""
    db = data.db
    invited: list[int] = []
    already = recent = busy = unknown = 0
    for resident_id in dict.fromkeys(candidates):
        if await residents.get(db, resident_id) is None:
            unknown += 1
        elif await store.has_answered(db, survey.id, resident_id) or await store.was_invited(
            db, survey.id, resident_id
        ):
            already += 1
        elif await store.invited_since(db, resident_id, now - INVITATION_GAP):
            recent += 1
        elif await _is_busy(data, resident_id):
            busy += 1
        else:
            invited.append(resident_id)
    return Invitations(invited, already, recent, busy, unknown)


async def _is_busy(data: BotData, resident_id: int) -> bool:
    # Imported here: the list of conversations imports this feature's modules.
    from bot.conversations import is_busy

    return await is_busy(data, resident_id)


def invitation_message(
    t: Texts, survey: Survey, default_language: str
) -> tuple[str, InlineKeyboardMarkup]:
    """An ordinary survey's invitation: what it is about, and one button to start."""
    text = t._(
        "We have a short survey for you: <b>{title}</b>\nIt takes about one minute. 💬",
        title=title_of(survey, t, default_language),
    )
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(t._("▶️ Start"), callback_data=f"sv:go:{survey.id}")]]
    )
    return text, keyboard


def first_question_message(
    t: Texts, survey: Survey, default_language: str, intro: str
) -> tuple[str, InlineKeyboardMarkup]:
    """Feedback: the invitation is the first question itself, so one tap answers it."""
    question = survey.questions[0]
    text = intro + "\n\n" + question_text(t, survey, question, default_language)
    return text, question_keyboard(t, survey, question, default_language)


async def enqueue_invitations(
    data: BotData,
    survey: Survey,
    chosen: Invitations,
    now: datetime,
    *,
    first_question_intro: dict[str, str] | None = None,
) -> str:
    """Write the invitations to the outbox and record them; return the edition to deliver.

    The outbox rows come first: if the process dies in between, running again adds no rows
    (same edition) and records the invitations then.
    """
    default = data.config.default_language
    edition = f"{EDITION_PREFIX}{survey.id}"
    items = []
    for resident_id in chosen.invited:
        resident = await residents.get(data.db, resident_id)
        language = resident.language if resident else default
        t = data.catalogs.texts(language)
        if first_question_intro is not None:
            intro = first_question_intro.get(t.language) or first_question_intro[default]
            text, keyboard = first_question_message(t, survey, default, intro)
        else:
            text, keyboard = invitation_message(t, survey, default)
        items.append(
            OutboxItem(
                chat_id=resident_id,
                text=text,
                reply_markup=keyboard.to_dict(),
                resident_id=resident_id,
            )
        )
    await enqueue(data.db, edition, items, now)
    async with data.db.transaction() as tx:
        await store.record_invitations(tx, survey.id, chosen.invited, now)
    log.info("survey %s: %d invitations queued", survey.id, len(items))
    return edition


async def deliver_invitations(data: BotData, edition: str | None = None) -> list[DeliveryReport]:
    """Send queued invitations (one edition, or every survey edition still pending)."""
    editions = [edition] if edition else await pending_editions(data)
    reports = []
    async with delivery_bot(data.config) as bot:
        for name in editions:
            reports.append(await deliver(bot, data.db, name, rate=data.config.delivery_rate))
    return reports


async def pending_editions(data: BotData) -> list[str]:
    rows = await outbox.pending(data.db)
    return sorted({row.edition for row in rows if row.edition.startswith(EDITION_PREFIX)})
