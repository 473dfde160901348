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
another one takes it over (`storage.inbox.claim_orphans`). The server ends a dead instance's
session, and so frees its lock, as soon as it sees the connection close: at once when the
process was killed; after TCP keepalive gives up when its machine vanished from the network.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from storage.db import DatabaseErrors, PostgresLocation

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
#: The first key of every instance lock ("STIK"); the second is the instance's number.
INSTANCE_LOCK_CLASS = 0x5354494B


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
        await self._conn.close()

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
