"""One chat's updates handled by one instance at a time, across instances on one PostgreSQL.

Each instance already handles one chat's updates one after another (bot/processing.py). When
several instances share a database, two of them may receive updates of the same chat at once
(a load balancer in front of the webhooks; an instance that starts and handles again what the
inbox holds unhandled). A PostgreSQL advisory lock keyed by the chat makes the second wait for
the first. The locks are session locks on one connection of their own, not on the pool: they
are held while handlers use the pool, and when an instance dies its session ends and the
server frees its locks at once.

`pg_try_advisory_lock` never blocks, so one connection serves every chat of the instance;
a chat another instance is busy with is asked again every `POLL_SECONDS`.

The same connection holds one more lock for the instance's lifetime: its *instance lock*
(two-key form, `INSTANCE_LOCK_CLASS` and a random `instance` number; the chat locks use the
one-key form, a key space of its own). The inbox records which instance stored each update;
an update whose instance holds no instance lock any more was left by a dead instance, and
another one takes it over (`storage.inbox.claim_orphans`); the scheduler lease and the
delivery lock name it too, and are taken over early when it is gone (storage/lease.py,
storage/outbox.py). The server ends a dead instance's session, and so frees its lock, as soon
as it sees the connection close: at once when the process was killed; after TCP keepalive
gives up when its machine vanished from the network. `LIVE_INSTANCES` reads which instance
locks are held, in the statement that needs to know.

Should the connection close while the instance lives on (the server restarted or ended the
session, the network cut it), the instance has no instance lock any more, and other instances
take it for dead: `on_lost` tells the instance as soon as it sees the connection close, so
that it stops naming the lock (bot/inbox.py, bot/scheduler_lease.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg

from storage.db import DatabaseErrors, PostgresLocation

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
#: The first key of every instance lock ("STIK"); the second is the instance's number.
INSTANCE_LOCK_CLASS = 0x5354494B
#: The instances alive now: the numbers of the instance locks held in this database (a
#: subquery: `... NOT IN (LIVE_INSTANCES)`). The server's lock table is read as the statement
#: runs, not from a snapshot.
LIVE_INSTANCES = (
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
    f" AND classid = {INSTANCE_LOCK_CLASS}::oid AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def lock_key(chat: int | tuple[int, ...]) -> int:
    """The advisory lock's 64-bit key: the chat id itself, or a hash of (chat, forum topic)."""
    if isinstance(chat, int):
        return chat
    digest = hashlib.blake2b(repr(chat).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class ChatLocks:
    """Advisory locks per chat on one dedicated connection, and the instance lock."""

    def __init__(self, conn: asyncpg.Connection, instance: int) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()  # one statement at a time on the connection
        #: This instance's number: its instance lock's second key, written beside the updates
        #: it stores. Held until the connection closes.
        self.instance = instance
        #: Called once when the connection closes (and the instance lock with it), unless
        #: `close` closed it.
        self.on_lost: Callable[[], None] | None = None
        self._closing = False
        conn.add_termination_listener(self._ended)

    @classmethod
    async def open(cls, location: PostgresLocation) -> ChatLocks:
        conn = await asyncpg.connect(location.url)
        while True:  # a number another live instance has drawn is drawn again
            instance = 1 + secrets.randbelow(2**31 - 2)
            taken = await conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", INSTANCE_LOCK_CLASS, instance
            )
            if taken:
                return cls(conn, instance)

    async def close(self) -> None:
        self._closing = True
        await self._conn.close()

    def _ended(self, conn: object) -> None:
        if self._closing:
            return
        log.error(
            "the connection holding this instance's locks closed: other instances now take"
            " this one for dead"
        )
        if self.on_lost is not None:
            self.on_lost()

    @asynccontextmanager
    async def hold(self, chat: int | tuple[int, ...]) -> AsyncIterator[None]:
        """Wait until no other instance handles `chat`, and keep it until the block ends.

        If the database cannot be asked, the block runs anyway (this instance still handles
        the chat in order; the database errors the handlers meet are handled as ever).
        """
        key = lock_key(chat)
        held = False
        try:
            while True:
                async with self._lock:
                    held = bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
                if held:
                    break
                await asyncio.sleep(POLL_SECONDS)
        except DatabaseErrors as error:
            log.error("the lock of a chat could not be taken (%s); handling without it", error)
        try:
            yield
        finally:
            if held:
                try:
                    async with self._lock:
                        await self._conn.execute("SELECT pg_advisory_unlock($1)", key)
                except DatabaseErrors as error:
                    log.error("the lock of a chat could not be freed (%s)", error)
