"""Moderation of cases: /block, /unblock, /blocked, the flood limit, and closing quiet cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.context import BotContext
from bot.handover.moderation import auto_close_job
from storage import audit, cases, moderation
from storage.db import DatabaseLocation
from tests.harness import BotHarness, make_harness
from tests.test_handover import open_case, staff_says, start, topic_texts


@pytest.fixture
async def bot(tmp_path: Path, database_location: DatabaseLocation) -> AsyncIterator[BotHarness]:
    async for harness in make_harness(
        tmp_path, database=database_location, case_flood_per_minute=5
    ):
        harness.double.set_limits(private_chat_per_second=None, private_burst=50)
        yield harness


def relayed(bot: BotHarness, thread: int, text: str) -> int:
    return sum(text in t for t in topic_texts(bot, thread))


async def test_block_stops_the_relay_with_one_polite_notice_and_unblock_resumes(
    bot: BotHarness,
):
    ewa = bot.resident("Ewa", language_code="pl")
    await start(ewa, "Polski")
    thread = await open_case(bot, ewa, "Pierwsza wiadomość")
    ewa.new_messages()
    await staff_says(bot, thread, "/block shouting at staff")
    assert "S-0001" in topic_texts(bot, thread)[-1]
    # Told once, in Polish, that the office will contact them another way.
    notices = [m for m in ewa.new_messages() if "skontaktuje" in (m.text or "")]
    assert len(notices) == 1
    replies = await ewa.says("Wiadomość po blokadzie")
    replies += await ewa.says("Jeszcze jedna")
    assert relayed(bot, thread, "po blokadzie") == 0 and relayed(bot, thread, "Jeszcze") == 0
    # One short hint a day at most: the two messages got one.
    hints = [m for m in replies if "nie są teraz przekazywane" in (m.text or "")]
    assert len(hints) == 1 and len(replies) == 1, [str(m) for m in replies]
    bot.clock.advance(timedelta(days=1, minutes=1))
    replies = await ewa.says("Następny dzień")
    assert any("nie są teraz przekazywane" in (m.text or "") for m in replies)
    assert relayed(bot, thread, "Następny dzień") == 0
    # The privacy commands still work.
    await ewa.says("/mydata")
    assert ewa.last.method == "sendDocument"
    # /blocked lists the case, the reason and who blocked it; never the resident.
    await staff_says(bot, thread, "/blocked", who=1)
    listing = topic_texts(bot, thread)[-1]
    assert "S-0001" in listing and "shouting at staff" in listing and "Kari" in listing
    assert "Ewa" not in listing and str(ewa.id) not in listing
    # /unblock: relayed again, and the resident hears they can write.
    await staff_says(bot, thread, "/unblock")
    assert any("znowu" in (m.text or "") for m in ewa.new_messages())
    await ewa.says("Znowu piszę")
    assert relayed(bot, thread, "Znowu piszę") == 1
    await staff_says(bot, thread, "/blocked")
    assert "S-0001" not in topic_texts(bot, thread)[-1]
    # Both are in the audit trail, with the case number and no content.
    entries = await audit.entries(bot.db)
    actions = [(e.action, e.subject) for e in entries]
    assert (audit.Action.CASE_BLOCK.value, "S-0001") in actions
    assert (audit.Action.CASE_UNBLOCK.value, "S-0001") in actions
    assert not [e for e in entries if "shouting" in (e.detail or "")]


async def test_residents_cannot_block(bot: BotHarness):
    ewa = bot.resident("Ewa", language_code="en")
    await start(ewa, "English")
    thread = await open_case(bot, ewa)
    await ewa.says("/block")
    assert await moderation.blocked(bot.db) == []
    await ewa.says("still here")
    assert relayed(bot, thread, "still here") == 1


async def test_flood_is_slowed_down_with_a_notice_and_the_topic_not_spammed(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john, "message 0")
    replies = []
    for number in range(1, 9):
        replies += await john.says(f"message {number}")
    # The limit is 5 a minute (the first message counts): the rest is not relayed.
    assert sum(t.startswith("message ") for t in topic_texts(bot, thread)) == 5
    notices = [m for m in replies if "many messages" in (m.text or "")]
    assert len(notices) == 1, "one notice per minute, not one per message"
    # A minute later the resident can write again.
    bot.clock.advance(timedelta(minutes=1, seconds=1))
    await john.says("message again")
    assert relayed(bot, thread, "message again") == 1


async def test_quiet_case_is_closed_after_the_configured_days_once(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    await staff_says(bot, thread, "We look into it")
    assert bot.app is not None
    context = BotContext(bot.app)
    # Not yet: 13 days of silence.
    bot.clock.advance(timedelta(days=13))
    await auto_close_job(context)
    await bot.settle()
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.is_open
    bot.clock.advance(timedelta(days=1, hours=1))
    await auto_close_job(context)
    await bot.settle()
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and not case.is_open
    told = [m for m in john.received if "nobody wrote for 14 days" in (m.text or "")]
    assert len(told) == 1
    assert "14" in topic_texts(bot, thread)[-1]
    assert next(t for t in bot.double.topics(bot.staff_chat) if t.id == thread).closed
    # Run again: nothing more.
    sent = len(bot.double.sent)
    await auto_close_job(context)
    await bot.settle()
    assert len(bot.double.sent) == sent


async def test_the_auto_close_days_are_configurable(
    tmp_path: Path, database_location: DatabaseLocation
):
    async for bot in make_harness(tmp_path, database=database_location, case_auto_close_days=2):
        bot.double.set_limits(private_chat_per_second=None, private_burst=50)
        john = bot.resident("John", language_code="en")
        await start(john, "English")
        thread = await open_case(bot, john)
        bot.clock.advance(timedelta(days=2, minutes=1))
        assert bot.app is not None
        await auto_close_job(BotContext(bot.app))
        await bot.settle()
        case = await cases.by_topic(bot.db, thread)
        assert case is not None and not case.is_open
        assert any("nobody wrote for 2 days" in (m.text or "") for m in john.received)
