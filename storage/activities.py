"""Activities, "I'm going", digest subscriptions and volunteer organisers.

An *activity* is one dated happening (a weekly baby meetup gives one row per week); its
*series* says where it came from (an iCalendar UID, a CSV row, staff, an organiser) and
whether it is listed. Imports are idempotent: a series is updated in place by its UID, and an
occurrence by its original start, so "I'm going" marks survive re-imports.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storage.db import Database, Transaction

#: Children's age groups (and adults), the codes stored and used in CSV files.
AGE_GROUPS = ("0-1", "2-5", "6-12", "13-18", "adults")
#: A subscription to everything.
ALL = "all"
#: The adults' activities (a family without children, or whose children have grown up).
ADULTS = "adults"


@dataclass(frozen=True)
class Occurrence:
    """What an import or a form produces for one dated happening."""

    occurrence: datetime  # the original start (RECURRENCE-ID), identifies it across imports
    starts_at: datetime
    ends_at: datetime
    title: str
    description: str = ""
    place: str = ""
    organiser: str = ""
    category: str = ""
    age_groups: frozenset[str] = frozenset()
    languages: tuple[str, ...] = ()
    price: str = ""
    translations: dict[str, dict[str, str]] = field(default_factory=dict)
    cancelled: bool = False


@dataclass(frozen=True)
class Activity:
    id: int
    series_uid: str
    status: str
    starts_at: datetime
    ends_at: datetime
    title: str
    description: str
    place: str
    organiser: str
    category: str
    age_groups: frozenset[str]
    languages: tuple[str, ...]
    price: str
    translations: dict[str, dict[str, str]]
    cancelled: bool
    proposed_by: int | None = None

    def title_in(self, language: str) -> str:
        """The title in `language`, or the default language's title."""
        return self.translations.get(language, {}).get("title") or self.title

    def description_in(self, language: str) -> str:
        return self.translations.get(language, {}).get("description") or self.description

    def matches(self, age_groups: frozenset[str]) -> bool:
        """For a subscriber's age groups: everything, or an overlap; activities without age
        groups are for everyone."""
        return ALL in age_groups or not self.age_groups or bool(self.age_groups & age_groups)


@dataclass(frozen=True)
class Subscriber:
    telegram_id: int
    language: str
    #: What does not grow ('adults', 'all'), or the groups of a subscription from before
    #: birth years were asked.
    age_groups: frozenset[str]
    #: The children's birth years; the digest turns them into age groups on the day it is sent.
    birth_years: tuple[int, ...] = ()


@dataclass(frozen=True)
class Subscription:
    active: bool
    age_groups: frozenset[str]
    birth_years: tuple[int, ...]
    #: Where the family is in /subscribe (None: not in it), and the years chosen so far.
    step: str | None
    draft_years: tuple[int, ...]


@dataclass(frozen=True)
class ImportCounts:
    added: int = 0
    updated: int = 0
    cancelled: int = 0


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _codes(value: str) -> frozenset[str]:
    return frozenset(part for part in value.split(",") if part)


def _years(value: str) -> tuple[int, ...]:
    return tuple(sorted({int(part) for part in value.split(",") if part.strip().isdigit()}))


def _join_years(years: Iterable[int]) -> str:
    return ",".join(str(year) for year in sorted(set(years)))


def _activity(row: Any) -> Activity:
    return Activity(
        id=row["id"],
        series_uid=row["series_uid"],
        status=row["status"],
        starts_at=datetime.fromisoformat(row["starts_at"]),
        ends_at=datetime.fromisoformat(row["ends_at"]),
        title=row["title"],
        description=row["description"],
        place=row["place"],
        organiser=row["organiser"],
        category=row["category"],
        age_groups=_codes(row["age_groups"]),
        languages=tuple(part for part in row["languages"].split(",") if part),
        price=row["price"],
        translations=json.loads(row["translations"] or "{}"),
        cancelled=bool(row["cancelled"]),
        proposed_by=row["proposed_by"],
    )


_SELECT = (
    "SELECT a.*, s.status, s.proposed_by FROM activities a"
    " JOIN activity_series s ON s.uid = a.series_uid"
)


# --- series and their occurrences ---
async def save_series(
    db: Database,
    uid: str,
    source: str,
    occurrences: Sequence[Occurrence],
    now: datetime,
    *,
    ical: str | None = None,
    status: str = "listed",
    proposed_by: int | None = None,
    prune_from: datetime | None = None,
) -> ImportCounts:
    """Create or update a series and its occurrences in one transaction.

    Occurrences are matched by their original start. With `prune_from`, stored occurrences
    from then on that the new data no longer has (an EXDATE, a shortened rule) are cancelled
    rather than deleted, so residents who said "I'm going" can still be found.
    """
    added = updated = cancelled = 0
    async with db.transaction() as tx:
        existing = await tx.fetchone("SELECT status FROM activity_series WHERE uid = ?", (uid,))
        if existing is None:
            await tx.execute(
                "INSERT INTO activity_series (uid, source, ical, status, proposed_by,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (uid, source, ical, status, proposed_by, now.isoformat(), now.isoformat()),
            )
        else:
            await tx.execute(
                "UPDATE activity_series SET source = ?, ical = ?, status = ?, updated_at = ?"
                " WHERE uid = ?",
                (source, ical, status, now.isoformat(), uid),
            )
        keys = set()
        for item in occurrences:
            key = _iso(item.occurrence)
            keys.add(key)
            values = (
                _iso(item.starts_at),
                _iso(item.ends_at),
                item.title,
                item.description,
                item.place,
                item.organiser,
                item.category,
                ",".join(sorted(item.age_groups)),
                ",".join(item.languages),
                item.price,
                json.dumps(item.translations, ensure_ascii=False, sort_keys=True),
                int(item.cancelled),
            )
            row = await tx.fetchone(
                "SELECT id FROM activities WHERE series_uid = ? AND occurrence = ?", (uid, key)
            )
            if row is None:
                await tx.execute(
                    "INSERT INTO activities (starts_at, ends_at, title, description, place,"
                    " organiser, category, age_groups, languages, price, translations,"
                    " cancelled, series_uid, occurrence)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, uid, key),
                )
                added += 1
            else:
                await tx.execute(
                    "UPDATE activities SET starts_at = ?, ends_at = ?, title = ?,"
                    " description = ?, place = ?, organiser = ?, category = ?, age_groups = ?,"
                    " languages = ?, price = ?, translations = ?, cancelled = ? WHERE id = ?",
                    (*values, row["id"]),
                )
                updated += 1
            cancelled += int(item.cancelled)
        if prune_from is not None:
            stale = await tx.fetchall(
                "SELECT id, occurrence FROM activities WHERE series_uid = ? AND starts_at >= ?"
                " AND cancelled = 0",
                (uid, _iso(prune_from)),
            )
            for row in stale:
                if row["occurrence"] not in keys:
                    await tx.execute("UPDATE activities SET cancelled = 1 WHERE id = ?", (row[0],))
                    cancelled += 1
    return ImportCounts(added, updated, cancelled)


async def cancel_series(db: Database, uid: str, now: datetime) -> int:
    """A whole series is called off: it and its coming occurrences. Returns those cancelled."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE activity_series SET status = 'cancelled', updated_at = ? WHERE uid = ?",
            (now.isoformat(), uid),
        )
        await tx.execute(
            "UPDATE activities SET cancelled = 1 WHERE series_uid = ? AND ends_at >= ?"
            " AND cancelled = 0",
            (uid, _iso(now)),
        )
        return int(await tx.fetchval("SELECT changes()"))


async def cancel_activity(db: Database, activity_id: int) -> bool:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE activities SET cancelled = 1 WHERE id = ? AND cancelled = 0", (activity_id,)
        )
        return int(await tx.fetchval("SELECT changes()")) == 1


async def cancel_occurrence(db: Database, uid: str, original_start: datetime) -> bool:
    """Call off one occurrence of a series, named by its original start."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE activities SET cancelled = 1 WHERE series_uid = ? AND occurrence = ?"
            " AND cancelled = 0",
            (uid, _iso(original_start)),
        )
        return int(await tx.fetchval("SELECT changes()")) == 1


async def set_series_status(db: Database, uid: str, status: str, now: datetime) -> bool:
    """Approve or reject a proposal; False if it was not waiting any more (pressed twice)."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE activity_series SET status = ?, updated_at = ? WHERE uid = ?"
            " AND status = 'proposed'",
            (status, now.isoformat(), uid),
        )
        return int(await tx.fetchval("SELECT changes()")) == 1


async def get(db: Database, activity_id: int) -> Activity | None:
    row = await db.fetchone(f"{_SELECT} WHERE a.id = ?", (activity_id,))
    return _activity(row) if row else None


async def series_activities(db: Database, uid: str) -> list[Activity]:
    rows = await db.fetchall(f"{_SELECT} WHERE a.series_uid = ? ORDER BY a.starts_at", (uid,))
    return [_activity(row) for row in rows]


async def listed_between(db: Database, start: datetime, end: datetime) -> list[Activity]:
    """Listed, not cancelled activities starting in [start, end), in time order."""
    rows = await db.fetchall(
        f"{_SELECT} WHERE s.status = 'listed' AND a.cancelled = 0"
        " AND a.starts_at >= ? AND a.starts_at < ? ORDER BY a.starts_at, a.id",
        (_iso(start), _iso(end)),
    )
    return [_activity(row) for row in rows]


async def activities_ended_between(db: Database, start: datetime, end: datetime) -> list[Activity]:
    """Listed activities that took place and ended in [start, end) (for feedback requests)."""
    rows = await db.fetchall(
        f"{_SELECT} WHERE s.status = 'listed' AND a.cancelled = 0"
        " AND a.ends_at >= ? AND a.ends_at < ? ORDER BY a.ends_at, a.id",
        (_iso(start), _iso(end)),
    )
    return [_activity(row) for row in rows]


async def recurring_sources(db: Database) -> list[tuple[str, str, str]]:
    """(uid, source, ical) of listed series that keep their calendar text for re-expansion."""
    rows = await db.fetchall(
        "SELECT uid, source, ical FROM activity_series WHERE status = 'listed'"
        " AND ical IS NOT NULL AND ical LIKE '%RRULE%'"
    )
    return [(row["uid"], row["source"], row["ical"]) for row in rows]


# --- "I'm going" ---
async def mark_going(
    db: Database, activity_id: int, telegram_id: int, now: datetime | None = None
) -> bool:
    """Store that a resident plans to come; True if new (pressing twice changes nothing)."""
    moment = (now or datetime.now(UTC)).isoformat()
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT OR IGNORE INTO activity_going (activity_id, telegram_id, created_at)"
            " VALUES (?, ?, ?)",
            (activity_id, telegram_id, moment),
        )
        return int(await tx.fetchval("SELECT changes()")) == 1


async def unmark_going(db: Database, activity_id: int, telegram_id: int) -> bool:
    async with db.transaction() as tx:
        await tx.execute(
            "DELETE FROM activity_going WHERE activity_id = ? AND telegram_id = ?",
            (activity_id, telegram_id),
        )
        return int(await tx.fetchval("SELECT changes()")) == 1


async def going_residents(db: Database, activity_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT telegram_id FROM activity_going WHERE activity_id = ? ORDER BY created_at",
        (activity_id,),
    )
    return [row[0] for row in rows]


async def going_count(db: Database, activity_id: int) -> int:
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM activity_going WHERE activity_id = ?", (activity_id,)
        )
    )


# --- subscriptions ---
async def subscription(db: Database, telegram_id: int) -> Subscription | None:
    """A resident's subscription (active or not), or None if they never had one."""
    row = await db.fetchone(
        "SELECT active, age_groups, birth_years, step, draft_years FROM digest_subscriptions"
        " WHERE telegram_id = ?",
        (telegram_id,),
    )
    if row is None:
        return None
    return Subscription(
        active=bool(row["active"]),
        age_groups=_codes(row["age_groups"]),
        birth_years=_years(row["birth_years"]),
        step=row["step"],
        draft_years=_years(row["draft_years"]),
    )


async def subscribe(
    db: Database,
    telegram_id: int,
    age_groups: Iterable[str],
    now: datetime,
    birth_years: Iterable[int] = (),
) -> None:
    """Start (or restart) a subscription: fixed groups and/or the children's birth years.

    Ends the /subscribe conversation: the step and the years being chosen are cleared.
    """
    await db.execute(
        "INSERT INTO digest_subscriptions (telegram_id, age_groups, birth_years, active,"
        " created_at) VALUES (?, ?, ?, 1, ?) ON CONFLICT (telegram_id) DO UPDATE SET"
        " age_groups = excluded.age_groups, birth_years = excluded.birth_years, active = 1,"
        " ended_at = NULL, ended_reason = NULL, step = NULL, draft_years = ''",
        (
            telegram_id,
            ",".join(sorted(set(age_groups))),
            _join_years(birth_years),
            now.isoformat(),
        ),
    )


async def set_subscribe_step(
    db: Database, telegram_id: int, step: str | None, draft_years: Iterable[int], now: datetime
) -> None:
    """Store where the family is in /subscribe; a new subscription stays inactive meanwhile."""
    await db.execute(
        "INSERT INTO digest_subscriptions (telegram_id, active, created_at, step, draft_years)"
        " VALUES (?, 0, ?, ?, ?) ON CONFLICT (telegram_id) DO UPDATE SET"
        " step = excluded.step, draft_years = excluded.draft_years",
        (telegram_id, now.isoformat(), step, _join_years(draft_years)),
    )


async def in_subscribe_step(db: Database, telegram_id: int) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM digest_subscriptions WHERE telegram_id = ? AND step IS NOT NULL",
            (telegram_id,),
        )
    )


async def unsubscribe(db: Database, telegram_id: int, now: datetime) -> bool:
    """End a subscription; False if there was no active one."""
    async with db.transaction() as tx:
        return await _end(tx, telegram_id, now, "unsubscribed")


async def _end(tx: Transaction, telegram_id: int, now: datetime, reason: str) -> bool:
    await tx.execute(
        "UPDATE digest_subscriptions SET active = 0, ended_at = ?, ended_reason = ?"
        " WHERE telegram_id = ? AND active = 1",
        (now.isoformat(), reason, telegram_id),
    )
    return int(await tx.fetchval("SELECT changes()")) == 1


async def end_subscription_of_blocked(tx: Transaction, telegram_id: int, now: datetime) -> None:
    """The resident blocked the bot or deleted their account: stop sending the digest."""
    await _end(tx, telegram_id, now, "blocked")


async def active_subscribers(db: Database) -> list[Subscriber]:
    rows = await db.fetchall(
        "SELECT s.telegram_id, s.age_groups, s.birth_years, r.language"
        " FROM digest_subscriptions s JOIN residents r ON r.telegram_id = s.telegram_id"
        " WHERE s.active = 1 ORDER BY s.telegram_id"
    )
    return [
        Subscriber(
            row["telegram_id"],
            row["language"],
            _codes(row["age_groups"]),
            _years(row["birth_years"]),
        )
        for row in rows
    ]


# --- organisers ---
async def add_organiser(
    db: Database, telegram_id: int, name: str, added_by: int | None, now: datetime
) -> bool:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT OR IGNORE INTO organisers (telegram_id, name, added_by, created_at)"
            " VALUES (?, ?, ?, ?)",
            (telegram_id, name, added_by, now.isoformat()),
        )
        return int(await tx.fetchval("SELECT changes()")) == 1


async def remove_organiser(db: Database, telegram_id: int) -> bool:
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM organisers WHERE telegram_id = ?", (telegram_id,))
        return int(await tx.fetchval("SELECT changes()")) == 1


async def organiser_name(db: Database, telegram_id: int) -> str | None:
    """The organisation's name if this person is a registered organiser, else None."""
    return await db.fetchval("SELECT name FROM organisers WHERE telegram_id = ?", (telegram_id,))


# --- personal data ---
async def export_resident(db: Database, telegram_id: int) -> dict:
    data: dict[str, Any] = {}
    row = await db.fetchone(
        "SELECT age_groups, birth_years, active, created_at, ended_at FROM digest_subscriptions"
        " WHERE telegram_id = ?",
        (telegram_id,),
    )
    if row:
        data["subscription"] = dict(row)
    going = await db.fetchall(
        "SELECT a.title, a.starts_at FROM activity_going g JOIN activities a"
        " ON a.id = g.activity_id WHERE g.telegram_id = ? ORDER BY a.starts_at",
        (telegram_id,),
    )
    form = await db.fetchone(
        "SELECT kind, step, answers, updated_at FROM activity_forms WHERE telegram_id = ?",
        (telegram_id,),
    )
    if form:
        data["form_in_progress"] = dict(form)
    if going:
        data["going"] = [dict(r) for r in going]
    organiser = await db.fetchone(
        "SELECT name, created_at FROM organisers WHERE telegram_id = ?", (telegram_id,)
    )
    if organiser:
        data["organiser"] = dict(organiser)
    return data


async def forget_resident(tx: Transaction, telegram_id: int) -> None:
    """Erase the person; activities they proposed stay listed, without their id."""
    await tx.execute("DELETE FROM digest_subscriptions WHERE telegram_id = ?", (telegram_id,))
    await tx.execute("DELETE FROM activity_going WHERE telegram_id = ?", (telegram_id,))
    await tx.execute("DELETE FROM organisers WHERE telegram_id = ?", (telegram_id,))
    await tx.execute("DELETE FROM activity_forms WHERE telegram_id = ?", (telegram_id,))
    await tx.execute(
        "UPDATE activity_series SET proposed_by = NULL WHERE proposed_by = ?", (telegram_id,)
    )


async def expire(tx: Transaction, cutoff: datetime) -> int:
    """ "I'm going" marks of activities long past, and subscriptions ended long ago."""
    await tx.execute(
        "DELETE FROM activity_going WHERE activity_id IN"
        " (SELECT id FROM activities WHERE ends_at < ?)",
        (_iso(cutoff),),
    )
    touched = int(await tx.fetchval("SELECT changes()"))
    await tx.execute(
        "DELETE FROM digest_subscriptions WHERE active = 0 AND ended_at < ?",
        (cutoff.isoformat(),),
    )
    return touched + int(await tx.fetchval("SELECT changes()"))


# --------------------------------------------------------------------------- forms in progress
@dataclass(frozen=True)
class FormRow:
    """An activity form being filled in (see bot/activities/forms.py for its steps)."""

    telegram_id: int
    kind: str
    chat_id: int
    thread_id: int | None
    step: str
    answers: dict[str, str]
    updated_at: datetime
    #: The message whose answer was taken last: the same message handled again after a crash
    #: is not taken as the answer to the next question.
    last_message: int | None = None


async def form_of(db: Database, telegram_id: int) -> FormRow | None:
    row = await db.fetchone("SELECT * FROM activity_forms WHERE telegram_id = ?", (telegram_id,))
    if row is None:
        return None
    return FormRow(
        telegram_id=row["telegram_id"],
        kind=row["kind"],
        chat_id=row["chat_id"],
        thread_id=row["thread_id"],
        step=row["step"],
        answers=json.loads(row["answers"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        last_message=row["last_message"],
    )


async def save_form(db: Database, form: FormRow) -> None:
    """Start a form (replacing any earlier one of the same person) or store its progress."""
    await db.execute(
        "INSERT INTO activity_forms (telegram_id, kind, chat_id, thread_id, step, answers,"
        " updated_at, last_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (telegram_id) DO UPDATE SET kind = excluded.kind,"
        " chat_id = excluded.chat_id, thread_id = excluded.thread_id, step = excluded.step,"
        " answers = excluded.answers, updated_at = excluded.updated_at,"
        " last_message = excluded.last_message",
        (
            form.telegram_id,
            form.kind,
            form.chat_id,
            form.thread_id,
            form.step,
            json.dumps(form.answers, ensure_ascii=False),
            form.updated_at.isoformat(),
            form.last_message,
        ),
    )


async def delete_form(db: Database, telegram_id: int) -> bool:
    """End a form (finished or stopped); False if there was none."""
    async with db.transaction() as tx:
        existed = await tx.fetchval(
            "SELECT 1 FROM activity_forms WHERE telegram_id = ?", (telegram_id,)
        )
        await tx.execute("DELETE FROM activity_forms WHERE telegram_id = ?", (telegram_id,))
    return bool(existed)
