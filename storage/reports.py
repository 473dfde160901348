"""The district's figures over a period: what residents said and how the office answered.

Every figure is a count, an average or a median: no names, no Telegram IDs, no texts. The same
`Figures` feed the weekly summary in the staff chat and `python -m bot report`.

Times are stored as ISO 8601 strings in UTC, so a period [start, end) is a string comparison
on the indexed columns.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from storage.db import Database

#: Survey response rows carry only a date (`started_on`): privacy by design.
_DATE = date.isoformat


@dataclass(frozen=True)
class Period:
    """The district's days `first_day` to `last_day` (inclusive), as the UTC range
    [start, end) that the stored times are compared with."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime

    @classmethod
    def of_days(cls, first_day: date, last_day: date, tz: tzinfo) -> Period:
        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)

        return cls(first_day, last_day, midnight(first_day), midnight(last_day + timedelta(1)))


@dataclass(frozen=True)
class Figures:
    period: Period
    #: New tips by category key, and those tips by their status now.
    tips_by_category: dict[str, int] = field(default_factory=dict)
    tips_by_status: dict[str, int] = field(default_factory=dict)
    #: Tips reopened because the resident said "not fixed" (counted by the follow-up feature).
    tips_reopened: int = 0
    #: New tips by where they came from: resident (the bot), case, walk-in (the office).
    tips_by_source: dict[str, int] = field(default_factory=dict)
    #: Answers to "is it fixed?" given in the period: yes, no.
    fixed_answers: dict[str, int] = field(default_factory=dict)
    #: Cases whose first message came in the period, by the resident's language and by label.
    cases_by_language: dict[str, int] = field(default_factory=dict)
    cases_by_label: dict[str, int] = field(default_factory=dict)
    cases_closed: int = 0
    median_first_response: timedelta | None = None
    ratings: tuple[int, ...] = ()
    #: Responses started in the period, by survey slug.
    survey_answers: dict[str, int] = field(default_factory=dict)
    #: Digest messages finished in the period, by outcome (sent, blocked, failed).
    digest_reach: dict[str, int] = field(default_factory=dict)
    new_subscribers: int = 0
    lost_subscribers: dict[str, int] = field(default_factory=dict)

    @property
    def tips_total(self) -> int:
        return sum(self.tips_by_category.values())

    @property
    def cases_total(self) -> int:
        return sum(self.cases_by_language.values())

    @property
    def average_rating(self) -> float | None:
        return statistics.fmean(self.ratings) if self.ratings else None


def _counts(rows: list[sqlite3.Row]) -> dict[str, int]:
    return {str(row[0]): int(row[1]) for row in rows}


async def figures(db: Database, period: Period) -> Figures:
    """Every figure of the report and the weekly summary, for one period."""
    start, end = period.start.isoformat(), period.end.isoformat()
    span = (start, end)
    tips_by_category = _counts(
        await db.fetchall(
            "SELECT category, COUNT(*) FROM tips WHERE created_at >= ? AND created_at < ?"
            " GROUP BY category ORDER BY COUNT(*) DESC, category",
            span,
        )
    )
    tips_by_status = _counts(
        await db.fetchall(
            "SELECT status, COUNT(*) FROM tips WHERE created_at >= ? AND created_at < ?"
            " GROUP BY status ORDER BY status",
            span,
        )
    )
    tips_reopened = int(
        await db.fetchval(
            "SELECT COUNT(*) FROM tip_status_changes WHERE status = 'reopened'"
            " AND changed_at >= ? AND changed_at < ?",
            span,
        )
        or 0
    )
    tips_by_source = _counts(
        await db.fetchall(
            "SELECT source, COUNT(*) FROM tips WHERE created_at >= ? AND created_at < ?"
            " GROUP BY source ORDER BY COUNT(*) DESC, source",
            span,
        )
    )
    fixed_answers = _counts(
        await db.fetchall(
            "SELECT answer, COUNT(*) FROM tip_fixed_checks"
            " WHERE answered_at >= ? AND answered_at < ? GROUP BY answer ORDER BY answer",
            span,
        )
    )
    cases_by_language = _counts(
        await db.fetchall(
            "SELECT language, COUNT(*) FROM cases"
            " WHERE first_message_at >= ? AND first_message_at < ?"
            " GROUP BY language ORDER BY COUNT(*) DESC, language",
            span,
        )
    )
    cases_by_label = _counts(
        await db.fetchall(
            "SELECT l.label, COUNT(*) FROM case_labels l JOIN cases c ON c.id = l.case_id"
            " WHERE c.first_message_at >= ? AND c.first_message_at < ?"
            " GROUP BY l.label ORDER BY COUNT(*) DESC, l.label",
            span,
        )
    )
    cases_closed = int(
        await db.fetchval(
            "SELECT COUNT(*) FROM cases WHERE status = 'closed'"
            " AND closed_at >= ? AND closed_at < ?",
            span,
        )
        or 0
    )
    replies = await db.fetchall(
        "SELECT first_message_at, first_staff_reply_at FROM cases"
        " WHERE first_message_at >= ? AND first_message_at < ?"
        " AND first_staff_reply_at IS NOT NULL",
        span,
    )
    waits = [datetime.fromisoformat(row[1]) - datetime.fromisoformat(row[0]) for row in replies]
    ratings = tuple(
        int(row[0])
        for row in await db.fetchall(
            "SELECT rating FROM cases WHERE rating IS NOT NULL AND rated_at >= ? AND rated_at < ?",
            span,
        )
    )
    survey_answers = _counts(
        await db.fetchall(
            "SELECT s.slug, COUNT(*) FROM survey_responses r JOIN surveys s ON s.id = r.survey_id"
            " WHERE r.started_on >= ? AND r.started_on <= ?"
            " GROUP BY s.slug ORDER BY COUNT(*) DESC, s.slug",
            (_DATE(period.first_day), _DATE(period.last_day)),
        )
    )
    digest_reach = _counts(
        await db.fetchall(
            "SELECT status, COUNT(*) FROM outbox WHERE edition LIKE 'digest-%'"
            " AND status != 'pending' AND done_at >= ? AND done_at < ?"
            " GROUP BY status ORDER BY status",
            span,
        )
    )
    new_subscribers = int(
        await db.fetchval(
            "SELECT COUNT(*) FROM digest_subscriptions WHERE created_at >= ? AND created_at < ?",
            span,
        )
        or 0
    )
    lost_subscribers = _counts(
        await db.fetchall(
            "SELECT COALESCE(ended_reason, 'unsubscribed'), COUNT(*) FROM digest_subscriptions"
            " WHERE active = 0 AND ended_at >= ? AND ended_at < ? GROUP BY 1 ORDER BY 1",
            span,
        )
    )
    return Figures(
        period=period,
        tips_by_category=tips_by_category,
        tips_by_status=tips_by_status,
        tips_reopened=tips_reopened,
        tips_by_source=tips_by_source,
        fixed_answers=fixed_answers,
        cases_by_language=cases_by_language,
        cases_by_label=cases_by_label,
        cases_closed=cases_closed,
        median_first_response=median_duration(waits),
        ratings=ratings,
        survey_answers=survey_answers,
        digest_reach=digest_reach,
        new_subscribers=new_subscribers,
        lost_subscribers=lost_subscribers,
    )


# --- the weekly summary's record ---------------------------------------------------------------
async def summary_posted(db: Database, week: str) -> bool:
    """Whether the summary of `week` (ISO week, e.g. 2026-W48) already reached the staff chat."""
    return bool(await db.fetchval("SELECT 1 FROM weekly_summaries WHERE week = ?", (week,)))


async def claim_summary(db: Database, week: str, now: datetime) -> bool:
    """Record that `week`'s summary is being posted; False if another run already has it."""
    rows = await db.write_returning(
        "INSERT INTO weekly_summaries (week, claimed_at) VALUES (?, ?)"
        " ON CONFLICT (week) DO NOTHING RETURNING week",
        (week, now.isoformat()),
    )
    return bool(rows)


async def mark_summary_posted(db: Database, week: str, message_id: int, now: datetime) -> None:
    await db.execute(
        "UPDATE weekly_summaries SET posted_at = ?, message_id = ? WHERE week = ?",
        (now.isoformat(), message_id, week),
    )


async def release_summary(db: Database, week: str) -> None:
    """Give the week back after a failed post, so the next run tries again."""
    await db.execute("DELETE FROM weekly_summaries WHERE week = ? AND posted_at IS NULL", (week,))


def median_duration(durations: Sequence[timedelta]) -> timedelta | None:
    """The median of durations, None for none (`statistics.median` is typed for numbers only;
    this is the same computation)."""
    if not durations:
        return None
    ordered = sorted(durations)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
