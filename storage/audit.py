"""The audit trail: who exported, erased, blocked or assigned what, and when.

A data-protection officer asks "who has seen or removed personal data?"; this table answers
without becoming personal data itself: it records actions, never content, and never a
resident's Telegram ID (the record of an erasure must not keep the erased person findable).
Staff are named by their Telegram ID and first name, as their employer may log their actions.

Entries are kept for `KEEP` and then removed by the daily retention job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from storage.db import Database, Transaction

#: How long the trail is kept: two years, the usual period for access logs of this kind.
KEEP = timedelta(days=730)


class Action(StrEnum):
    EXPORT_TIPS = "export.tips"
    EXPORT_SURVEY = "export.survey"
    EXPORT_MYDATA = "export.mydata"
    EXPORT_ACTIVITY_LIST = "export.activity_list"
    ERASE_RESIDENT = "erase.resident"
    ERASE_RETENTION = "erase.retention"
    CASE_ASSIGN = "case.assign"
    CASE_BLOCK = "case.block"
    CASE_UNBLOCK = "case.unblock"


@dataclass(frozen=True)
class Actor:
    """Who did it: a staff member (by Telegram ID), an operator at the command line, a resident
    (never identified), or the bot itself (the retention job)."""

    kind: str
    id: int | None = None
    name: str | None = None

    @classmethod
    def staff(cls, user_id: int, first_name: str | None) -> Actor:
        return cls("staff", user_id, first_name)

    @property
    def label(self) -> str:
        if self.kind == "staff":
            return f"staff {self.id} ({self.name or '?'})"
        return self.kind


OPERATOR = Actor("operator")
RESIDENT = Actor("resident")
SYSTEM = Actor("system")


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: Actor
    action: str
    subject: str | None
    detail: str | None


async def record(
    db: Database | Transaction,
    actor: Actor,
    action: Action,
    now: datetime,
    *,
    subject: str | None = None,
    detail: str | None = None,
) -> None:
    """Add one entry. Inside a transaction, pass it, so the entry and the act commit together."""
    await db.execute(
        "INSERT INTO audit_log (at, actor_kind, actor_id, actor_name, action, subject, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (now.isoformat(), actor.kind, actor.id, actor.name, str(action), subject, detail),
    )


async def entries(db: Database, since: datetime | None = None) -> list[Entry]:
    """The trail, oldest first (all of it, or from `since`)."""
    rows = await db.fetchall(
        "SELECT at, actor_kind, actor_id, actor_name, action, subject, detail FROM audit_log"
        " WHERE at >= ? ORDER BY at, id",
        ((since.isoformat() if since else ""),),
    )
    return [
        Entry(
            at=datetime.fromisoformat(row[0]),
            actor=Actor(row[1], row[2], row[3]),
            action=row[4],
            subject=row[5],
            detail=row[6],
        )
        for row in rows
    ]


async def expire(db: Database, now: datetime) -> int:
    """Remove entries older than `KEEP`; returns how many."""
    rows = await db.write_returning(
        "DELETE FROM audit_log WHERE at < ? RETURNING id", ((now - KEEP).isoformat(),)
    )
    return len(rows)
