"""Announcements: who gets one, its text in each language, and sending it.

The text of each language is written by staff (or in the file), or machine-translated from
the staff language through the language bridge (marked as such), or, without a translator,
the staff language's text with a note. Messages go through the delivery engine as the edition
`announcement-<id>`, so a restart in the middle sends nothing twice. Under each one a button
stops announcements (the weekly list is separate).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Bot

from bot.activities.ages import groups_on
from bot.bridge.translation import Translation, Translator
from bot.config import Config
from bot.delivery import DeliveryReport, OutboxItem, deliver, enqueue, post_to_staff_chat
from bot.i18n import Catalogs, Texts
from storage import announcements as store
from storage import outbox
from storage.activities import AGE_GROUPS, ALL
from storage.announcements import Announcement, Recipient
from storage.db import Database

log = logging.getLogger(__name__)

EDITION_PREFIX = "announcement-"
#: Room for the staff's words in one Telegram message, with the header and the note.
TEXT_LIMIT = 3500


class AudienceError(ValueError):
    """An audience that names an unknown age group or language."""


@dataclass(frozen=True)
class Audience:
    """Empty ages and languages mean everyone; `going` narrows to those going to an activity."""

    ages: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    going: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ages": sorted(self.ages),
            "languages": sorted(self.languages),
            "going": self.going,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], known_languages: Iterable[str]) -> Audience:
        ages = frozenset(str(code) for code in data.get("ages") or ())
        languages = frozenset(str(code) for code in data.get("languages") or ())
        wrong = sorted(ages - set(AGE_GROUPS) - {ALL})
        if wrong:
            raise AudienceError(
                f"unknown age group {', '.join(wrong)} (use {', '.join(AGE_GROUPS)})"
            )
        unknown = sorted(languages - set(known_languages))
        if unknown:
            raise AudienceError(f"unknown language {', '.join(unknown)}")
        going = data.get("going")
        if going is not None and not (isinstance(going, int) and going > 0):
            raise AudienceError("going must be an activity number")
        return cls(ages - {ALL}, languages, going)

    def takes(self, recipient: Recipient, today: Any) -> bool:
        if self.languages and recipient.language not in self.languages:
            return False
        if not self.ages:
            return True
        groups = groups_on(recipient.age_groups, recipient.birth_years, today)
        return ALL in groups or bool(groups & self.ages)


async def audience_of(
    db: Database, audience: Audience, config: Config, now: datetime
) -> list[store.Recipient]:
    today = now.astimezone(config.timezone).date()
    return [r for r in await store.recipients(db, audience.going) if audience.takes(r, today)]


async def texts_for(
    languages: Iterable[str],
    written: dict[str, str],
    staff_language: str,
    translator: Translator | None,
) -> tuple[dict[str, str], frozenset[str]]:
    """The text of every language: written, machine-translated (listed in the second value),
    or missing (the reader gets the staff language's text with a note)."""
    texts = dict(written)
    machine: set[str] = set()
    source = written.get(staff_language)
    for language in sorted(set(languages) - set(written)):
        if source is None or translator is None:
            continue
        result = await translator.translate(source, staff_language, language)
        if isinstance(result, Translation):
            texts[language] = result.text
            machine.add(language)
    return texts, frozenset(machine)


def message_for(
    t: Texts, announcement: Announcement, staff_language: str, languages: dict[str, str]
) -> str:
    """What a resident reads: the text in their language, and a note if a machine wrote it
    or it is not in their language."""
    text = announcement.texts.get(t.language)
    note = ""
    if text is None:
        text = announcement.texts.get(staff_language) or next(iter(announcement.texts.values()))
        note = t._(
            "The district office wrote this in {language}; it is not translated yet.",
            language=languages.get(staff_language, staff_language),
        )
    elif t.language in announcement.machine:
        note = t._("Translated by a machine.")
    body = t._("<b>From the district office:</b>\n{text}", text=text)
    return body + (f"\n\n<i>{note}</i>" if note else "")


def stop_button(t: Texts) -> dict[str, Any]:
    return {
        "inline_keyboard": [[{"text": t._("🔕 Stop announcements"), "callback_data": "ann:off"}]]
    }


async def prepare(
    db: Database,
    catalogs: Catalogs,
    config: Config,
    announcement: Announcement,
    languages: dict[str, str],
    now: datetime,
) -> tuple[str, int]:
    """Write the announcement's messages into the outbox once and mark it sent."""
    edition = f"{EDITION_PREFIX}{announcement.id}"
    added = 0
    if not await outbox.edition_exists(db, edition):
        audience = Audience.from_dict(announcement.audience, languages)
        items = []
        for recipient in await audience_of(db, audience, config, now):
            t = catalogs.texts(recipient.language)
            items.append(
                OutboxItem(
                    chat_id=recipient.telegram_id,
                    text=message_for(t, announcement, config.staff_language, languages),
                    reply_markup=stop_button(t),
                    resident_id=recipient.telegram_id,
                )
            )
        added = await enqueue(db, edition, items, now)
    async with db.transaction() as tx:
        await store.mark_sent(tx, announcement.id, now)
    return edition, added


async def send(
    bot: Bot,
    db: Database,
    catalogs: Catalogs,
    config: Config,
    announcement: Announcement,
    languages: dict[str, str],
    now: datetime,
) -> DeliveryReport:
    """Enqueue (once) and deliver, with the progress posted in the staff chat."""
    edition, _ = await prepare(db, catalogs, config, announcement, languages, now)
    report = await deliver(bot, db, edition, rate=config.delivery_rate)
    await post_summary(bot, catalogs, config, announcement.id, report)
    return report


def summary_text(t: Texts, number: int, report: DeliveryReport) -> str:
    return t._(
        "📣 Announcement {number}: {sent} sent, {blocked} blocked, {failed} failed.",
        number=number,
        sent=report.sent,
        blocked=report.blocked,
        failed=report.failed,
    )


async def post_summary(
    bot: Bot, catalogs: Catalogs, config: Config, number: int, report: DeliveryReport
) -> None:
    t = catalogs.texts(config.staff_language)
    await post_to_staff_chat(bot, config, summary_text(t, number, report), "announcement summary")
