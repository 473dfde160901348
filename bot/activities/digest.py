"""The weekly digest: who gets what, rendered once per language and choice, sent through the
delivery engine as one edition per ISO week (so a second run in the same week sends nothing).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot

from bot.activities.ages import groups_on
from bot.activities.importer import extend_recurring
from bot.activities.render import Part, coming_week, render_list
from bot.config import Config
from bot.delivery import (
    DeliveryReport,
    OutboxItem,
    ProgressCallback,
    deliver,
    post_to_staff_chat,
)
from bot.i18n import Catalogs, Raw, Texts
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


def channel_footer(t: Texts, bot_username: str | None) -> str:
    """Under the public channel's list: a link to the bot, which shows the list in the
    resident's own language (`/start digest`)."""
    if not bot_username:
        return ""
    link = f"https://t.me/{bot_username}?start=digest"
    return t._(
        "🌍 This list in your language: {link}",
        link=Raw(f'<a href="{html.escape(link)}">@{html.escape(bot_username)}</a>'),
    )


def render_digest(
    t: Texts,
    items: list[Activity],
    config: Config,
    *,
    buttons: bool = True,
    bot_username: str | None = None,
) -> list[Part]:
    return render_list(
        t,
        items,
        config.timezone,
        header=digest_header(t),
        footer=digest_footer(t) if buttons else channel_footer(t, bot_username),
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
    parts: dict[tuple[str, str, str], list[tuple[str, dict[str, Any] | None]]]
    choices: list[activities.SubscriberChoice]
    #: The public channel's list (no buttons), if there is a channel.
    channel: list[OutboxItem]
    renders: int

    @property
    def subscribers(self) -> int:
        return sum(choice.subscribers for choice in self.choices)


async def plan_edition(
    db: Database,
    catalogs: Catalogs,
    config: Config,
    now: datetime,
    bot_username: str | None = None,
) -> Plan:
    """Render this week's digest once per (language, age groups) the subscribers need.

    The age groups of a family that gave birth years are worked out here, on the send date:
    a child born in 2025 is in 0–1 until the end of 2026 and in 2–5 from January 2027.
    """
    today = now.astimezone(config.timezone).date()
    start, end = coming_week(now, config.timezone)
    # Cancelled ones too, marked: a family that saw it last week does not go to a locked door.
    # A new time or place is marked in the first digest after the change, not for ever.
    coming = [
        a
        if a.notice != "moved" or (a.notice_at and now - a.notice_at < MOVED_MARKED_FOR)
        else replace(a, notice="")
        for a in await activities.listed_or_cancelled_between(db, start, end)
    ]
    # Per (language, age groups): each part's text and keyboard, built once and shared by every
    # subscriber with that choice (the outbox stores each distinct message once).
    rendered: dict[tuple[str, frozenset[str]], list[tuple[str, dict[str, Any] | None]]] = {}
    parts = {}
    choices = await activities.subscriber_choices(db)
    for choice in choices:
        groups = groups_on(choice.age_groups, choice.birth_years, today)
        key = (catalogs.texts(choice.language).language, groups)
        if key not in rendered:
            matching = [a for a in coming if a.matches(groups)]
            texts = catalogs.texts(key[0])
            made = render_digest(texts, matching, config) if matching else []
            rendered[key] = [(part.text, part.reply_markup) for part in made]
        stored = (choice.language, choice.stored_age_groups, choice.stored_birth_years)
        parts[stored] = rendered[key]
    renders = len(rendered)
    channel: list[OutboxItem] = []
    if config.channel_id is not None and coming:
        t = catalogs.texts(config.default_language)
        renders += 1
        made = render_digest(t, coming, config, buttons=False, bot_username=bot_username)
        for number, part in enumerate(made):
            channel.append(OutboxItem(chat_id=config.channel_id, part=number, text=part.text))
    return Plan(edition_name(now, config), parts, choices, channel, renders)


async def build_edition(
    db: Database,
    catalogs: Catalogs,
    config: Config,
    now: datetime,
    bot_username: str | None = None,
) -> Edition:
    """Every subscriber's parts (and the channel's) as items: the plan spelt out per person
    (previews and tests; `prepare_edition` lets the database spell it out)."""
    plan = await plan_edition(db, catalogs, config, now, bot_username)
    items: list[OutboxItem] = []
    by_choice = {
        (c.language, c.age_groups, c.birth_years): plan.parts[
            (c.language, c.stored_age_groups, c.stored_birth_years)
        ]
        for c in plan.choices
    }
    for subscriber in await activities.active_subscribers(db):
        key = (subscriber.language, subscriber.age_groups, subscriber.birth_years)
        for number, (text, markup) in enumerate(by_choice.get(key, [])):
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


async def prepare_edition(
    db: Database,
    catalogs: Catalogs,
    config: Config,
    now: datetime,
    bot_username: str | None = None,
) -> str:
    """Write this week's edition into the outbox, once; return its name. Nothing is sent.

    Every row is committed before the first message goes out, so a crash while sending loses
    nothing and a second run in the same week adds nothing. The messages are rendered once
    per choice; the database makes the rows (one per subscriber and part) in one statement.
    """
    name = edition_name(now, config)
    if await outbox.edition_exists(db, name):
        return name
    await extend_recurring(db, config.timezone, now)
    plan = await plan_edition(db, catalogs, config, now, bot_username)
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
    name = await prepare_edition(db, catalogs, config, now, _username(bot))
    if on_total is not None:
        on_total((await outbox.counts(db, name)).pending)
    report = await deliver(bot, db, name, rate=config.delivery_rate, on_progress=on_progress)
    if report.total:
        await send_summary(bot, catalogs, config, name, report)
    return name, report


def _username(bot: Bot) -> str | None:
    """The bot's username, known from getMe once the Bot is initialized."""
    try:
        return bot.username
    except RuntimeError:
        return None


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
    t = catalogs.texts(config.default_language)
    await post_to_staff_chat(bot, config, summary_text(t, name, report), "digest summary")


def preview_parts(t: Texts, items: list[Activity], config: Config) -> list[Part]:
    """What staff see with /digest: the full list, as a subscriber to everything gets it."""
    matching = [a for a in items if a.matches(frozenset({ALL}))]
    return render_digest(t, matching, config)
