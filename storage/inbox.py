"""The inbox: Telegram updates kept from the moment they are fetched until they are handled.

Long polling acknowledges a batch of updates with the next getUpdates call, which
python-telegram-bot makes at once, while the batch is still being handled. Without the inbox a
crash in that moment loses every update of the batch that was not finished: a resident's
message to staff, an answer, a tip. With it, such updates are handled again after the restart.

On PostgreSQL several instances share the table: each row names the instance that stored it
(`claimed_by`), and a live instance takes over the unhandled rows of one that died
(`claim_orphans`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.chat_locks import LIVE_INSTANCES
from storage.db import Database, Transaction

#: The places in an update's JSON where the person who sent it is named.
_SENDER_PATHS = (
    "$.message.from.id",
    "$.edited_message.from.id",
    "$.callback_query.from.id",
    "$.my_chat_member.from.id",
)
_SENDER = "COALESCE(" + ", ".join(f"json_extract(payload, '{p}')" for p in _SENDER_PATHS) + ")"
#: The same on PostgreSQL, where a value read out of JSON is text until cast.
_SENDER_PG = (
    "COALESCE("
    + ", ".join(
        "(payload::json #>> '{" + ",".join(p[2:].split(".")) + "}')::bigint" for p in _SENDER_PATHS
    )
    + ")"
)


#: Unhandled rows whose instance is gone (or unknown: stored before instances were named).
_ORPHANED = f"handled_at IS NULL AND (claimed_by IS NULL OR claimed_by NOT IN ({LIVE_INSTANCES}))"


async def store(
    db: Database,
    update_id: int,
    payload: dict[str, Any],
    now: datetime,
    claimed_by: int | None = None,
    chat_key: int | None = None,
) -> bool:
    """Write an update down (committed); False if it was seen before (handled or waiting).
    `claimed_by`: the number of the instance storing it (PostgreSQL); `chat_key`: the key of
    its chat's lock (see `take_earlier`)."""
    rows = await db.write_returning(
        "INSERT INTO inbox (update_id, payload, received_at, claimed_by, chat_key)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
        (
            update_id,
            json.dumps(payload, ensure_ascii=False),
            now.isoformat(),
            claimed_by,
            chat_key,
        ),
    )
    return bool(rows)


async def mark_handled(db: Database, update_id: int, now: datetime) -> None:
    """The update is done with: drop what it said, keep its id against a second delivery."""
    await db.execute(
        "UPDATE inbox SET payload = NULL, handled_at = ? WHERE update_id = ?",
        (now.isoformat(), update_id),
    )


async def is_unhandled(db: Database, update_id: int) -> bool:
    """Whether the update still waits to be handled (another instance may have handled it)."""
    value = await db.fetchval("SELECT handled_at FROM inbox WHERE update_id = ?", (update_id,))
    return value is None


async def take_unhandled(
    db: Database, max_attempts: int, now: datetime
) -> tuple[list[dict[str, Any]], list[int]]:
    """Updates a crash left unhandled, oldest first.

    Returns (payloads to handle again, ids given up on): an update whose handling was begun
    again `max_attempts` times (`count_attempt`) probably crashes the bot itself and is
    dropped. An update queued again but never begun (the bot died while it waited its turn)
    is not counted: the count is the handler's, not the crash's.
    """
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "SELECT update_id, payload, attempts FROM inbox WHERE handled_at IS NULL"
            " ORDER BY update_id"
        )
        again, dropped = [], []
        for row in rows:
            if row["attempts"] >= max_attempts or row["payload"] is None:
                dropped.append(row["update_id"])
                await tx.execute(
                    "UPDATE inbox SET payload = NULL, handled_at = ? WHERE update_id = ?",
                    (now.isoformat(), row["update_id"]),
                )
                continue
            again.append(json.loads(row["payload"]))
    return again, dropped


async def count_attempt(db: Database, update_id: int) -> None:
    """Handling of an update queued again after a crash is beginning: one more attempt."""
    await db.execute("UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?", (update_id,))


async def claim_orphans(
    db: Database, instance: int, max_attempts: int, now: datetime
) -> tuple[list[dict[str, Any]], list[int]]:
    """PostgreSQL: take over the unhandled updates of instances that died; returns (payloads
    to handle, oldest first; ids given up on), like `take_unhandled`.

    Which instances live is read from the server's lock table in the same statement that
    claims, so a row of a live instance is never taken, and of two instances claiming at
    once each row goes to one. Attempts are counted as in `take_unhandled`, when the handling
    begins: an update that killed `max_attempts` instances in turn is given up.
    """
    dropped = await db.write_returning(
        f"UPDATE inbox SET payload = NULL, handled_at = ? WHERE {_ORPHANED}"
        " AND (attempts >= ? OR payload IS NULL) RETURNING update_id",
        (now.isoformat(), max_attempts),
    )
    claimed = await db.write_returning(
        f"UPDATE inbox SET claimed_by = ? WHERE {_ORPHANED}"
        " RETURNING update_id, payload",
        (instance,),
    )
    claimed = sorted(claimed, key=lambda row: int(row["update_id"]))
    return (
        [json.loads(row["payload"]) for row in claimed],
        sorted(int(row["update_id"]) for row in dropped),
    )


async def take_earlier(
    db: Database, chat_key: int, update_id: int, instance: int, max_attempts: int
) -> list[dict[str, Any]]:
    """PostgreSQL, with the chat's lock held: the chat's updates before `update_id` that still
    wait to be handled (stored by another instance, or left by a dead one), oldest first,
    claimed for `instance`. Taking one over from a dead instance counts as an attempt, as in
    `claim_orphans`; one that reached `max_attempts` is left for `claim_orphans` to give up.
    """
    rows = await db.write_returning(
        "UPDATE inbox SET claimed_by = ?, attempts = attempts + CASE WHEN claimed_by IS NULL"
        f" OR claimed_by NOT IN ({LIVE_INSTANCES}) THEN 1 ELSE 0 END"
        " WHERE chat_key = ? AND update_id < ? AND handled_at IS NULL"
        " AND payload IS NOT NULL AND attempts < ? RETURNING update_id, payload",
        (instance, chat_key, update_id, max_attempts),
    )
    rows = sorted(rows, key=lambda row: int(row["update_id"]))
    return [json.loads(row["payload"]) for row in rows]


async def prune(db: Database, handled_before: datetime) -> int:
    """Forget the ids of updates handled before `handled_before` (Telegram keeps updates for
    at most a day, so an older one can never be delivered again)."""
    async with db.transaction() as tx:
        count = await tx.fetchval(
            "SELECT COUNT(*) FROM inbox WHERE handled_at < ?", (handled_before.isoformat(),)
        )
        await tx.execute("DELETE FROM inbox WHERE handled_at < ?", (handled_before.isoformat(),))
    return int(count or 0)


# --- personal data (see storage/privacy.py) ---
async def export_resident(db: Database, telegram_id: int) -> dict[str, Any]:
    """Updates from this person still waiting to be handled (normally none, for seconds)."""
    sender = _SENDER_PG if db.dialect == "postgresql" else _SENDER
    count = await db.fetchval(
        f"SELECT COUNT(*) FROM inbox WHERE payload IS NOT NULL AND {sender} = ?", (telegram_id,)
    )
    return {"updates_waiting": count} if count else {}


async def forget_resident(tx: Transaction, telegram_id: int) -> None:
    """Nothing to erase beyond seconds-old waiting updates, which are left to be handled: the
    request to be forgotten is one of them, and a message sent after it is a new contact."""


async def expire(tx: Transaction, cutoff: datetime) -> int:
    """A waiting update older than the retention period can only be a stuck one: drop it."""
    count = await tx.fetchval(
        "SELECT COUNT(*) FROM inbox WHERE payload IS NOT NULL AND received_at < ?",
        (cutoff.isoformat(),),
    )
    await tx.execute(
        "UPDATE inbox SET payload = NULL, handled_at = received_at"
        " WHERE payload IS NOT NULL AND received_at < ?",
        (cutoff.isoformat(),),
    )
    return int(count or 0)
