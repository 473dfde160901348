"""The outbox: every message that must reach Telegram is a row here before it is sent.

Two kinds of rows share the table, its statuses and its retry record:

- *broadcast rows* (`kind` "text" or "document"): one per recipient per edition per part,
  sent by the delivery engine (`bot/delivery.py`), throttled for tens of thousands of chats;
- *tasks* (`kind` names a sender function, `payload` holds its arguments as JSON): one tip
  card, one staff question, one relayed case message..., sent by `bot/outbox.py`.

A row is unique per (edition, chat_id, part), so enqueueing twice adds nothing (a task's key
is its `edition`), and its status moves from `pending` to `sent`, `blocked` or `failed`
exactly once. The bot decides; this module only stores.

What a 403 on a broadcast row ends is named by the row's `on_blocked` ("digest"); the table
of what each name ends is `storage/blocked.py`, and the engine passes the handler in.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storage.db import Database, Transaction
from storage.lease import HOLDER_DIED, OWN_INSTANCE

#: What a 403 ends: the resident blocked the bot (or deleted their account); stop sending.
BlockedHandler = Callable[[Transaction, int, datetime], Awaitable[None]]

#: The row kinds the delivery engine sends; every other kind is a task's sender name.
BROADCAST_KINDS = ("text", "document")
#: chat_id of a task for the staff chat (whose id is configuration, not data).
STAFF_CHAT = 0

LOCK_NAME = "delivery"
#: A run that has not refreshed its lock for this long is presumed dead (a process on this
#: machine that is gone: at once).
LOCK_STALE_SECONDS = 30.0
#: A run whose instance lock is gone (storage/chat_locks.py) is presumed dead once it has not
#: refreshed its lock for this long: two of its refresh intervals (bot/delivery.py refreshes
#: every 5 s). Not at once: an instance lock can also vanish with its process alive (that one
#: connection cut), and such a run goes on refreshing; two runs would send every message twice.
LOCK_ORPHANED_SECONDS = 10.0


@dataclass(frozen=True)
class OutboxItem:
    """One message to one chat in one edition.

    `kind` is "text" (`text` is HTML, `reply_markup` a JSON-able dict) or "document"
    (`document` bytes with `filename`; `text` is the caption). `resident_id` and `on_blocked`
    say whose subscription a 403 ends.
    """

    chat_id: int
    text: str | None = None
    part: int = 0
    kind: str = "text"
    reply_markup: dict[str, Any] | None = None
    document: bytes | None = None
    filename: str | None = None
    resident_id: int | None = None
    on_blocked: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("text", "document"):
            raise ValueError(f"unknown outbox kind {self.kind!r}")
        if self.kind == "text" and not self.text:
            raise ValueError("a text item needs text")
        if self.kind == "document" and (self.document is None or not self.filename):
            raise ValueError("a document item needs bytes and a filename")


@dataclass
class PendingRow:
    id: int
    edition: str
    chat_id: int
    part: int
    kind: str
    text: str | None
    reply_markup: dict[str, Any] | None
    document: bytes | None
    filename: str | None
    resident_id: int | None
    on_blocked: str | None
    attempts: int


@dataclass
class EditionCounts:
    pending: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


async def enqueue(
    db: Database, edition: str, items: Iterable[OutboxItem], now: datetime | None = None
) -> int:
    """Write the rows of an edition; rows already there are left alone. Returns rows added."""
    items = list(items)
    if not items:
        return 0
    async with db.transaction() as tx:
        before = await count_rows(tx, edition)
        await enqueue_in(tx, edition, items, now or datetime.now(UTC))
        after = await count_rows(tx, edition)
        if after == before:
            # Enqueued twice: the rows were there already, so were their bodies.
            await drop_unused_bodies(tx)
    return after - before


async def count_rows(tx: Transaction, edition: str) -> int:
    return int(await tx.fetchval("SELECT COUNT(*) FROM outbox WHERE edition = ?", (edition,)))


class Bodies:
    """Stores each distinct message (text, keyboard, document) once per transaction and gives
    its id: many rows share one message (every subscriber with the same language and choice).
    Keyboards are shared objects, encoded once each."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self._keyboards: dict[int, str] = {}
        self._ids: dict[tuple[Any, ...], int] = {}

    def _keyboard(self, markup: dict[str, Any] | None) -> str | None:
        if not markup:
            return None
        key = id(markup)
        if key not in self._keyboards:
            self._keyboards[key] = json.dumps(markup, ensure_ascii=False)
        return self._keyboards[key]

    async def id(
        self,
        text: str | None,
        markup: dict[str, Any] | None,
        document: bytes | None = None,
        filename: str | None = None,
    ) -> int:
        body = (text, self._keyboard(markup), document, filename)
        if body not in self._ids:
            self._ids[body] = await self.tx.execute(
                "INSERT INTO outbox_bodies (text, reply_markup, document, filename)"
                " VALUES (?, ?, ?, ?)",
                body,
            )
        return self._ids[body]


async def enqueue_in(
    tx: Transaction,
    edition: str,
    items: list[OutboxItem],
    now: datetime,
    bodies: Bodies | None = None,
) -> None:
    """`enqueue` inside an open transaction (with more rows written beside it)."""
    bodies = bodies or Bodies(tx)
    created = now.isoformat()
    rows = []
    for item in items:
        body_id = await bodies.id(item.text, item.reply_markup, item.document, item.filename)
        rows.append(
            (
                edition,
                item.chat_id,
                item.part,
                item.kind,
                body_id,
                item.resident_id,
                item.on_blocked,
                created,
            )
        )
    await tx.executemany(
        "INSERT OR IGNORE INTO outbox (edition, chat_id, part, kind, body_id, resident_id,"
        " on_blocked, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


async def drop_unused_bodies(tx: Transaction) -> None:
    await tx.execute(
        "DELETE FROM outbox_bodies WHERE id NOT IN"
        " (SELECT body_id FROM outbox WHERE body_id IS NOT NULL AND status = 'pending')"
    )


async def edition_exists(db: Database, edition: str) -> bool:
    found = await db.fetchval("SELECT 1 FROM outbox WHERE edition = ? LIMIT 1", (edition,))
    return bool(found == 1)


async def pending(db: Database, edition: str | None = None) -> list[PendingRow]:
    """Unsent rows in sending order: by edition, chat and part."""
    where, params = "status = 'pending' AND payload IS NULL", tuple[str, ...]()
    if edition is not None:
        where, params = "status = 'pending' AND payload IS NULL AND edition = ?", (edition,)
    rows = await db.fetchall(
        f"SELECT * FROM outbox WHERE {where} ORDER BY edition, chat_id, part", params
    )
    # Rows share bodies: load each body once, so every row of one digest choice holds the
    # same text object (and the engine builds each keyboard once; it caches by identity).
    body_ids = sorted({row["body_id"] for row in rows if row["body_id"] is not None})
    bodies: dict[int, tuple[str | None, dict[str, Any] | None, bytes | None, str | None]] = {}
    for start in range(0, len(body_ids), 500):
        chunk = body_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for body in await db.fetchall(f"SELECT * FROM outbox_bodies WHERE id IN ({marks})", chunk):
            markup = json.loads(body["reply_markup"]) if body["reply_markup"] else None
            bodies[body["id"]] = (body["text"], markup, body["document"], body["filename"])

    def content(row: Any) -> tuple[str | None, dict[str, Any] | None, bytes | None, str | None]:
        if row["body_id"] is not None and row["body_id"] in bodies:
            return bodies[row["body_id"]]
        markup = json.loads(row["reply_markup"]) if row["reply_markup"] else None
        return row["text"], markup, row["document"], row["filename"]

    pending_rows = []
    for row in rows:
        text, markup, document, filename = content(row)
        pending_rows.append(
            PendingRow(
                id=row["id"],
                edition=row["edition"],
                chat_id=row["chat_id"],
                part=row["part"],
                kind=row["kind"],
                text=text,
                reply_markup=markup,
                document=document,
                filename=filename,
                resident_id=row["resident_id"],
                on_blocked=row["on_blocked"],
                attempts=row["attempts"],
            )
        )
    return pending_rows


async def mark_sent(db: Database, row_id: int, message_id: int, now: datetime) -> None:
    """Right after Telegram's OK. The payload is dropped: it is no longer needed."""
    await db.execute(
        "UPDATE outbox SET status = 'sent', message_id = ?, done_at = ?, text = NULL,"
        " body_id = NULL, reply_markup = NULL, document = NULL"
        " WHERE id = ? AND status = 'pending'",
        (message_id, now.isoformat(), row_id),
    )


async def mark_blocked(
    db: Database,
    row: PendingRow,
    error: str,
    now: datetime,
    handler: BlockedHandler | None = None,
) -> int:
    """The chat refuses the bot: this row and the rest of the chat's edition are blocked,
    and `handler` (what the row's `on_blocked` names) runs, in one transaction. Returns rows
    marked."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET status = 'blocked', error = ?, done_at = ?, text = NULL,"
            " body_id = NULL, reply_markup = NULL, document = NULL"
            " WHERE edition = ? AND chat_id = ? AND status = 'pending'",
            (error[:200], now.isoformat(), row.edition, row.chat_id),
        )
        marked = int(await tx.fetchval("SELECT changes()"))
        if handler is not None and row.resident_id is not None:
            await handler(tx, row.resident_id, now)
    return marked


async def mark_failed(db: Database, row_id: int, error: str, now: datetime) -> None:
    await db.execute(
        "UPDATE outbox SET status = 'failed', error = ?, done_at = ?, attempts = attempts + 1"
        " WHERE id = ? AND status = 'pending'",
        (error[:200], now.isoformat(), row_id),
    )


async def record_attempt(db: Database, row_id: int, error: str) -> int:
    """A failed try that will be retried; returns the attempts so far."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, error = ? WHERE id = ?",
            (error[:200], row_id),
        )
        return int(await tx.fetchval("SELECT attempts FROM outbox WHERE id = ?", (row_id,)))


async def counts(db: Database, edition: str) -> EditionCounts:
    rows = await db.fetchall(
        "SELECT status, COUNT(*) AS n FROM outbox WHERE edition = ? GROUP BY status", (edition,)
    )
    by_status = {row["status"]: row["n"] for row in rows}
    return EditionCounts(
        pending=by_status.get("pending", 0),
        sent=by_status.get("sent", 0),
        blocked=by_status.get("blocked", 0),
        failed=by_status.get("failed", 0),
        by_status=by_status,
    )


# --- tasks: single messages sent by a named sender ---
@dataclass(frozen=True)
class Task:
    """One pending task: `kind` names the sender, `payload` its arguments (ids, no texts)."""

    id: int
    key: str
    kind: str
    chat_id: int
    payload: dict[str, Any]
    attempts: int


async def add_task(
    db: Database | Transaction,
    kind: str,
    key: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    chat_id: int = STAFF_CHAT,
) -> bool:
    """Store a task (inside the caller's transaction when given one); False if `key` was
    stored before: a handler run twice after a crash enqueues nothing new."""
    if kind in BROADCAST_KINDS:
        raise ValueError(f"{kind!r} is a broadcast kind, not a sender")
    if isinstance(db, Database):
        async with db.transaction() as tx:
            return await add_task(tx, kind, key, payload, now, chat_id=chat_id)
    await db.execute(
        "INSERT OR IGNORE INTO outbox (edition, chat_id, kind, payload, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (key, chat_id, kind, json.dumps(payload, sort_keys=True), now.isoformat()),
    )
    return bool(await db.fetchval("SELECT changes()") == 1)


async def due_tasks(db: Database, now: datetime, limit: int = 200) -> list[Task]:
    """Pending tasks whose time has come, oldest first (the order they were enqueued in)."""
    rows = await db.fetchall(
        "SELECT id, edition, kind, chat_id, payload, attempts, next_attempt_at FROM outbox"
        " WHERE status = 'pending' AND payload IS NOT NULL"
        " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?",
        (now.isoformat(), limit),
    )
    return [
        Task(
            row["id"],
            row["edition"],
            row["kind"],
            row["chat_id"],
            json.loads(row["payload"]),
            row["attempts"],
        )
        for row in rows
    ]


async def task_status(db: Database, key: str) -> str | None:
    """The status of the task stored under `key` (None if there is none)."""
    status = await db.fetchval(
        "SELECT status FROM outbox WHERE edition = ? AND payload IS NOT NULL", (key,)
    )
    return str(status) if status is not None else None


async def task_sent(db: Database, task_id: int, message_id: int | None, now: datetime) -> None:
    """Right after the sender finished. The payload goes (a signed staff reply carries its
    text until it is sent); the key, status and time stay as the record."""
    await db.execute(
        "UPDATE outbox SET status = 'sent', message_id = ?, done_at = ?, error = NULL,"
        " payload = '{}'"
        " WHERE id = ? AND status = 'pending'",
        (message_id, now.isoformat(), task_id),
    )


async def task_later(
    db: Database, task_id: int, error: str, next_attempt: datetime, *, count: bool
) -> int:
    """A failed try; the task waits until `next_attempt`. Flood control does not `count` as
    an attempt. Returns the attempts so far."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET attempts = attempts + ?, error = ?, next_attempt_at = ?"
            " WHERE id = ?",
            (int(count), error[:200], next_attempt.isoformat(), task_id),
        )
        return int(await tx.fetchval("SELECT attempts FROM outbox WHERE id = ?", (task_id,)))


async def task_ended(db: Database, task_id: int, status: str, error: str, now: datetime) -> None:
    """Given up: `blocked` (the chat refuses the bot) or `failed`; the error is the record."""
    if status not in ("blocked", "failed"):
        raise ValueError(status)
    await db.execute(
        "UPDATE outbox SET status = ?, error = ?, done_at = ?, payload = '{}'"
        " WHERE id = ? AND status = 'pending'",
        (status, error[:200], now.isoformat(), task_id),
    )


async def tasks_due_now(db: Database) -> int:
    """After a restart every pending task may be tried at once; returns how many wait."""
    await db.execute(
        "UPDATE outbox SET next_attempt_at = NULL"
        " WHERE status = 'pending' AND payload IS NOT NULL AND next_attempt_at IS NOT NULL"
    )
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND payload IS NOT NULL"
        )
    )


# --- one broadcast at a time ---
def new_lock_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def acquire_lock(db: Database, owner: str, instance: int | None = None) -> bool:
    """Take the delivery lock unless a live run holds it (a killed run's lock is taken over).

    Compare and swap: the row is taken only if it is still the one looked at (absent, or the
    same dead or stale owner and heartbeat), so of two runs starting at once (two jobs of
    an instance, two instances on PostgreSQL) only one gets it; both seeing a dead owner and
    both taking its lock sent every message twice.

    A run is dead when its process on this machine is gone; when (PostgreSQL) the instance
    lock the row names is gone and it has not refreshed the lock for `LOCK_ORPHANED_SECONDS`
    (a run inside a bot instance that died, on any machine; `instance` is the caller's,
    `Database.instance`); or when it has not refreshed the lock for `LOCK_STALE_SECONDS` (an
    operator's `digest send` on another machine, which has no instance lock).
    """
    now = time.time()
    postgres = db.dialect == "postgresql"
    died = f"CASE WHEN {HOLDER_DIED} THEN 1 ELSE 0 END" if postgres else "0"
    row = await db.fetchone(
        f"SELECT owner, heartbeat, {died} AS died FROM delivery_lock WHERE name = ?",
        (LOCK_NAME,),
    )
    # The instance lock this run names (on SQLite none: one instance).
    own, own_params = (OWN_INSTANCE, (instance,)) if postgres else ("NULL", ())
    if row is None:
        taken = await db.write_returning(
            f"INSERT INTO delivery_lock (name, owner, heartbeat, instance) VALUES (?, ?, ?, {own})"
            " ON CONFLICT (name) DO NOTHING RETURNING owner",
            (LOCK_NAME, owner, now, *own_params),
        )
        return bool(taken)
    orphaned = bool(row["died"]) and now - row["heartbeat"] > LOCK_ORPHANED_SECONDS
    if row["owner"] != owner and not orphaned and _alive(row["owner"], row["heartbeat"]):
        return False
    taken = await db.write_returning(
        f"UPDATE delivery_lock SET owner = ?, heartbeat = ?, instance = {own}"
        " WHERE name = ? AND owner = ? AND heartbeat = ? RETURNING owner",
        (owner, now, *own_params, LOCK_NAME, row["owner"], row["heartbeat"]),
    )
    return bool(taken)


async def refresh_lock(db: Database, owner: str) -> None:
    await db.execute(
        "UPDATE delivery_lock SET heartbeat = ? WHERE name = ? AND owner = ?",
        (time.time(), LOCK_NAME, owner),
    )


async def release_lock(db: Database, owner: str) -> None:
    await db.execute("DELETE FROM delivery_lock WHERE name = ? AND owner = ?", (LOCK_NAME, owner))


def _alive(owner: str, heartbeat: float) -> bool:
    if time.time() - heartbeat > LOCK_STALE_SECONDS:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host == socket.gethostname() and pid_text.isdigit():
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return False  # killed (kill -9): its lock is free at once
        except PermissionError:
            return True
    return True


# --- personal data ---
async def export_resident(db: Database, telegram_id: int) -> dict[str, Any]:
    rows = await db.fetchall(
        "SELECT edition, part, status, done_at FROM outbox WHERE chat_id = ? ORDER BY id",
        (telegram_id,),
    )
    return {"messages": [dict(row) for row in rows]} if rows else {}


async def forget_resident(tx: Transaction, telegram_id: int) -> None:
    await tx.execute("DELETE FROM outbox WHERE chat_id = ?", (telegram_id,))
    await drop_unused_bodies(tx)


async def expire(tx: Transaction, cutoff: datetime) -> int:
    """Finished rows older than the retention cutoff go; an edition's record is kept until
    then, so an old edition is never sent again."""
    await tx.execute(
        "DELETE FROM outbox WHERE status != 'pending' AND created_at < ?", (cutoff.isoformat(),)
    )
    removed = int(await tx.fetchval("SELECT changes()"))
    await drop_unused_bodies(tx)
    return removed


async def make_due(db: Database, key: str, now: datetime) -> None:
    """A postponed task whose reason has gone (a translation arrived) may go at once."""
    await db.execute(
        "UPDATE outbox SET next_attempt_at = ? WHERE edition = ? AND status = 'pending'"
        " AND payload IS NOT NULL",
        (now.isoformat(), key),
    )
