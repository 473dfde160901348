"""Several instances on one database: one runs the scheduled jobs (a lease), each update is
handled by one of them (the inbox insert is the claim)."""

from __future__ import annotations

import asyncio
import contextlib
import time as time_module
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time

import pytest
from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes

from bot.context import BotApplication, BotContext, BotData
from bot.inbox import DurableUpdateQueue, wire_instance
from bot.processing import PerChatUpdateProcessor, chat_key
from bot.scheduler_lease import LEASE_NAME, TAKEOVER_SUFFIX, LeasedJobQueue, SchedulerLease
from storage import inbox, lease, outbox
from storage.chat_locks import ChatLocks, lock_key
from storage.db import Database, DatabaseLocation, PostgresLocation
from tests.postgres import on_both_engines

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def _handles(location: DatabaseLocation, count: int) -> AsyncIterator[list[Database]]:
    handles = [await Database.open(location) for _ in range(count)]
    try:
        yield handles
    finally:
        for handle in handles:
            await handle.close()


@on_both_engines
async def test_one_owner_holds_a_lease_until_it_expires(database_location: DatabaseLocation):
    db = await Database.open(database_location)
    try:
        assert await lease.acquire(db, "jobs", "a", ttl=30, now=1000.0)
        assert not await lease.acquire(db, "jobs", "b", ttl=30, now=1010.0)
        assert await lease.renew(db, "jobs", "a", now=1020.0)
        # 30 s after a's last renewal, b is still refused; a moment later it takes over.
        assert not await lease.acquire(db, "jobs", "b", ttl=30, now=1049.0)
        assert await lease.acquire(db, "jobs", "b", ttl=30, now=1051.0)
        assert await lease.holder(db, "jobs") == "b"
        assert not await lease.renew(db, "jobs", "a", now=1052.0)  # a learns it lost it
        # Another name is another lease.
        assert await lease.acquire(db, "other", "a", ttl=30, now=1052.0)
        # A released lease is free at once.
        await lease.release(db, "jobs", "b")
        assert await lease.acquire(db, "jobs", "a", ttl=30, now=1053.0)
        await lease.release(db, "jobs", "b")  # not b's any more: changes nothing
        assert await lease.holder(db, "jobs") == "a"
    finally:
        await db.close()


@pytest.mark.sqlite_only
async def test_on_sqlite_the_only_instance_always_runs_the_jobs(
    database_location: DatabaseLocation,
):
    db = await Database.open(database_location)
    try:
        first, second = SchedulerLease("one"), SchedulerLease("two")
        assert await first.holds(db) and await second.holds(db)
        assert await lease.holder(db, LEASE_NAME) is None  # nothing written for it
    finally:
        await db.close()


@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
@pytest.mark.postgresql
async def test_two_instances_race_for_the_lease_and_one_wins(database_location):
    async with _handles(database_location, 2) as handles:
        attempts = [
            lease.acquire(handles[i % 2], "jobs", f"instance-{i}", ttl=30, now=1000.0)
            for i in range(10)
        ]
        won = await asyncio.gather(*attempts)
        assert won.count(True) == 1
        winner = f"instance-{won.index(True)}"
        assert await lease.holder(handles[1], "jobs") == winner


@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
@pytest.mark.postgresql
async def test_another_instance_takes_the_jobs_over_when_the_holder_stops_renewing(
    database_location,
):
    async with _handles(database_location, 2) as (one, two):
        first = SchedulerLease("first", ttl=2.0, renew_every=0.5)
        second = SchedulerLease("second", ttl=2.0, renew_every=0.5)
        assert await first.holds(one)
        assert not await second.holds(two)
        assert await first.renew(one)
        assert not await second.renew(two)
        # The first instance dies: nobody renews its lease. Within the TTL it still blocks.
        assert not await second.holds(two)
        await asyncio.sleep(2.2)
        assert await second.holds(two)
        assert await lease.holder(one, LEASE_NAME) == "second"
        # Were the first one only paused, it learns at its next renewal that it lost the jobs.
        assert not await first.holds(one)
        # A clean stop hands the lease over at once.
        await second.release(two)
        assert await first.holds(one)


@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
@pytest.mark.postgresql
async def test_a_lease_whose_holders_process_died_is_taken_over_at_once(database_location):
    """The lease names its holder's instance lock, which the server frees the moment the
    holder's process dies: then the lease is free at once, however long it has to run."""
    async with _handles(database_location, 2) as (one, two):
        dead, alive, other = [await ChatLocks.open(database_location) for _ in range(3)]
        try:
            hour = 3600.0
            assert await lease.acquire(one, "jobs", "dead", hour, 1000.0, dead.instance)
            assert await lease.acquire(one, "mail", "alive", hour, 1000.0, alive.instance)
            # An instance without an instance lock (an operator's command) names none.
            assert await lease.acquire(one, "plain", "nameless", hour, 1000.0, None)
            # A lock its holder no longer holds is not named either: its holder, alive or
            # not, is not taken for dead at once.
            lost = await ChatLocks.open(database_location)
            number = lost.instance
            await lost.close()
            assert await lease.acquire(one, "lost", "lost", hour, 1000.0, number)
            named = await one.fetchall("SELECT name, instance FROM delivery_lock ORDER BY name")
            assert {row["name"]: row["instance"] for row in named} == {
                "jobs": dead.instance,
                "lost": None,
                "mail": alive.instance,
                "plain": None,
            }
            names = ("jobs", "mail", "plain", "lost")
            for name in names:  # every holder is alive: nobody else gets a lease
                assert not await lease.acquire(two, name, "taker", hour, 1001.0, other.instance)
            await dead.close()  # the process holding "jobs" is killed
            won = [
                await lease.acquire(two, n, "taker", hour, 1002.0, other.instance) for n in names
            ]
            assert won == [True, False, False, False]
            assert await lease.holder(one, "jobs") == "taker"
            # The dead holder's lease now names the taker's lock.
            assert (
                await one.fetchval("SELECT instance FROM delivery_lock WHERE name = 'jobs'")
                == other.instance
            )
            # The expiry rule still holds for the rest.
            assert await lease.acquire(two, "plain", "taker", hour, 1000.0 + hour + 1, None)
        finally:
            for locks in (dead, alive, other):
                with contextlib.suppress(Exception):
                    await locks.close()


@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
@pytest.mark.postgresql
async def test_the_jobs_of_a_killed_instance_move_at_once_whatever_the_lease(database_location):
    """Each instance names its instance lock (`Database.instance`, as bot/inbox.py sets it):
    when the holder's process dies, the other instance takes the jobs over at its next look,
    long before the hour-long lease expires."""
    async with _handles(database_location, 2) as (one, two):
        locks = [await ChatLocks.open(database_location) for _ in range(2)]
        try:
            one.instance, two.instance = (held.instance for held in locks)
            first = SchedulerLease("first", ttl=3600.0, renew_every=1200.0)
            second = SchedulerLease("second", ttl=3600.0, renew_every=1200.0)
            assert await first.holds(one)
            assert not await second.holds(two)
            await locks[0].close()  # the first instance is killed: its session ends
            assert await second.holds(two)
            assert await lease.holder(two, LEASE_NAME) == "second"
        finally:
            for held in locks:
                with contextlib.suppress(Exception):
                    await held.close()


@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
@pytest.mark.postgresql
async def test_an_instance_whose_lock_connection_closed_keeps_the_lease_on_expiry_terms(
    database_location,
):
    """The server ends the session holding a live instance's instance lock: the instance
    stops counting on its lease until it has renewed it naming no lock, and from then on the
    others wait for the lease to expire, as with a holder on a vanished machine."""
    async with _handles(database_location, 3) as (one, two, admin):
        locks = [await ChatLocks.open(database_location) for _ in range(2)]
        try:
            one.instance, two.instance = (held.instance for held in locks)
            lost = asyncio.Event()

            def on_lost() -> None:  # as bot/inbox.py wires it
                one.instance = None
                lost.set()

            locks[0].on_lost = on_lost
            first = SchedulerLease("first", ttl=3600.0, renew_every=1200.0)
            second = SchedulerLease("second", ttl=3600.0, renew_every=1200.0)
            assert await first.holds(one)
            await admin.fetchval(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                " AND objsubid = 2 AND objid = ?::oid",
                (locks[0].instance,),
            )
            async with asyncio.timeout(10):
                await lost.wait()
            # Within its renewal interval, yet it asks again (it would lose a race to the
            # other instance's next look).
            assert await first.holds(one)
            assert await one.fetchval("SELECT instance FROM delivery_lock") is None
            assert not await second.holds(two)
            assert await lease.holder(two, LEASE_NAME) == "first"
        finally:
            for held in locks:
                with contextlib.suppress(Exception):
                    await held.close()


def _application(db: Database) -> BotApplication:
    app: BotApplication = (
        ApplicationBuilder()
        .token("123:lease")
        .job_queue(LeasedJobQueue())
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .build()
    )
    app.bot_data.db = db
    return app


@on_both_engines
async def test_a_scheduled_job_runs_on_the_instance_holding_the_lease_only(database_location):
    async with _handles(database_location, 2) as (one, two):
        ran: list[tuple[str, str]] = []

        async def record(context: BotContext) -> None:
            assert context.job is not None
            ran.append(("one" if context.bot_data.db is one else "two", str(context.job.name)))

        apps = [_application(db) for db in (one, two)]  # the job queues know them weakly
        queues = []
        for app in apps:
            queue = app.job_queue
            assert isinstance(queue, LeasedJobQueue)
            queue.lease = SchedulerLease(ttl=2.0, renew_every=0.5)
            queue.run_daily(record, time=time(9, 0), name="weekly-digest")
            queue.run_repeating(record, interval=60, name="outbox")
            queues.append(queue)
        for queue in queues:
            for job in queue.jobs():
                await LeasedJobQueue.job_callback(queue, job)
        retries = [job for job in queues[1].jobs() if job.name.endswith(TAKEOVER_SUFFIX)]
        if one.dialect == "sqlite":
            # SQLite: today's behaviour, every job runs.
            assert sorted(ran) == sorted(
                (name, job) for name in ("one", "two") for job in ("weekly-digest", "outbox")
            )
            assert not retries
            return
        assert sorted(ran) == [("one", "outbox"), ("one", "weekly-digest")]
        # The daily run skipped on the second instance comes again once the lease could have
        # changed hands; the repeating one needs no second chance.
        assert [job.name for job in retries] == ["weekly-digest" + TAKEOVER_SUFFIX]
        # The first instance stays alive and holds the lease: the second chance changes nothing.
        await LeasedJobQueue.job_callback(queues[1], retries[0])
        assert len(ran) == 2
        # The first instance dies before the next week's digest; the second one sends it.
        await asyncio.sleep(2.2)
        await LeasedJobQueue.job_callback(queues[1], retries[0])
        assert ran[-1] == ("two", "weekly-digest" + TAKEOVER_SUFFIX)
        assert sum(job.name.endswith(TAKEOVER_SUFFIX) for job in queues[1].jobs()) == 1


def _update(update_id: int, chat: int = 42) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": chat, "type": "private"},
                "from": {"id": chat, "is_bot": False, "first_name": "Kari"},
                "text": "hei",
            },
        },
        None,
    )


@on_both_engines
async def test_an_update_two_instances_receive_is_handled_by_one(database_location):
    async with _handles(database_location, 2) as (one, two):
        queues = []
        for db in (one, two):
            data = BotData()
            data.db = db
            queue = DurableUpdateQueue()
            queue.bot_data = data
            queues.append(queue)
        # Both receive update 7 at once (Telegram delivering it again to the other instance).
        await asyncio.gather(*(queue.put(_update(7)) for queue in queues))
        assert sorted(queue.qsize() for queue in queues) == [0, 1]
        # And stored once, however many ask.
        stored = await asyncio.gather(
            *(inbox.store(db, 8, {"update_id": 8}, NOW) for db in (one, two, one, two))
        )
        assert stored.count(True) == 1


async def _processor(
    db: Database, handle: Callable[[Update], Awaitable[None]] | None = None
) -> PerChatUpdateProcessor:
    """An instance's update processor, wired to its database as bot/inbox.py wires it;
    `handle` runs the handlers of the chat's earlier updates it handles first."""
    assert isinstance(db.path, PostgresLocation)
    processor = PerChatUpdateProcessor()
    processor.chat_locks = await ChatLocks.open(db.path)

    async def nothing(update: Update) -> None:
        raise AssertionError(f"update {update.update_id} was not expected to be handled here")

    instance = processor.chat_locks.instance
    wire_instance(processor, db, instance, handle or nothing, lambda: True)

    async def handled(update: object) -> None:
        assert isinstance(update, Update)
        await inbox.mark_handled(db, update.update_id, NOW)

    processor.on_handled = handled
    return processor


@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
@pytest.mark.postgresql
async def test_one_chat_is_handled_by_one_instance_at_a_time_and_each_update_once(
    database_location,
):
    async with _handles(database_location, 2) as (one, two):
        processors = [await _processor(one), await _processor(two)]
        try:
            handled: list[tuple[int, int]] = []
            started, release = asyncio.Event(), asyncio.Event()

            async def handle(instance: int, update_id: int, wait: bool = False) -> None:
                handled.append((instance, update_id))
                if wait:
                    started.set()
                    await release.wait()

            for update_id in (7, 8, 9):
                assert await inbox.store(one, update_id, _update(update_id).to_dict(), NOW)
            # Update 7 reaches both instances (one received it, the other found it unhandled
            # in the inbox as it started): handled once.
            await asyncio.gather(
                *(
                    processor.do_process_update(_update(7), handle(i, 7))
                    for i, processor in enumerate(processors)
                )
            )
            assert [update_id for _, update_id in handled] == [7]
            # While the first instance handles update 8 of chat 42, the second one's update 9
            # of the same chat waits for it.
            first = asyncio.create_task(
                processors[0].do_process_update(_update(8), handle(0, 8, wait=True))
            )
            await started.wait()
            second = asyncio.create_task(processors[1].do_process_update(_update(9), handle(1, 9)))
            await asyncio.sleep(0.3)
            assert (1, 9) not in handled
            release.set()
            await asyncio.gather(first, second)
            assert handled[-2:] == [(0, 8), (1, 9)]
            assert not await inbox.is_unhandled(two, 9)
        finally:
            for processor in processors:
                await processor.shutdown()


def test_a_forum_topic_has_a_lock_of_its_own():
    assert lock_key(-1001234) == -1001234
    assert lock_key((-1001234, 5)) != lock_key((-1001234, 6))
    assert lock_key((-1001234, 5)) == lock_key((-1001234, 5))


@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
@pytest.mark.postgresql
async def test_the_unhandled_updates_of_an_instance_that_died_are_taken_over_once(
    database_location,
):
    async with _handles(database_location, 2) as (one, two):
        dead, alive, third = [await ChatLocks.open(database_location) for _ in range(3)]
        try:
            assert len({dead.instance, alive.instance, third.instance}) == 3
            for update_id, owner in ((1, dead), (2, alive), (3, dead), (4, dead), (5, None)):
                claimed_by = owner.instance if owner is not None else None
                payload = _update(update_id).to_dict()
                assert await inbox.store(one, update_id, payload, NOW, claimed_by)
            await inbox.mark_handled(one, 4, NOW)
            # While every instance lives, only the row no instance claimed is an orphan.
            assert await inbox.claim_orphans(two, third.instance, 5, NOW) == (
                [_update(5).to_dict()],
                [],
            )
            # An instance dies: its session ends and its instance lock with it.
            await dead.close()
            # Two live instances look for orphans at once: each orphan goes to one of them,
            # oldest first; the live instance's update and the handled one stay where they are.
            taken = await asyncio.gather(
                inbox.claim_orphans(one, alive.instance, 5, NOW),
                inbox.claim_orphans(two, third.instance, 5, NOW),
            )
            ids = [[payload["update_id"] for payload in payloads] for payloads, _ in taken]
            assert sorted(ids[0] + ids[1]) == [1, 3]
            assert all(got == sorted(got) for got in ids)
            assert await inbox.is_unhandled(one, 2)
            # Updates that killed every instance that began handling them are given up at last
            # (taking them over is not an attempt; beginning to handle them is).
            await third.close()
            await alive.close()
            rounds = []
            for _ in range(4):
                taker = await ChatLocks.open(database_location)
                payloads, dropped = await inbox.claim_orphans(one, taker.instance, 3, NOW)
                rounds.append(([payload["update_id"] for payload in payloads], dropped))
                for payload in payloads:
                    await inbox.count_attempt(one, payload["update_id"])
                await taker.close()  # and it dies too
            assert rounds == [([1, 2, 3, 5], [])] * 3 + [([], [1, 2, 3, 5])]
            assert not await inbox.is_unhandled(one, 1)
        finally:
            for locks in (dead, alive, third):
                with contextlib.suppress(Exception):
                    await locks.close()


@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
@pytest.mark.postgresql
async def test_jobs_registered_for_a_takeover_run_when_an_instance_takes_the_lease_over(
    database_location,
):
    async with _handles(database_location, 2) as (one, two):
        ran: list[str] = []
        done = asyncio.Event()

        async def catch_up(context: BotContext) -> None:
            ran.append("one" if context.bot_data.db is one else "two")
            done.set()

        apps = [_application(db) for db in (one, two)]
        queues = []
        for app in apps:
            queue = app.job_queue
            assert isinstance(queue, LeasedJobQueue)
            queue.lease = SchedulerLease(ttl=1.0, renew_every=0.3)
            queue.run_on_takeover(catch_up, "catch-up")
            queues.append(queue)
        # Taken at start, before the jobs run: the start-up jobs do the catching up.
        assert await queues[0].lease.renew(one)
        try:
            for queue in queues:
                await queue.start()
            assert not await queues[1].lease.renew(two)
            await asyncio.sleep(0.1)
            assert ran == []
            # The first instance dies (it stops renewing); the second one takes over and
            # catches up at once, once, though its renewal and a job asked at the same time.
            await asyncio.sleep(1.1)
            assert await asyncio.gather(queues[1].lease.renew(two), queues[1].lease.holds(two))
            async with asyncio.timeout(5):
                await done.wait()
            await asyncio.sleep(0.3)
            assert ran == ["two"]
        finally:
            for queue in queues:
                await queue.stop(wait=False)


@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
@pytest.mark.postgresql
async def test_a_chats_updates_keep_their_order_when_two_instances_get_them_at_once(
    database_location,
):
    """A load balancer gives update 1 of a chat to one instance and update 2 to the other at
    the same moment: whichever takes the chat's lock first handles 1, then 2, each once."""
    async with _handles(database_location, 2) as dbs:
        handled: list[tuple[int, int]] = []

        async def handle(instance: int, update_id: int) -> None:
            handled.append((instance, update_id))

        def handler(instance: int) -> Callable[[Update], Awaitable[None]]:
            return lambda update: handle(instance, update.update_id)

        processors = [await _processor(db, handler(i)) for i, db in enumerate(dbs)]
        try:
            for first in range(10, 70, 10):
                # Both updates are stored, each by the instance that received it; so is an
                # update of another chat between them, which stays its instance's.
                pair = {0: _update(first), 1: _update(first + 2)}
                between = _update(first + 1, chat=43)
                for i, update in ((0, pair[0]), (1, between), (1, pair[1])):
                    stored = await inbox.store(
                        dbs[i],
                        update.update_id,
                        update.to_dict(),
                        NOW,
                        processors[i].chat_locks.instance,  # type: ignore[union-attr]
                        chat_key(update),
                    )
                    assert stored
                handled.clear()
                runs = [
                    processors[i].do_process_update(pair[i], handle(i, pair[i].update_id))
                    for i in (0, 1)
                ]
                if first == 10:
                    # The instance with update 2 takes the chat's lock first: it handles the
                    # other instance's update 1 before its own, and the other one skips it.
                    await runs[1]
                    assert handled == [(1, first), (1, first + 2)]
                    await runs[0]
                else:
                    # They race for the lock (in either order of arrival).
                    await asyncio.gather(*(runs if first % 20 else runs[::-1]))
                assert [update_id for _, update_id in handled] == [first, first + 2]
                # The other chat's update waits for its own instance.
                assert await inbox.is_unhandled(dbs[0], first + 1)
                await inbox.mark_handled(dbs[0], first + 1, NOW)
        finally:
            for processor in processors:
                await processor.shutdown()


@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
@pytest.mark.postgresql
async def test_an_instance_handles_a_dead_ones_waiting_updates_of_a_chat_before_its_own(
    database_location,
):
    async with _handles(database_location, 2) as (one, two):
        handled: list[int] = []

        async def handle(update_id: int) -> None:
            handled.append(update_id)

        dead = await ChatLocks.open(database_location)
        processor = await _processor(two, lambda update: handle(update.update_id))
        try:
            for update_id in (1, 2):
                update = _update(update_id)
                assert await inbox.store(
                    one, update_id, update.to_dict(), NOW, dead.instance, chat_key(update)
                )
            await dead.close()  # killed with updates 1 and 2 of the chat stored, unhandled
            update = _update(3)
            await inbox.store(two, 3, update.to_dict(), NOW, None, chat_key(update))
            await processor.do_process_update(update, handle(3))
            assert handled == [1, 2, 3]
            # Taking them over from a dead instance counted as an attempt each.
            attempts = await one.fetchall("SELECT update_id, attempts FROM inbox ORDER BY 1")
            assert [(row["update_id"], row["attempts"]) for row in attempts] == [
                (1, 1),
                (2, 1),
                (3, 0),
            ]
        finally:
            await processor.shutdown()


@on_both_engines
async def test_of_delivery_runs_starting_at_once_one_takes_the_lock(database_location):
    """Two runs (two jobs of an instance taking the jobs over, two instances) start at once:
    one sends, the other finds the lock taken; also when both find a dead run's lock."""
    async with _handles(database_location, 2) as handles:
        runs = [outbox.new_lock_owner() for _ in range(6)]
        won = await asyncio.gather(
            *(outbox.acquire_lock(handles[i % 2], run) for i, run in enumerate(runs))
        )
        assert won.count(True) == 1
        # The run dies on another machine; its lock goes stale; six runs want it at once.
        await handles[0].execute(
            "UPDATE delivery_lock SET owner = 'elsewhere.example:1:dead', heartbeat = ?",
            (time_module.time() - outbox.LOCK_STALE_SECONDS - 1,),
        )
        runs = [outbox.new_lock_owner() for _ in range(6)]
        won = await asyncio.gather(
            *(outbox.acquire_lock(handles[i % 2], run) for i, run in enumerate(runs))
        )
        assert won.count(True) == 1
        assert await lease.holder(handles[1], outbox.LOCK_NAME) == runs[won.index(True)]


@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
@pytest.mark.postgresql
async def test_a_delivery_run_of_an_instance_that_died_elsewhere_leaves_its_lock_early(
    database_location,
):
    """A run on another machine: its lock holds while its instance lock does; once that is
    gone, as soon as the run missed two refreshes (not at once: a live run whose instance
    lock vanished still refreshes). A run without an instance lock (an operator's
    `digest send` there) keeps it until it goes stale."""
    async with _handles(database_location, 2) as (one, two):
        dead = await ChatLocks.open(database_location)
        try:

            async def refreshed(seconds_ago: float) -> None:
                await one.execute(
                    "UPDATE delivery_lock SET heartbeat = ?",
                    (time_module.time() - seconds_ago,),
                )

            assert await outbox.acquire_lock(one, "elsewhere.example:1:run", dead.instance)
            await refreshed(outbox.LOCK_ORPHANED_SECONDS + 1)
            assert not await outbox.acquire_lock(two, outbox.new_lock_owner())
            await dead.close()
            await refreshed(outbox.LOCK_ORPHANED_SECONDS - 3)
            assert not await outbox.acquire_lock(two, outbox.new_lock_owner())
            await refreshed(outbox.LOCK_ORPHANED_SECONDS + 1)
            mine = outbox.new_lock_owner()
            assert await outbox.acquire_lock(two, mine)
            assert await lease.holder(one, outbox.LOCK_NAME) == mine
            await outbox.release_lock(two, mine)
            assert await outbox.acquire_lock(one, "elsewhere.example:1:cli", None)
            await refreshed(outbox.LOCK_ORPHANED_SECONDS + 1)
            assert not await outbox.acquire_lock(two, outbox.new_lock_owner())
        finally:
            with contextlib.suppress(Exception):
                await dead.close()
