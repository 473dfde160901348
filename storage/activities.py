"""Activities, "I'm going", digest subscriptions and volunteer organisers.

An *activity* is one dated happening (a weekly baby meetup gives one row per week); its
*series* says where it came from (an iCalendar UID, a CSV row, staff, an organiser) and
whether it is listed. Imports are idempotent: a series is updated in place by its UID, and an
occurrence by its original start, so "I'm going" marks survive re-imports.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from storage import outbox
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
    #: How many may come; None: no limit.
    capacity: int | None = None


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
    capacity: int | None = None
    #: The last change residents were told of: "cancelled", "moved" or "" (none), and when.
    notice: str = ""
    notice_at: datetime | None = None

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
        capacity=row["capacity"],
        notice=(row["notice"] or " ").split(" ", 1)[0],
        notice_at=datetime.fromisoformat(row["notice"].split(" ", 1)[1])
        if row["notice"]
        else None,
    )


_SELECT = (
    "SELECT a.*, s.status, s.proposed_by, (SELECT c.kind || ' ' || c.created_at"
    " FROM activity_changes c WHERE c.activity_id = a.id ORDER BY c.n DESC LIMIT 1) AS notice"
    " FROM activities a"
    " JOIN activity_series s ON s.uid = a.series_uid"
)


@dataclass(frozen=True)
class Change:
    """A cancellation or a new time or place, to be told to everyone on the list once."""

    id: int
    activity_id: int
    n: int
    kind: str

    @property
    def edition(self) -> str:
        return f"change-{self.activity_id}-{self.n}"


async def _record_change(tx: Transaction, activity_id: int, kind: str, now: datetime) -> None:
    """In the transaction that makes the change: the bot announces it (once) from here."""
    await tx.execute(
        "INSERT INTO activity_changes (activity_id, n, kind, created_at) VALUES (?,"
        " (SELECT COALESCE(MAX(n), 0) + 1 FROM activity_changes WHERE activity_id = ?), ?, ?)",
        (activity_id, activity_id, kind, now.isoformat()),
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
        if len(occurrences) == 1:
            await _follow_single(tx, uid, _iso(occurrences[0].occurrence))
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
                item.capacity,
            )
            row = await tx.fetchone(
                "SELECT id, starts_at, ends_at, place, cancelled FROM activities"
                " WHERE series_uid = ? AND occurrence = ?",
                (uid, key),
            )
            if row is None:
                await tx.execute(
                    "INSERT INTO activities (starts_at, ends_at, title, description, place,"
                    " organiser, category, age_groups, languages, price, translations,"
                    " cancelled, capacity, series_uid, occurrence)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, uid, key),
                )
                added += 1
            else:
                await tx.execute(
                    "UPDATE activities SET starts_at = ?, ends_at = ?, title = ?,"
                    " description = ?, place = ?, organiser = ?, category = ?, age_groups = ?,"
                    " languages = ?, price = ?, translations = ?, cancelled = ?, capacity = ?"
                    " WHERE id = ?",
                    (*values, row["id"]),
                )
                updated += 1
                kind = _change_kind(row, values, now)
                if kind:
                    await _record_change(tx, row["id"], kind, now)
                if not item.cancelled:
                    await _fill_places(tx, row["id"], now)
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
                    await _record_change(tx, row[0], "cancelled", now)
                    cancelled += 1
    return ImportCounts(added, updated, cancelled)


async def _follow_single(tx: Transaction, uid: str, key: str) -> None:
    """A one-off activity given a new time (a CSV row or event edited) is the same activity,
    not a new one: its "I'm going" marks stay, and those going hear of the new time."""
    rows = await tx.fetchall("SELECT id, occurrence FROM activities WHERE series_uid = ?", (uid,))
    if len(rows) == 1 and rows[0]["occurrence"] != key:
        await tx.execute("UPDATE activities SET occurrence = ? WHERE id = ?", (key, rows[0]["id"]))


def _change_kind(old: Any, values: tuple[Any, ...], now: datetime) -> str:
    """What residents going to a coming activity must hear of an update: it was called off,
    or its time or place is new ("" when nothing of that changed, or it is over)."""
    starts_at, ends_at, place, is_cancelled = values[0], values[1], values[4], values[11]
    if old["cancelled"] or datetime.fromisoformat(old["ends_at"]) < now:
        return ""
    if is_cancelled:
        return "cancelled"
    if (old["starts_at"], old["ends_at"], old["place"]) != (starts_at, ends_at, place):
        return "moved"
    return ""


async def cancel_series(db: Database, uid: str, now: datetime) -> int:
    """A whole series is called off: it and its coming occurrences. Returns those cancelled."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE activity_series SET status = 'cancelled', updated_at = ? WHERE uid = ?",
            (now.isoformat(), uid),
        )
        rows = await tx.fetchall(
            "SELECT id FROM activities WHERE series_uid = ? AND ends_at >= ? AND cancelled = 0",
            (uid, _iso(now)),
        )
        for row in rows:
            await _cancel(tx, row[0], now)
        return len(rows)


async def _cancel(tx: Transaction, activity_id: int, now: datetime) -> bool:
    await tx.execute(
        "UPDATE activities SET cancelled = 1 WHERE id = ? AND cancelled = 0", (activity_id,)
    )
    if int(await tx.fetchval("SELECT changes()")) != 1:
        return False
    ends_at = await tx.fetchval("SELECT ends_at FROM activities WHERE id = ?", (activity_id,))
    if datetime.fromisoformat(ends_at) >= now:
        await _record_change(tx, activity_id, "cancelled", now)
    return True


async def cancel_activity(db: Database, activity_id: int, now: datetime | None = None) -> bool:
    """Call off one activity; everyone on its list is told (see `changes_to_announce`)."""
    async with db.transaction() as tx:
        return await _cancel(tx, activity_id, now or datetime.now(UTC))


async def cancel_occurrence(
    db: Database, uid: str, original_start: datetime, now: datetime | None = None
) -> bool:
    """Call off one occurrence of a series, named by its original start."""
    async with db.transaction() as tx:
        activity_id = await tx.fetchval(
            "SELECT id FROM activities WHERE series_uid = ? AND occurrence = ?",
            (uid, _iso(original_start)),
        )
        if activity_id is None:
            return False
        return await _cancel(tx, activity_id, now or datetime.now(UTC))


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


# --- "I'm going", places and the waiting list ---
#: The outbox task that tells a resident from the waiting list that a place is theirs.
PLACE_TASK = "activity-place"


async def mark_going(
    db: Database, activity_id: int, telegram_id: int, now: datetime | None = None
) -> bool:
    """Store that a resident plans to come; True if new (pressing twice changes nothing).

    Ignores the capacity (imports of old marks, tests); residents go through `join`."""
    moment = (now or datetime.now(UTC)).isoformat()
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT OR IGNORE INTO activity_going (activity_id, telegram_id, created_at)"
            " VALUES (?, ?, ?)",
            (activity_id, telegram_id, moment),
        )
        return int(await tx.fetchval("SELECT changes()")) == 1


class Join(StrEnum):
    """What "I'm going" (or "Put me on the waiting list") did."""

    GOING = "going"
    ALREADY_GOING = "already-going"
    FULL = "full"  # no place left; the resident may ask for the waiting list
    WAITING = "waiting"
    ALREADY_WAITING = "already-waiting"


async def join(
    db: Database, activity_id: int, telegram_id: int, now: datetime, *, wait: bool = False
) -> tuple[Join, int]:
    """A place if one is free; with `wait`, the waiting list when none is. Returns what
    happened and the resident's number on the waiting list (0 when going). One transaction,
    so two residents pressing at once cannot both take the last place."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT waiting FROM activity_going WHERE activity_id = ? AND telegram_id = ?",
            (activity_id, telegram_id),
        )
        if row is not None:
            if not row["waiting"]:
                return Join.ALREADY_GOING, 0
            return Join.ALREADY_WAITING, await _place_in_line(tx, activity_id, telegram_id)
        if await _free_places(tx, activity_id) > 0:
            waiting = 0
        elif wait:
            waiting = 1
        else:
            return Join.FULL, 0
        await tx.execute(
            "INSERT INTO activity_going (activity_id, telegram_id, created_at, waiting,"
            " placed_at) VALUES (?, ?, ?, ?, ?)",
            (activity_id, telegram_id, _iso(now), waiting, None if waiting else _iso(now)),
        )
        if not waiting:
            return Join.GOING, 0
        return Join.WAITING, await _place_in_line(tx, activity_id, telegram_id)


async def _free_places(tx: Transaction, activity_id: int) -> int:
    """Places left (a large number when there is no limit)."""
    capacity = await tx.fetchval("SELECT capacity FROM activities WHERE id = ?", (activity_id,))
    if capacity is None:
        return 1 << 30
    going = await tx.fetchval(
        "SELECT COUNT(*) FROM activity_going WHERE activity_id = ? AND waiting = 0",
        (activity_id,),
    )
    return max(0, int(capacity) - int(going))


async def _place_in_line(tx: Transaction, activity_id: int, telegram_id: int) -> int:
    return int(
        await tx.fetchval(
            "SELECT COUNT(*) FROM activity_going w, activity_going me"
            " WHERE me.activity_id = ? AND me.telegram_id = ? AND w.activity_id = me.activity_id"
            " AND w.waiting = 1 AND (w.created_at, w.seq) <= (me.created_at, me.seq)",
            (activity_id, telegram_id),
        )
    )


async def _fill_places(tx: Transaction, activity_id: int, now: datetime) -> list[int]:
    """Give free places to the first ones waiting and enqueue the news for each (once per
    promotion); returns who got a place."""
    ended = await tx.fetchval(
        "SELECT cancelled <> 0 OR ends_at < ? FROM activities WHERE id = ?",
        (_iso(now), activity_id),
    )
    if ended is None or ended:
        return []
    free = await _free_places(tx, activity_id)
    if free <= 0:
        return []
    rows = await tx.fetchall(
        "SELECT telegram_id FROM activity_going WHERE activity_id = ? AND waiting = 1"
        " ORDER BY created_at, seq LIMIT ?",
        (activity_id, min(free, 1000)),
    )
    promoted = [row[0] for row in rows]
    for telegram_id in promoted:
        await tx.execute(
            "UPDATE activity_going SET waiting = 0, placed_at = ? WHERE activity_id = ?"
            " AND telegram_id = ?",
            (_iso(now), activity_id, telegram_id),
        )
        await outbox.add_task(
            tx,
            PLACE_TASK,
            f"{PLACE_TASK}:{activity_id}:{telegram_id}:{now.isoformat()}",
            {"activity_id": activity_id},
            now,
            chat_id=telegram_id,
        )
    return promoted


async def leave(
    db: Database, activity_id: int, telegram_id: int, now: datetime | None = None
) -> tuple[bool, list[int]]:
    """ "I can't come after all": off the list (going or waiting). A freed place goes to the
    first one waiting, in the same transaction. Returns (was on the list, who got a place)."""
    moment = now or datetime.now(UTC)
    async with db.transaction() as tx:
        await tx.execute(
            "DELETE FROM activity_going WHERE activity_id = ? AND telegram_id = ?",
            (activity_id, telegram_id),
        )
        if int(await tx.fetchval("SELECT changes()")) != 1:
            return False, []
        return True, await _fill_places(tx, activity_id, moment)


async def unmark_going(db: Database, activity_id: int, telegram_id: int) -> bool:
    return (await leave(db, activity_id, telegram_id))[0]


async def is_going(db: Database, activity_id: int, telegram_id: int) -> bool:
    """Has a place (not only on the waiting list)."""
    return bool(
        await db.fetchval(
            "SELECT 1 FROM activity_going WHERE activity_id = ? AND telegram_id = ?"
            " AND waiting = 0",
            (activity_id, telegram_id),
        )
    )


async def set_show_name(db: Database, activity_id: int, telegram_id: int, show: bool) -> bool:
    """The resident's answer to "may the organisers see your first name?"; False if they are
    not on the list (any more)."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE activity_going SET show_name = ? WHERE activity_id = ? AND telegram_id = ?",
            (int(show), activity_id, telegram_id),
        )
        return int(await tx.fetchval("SELECT changes()")) == 1


async def going_residents(db: Database, activity_id: int) -> list[int]:
    """Those with a place, in the order they said so (not the waiting list)."""
    rows = await db.fetchall(
        "SELECT telegram_id FROM activity_going WHERE activity_id = ? AND waiting = 0"
        " ORDER BY created_at, seq",
        (activity_id,),
    )
    return [row[0] for row in rows]


async def going_count(db: Database, activity_id: int) -> int:
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM activity_going WHERE activity_id = ? AND waiting = 0",
            (activity_id,),
        )
    )


@dataclass(frozen=True)
class ListEntry:
    """One person on an activity's list, as the bot needs it to write to them."""

    telegram_id: int
    language: str
    waiting: bool


async def list_entries(db: Database, activity_id: int, *, waiting: bool = True) -> list[ListEntry]:
    """Everyone on the list (with `waiting`, also the waiting list), with their language."""
    rows = await db.fetchall(
        "SELECT g.telegram_id, r.language, g.waiting FROM activity_going g"
        " JOIN residents r ON r.telegram_id = g.telegram_id"
        " WHERE g.activity_id = ? AND (? <> 0 OR g.waiting = 0) ORDER BY g.created_at, g.seq",
        (activity_id, int(waiting)),
    )
    return [ListEntry(row[0], row[1], bool(row[2])) for row in rows]


async def to_remind(
    db: Database, activity_id: int, edition: str, decided_by: datetime
) -> list[ListEntry]:
    """Those going who had their place by `decided_by` and have no row in the reminder's
    edition yet (the outbox row is the record that a resident was reminded)."""
    rows = await db.fetchall(
        "SELECT g.telegram_id, r.language FROM activity_going g"
        " JOIN residents r ON r.telegram_id = g.telegram_id"
        " WHERE g.activity_id = ? AND g.waiting = 0"
        " AND COALESCE(g.placed_at, g.created_at) <= ?"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.edition = ?"
        " AND o.chat_id = g.telegram_id) ORDER BY g.created_at, g.seq",
        (activity_id, _iso(decided_by), edition),
    )
    return [ListEntry(row[0], row[1], False) for row in rows]


@dataclass(frozen=True)
class ExportRow:
    """A line of the staff's list: a first name only where the resident allowed it."""

    number: int
    first_name: str | None
    waiting: bool
    since: datetime


async def export_list(db: Database, activity_id: int) -> list[ExportRow]:
    rows = await db.fetchall(
        "SELECT g.waiting, g.created_at, CASE WHEN g.show_name <> 0 THEN r.first_name END AS name"
        " FROM activity_going g LEFT JOIN residents r ON r.telegram_id = g.telegram_id"
        " WHERE g.activity_id = ? ORDER BY g.waiting, g.created_at, g.seq",
        (activity_id,),
    )
    return [
        ExportRow(n, row["name"] or None, bool(row["waiting"]), datetime.fromisoformat(row[1]))
        for n, row in enumerate(rows, 1)
    ]


@dataclass(frozen=True)
class ListedCounts:
    activity: Activity
    going: int
    waiting: int


async def upcoming_with_counts(db: Database, now: datetime, limit: int = 50) -> list[ListedCounts]:
    """Coming listed activities (cancelled ones too, marked) with their going/waiting counts."""
    counts = (
        "SELECT a.*, (SELECT COUNT(*) FROM activity_going g WHERE g.activity_id = a.id"
        " AND g.waiting = 0) AS going_n, (SELECT COUNT(*) FROM activity_going g"
        " WHERE g.activity_id = a.id AND g.waiting = 1) AS waiting_n"
    )
    rows = await db.fetchall(
        _SELECT.replace("SELECT a.*", counts, 1)
        + " WHERE s.status IN ('listed', 'cancelled') AND a.ends_at >= ?"
        " ORDER BY a.starts_at, a.id LIMIT ?",
        (_iso(now), limit),
    )
    return [ListedCounts(_activity(row), row["going_n"], row["waiting_n"]) for row in rows]


# --- changes to tell ---
async def changes_to_announce(db: Database) -> list[Change]:
    rows = await db.fetchall(
        "SELECT id, activity_id, n, kind FROM activity_changes WHERE announced = 0 ORDER BY id"
    )
    return [Change(row[0], row[1], row[2], row[3]) for row in rows]


async def mark_announced(db: Database, change_id: int) -> None:
    await db.execute("UPDATE activity_changes SET announced = 1 WHERE id = ?", (change_id,))


async def listed_or_cancelled_between(
    db: Database, start: datetime, end: datetime
) -> list[Activity]:
    """For the digest: listed activities starting in [start, end), and those cancelled after
    they were listed (marked, so a family does not go to a locked door)."""
    rows = await db.fetchall(
        f"{_SELECT} WHERE a.starts_at >= ? AND a.starts_at < ?"
        " AND ((s.status = 'listed' AND a.cancelled = 0) OR (s.status IN ('listed', 'cancelled')"
        " AND a.cancelled = 1 AND EXISTS (SELECT 1 FROM activity_changes c"
        " WHERE c.activity_id = a.id AND c.kind = 'cancelled')))"
        " ORDER BY a.starts_at, a.id",
        (_iso(start), _iso(end)),
    )
    return [_activity(row) for row in rows]


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


@dataclass(frozen=True)
class SubscriberChoice:
    """Subscribers who get the same digest: one stored language, age-group choice and set of
    children's birth years (the age groups the years give are worked out on the send date)."""

    language: str
    #: As stored (comma-separated codes and years): the key `enqueue_digest` matches rows by.
    stored_age_groups: str
    age_groups: frozenset[str]
    subscribers: int
    stored_birth_years: str = ""
    birth_years: tuple[int, ...] = ()


async def subscriber_choices(db: Database) -> list[SubscriberChoice]:
    """The distinct (language, age groups, birth years) of active subscribers, with how many
    have each: a few dozen rows however many subscribe, so nothing is read per subscriber."""
    rows = await db.fetchall(
        "SELECT r.language, s.age_groups, s.birth_years, COUNT(*) FROM digest_subscriptions s"
        " JOIN residents r ON r.telegram_id = s.telegram_id"
        " WHERE s.active = 1 GROUP BY r.language, s.age_groups, s.birth_years"
    )
    return [
        SubscriberChoice(
            row[0], row[1], _codes(row[1]), int(row[3]), row[2] or "", _years(row[2] or "")
        )
        for row in rows
    ]


#: Each choice's messages: (language, stored age groups, stored birth years) -> [(text,
#: keyboard)] per part.
DigestParts = Mapping[tuple[str, str, str], list[tuple[str, dict[str, Any] | None]]]


async def enqueue_digest(
    db: Database,
    edition: str,
    parts: DigestParts,
    extra: list[outbox.OutboxItem],
    now: datetime,
    on_blocked: str,
) -> int:
    """Write an edition of the digest into the outbox in one transaction; return rows added.

    Each choice's messages are stored once (`outbox_bodies`); the rows, one per active
    subscriber and part, are made by one INSERT ... SELECT that joins the subscriptions with
    the plan of (choice, part, message), so no subscriber passes through Python. `extra`
    (the public channel's list) is written beside them. Rows already there are left alone.
    """
    async with db.transaction() as tx:
        before = await outbox.count_rows(tx, edition)
        bodies = outbox.Bodies(tx)
        plan = []
        for (language, age_groups, birth_years), choice in parts.items():
            for number, (text, markup) in enumerate(choice):
                body = await bodies.id(text, markup)
                plan.append((language, age_groups, birth_years, number, body))
        await tx.execute(
            "CREATE TEMP TABLE IF NOT EXISTS digest_plan (language TEXT, age_groups TEXT,"
            " birth_years TEXT, part INTEGER, body_id INTEGER,"
            " PRIMARY KEY (language, age_groups, birth_years, part))"
        )
        await tx.execute("DELETE FROM temp.digest_plan")
        await tx.executemany("INSERT INTO temp.digest_plan VALUES (?, ?, ?, ?, ?)", plan)
        await tx.execute(
            "INSERT OR IGNORE INTO outbox (edition, chat_id, part, kind, body_id, resident_id,"
            " on_blocked, created_at)"
            " SELECT ?, s.telegram_id, p.part, 'text', p.body_id, s.telegram_id, ?, ?"
            " FROM digest_subscriptions s JOIN residents r ON r.telegram_id = s.telegram_id"
            " JOIN temp.digest_plan p ON p.language = r.language AND p.age_groups = s.age_groups"
            " AND p.birth_years = s.birth_years"
            " WHERE s.active = 1 ORDER BY s.telegram_id, p.part",
            (edition, on_blocked, now.isoformat()),
        )
        await tx.execute("DELETE FROM temp.digest_plan")
        if extra:
            await outbox.enqueue_in(tx, edition, extra, now, bodies)
        after = await outbox.count_rows(tx, edition)
        if after == before:
            await outbox.drop_unused_bodies(tx)
    return after - before


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
    name: str | None = await db.fetchval(
        "SELECT name FROM organisers WHERE telegram_id = ?", (telegram_id,)
    )
    return name


# --- personal data ---
async def export_resident(db: Database, telegram_id: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    row = await db.fetchone(
        "SELECT age_groups, birth_years, active, created_at, ended_at FROM digest_subscriptions"
        " WHERE telegram_id = ?",
        (telegram_id,),
    )
    if row:
        data["subscription"] = dict(row)
    going = await db.fetchall(
        "SELECT a.title, a.starts_at, g.waiting, g.show_name FROM activity_going g"
        " JOIN activities a"
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
    places = await tx.fetchall(
        "SELECT activity_id FROM activity_going WHERE telegram_id = ? AND waiting = 0",
        (telegram_id,),
    )
    await tx.execute("DELETE FROM activity_going WHERE telegram_id = ?", (telegram_id,))
    for row in places:  # their place goes to the first one waiting, as when they cancel
        await _fill_places(tx, row[0], datetime.now(UTC))
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
