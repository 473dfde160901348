"""Updates survive a crash: each is written to the database before Telegram learns that it
arrived, and marked handled when its handlers are done; a restart handles the rest again.

python-telegram-bot's long polling puts a fetched batch on the update queue and acknowledges
it with the very next getUpdates call, long before slow handlers are done. `DurableUpdateQueue`
stores each update in `put`, which the poller awaits before that next call, so an acknowledged
update is always in the inbox. In webhook mode python-telegram-bot's server awaits the same
`put` before it answers Telegram's POST, so Telegram gets its 200 only for a stored update
(and sends the update again when the commit failed). `PerChatUpdateProcessor` reports when an
update is done.

Several instances on one PostgreSQL database (behind a load balancer): each update is stored
with the number of the instance that stored it, and an update whose instance died before it
was handled is taken over by the instance running the scheduled jobs (`take_over_orphans`,
every third of `BOT_LEASE_SECONDS` and at once when it takes the jobs over), or by the next
instance to start. So an update is not lost when an instance is killed, whether or not it held
the scheduler lease; see `share_chats` for why none is handled twice.

What this guarantees: an update is handled at least once. An update that was being handled
when the bot died is handled again from the start; the features' own records (a message
relayed is stored with its id, an answer moves the survey on) make the second run skip what
the first one finished. The one window no bot can close: a reply Telegram accepted in the
instant before the crash, before the bot could record it, may go out once more.

When the database cannot be written (locked by another process for longer than the busy
timeout, a full disk), `put` waits and tries again, with a growing pause, until it can: the
update is not acknowledged to Telegram meanwhile, so nothing is lost, and the poller keeps
running instead of ending quietly. A stop (SIGTERM) cancels the wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, Update

from bot.context import BotApplication, BotContext, BotData
from bot.processing import PerChatUpdateProcessor, chat_key
from bot.registry import add_startup_hook
from bot.scheduler_lease import run_on_takeover
from storage import inbox
from storage.chat_locks import ChatLocks
from storage.db import Database, DatabaseErrors, PostgresLocation

log = logging.getLogger(__name__)

#: An update the bot died on this many times is given up (it may be what kills the bot).
MAX_ATTEMPTS = 5
#: Handled ids are kept this long to recognise an update Telegram delivers a second time.
KEEP_HANDLED = timedelta(days=2)
PRUNE_EVERY = timedelta(hours=6)
#: Pauses between attempts to write to a database that refuses: 1 s, doubling up to 30 s.
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0
#: The job that takes over the updates of instances that died (PostgreSQL).
ORPHANS_JOB = "inbox-orphans"

T = TypeVar("T")


async def _until_written(
    what: str, write: Callable[[], Awaitable[T]], keep_trying: Callable[[], bool] = lambda: True
) -> T:
    """Run `write` until the database takes it; log each refusal (ids and errors only).

    Raises the database's error once `keep_trying()` says no (the bot is stopping).
    """
    pause = RETRY_FIRST_SECONDS
    failures = 0
    while True:
        try:
            result = await write()
        except DatabaseErrors as error:  # locked past the busy timeout, disk full, I/O error
            failures += 1
            if not keep_trying():
                log.error("%s: the database refused (%s); the bot is stopping", what, error)
                raise
            log.error(
                "%s: the database refused (%s); trying again in %.0f s (attempt %d)",
                what,
                error,
                pause,
                failures,
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MAX_SECONDS)
            continue
        if failures:
            log.warning("%s: written after %d failed attempts", what, failures)
        return result


class DurableUpdateQueue(asyncio.Queue[Any]):
    """The Application's update queue; `put` commits an update to the inbox first.

    An update already in the inbox (Telegram delivering it again after a crash, before the
    acknowledgement reached it) is not queued a second time.
    """

    def __init__(self) -> None:
        super().__init__()
        self.bot_data: BotData | None = None
        #: On PostgreSQL: this instance's number, stored with each update it claims.
        self.instance: int | None = None
        #: Updates queued again after a crash whose handling has not begun yet.
        self.again: set[int] = set()

    async def put(self, item: Any) -> None:
        if isinstance(item, Update) and not await self._store(item):
            log.info("update %s was delivered again; it is not handled twice", item.update_id)
            return
        await super().put(item)

    async def _store(self, update: Update) -> bool:
        data = self.bot_data
        if data is None or not hasattr(data, "db"):
            return True  # not running yet (never the case while updates arrive)
        payload = update.to_dict()
        return await _until_written(
            f"update {update.update_id}",
            lambda: inbox.store(
                data.db, update.update_id, payload, data.clock(), self.instance, chat_key(update)
            ),
        )


async def mark_handled(
    data: BotData, update: object, keep_trying: Callable[[], bool] = lambda: True
) -> None:
    """Called by the update processor once every handler of `update` is done.

    If the bot is stopping while the database refuses, the update stays unhandled in the inbox
    and is handled again after the restart, rather than holding up the stop.
    """
    if isinstance(update, Update) and hasattr(data, "db"):
        await _until_written(
            f"update {update.update_id} handled",
            lambda: inbox.mark_handled(data.db, update.update_id, data.clock()),
            keep_trying,
        )


async def requeue_unhandled(
    app: BotApplication, queue: DurableUpdateQueue, processor: PerChatUpdateProcessor
) -> None:
    """Start-up hook: queue what the last run fetched but did not finish, before updates come.

    On SQLite that is every unhandled update; on PostgreSQL, where other instances may be
    handling theirs right now, only those of instances that are gone (`take_over_orphans`).
    """
    data = app.bot_data
    await inbox.prune(data.db, data.clock() - KEEP_HANDLED)
    if await share_chats(app, queue, processor):
        taken = await take_over_orphans(app, queue)
        if taken:
            log.info("%s updates from before the start are handled again", taken)
        return
    payloads, dropped = await inbox.take_unhandled(data.db, MAX_ATTEMPTS, data.clock())
    _queue_again(app, payloads, dropped)
    if payloads:
        log.info("%s updates from before the restart are handled again", len(payloads))


def _queue_again(
    app: BotApplication, payloads: list[dict[str, Any]], dropped: list[int]
) -> None:
    for update_id in dropped:
        log.error("update %s was given up after %s attempts", update_id, MAX_ATTEMPTS)
    queue = app.update_queue
    for payload in payloads:
        update = Update.de_json(payload, app.bot)
        if isinstance(queue, DurableUpdateQueue):
            queue.again.add(update.update_id)
        # Straight onto the queue: it is in the inbox already.
        asyncio.Queue.put_nowait(app.update_queue, update)


async def count_attempt(app: BotApplication, update: object) -> None:
    """Called as the handlers of an update begin: one queued again after a crash counts one
    more attempt at it (an update that kills the bot is given up after `MAX_ATTEMPTS`)."""
    queue = app.update_queue
    if not isinstance(update, Update) or not isinstance(queue, DurableUpdateQueue):
        return
    if update.update_id in queue.again:
        queue.again.discard(update.update_id)
        await _until_written(
            f"update {update.update_id} attempt",
            lambda: inbox.count_attempt(app.bot_data.db, update.update_id),
            lambda: app.running,
        )


async def take_over_orphans(app: BotApplication, queue: DurableUpdateQueue) -> int:
    """PostgreSQL: queue here the unhandled updates of instances that died; returns how many.

    The chats' locks and the "already handled" check make this safe beside instances that
    are alive (their updates are not taken anyway).
    """
    data = app.bot_data
    if queue.instance is None:
        return 0
    payloads, dropped = await inbox.claim_orphans(
        data.db, queue.instance, MAX_ATTEMPTS, data.clock()
    )
    _queue_again(app, payloads, dropped)
    return len(payloads)


async def share_chats(
    app: BotApplication, queue: DurableUpdateQueue, processor: PerChatUpdateProcessor
) -> bool:
    """On PostgreSQL, where other instances may share the database: take this instance's
    locks and number (`Database.instance`); False on SQLite.

    An update is claimed by the instance whose inbox insert stored it (`DurableUpdateQueue`),
    yet another instance may come to handle it: one taking over a dead instance's updates
    (the dead one may have been half-way through one), or one handling its chat's earlier
    waiting updates before its own (bot/processing.py). So each chat is handled under its
    advisory lock, and with the lock held an update already handled is skipped: handled once.
    """
    db = app.bot_data.db
    location = getattr(db, "path", None)
    if db.dialect != "postgresql" or not isinstance(location, PostgresLocation):
        return False
    locks = processor.chat_locks = await ChatLocks.open(location)
    queue.instance = locks.instance
    # The scheduler lease and the delivery lock name it too (the lease is first taken by the
    # next start-up hook, bot/scheduler_lease.py), as long as the lock lives.
    db.instance = locks.instance

    def lost() -> None:
        db.instance = None

    locks.on_lost = lost
    wire_instance(
        processor, db, queue.instance, app.process_update, lambda: app.running, app.bot
    )

    async def orphans(context: BotContext) -> None:
        taken = await take_over_orphans(app, queue)
        if taken:
            log.warning("%s updates of an instance that stopped are handled here", taken)

    assert app.job_queue is not None
    every = app.bot_data.config.lease_seconds / 3
    app.job_queue.run_repeating(orphans, interval=every, first=every, name=ORPHANS_JOB)
    run_on_takeover(app, orphans, ORPHANS_JOB)
    return True


def wire_instance(
    processor: PerChatUpdateProcessor,
    db: Database,
    instance: int,
    handle: Callable[[Update], Awaitable[None]],
    keep_trying: Callable[[], bool],
    bot: Bot | None = None,
) -> None:
    """What the processor of instance number `instance` asks the inbox with a chat's lock
    held (bot/processing.py): whether an update is still unhandled, and the chat's earlier
    updates that wait, which it handles first with `handle`."""

    async def still_unhandled(update: Update) -> bool:
        return await _until_written(
            f"update {update.update_id} looked up",
            lambda: inbox.is_unhandled(db, update.update_id),
            keep_trying,
        )

    async def earlier_unhandled(update: Update) -> list[Update]:
        key = chat_key(update)
        if key is None:
            return []
        payloads = await _until_written(
            f"updates before {update.update_id} looked up",
            lambda: inbox.take_earlier(db, key, update.update_id, instance, MAX_ATTEMPTS),
            keep_trying,
        )
        return [Update.de_json(payload, bot) for payload in payloads]

    processor.still_unhandled = still_unhandled
    processor.earlier_unhandled = earlier_unhandled
    processor.handle = handle


async def _prune(context: BotContext) -> None:
    await inbox.prune(context.db, context.now() - KEEP_HANDLED)


def install(
    app: BotApplication, queue: DurableUpdateQueue, processor: PerChatUpdateProcessor
) -> None:
    """Wire the inbox into an Application built with `queue` and `processor`."""
    queue.bot_data = app.bot_data
    processor.on_handled = lambda update: mark_handled(app.bot_data, update, lambda: app.running)
    processor.on_begin = lambda update: count_attempt(app, update)
    add_startup_hook(app, lambda app: requeue_unhandled(app, queue, processor))
    assert app.job_queue is not None
    app.job_queue.run_repeating(_prune, interval=PRUNE_EVERY, first=PRUNE_EVERY, name="inbox")
