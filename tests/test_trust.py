"""Trust across features: erasure end to end, retention, quiet logs, the error handler, odd
input. (Authorization: test_authorization.py; hostile values: test_templates.py; random input:
test_fuzz.py.)"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from telegram.ext import CommandHandler

from storage import activities, cases, privacy, residents
from storage import tips as tip_store
from storage.db import DatabaseLocation
from storage.tips import TipStatus
from tests.harness import BotHarness, Person, make_harness
from tests.test_tips import report

SECRET = "Naboen min heter Per Hansen og bor i Fjellhus 12"


@pytest.fixture
async def bot(tmp_path: Path, database_location: DatabaseLocation):
    async for harness in make_harness(tmp_path, database=database_location):
        harness.double.set_limits(private_chat_per_second=None)
        yield harness


async def _resident_with_everything(bot: BotHarness) -> Person:
    """A resident with a tip, an open staff case and a digest subscription."""
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await report(bot, amina, text=SECRET, location=(59.9608, 10.8863), show_name=True)
    await activities.subscribe(bot.db, amina.id, ["0-1"], bot.clock())
    await amina.says("/contact")
    await amina.says("I need help with " + SECRET)
    return amina


async def test_mydata_then_deleteme_across_every_feature(bot: BotHarness):
    amina = await _resident_with_everything(bot)
    await amina.says("/mydata")
    data = json.loads(bot.double.file_bytes(amina.last.file_id))
    assert {"residents", "tips", "cases", "activities"} <= set(data)
    assert SECRET in json.dumps(data, ensure_ascii=False)

    case = await cases.open_case_of(bot.db, amina.id)
    assert case is not None and case.topic_id is not None
    await amina.says("/deleteme")
    await amina.presses("Yes, delete everything")
    assert "Your data is deleted" in amina.last.text

    assert await residents.get(bot.db, amina.id) is None
    assert await cases.open_case_of(bot.db, amina.id) is None
    assert await activities.active_subscribers(bot.db) == []
    tip = await tip_store.get_tip(bot.db, 1)
    assert tip is not None  # the tip stays for the statistics ...
    assert tip.reporter_name is None and tip.description in (None, "")  # ... without the person
    rows = await bot.db.fetchall("SELECT * FROM tips WHERE telegram_id = ?", (amina.id,))
    assert rows == []
    # The staff chat too: the case topic is deleted, the tip card keeps no personal word, and
    # staff read why in General.
    await bot.settle()
    assert next(t for t in bot.double.topics(bot.staff_chat) if t.id == case.topic_id).deleted
    left = [m.text or "" for m in bot.staff_messages() if not m.deleted]
    assert not [text for text in left if "Per Hansen" in text or "Amina" in text]
    assert any("slette dataene sine" in text for text in left if text.startswith("🗑"))
    # Nothing of it is left to export.
    assert await privacy.export_resident(bot.db, amina.id) == {}


async def test_retention_removes_personal_data_from_finished_cases_and_tips(bot: BotHarness):
    amina = await _resident_with_everything(bot)
    case = await cases.open_case_of(bot.db, amina.id)
    assert case is not None
    await cases.close(bot.db, case.id, bot.clock(), bot.staff[0].id)
    await tip_store.set_status(bot.db, 1, TipStatus.RESOLVED, bot.staff[0].id, bot.clock())
    # Not yet: within the retention period nothing is touched.
    assert await privacy.expire(bot.db, bot.clock() - timedelta(days=365)) == 0
    touched = await privacy.expire(bot.db, bot.clock() + timedelta(days=1))
    assert touched >= 2
    tip = await tip_store.get_tip(bot.db, 1)
    assert tip is not None and tip.reporter_name is None
    exported = json.dumps(await privacy.export_resident(bot.db, amina.id), ensure_ascii=False)
    assert SECRET not in exported


async def test_the_retention_job_is_scheduled_daily(bot: BotHarness):
    assert bot.app is not None and bot.app.job_queue is not None
    jobs = bot.app.job_queue.get_jobs_by_name("retention")
    assert len(jobs) == 1


async def test_logs_never_contain_message_texts(bot: BotHarness, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO)
    await _resident_with_everything(bot)
    kari = bot.staff[0].user
    case_topic = bot.double.topics(bot.staff_chat)[-1].id
    bot.double.send_text(kari, "Svar: " + SECRET, chat=bot.staff_chat, thread_id=case_topic)
    await bot.settle()
    assert caplog.records, "the bot does log (ids and kinds)"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Per Hansen" not in logged and "Fjellhus" not in logged
    assert bot.double.token not in logged


async def test_an_unexpected_error_is_reported_and_the_bot_goes_on(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
):
    async def broken(update: object, context: object) -> None:
        raise RuntimeError("a bug")

    assert bot.app is not None
    bot.app.add_handler(CommandHandler("boom", broken), group=-1)
    ewa = bot.resident("Ewa", language_code="pl")
    replies = await ewa.says("/boom")
    sorry = "Przepraszamy, coś poszło nie tak po naszej stronie. Spróbuj ponownie."
    assert any(reply.text == sorry for reply in replies)
    assert any("error while handling" in r.getMessage() for r in caplog.records)
    replies = await ewa.says("/help")
    assert "Mogę Ci pomóc" in replies[-1].text


@pytest.mark.parametrize(
    ("action", "args"),
    [
        ("send_contact", ("+4712345678", "Someone")),
        ("send_poll", ()),
        ("send_dice", ()),
        ("send_video_note", ()),
        ("send_album", ([b"\xff\xd8\xff\xe0fake", b"\xff\xd8\xff\xe0fake"],)),
        ("send_location", (59.96, 10.88)),
    ],
)
async def test_odd_messages_outside_any_flow_get_an_answer(
    bot: BotHarness, action: str, args: tuple
):
    john = bot.resident("John", language_code="en")
    replies = await john.does(action, *args)
    assert replies, f"{action} got no answer"
    assert replies[-1].buttons, "the answer offers the menu"
