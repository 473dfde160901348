"""Concurrent update processing that keeps each chat's updates in order.

Residents must not wait for each other, so updates are handled concurrently; but one resident's
"photo, then text, then confirm" must be handled in the order sent. A lock per chat gives both.
In a forum (the staff chat) the lock is per topic: each case is its own conversation, and staff
answering five residents at once must not wait for each other's relays.
The processor also knows when it is idle, which clean shutdown and the tests rely on.

Several instances on one PostgreSQL database (behind a load balancer, each receiving some of
a chat's updates) also take the chat's advisory lock (storage/chat_locks.py), and holding it:
1. first handle the chat's earlier updates that still wait in the inbox, oldest first
   (`earlier_unhandled`): stored by another instance that has not got the lock yet, or left
   by one that died. Update 1 of a chat going to instance A and update 2 to instance B at
   once is thus handled 1, 2 by whichever takes the lock first;
2. skip an update another instance has handled meanwhile (`still_unhandled`).
So a chat's updates are handled once each, in Telegram's order (update_id), among those
stored in the inbox when the lock is taken. The limit: an update still being stored at that
moment (its POST arriving at another instance in the same instant, which Telegram does when
it sends over several connections at once, `max_connections`) is handled after the later
one. Updates Telegram sends one at a time, each after the answer to the one before (what the
bot's 200 after the commit gives with one connection), are always in order.

Fairness: a chat waits for its turn *before* it takes one of the concurrency slots. The other
way round, one resident sending 500 messages filled every slot with updates that only waited
for their own chat's lock, and everybody else waited behind them for minutes. And the flood
guard decides when an update arrives (`admission`), not when its turn comes, so it sees the
messages that are still waiting.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager, nullcontext
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from storage.chat_locks import ChatLocks, lock_key

log = logging.getLogger(__name__)

#: True while an update's handlers run (the outbox then sends in the background: the update is
#: done once its work is committed, not once Telegram has it).
HANDLING_UPDATE: ContextVar[bool] = ContextVar("handling_update", default=False)

#: The base class takes its slot before `do_process_update`, i.e. before the chat's turn; its
#: limit is set out of reach and the real one (`_slots`) is taken after the turn.
_NO_LIMIT = 1 << 30


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Process updates concurrently across chats, sequentially within one chat."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(_NO_LIMIT)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        #: Asked once per update as it arrives, before it waits for its chat's turn; an update
        #: it refuses is still passed to the handlers (the guard answers it), marked refused.
        self.admission: Callable[[Update], bool] | None = None
        self._refused: set[int] = set()
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._waiting: dict[Hashable, int] = {}
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        #: Told when an update's handlers are all done (the inbox marks it handled).
        self.on_handled: Callable[[object], Awaitable[None]] | None = None
        #: Told as an update's handlers begin (the inbox counts an attempt at an update
        #: handled again after a crash).
        self.on_begin: Callable[[object], Awaitable[None]] | None = None
        #: On PostgreSQL: keeps other instances from handling the same chat at the same time.
        self.chat_locks: ChatLocks | None = None
        #: Asked with the chat's locks held whether an update still needs handling (another
        #: instance may have handled it meanwhile); None: it always does.
        self.still_unhandled: Callable[[Update], Awaitable[bool]] | None = None
        #: Asked with the chat's locks held for the chat's earlier updates that wait in the
        #: inbox (other instances' or a dead one's), oldest first; they are handled first,
        #: with `handle`. None: there are none (one instance).
        self.earlier_unhandled: Callable[[Update], Awaitable[list[Update]]] | None = None
        #: Runs an update's handlers (the Application's `process_update`).
        self.handle: Callable[[Update], Awaitable[None]] | None = None

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def wait_idle(self) -> None:
        await self._idle.wait()

    def take_refusal(self, update: Update) -> bool:
        """True (once) if `admission` refused this update when it arrived."""
        try:
            self._refused.remove(update.update_id)
        except KeyError:
            return False
        return True

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        self._in_flight += 1
        self._idle.clear()
        if (
            isinstance(update, Update)
            and self.admission is not None
            and not self.admission(update)
        ):
            self._refused.add(update.update_id)
        try:
            if key is None:
                async with self._slots:
                    await self._begin(update)
                    await _handling(coroutine)
                    await self._handled(update)
                return
            lock = self._locks.setdefault(key, asyncio.Lock())
            self._waiting[key] = self._waiting.get(key, 0) + 1
            try:
                async with lock, self._across_instances(key), self._slots:
                    await self._earlier_first(update)
                    if await self._needs_handling(update):
                        await self._begin(update)
                        await _handling(coroutine)
                        await self._handled(update)
                    elif inspect.iscoroutine(coroutine):
                        coroutine.close()
            finally:
                self._waiting[key] -= 1
                if self._waiting[key] == 0:
                    # Forget idle chats so the dict does not grow with every resident ever seen.
                    del self._waiting[key]
                    del self._locks[key]
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    def _across_instances(self, key: Hashable) -> AbstractAsyncContextManager[None]:
        if self.chat_locks is None or not isinstance(key, int | tuple):
            return nullcontext()
        return self.chat_locks.hold(key)

    async def _earlier_first(self, update: object) -> None:
        if self.earlier_unhandled is None or self.handle is None:
            return
        if not isinstance(update, Update):
            return
        for earlier in await self.earlier_unhandled(update):
            log.info(
                "update %s is handled before %s, in its chat's order",
                earlier.update_id,
                update.update_id,
            )
            await self.handle(earlier)
            await self._handled(earlier)

    async def _needs_handling(self, update: object) -> bool:
        if self.still_unhandled is None or not isinstance(update, Update):
            return True
        if await self.still_unhandled(update):
            return True
        log.info("update %s was handled by another instance", update.update_id)
        return False

    async def _begin(self, update: object) -> None:
        if self.on_begin is not None:
            await self.on_begin(update)

    async def _handled(self, update: object) -> None:
        if self.on_handled is not None:
            await self.on_handled(update)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        if self.chat_locks is not None:
            await self.chat_locks.close()
            self.chat_locks = None


def chat_key(update: object) -> int | None:
    """The key of the advisory lock of the update's chat or forum topic (None: none)."""
    key = _chat_key(update)
    return lock_key(key) if isinstance(key, int | tuple) else None


async def _handling(coroutine: Awaitable[Any]) -> None:
    token = HANDLING_UPDATE.set(True)
    try:
        await coroutine
    finally:
        HANDLING_UPDATE.reset(token)


def _chat_key(update: object) -> Hashable | None:
    """What must be handled in order: a chat, or one topic of a forum."""
    if not isinstance(update, Update):
        return None
    message = update.effective_message
    if (
        update.effective_chat is not None
        and update.effective_chat.is_forum
        and message is not None
        and message.is_topic_message
        and message.message_thread_id is not None
    ):
        return (update.effective_chat.id, message.message_thread_id)
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
