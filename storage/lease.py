"""Leases: one named job held by one instance at a time, taken over when its holder dies.

Several instances of the bot on one PostgreSQL database must not all run the scheduled jobs
(the weekly digest would go out twice). A lease is a row in `delivery_lock` (name, owner,
heartbeat, instance): its holder renews it well within `ttl` seconds. Each call is one atomic
statement (an upsert that changes the row only when it is ours or its holder is gone), so two
instances asking at once cannot both win.

How a dead holder is recognised:
- at once, when its process died: the row names the holder's *instance lock*, an advisory
  lock its process holds on a connection of its own (storage/chat_locks.py), which the server
  frees as soon as that connection closes. `acquire` reads the server's lock table in the same
  statement, so a lease whose instance lock is gone is free, however fresh its heartbeat;
- after `ttl` seconds without a renewal, always: a holder whose whole machine vanished keeps
  its instance lock until TCP keepalive gives up, and a holder without an instance lock (SQLite,
  an operator's command, an instance whose lock connection failed) names none.

A holder names its instance lock only while the server still sees it held (checked in the
same statement): one whose lock connection closed falls back to the expiry rule at its next
renewal instead of looking dead to the others for good.

Times are wall-clock seconds (`time.time()`), as the instances share only the database; their
clocks must agree to well within `ttl` (NTP does far better). Callers may pass `now` (tests do).
"""

from __future__ import annotations

import time

from storage.chat_locks import LIVE_INSTANCES
from storage.db import Database

#: PostgreSQL: the caller's instance number (a parameter) if its instance lock is held, else
#: NULL.
OWN_INSTANCE = (
    f"(SELECT live.number FROM ({LIVE_INSTANCES}) AS live (number) WHERE live.number = ?)"
)
#: PostgreSQL: the row's holder named an instance lock, and that lock is gone (it died).
HOLDER_DIED = (
    f"(delivery_lock.instance IS NOT NULL AND delivery_lock.instance NOT IN ({LIVE_INSTANCES}))"
)


async def acquire(
    db: Database,
    name: str,
    owner: str,
    ttl: float,
    now: float | None = None,
    instance: int | None = None,
) -> bool:
    """Take (or keep) the lease `name` for `owner`; False while another owner holds it, renewed
    it less than `ttl` seconds ago and (PostgreSQL) is not known to be dead. Acquiring a lease
    one holds renews it.

    `instance`: the number of the caller's instance lock (`Database.instance`), written with
    the lease so that others may take it over the moment this process dies; ignored on
    SQLite, which has one instance.
    """
    now = time.time() if now is None else now
    if db.dialect != "postgresql":
        rows = await db.write_returning(
            "INSERT INTO delivery_lock (name, owner, heartbeat) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
            " heartbeat = excluded.heartbeat"
            " WHERE delivery_lock.owner = excluded.owner OR delivery_lock.heartbeat < ?"
            " RETURNING owner",
            (name, owner, now, now - ttl),
        )
        return bool(rows)
    rows = await db.write_returning(
        "INSERT INTO delivery_lock (name, owner, heartbeat, instance)"
        f" VALUES (?, ?, ?, {OWN_INSTANCE})"
        " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
        " heartbeat = excluded.heartbeat, instance = excluded.instance"
        " WHERE delivery_lock.owner = excluded.owner OR delivery_lock.heartbeat < ?"
        f" OR {HOLDER_DIED} RETURNING owner",
        (name, owner, now, instance, now - ttl),
    )
    return bool(rows)


async def renew(db: Database, name: str, owner: str, now: float | None = None) -> bool:
    """Renew a lease `owner` holds; False if it was lost (expired and taken over, or released)."""
    now = time.time() if now is None else now
    rows = await db.write_returning(
        "UPDATE delivery_lock SET heartbeat = ? WHERE name = ? AND owner = ? RETURNING owner",
        (now, name, owner),
    )
    return bool(rows)


async def release(db: Database, name: str, owner: str) -> None:
    """Give the lease up (a clean stop), so another instance takes it at its next try."""
    await db.execute("DELETE FROM delivery_lock WHERE name = ? AND owner = ?", (name, owner))


async def holder(db: Database, name: str) -> str | None:
    """Who holds (or last held) the lease, for operators and tests."""
    value = await db.fetchval("SELECT owner FROM delivery_lock WHERE name = ?", (name,))
    return None if value is None else str(value)
