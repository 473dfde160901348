"""The delivery engine against the Telegram double: outbox rows, throttling, 403, 429, retries."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.config import Config
from bot.delivery import OutboxItem, Pacer, deliver, delivery_bot, enqueue
from sandbox import BotAPIDouble
from storage import activities, outbox, residents
from storage.db import Database, DatabaseLocation

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
async def world(database_location: DatabaseLocation):
    async with BotAPIDouble() as double:
        db = await Database.open(database_location)
        config = Config(token=double.token, api_base_url=double.base_url)
        try:
            yield double, db, config
        finally:
            await db.close()


async def subscribe(db: Database, telegram_id: int) -> None:
    await residents.touch(db, telegram_id, "nb", None, NOW)
    await activities.subscribe(db, telegram_id, ["all"], NOW)


def item(user_id: int, part: int = 0, text: str = "Hei") -> OutboxItem:
    return OutboxItem(
        chat_id=user_id, part=part, text=text, resident_id=user_id, on_blocked="digest"
    )


async def test_enqueue_twice_adds_nothing_and_second_run_sends_nothing(world):
    double, db, config = world
    users = [double.add_user(f"U{i}") for i in range(3)]
    items = [item(u.id) for u in users]
    assert await enqueue(db, "e1", items) == 3
    assert await enqueue(db, "e1", items) == 0
    async with delivery_bot(config) as bot:
        first = await deliver(bot, db, "e1", rate=30)
        second = await deliver(bot, db, "e1", rate=30)
    assert (first.sent, first.total) == (3, 3)
    assert (second.sent, second.total) == (0, 0)
    for user in users:
        assert [m.text for m in double.messages_to(user)] == ["Hei"]


async def test_parts_go_in_order_at_most_one_per_second_into_a_chat(world):
    double, db, config = world
    user = double.add_user("Amina")
    await enqueue(db, "e1", [item(user.id, part, f"part {part}") for part in (1, 0)])
    async with delivery_bot(config) as bot:
        report = await deliver(bot, db, "e1", rate=30, per_chat_interval=0.3)
    assert report.sent == 2
    sends = [c for c in double.calls_to("sendMessage") if c.ok]
    assert [c.params["text"] for c in sends] == ["part 0", "part 1"]
    assert sends[1].at - sends[0].at >= 0.28


async def test_blocked_resident_ends_subscription_and_the_run_goes_on(world):
    double, db, config = world
    amina, blocked, gone = (double.add_user(n) for n in ("Amina", "Blocked", "Gone"))
    for user in (amina, blocked, gone):
        await subscribe(db, user.id)
    double.block(blocked)
    double.deactivate(gone)
    await enqueue(db, "e1", [item(u.id, p) for u in (amina, blocked, gone) for p in (0, 1)])
    async with delivery_bot(config) as bot:
        report = await deliver(bot, db, "e1", rate=30, per_chat_interval=0.01)
    assert (report.sent, report.blocked, report.failed) == (2, 4, 0)
    # The second part to a blocked chat is not even tried.
    assert len([c for c in double.errors if c.status == 403]) == 2
    subscribers = {s.telegram_id for s in await activities.active_subscribers(db)}
    assert subscribers == {amina.id}
    assert (await outbox.counts(db, "e1")).blocked == 4


async def test_429_is_honoured_by_waiting_retry_after(world):
    double, db, config = world
    users = [double.add_user(f"U{i}") for i in range(6)]
    double.set_limits(global_per_second=3, retry_after=1)
    await enqueue(db, "e1", [item(u.id) for u in users])
    started = time.monotonic()
    async with delivery_bot(config) as bot:
        report = await deliver(bot, db, "e1", rate=30)
    assert report.sent == 6 and report.failed == 0
    assert report.retried >= 1
    assert double.flood_violations >= 1
    assert time.monotonic() - started >= 1.0  # it waited retry_after
    for user in users:
        assert len(double.messages_to(user)) == 1


async def test_bad_request_is_recorded_failed_without_retrying(world):
    double, db, config = world
    amina = double.add_user("Amina")
    await enqueue(db, "e1", [item(amina.id), item(424242)])  # an unknown chat
    async with delivery_bot(config) as bot:
        report = await deliver(bot, db, "e1", rate=30)
    assert (report.sent, report.failed) == (1, 1)
    assert len([c for c in double.errors if c.status == 400]) == 1
    row = await db.fetchone("SELECT status, error FROM outbox WHERE chat_id = 424242")
    assert row["status"] == "failed" and "chat not found" in row["error"].lower()


async def test_documents_are_sent_with_their_filename(world):
    double, db, config = world
    amina = double.add_user("Amina")
    ics = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    await enqueue(
        db,
        "e1",
        [OutboxItem(amina.id, kind="document", document=ics, filename="x.ics", text="Kalender")],
    )
    async with delivery_bot(config) as bot:
        await deliver(bot, db, rate=30)
    sent = double.messages_to(amina)[0]
    assert sent.filename == "x.ics" and sent.data == ics


async def test_a_second_run_while_one_is_sending_does_nothing(world):
    double, db, config = world
    owner = outbox.new_lock_owner()
    assert await outbox.acquire_lock(db, owner)
    await enqueue(db, "e1", [item(double.add_user("Amina").id)])
    async with delivery_bot(config) as bot:
        report = await deliver(bot, db, "e1", rate=30)
    assert report.busy and report.sent == 0
    await outbox.release_lock(db, owner)


def test_outbox_item_checks_its_payload():
    with pytest.raises(ValueError):
        OutboxItem(1, kind="document", text="no bytes")
    with pytest.raises(ValueError):
        OutboxItem(1, text="")


def test_the_pacer_hands_out_slots_on_a_schedule_without_bursts():
    now = [100.0]
    pacer = Pacer(10, tolerance=0.05, clock=lambda: now[0])
    assert [pacer.reserve() for _ in range(3)] == pytest.approx([100.0, 100.1, 100.2])
    # A sender that woke a little late does not move the slots after it: no drift.
    now[0] = 100.33
    assert pacer.reserve() == pytest.approx(100.3)
    now[0] = 100.43
    assert pacer.reserve() == pytest.approx(100.4)
    # After a stall longer than the tolerance the schedule starts again: no burst to catch up.
    now[0] = 101.0
    assert pacer.reserve() == pytest.approx(101.0)
    assert pacer.reserve() == pytest.approx(101.1)
    # Nothing before the end of a flood-control pause.
    assert pacer.reserve(not_before=107.0) == pytest.approx(107.0)
    assert pacer.reserve() == pytest.approx(107.1)
