"""Several instances on one database: one runs the scheduled jobs (a lease), each update is
handled by one of them (the inbox insert is the claim)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, Job

from bot.context import BotApplication, BotContext, BotData
from bot.inbox import DurableUpdateQueue
from bot.scheduler_lease import LEASE_NAME, LeasedJobQueue, SchedulerLease
from storage import inbox, lease
from storage.db import Database, DatabaseLocation
from tests.postgres import on_both_engines

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


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
    async for handles in _handles(database_location, 2):
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
    async for one, two in _handles(database_location, 2):
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
    async for one, two in _handles(database_location, 2):
        ran: list[str] = []

        def job(name: str, ran: list[str] = ran) -> Job[BotContext]:
            async def callback(context: BotContext) -> None:
                ran.append(name)

            return Job(callback, name="weekly-digest")

        for name, db in (("one", one), ("two", two)):
            app = _application(db)
            assert app.job_queue is not None
            await LeasedJobQueue.job_callback(app.job_queue, job(name))
        if one.dialect == "sqlite":
            assert ran == ["one", "two"]  # SQLite: today's behaviour, every job runs
        else:
            assert ran == ["one"]


def _update(update_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 42, "type": "private"},
                "from": {"id": 42, "is_bot": False, "first_name": "Kari"},
                "text": "hei",
            },
        },
        None,
    )


@on_both_engines
async def test_an_update_two_instances_receive_is_handled_by_one(database_location):
    async for one, two in _handles(database_location, 2):
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
