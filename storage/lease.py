"""Leases: one named job held by one instance at a time, taken over when its holder dies.

Several instances of the bot on one PostgreSQL database must not all run the scheduled jobs
(the weekly digest would go out twice). A lease is a row in `delivery_lock` (name, owner,
heartbeat): its holder renews it well within `ttl` seconds; a holder that died stops renewing,
and after `ttl` seconds another instance's `acquire` takes the row over. Each call is one
atomic statement (an upsert that changes the row only when it is ours or expired), so two
instances asking at once cannot both win.

Times are wall-clock seconds (`time.time()`), as the instances share only the database; their
clocks must agree to well within `ttl` (NTP does far better). Callers may pass `now` (tests do).
"""

from __future__ import annotations

import time

from storage.db import Database


async def acquire(
    db: Database, name: str, owner: str, ttl: float, now: float | None = None
) -> bool:
    """Take (or keep) the lease `name` for `owner`; False while another owner holds it and
    renewed it less than `ttl` seconds ago. Acquiring a lease one holds renews it."""
    now = time.time() if now is None else now
    rows = await db.write_returning(
        "INSERT INTO delivery_lock (name, owner, heartbeat) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, heartbeat = excluded.heartbeat"
        " WHERE delivery_lock.owner = excluded.owner OR delivery_lock.heartbeat < ?"
        " RETURNING owner",
        (name, owner, now, now - ttl),
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
