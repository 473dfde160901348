"""The weekly digest: who gets what, rendered once per language and choice, sent through the
delivery engine as one edition per ISO week (so a second run in the same week sends nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.activities.importer import extend_recurring
from bot.activities.render import Part, coming_week, render_list
from bot.config import Config
from bot.delivery import DeliveryReport, OutboxItem, ProgressCallback, deliver
from bot.i18n import Catalogs, Texts
from storage import activities, outbox
from storage.activities import ALL, Activity
from storage.db import Database

log = logging.getLogger(__name__)

#: How long after a new time or place the digest still marks it.
MOVED_MARKED_FOR = timedelta(days=7)

#: The outbox kind whose 403 ends the digest subscription (storage/activities.py).
ON_BLOCKED = "digest"


def edition_name(now: datetime, config: Config) -> str:
    """`digest-2026-W48`: one edition per ISO week of the district's calendar."""
    year, week, _ = now.astimezone(config.timezone).isocalendar()
    return f"digest-{year}-W{week:02d}"


def digest_header(t: Texts) -> str:
    return t._("📅 <b>Activities in the coming week</b>")


def digest_footer(t: Texts) -> str:
    return t._("Change what you get: /subscribe\nStop the weekly list: /unsubscribe")


def render_digest(
    t: Texts, items: list[Activity], config: Config, *, buttons: bool = True
) -> list[Part]:
    return render_list(
        t,
        items,
        config.timezone,
        header=digest_header(t),
        footer=digest_footer(t) if buttons else "",
        buttons=buttons,
    )


@dataclass
class Edition:
    name: str
    items: list[OutboxItem]
    subscribers: int
    #: How many times a digest was rendered: once per (language, age groups), not per person.
    renders: int


@dataclass
class Plan:
    """An edition before it is written: each subscriber choice's messages, rendered once."""

    name: str
    parts: dict[tuple[str, str], list[tuple[str, dict[str, Any] | None]]]
    choices: list[activities.SubscriberChoice]
    #: The public channel's list (no buttons), if there is a channel.
    channel: list[OutboxItem]
    renders: int

    @property
    def subscribers(self) -> int:
        return sum(choice.subscribers for choice in self.choices)


async def plan_edition(db: Database, catalogs: Catalogs, config: Config, now: datetime) -> Plan:
    """Render this week's digest once per (language, age-group choice) of the subscribers."""
    start, end = coming_week(now, config.timezone)
    # Cancelled ones too, marked: a family that saw it last week does not go to a locked door.
    # A new time or place is marked in the first digest after the change, not for ever.
    coming = [
        a
        if a.notice != "moved" or (a.notice_at and now - a.notice_at < MOVED_MARKED_FOR)
        else replace(a, notice="")
        for a in await activities.listed_or_cancelled_between(db, start, end)
    ]
    # Per (language, choice): each part's text and keyboard, built once and shared by every
    # subscriber with that choice (the outbox stores each distinct message once).
    rendered: dict[tuple[str, frozenset[str]], list[tuple[str, dict[str, Any] | None]]] = {}
    parts = {}
    choices = await activities.subscriber_choices(db)
    for choice in choices:
        key = (catalogs.texts(choice.language).language, choice.age_groups)
        if key not in rendered:
            matching = [a for a in coming if a.matches(choice.age_groups)]
            texts = catalogs.texts(key[0])
            made = render_digest(texts, matching, config) if matching else []
            rendered[key] = [(part.text, part.reply_markup) for part in made]
        parts[(choice.language, choice.stored_age_groups)] = rendered[key]
    renders = len(rendered)
    channel: list[OutboxItem] = []
    if config.channel_id is not None and coming:
        t = catalogs.texts(config.default_language)
        renders += 1
        for number, part in enumerate(render_digest(t, coming, config, buttons=False)):
            channel.append(OutboxItem(chat_id=config.channel_id, part=number, text=part.text))
    return Plan(edition_name(now, config), parts, choices, channel, renders)


async def build_edition(
    db: Database, catalogs: Catalogs, config: Config, now: datetime
) -> Edition:
    """Every subscriber's parts (and the channel's) as items: the plan spelt out per person
    (previews and tests; `prepare_edition` lets the database spell it out)."""
    plan = await plan_edition(db, catalogs, config, now)
    items: list[OutboxItem] = []
    by_codes = {
        (c.language, c.age_groups): plan.parts[(c.language, c.stored_age_groups)]
        for c in plan.choices
    }
    for subscriber in await activities.active_subscribers(db):
        choice = by_codes[(subscriber.language, subscriber.age_groups)]
        for number, (text, markup) in enumerate(choice):
            items.append(
                OutboxItem(
                    chat_id=subscriber.telegram_id,
                    part=number,
                    text=text,
                    reply_markup=markup,
                    resident_id=subscriber.telegram_id,
                    on_blocked=ON_BLOCKED,
                )
            )
    items.extend(plan.channel)
    return Edition(plan.name, items, plan.subscribers, plan.renders)


async def prepare_edition(db: Database, catalogs: Catalogs, config: Config, now: datetime) -> str:
    """Write this week's edition into the outbox, once; return its name. Nothing is sent.

    Every row is committed before the first message goes out, so a crash while sending loses
    nothing and a second run in the same week adds nothing. The messages are rendered once
    per choice; the database makes the rows (one per subscriber and part) in one statement.
    """
    name = edition_name(now, config)
    if await outbox.edition_exists(db, name):
        return name
    await extend_recurring(db, config.timezone, now)
    plan = await plan_edition(db, catalogs, config, now)
    added = await activities.enqueue_digest(db, name, plan.parts, plan.channel, now, ON_BLOCKED)
    log.info(
        "digest %s: %d messages for %d subscribers (%d renders)",
        name,
        added,
        plan.subscribers,
        plan.renders,
    )
    return name


async def send_digest(
    bot: Bot,
    db: Database,
    catalogs: Catalogs,
    config: Config,
    now: datetime,
    *,
    on_progress: ProgressCallback | None = None,
    on_total: Callable[[int], object] | None = None,
) -> tuple[str, DeliveryReport]:
    """Enqueue this week's edition (once) and deliver what is still pending of it."""
    name = await prepare_edition(db, catalogs, config, now)
    if on_total is not None:
        on_total((await outbox.counts(db, name)).pending)
    report = await deliver(bot, db, name, rate=config.delivery_rate, on_progress=on_progress)
    if report.total:
        await send_summary(bot, catalogs, config, name, report)
    return name, report


def summary_text(t: Texts, name: str, report: DeliveryReport) -> str:
    return t._(
        "📬 Weekly digest {edition}: {sent} sent, {blocked} blocked, {failed} failed.",
        edition=name,
        sent=report.sent,
        blocked=report.blocked,
        failed=report.failed,
    )


async def send_summary(
    bot: Bot, catalogs: Catalogs, config: Config, name: str, report: DeliveryReport
) -> None:
    if config.staff_chat_id is None:
        return
    t = catalogs.texts(config.default_language)
    try:
        await bot.send_message(
            config.staff_chat_id, summary_text(t, name, report), parse_mode=ParseMode.HTML
        )
    except TelegramError as error:
        log.warning("could not post the digest summary: %s", error)


def preview_parts(t: Texts, items: list[Activity], config: Config) -> list[Part]:
    """What staff see with /digest: the full list, as a subscriber to everything gets it."""
    matching = [a for a in items if a.matches(frozenset({ALL}))]
    return render_digest(t, matching, config)
