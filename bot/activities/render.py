"""Turning activities into messages and calendar files: plain functions, no Telegram calls.

A digest is rendered once per (language, age groups) and shared by every subscriber with the
same choice. It is split into parts that fit Telegram's 4096 characters and keep a day
together; a day too long on its own is split between activities.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from bot.i18n import N_, Texts
from bot.render import fit, plain_length
from storage.activities import AGE_GROUPS, ALL, Activity

MESSAGE_LIMIT = 4096
#: Buttons per message: two per activity; more becomes hard to use on a phone.
MAX_ACTIVITIES_PER_PART = 20
DESCRIPTION_LIMIT = 220

AGE_GROUP_LABELS = {
    "0-1": N_("0–1 years"),
    "2-5": N_("2–5 years"),
    "6-12": N_("6–12 years"),
    "13-18": N_("13–18 years"),
    "adults": N_("Adults"),
    ALL: N_("All ages"),
}
assert set(AGE_GROUPS) | {ALL} == set(AGE_GROUP_LABELS)


@dataclass
class Part:
    """One message: HTML text and its inline keyboard (as Telegram's JSON)."""

    text: str
    buttons: list[list[dict[str, str]]] = field(default_factory=list)

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return {"inline_keyboard": self.buttons} if self.buttons else None


def coming_week(now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """From now to the end of the 7th local day (today and the next six days)."""
    local = now.astimezone(tz)
    end_day = local.date() + timedelta(days=7)
    return now, datetime.combine(end_day, time(0, 0), tzinfo=tz)


def age_groups_text(t: Texts, groups: frozenset[str]) -> str:
    if not groups or ALL in groups:
        return t._(AGE_GROUP_LABELS[ALL])
    return t.format_list(t._(AGE_GROUP_LABELS[code]) for code in AGE_GROUPS if code in groups)


def _shorten(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _is_all_day(activity: Activity, tz: tzinfo) -> bool:
    start = activity.starts_at.astimezone(tz)
    return start.time() == time(0, 0) and activity.ends_at - activity.starts_at >= timedelta(
        hours=23
    )


def _when(t: Texts, activity: Activity, tz: tzinfo) -> str:
    if _is_all_day(activity, tz):
        return t._("All day")
    return t._(
        "{start}–{end}", start=t.time(activity.starts_at, tz), end=t.time(activity.ends_at, tz)
    )


def when_lines(t: Texts, activity: Activity, tz: tzinfo) -> list[str]:
    """Day, time and place, for a reminder or a notice that stands on its own."""
    lines = [
        t._("<b>📆 {day}</b>", day=t.weekday_date(activity.starts_at, tz)),
        t._("🕒 {time}", time=_when(t, activity, tz)),
    ]
    if activity.place:
        lines.append(t._("📍 {place}", place=activity.place))
    return lines


#: What a list says of an activity that changed after residents were told of it.
NOTICE_MARKS = {"cancelled": N_("❌ Cancelled"), "moved": N_("🔁 New time or place")}


def render_activity(t: Texts, activity: Activity, tz: tzinfo, number: int | None) -> str:
    """One activity as a few short lines: number and title, time and place, who and price."""
    title = activity.title_in(t.language)
    lines = [
        t._("<b>{number}. {title}</b>", number=number, title=title)
        if number is not None
        else t._("<b>{title}</b>", title=title)
    ]
    mark = "cancelled" if activity.cancelled else activity.notice
    if mark in NOTICE_MARKS:
        lines.append(t._(NOTICE_MARKS[mark]))
    lines.append(t._("🕒 {time}", time=_when(t, activity, tz)))
    if activity.place:
        lines.append(t._("📍 {place}", place=activity.place))
    details = [t._("For: {groups}", groups=age_groups_text(t, activity.age_groups))]
    details.append(t._("Price: {price}", price=activity.price) if activity.price else t._("Free"))
    lines.append(t._("👪 {details}", details=" · ".join(details)))
    if activity.languages:
        names = [t.locale.languages.get(code, code) for code in activity.languages]
        lines.append(t._("🗣 Languages: {languages}", languages=t.format_list(names)))
    description = _shorten(activity.description_in(t.language))
    if description:
        lines.append(t._("{description}", description=description))
    return "\n".join(lines)


def activity_buttons(t: Texts, activity: Activity, number: int) -> list[dict[str, str]]:
    return [
        {
            "text": t._("✋ {number}: I'm going", number=number),
            "callback_data": f"act:go:{activity.id}",
        },
        {
            "text": t._("📅 {number}: Add to calendar", number=number),
            "callback_data": f"act:ics:{activity.id}",
        },
    ]


def render_list(
    t: Texts,
    items: Sequence[Activity],
    tz: tzinfo,
    *,
    header: str,
    footer: str = "",
    buttons: bool = True,
) -> list[Part]:
    """Activities grouped by local day, split into parts at day boundaries when needed."""
    blocks: list[tuple[str, list[tuple[str, list[dict[str, str]]]]]] = []
    number = 0
    for day, day_items in groupby(items, key=lambda a: a.starts_at.astimezone(tz).date()):
        heading = t._("<b>📆 {day}</b>", day=t.weekday_date(day))
        entries = []
        for activity in day_items:
            number += 1
            entries.append(
                (
                    render_activity(t, activity, tz, number),
                    activity_buttons(t, activity, number)
                    if buttons and not activity.cancelled
                    else [],
                )
            )
        blocks.append((heading, entries))
    parts: list[Part] = []
    current = Part(header)
    count = 0

    def fits(extra: str, extra_count: int) -> bool:
        # Telegram counts UTF-16 units of the parsed text (tags do not count, emoji twice).
        size = plain_length(_join(_join(current.text, extra), footer))
        return size <= MESSAGE_LIMIT and count + extra_count <= MAX_ACTIVITIES_PER_PART

    for heading, entries in blocks:
        day_text = "\n\n".join([heading, *(text for text, _ in entries)])
        if not fits(day_text, len(entries)) and count > 0:
            parts.append(current)
            current, count = Part(""), 0
        if fits(day_text, len(entries)):
            current.text = _join(current.text, day_text)
            current.buttons.extend(row for _, row in entries if row)
            count += len(entries)
            continue
        # A day too long for one message: split it between activities.
        current.text = _join(current.text, heading)
        for text, row in entries:
            if not fits(text, 1) and count > 0:
                parts.append(current)
                current, count = Part(heading), 0
            current.text = _join(current.text, fit(text, MESSAGE_LIMIT // 2))
            if row:
                current.buttons.append(row)
            count += 1
    if footer:
        current.text = _join(current.text, footer)
    parts.append(current)
    return [part for part in parts if part.text.strip()]


def _join(first: str, second: str) -> str:
    return f"{first}\n\n{second}" if first else second


# --- calendar files ---
def calendar_file(activity: Activity, tz: ZoneInfo, language: str) -> tuple[bytes, str]:
    """A small .ics with one event and a VTIMEZONE, so phones show the right local time."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Stikk innom//activities//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("METHOD", "PUBLISH")
    event = icalendar.Event()
    event.add("UID", f"activity-{activity.id}@stikk-innom")
    event.add("DTSTAMP", activity.starts_at)
    event.add("DTSTART", activity.starts_at.astimezone(tz))
    event.add("DTEND", activity.ends_at.astimezone(tz))
    event.add("SUMMARY", activity.title_in(language))
    if activity.place:
        event.add("LOCATION", activity.place)
    description = activity.description_in(language)
    if description:
        event.add("DESCRIPTION", description)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", activity.title).strip("-").lower()[:40] or "activity"
    return calendar.to_ical(), f"{slug}.ics"
