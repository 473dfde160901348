"""Erasure and retention reach the staff chat: the case topic is deleted, the tip card is
redacted, media and map pins are deleted while Telegram allows (48 hours) and replaced or
listed after that; the database records what was removed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.context import BotContext
from bot.outbox import send_pending
from bot.privacy import retention_job
from storage import cases, privacy, residents, staff_erasure
from storage import tips as store
from storage.db import DatabaseLocation
from tests.harness import BotHarness, Person, make_harness
from tests.test_tips import STOVNER, jpeg, texts

TIP_TEXT = "The swing near my flat in Tokerud 12 is broken"
CASE_TEXT = "My neighbour shouts at my children"


@pytest.fixture
async def bot(tmp_path: Path, database_location: DatabaseLocation) -> AsyncIterator[BotHarness]:
    async for harness in make_harness(tmp_path, database=database_location):
        harness.double.set_limits(private_chat_per_second=None, private_burst=20)
        yield harness


async def tip_with_photo_voice_and_pin(bot: BotHarness, person: Person) -> None:
    t = texts(bot, "en")
    await person.says("/tip")
    await person.presses(t._("Sports fields and playgrounds"))
    await person.does("send_location", *STOVNER)
    await person.says(TIP_TEXT)
    await person.does("send_photo", jpeg())
    await person.does("send_voice")
    await person.presses(t._("Done, next step"))
    await person.presses(t._("Yes, show my name"))
    await person.presses(t._("Send the tip"))


async def open_case(bot: BotHarness, person: Person) -> int:
    await person.says("/contact")
    await person.says(CASE_TEXT)
    return bot.double.topics(bot.staff_chat)[-1].id


def tip_messages(bot: BotHarness, tip: store.Tip) -> dict[str, list]:
    """The bot's staff-chat messages of a tip, by kind (deleted ones included)."""
    found: dict[str, list] = {}
    for message in bot.staff_messages(tip.staff_thread_id):
        if message.message_id == tip.staff_card_message_id:
            found.setdefault("card", []).append(message)
        elif message.reply_to_message_id == tip.staff_card_message_id:
            found.setdefault(message.media_kind or "text", []).append(message)
    return found


def staff_says_removed(bot: BotHarness, reason: str = "resident") -> str:
    """The notice that replaces a resident's content, in the staff's language."""
    t = texts(bot, bot.config.default_language)
    if reason == "resident":
        return t._("🗑 Removed at the resident's request.")
    return t._("🗑 Removed after the retention period.")


def report_head(bot: BotHarness, reason: str = "resident") -> str:
    """The start of the erasure note in General (up to its counts)."""
    t = texts(bot, bot.config.default_language)
    if reason == "resident":
        template = (
            "🗑 A resident asked us to delete their data. In this chat: {deleted} deleted,"
            " {edited} replaced by a notice."
        )
    else:
        template = (
            "🗑 Old cases and tips were deleted after the retention period. In this chat:"
            " {deleted} deleted, {edited} replaced by a notice."
        )
    return t._(template).partition("{")[0]


def could_not_remove(bot: BotHarness) -> str:
    t = texts(bot, bot.config.default_language)
    return t._(
        "⚠️ The bot could not remove these messages: Telegram lets a bot delete only"
        " for 48 hours. Please delete them by hand:"
    )


async def erase_by_deleteme(person: Person) -> None:
    await person.says("/deleteme")
    await person.presses("Yes, delete everything")


def general_notes(bot: BotHarness) -> list[str]:
    return [m.text or "" for m in bot.staff_messages() if m.thread_id is None and not m.deleted]


async def test_deleteme_within_48_hours_deletes_topic_media_and_pin_and_redacts_the_card(
    bot: BotHarness,
):
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await tip_with_photo_voice_and_pin(bot, amina)
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None and tip.staff_card_message_id is not None
    before = tip_messages(bot, tip)
    assert {"card", "photo", "voice", "location"} <= before.keys()
    assert TIP_TEXT in before["card"][0].text
    thread = await open_case(bot, amina)
    assert any(CASE_TEXT in (m.text or "") for m in bot.staff_messages(thread))

    bot.clock.advance(timedelta(hours=2))
    await erase_by_deleteme(amina)
    await bot.settle()

    # The case topic is gone with every message in it.
    [topic] = [t for t in bot.double.topics(bot.staff_chat) if t.id == thread]
    assert topic.deleted
    assert all(m.deleted for m in bot.staff_messages(thread))
    # The card stays as an anonymous record: category, date, status, why; nothing personal.
    after = tip_messages(bot, tip)
    card = after["card"][0]
    assert not card.deleted
    assert "T-0001" in card.text and staff_says_removed(bot) in card.text
    assert TIP_TEXT not in card.text and "Amina" not in card.text and "Tokerud" not in card.text
    # Photo, voice message and map pin: younger than 48 hours, so deleted.
    for kind in ("photo", "voice", "location"):
        assert all(m.deleted for m in after[kind]), kind
    # Staff read in General what happened; nothing was left to delete by hand.
    [note] = [n for n in general_notes(bot) if n.startswith(report_head(bot))]
    assert could_not_remove(bot) not in note
    # The database: the resident is gone, the tip is bare, the removals are recorded.
    assert await residents.get(bot.db, amina.id) is None
    bare = await store.get_tip(bot.db, 1)
    assert bare is not None and bare.description is None and bare.latitude is None
    assert bare.telegram_id is None and bare.media == ()
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.resident_id is None
    assert await privacy.export_resident(bot.db, amina.id) == {}
    assert await staff_erasure.not_removed(bot.db) == []
    assert await staff_erasure.pending(bot.db) == 0
    outcomes = await bot.db.fetchall(
        "SELECT target, kind, outcome, done_at FROM staff_chat_erasures ORDER BY id"
    )
    assert {(r["target"], r["kind"], r["outcome"]) for r in outcomes} == {
        ("card", "card", "edited"),
        ("message", "photo", "deleted"),
        ("message", "voice", "deleted"),
        ("message", "location", "deleted"),
        ("topic", None, "deleted"),
    }
    assert all(r["done_at"] for r in outcomes)


async def test_after_48_hours_the_card_is_edited_media_replaced_and_the_rest_listed(
    bot: BotHarness,
):
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await tip_with_photo_voice_and_pin(bot, amina)
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None
    thread = await open_case(bot, amina)

    bot.clock.advance(timedelta(hours=49))
    await erase_by_deleteme(amina)
    await bot.settle()

    after = tip_messages(bot, tip)
    # The card is older than 48 hours: edited, not deleted (Telegram would refuse).
    card = after["card"][0]
    assert not card.deleted and staff_says_removed(bot) in card.text
    assert TIP_TEXT not in card.text
    # The photo is replaced by a neutral picture with the notice.
    [photo] = after["photo"]
    assert not photo.deleted and photo.history
    assert photo.data != jpeg() and staff_says_removed(bot) in (photo.text or "")
    # A voice message and a map pin cannot be edited into anything else: kept and listed.
    [voice], [pin] = after["voice"], after["location"]
    assert not voice.deleted and not pin.deleted
    # A topic is deleted however old its messages are.
    assert all(m.deleted for m in bot.staff_messages(thread))
    [note] = [n for n in general_notes(bot) if n.startswith(report_head(bot))]
    assert could_not_remove(bot) in note
    internal = str(bot.staff_chat.id).removeprefix("-100")
    assert f"https://t.me/c/{internal}/{voice.message_id}" in note
    assert f"https://t.me/c/{internal}/{pin.message_id}" in note
    assert TIP_TEXT not in note and "Amina" not in note
    kept = await staff_erasure.not_removed(bot.db)
    assert sorted(e.message_id for e in kept) == sorted([voice.message_id, pin.message_id])
    # A status button pressed later keeps the card redacted.
    kari = bot.staff[0]
    kari.double.press(kari.user, card.raw, card.button("Løst"))
    await bot.settle()
    assert TIP_TEXT not in card.text and staff_says_removed(bot) in card.text


async def test_erasure_waits_out_an_outage_and_does_nothing_twice(bot: BotHarness):
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await tip_with_photo_voice_and_pin(bot, amina)
    thread = await open_case(bot, amina)
    bot.double.outage(chats=(bot.staff_chat.id,))  # the staff chat is out of reach
    await erase_by_deleteme(amina)
    assert "Your data is deleted" in amina.last.text
    # The database is clean at once; the staff chat waits for Telegram.
    assert await residents.get(bot.db, amina.id) is None
    assert await staff_erasure.pending(bot.db) > 0
    assert not [t for t in bot.double.topics(bot.staff_chat) if t.deleted]
    # After the outage (and a restart), the same tasks finish, each once.
    bot.double.end_outage()
    await bot.restart()
    bot.clock.advance(timedelta(minutes=31))
    assert bot.app is not None
    await send_pending(BotContext(bot.app))
    await bot.settle()
    assert await staff_erasure.pending(bot.db) == 0
    assert [t.deleted for t in bot.double.topics(bot.staff_chat) if t.id == thread] == [True]
    notes = [n for n in general_notes(bot) if n.startswith(report_head(bot))]
    assert len(notes) == 1
    await send_pending(BotContext(bot.app))
    await bot.settle()
    assert len([n for n in general_notes(bot) if n.startswith(report_head(bot))]) == 1


async def test_retention_removes_old_finished_cases_and_tips_from_the_staff_chat(
    bot: BotHarness,
):
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await tip_with_photo_voice_and_pin(bot, amina)
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None
    await store.set_status(bot.db, 1, store.TipStatus.RESOLVED, bot.staff[0].id, bot.clock())
    thread = await open_case(bot, amina)
    await bot.staff[0].does("send_text", "/close", chat=bot.staff_chat, thread_id=thread)
    # A second resident's open tip is not touched by retention.
    ola = bot.resident("Ola", language_code="en")
    await ola.says("/start")
    await ola.presses("English")
    await tip_with_photo_voice_and_pin(bot, ola)

    assert bot.app is not None
    bot.clock.advance(timedelta(days=bot.config.retention_days + 1))
    await retention_job(BotContext(bot.app))
    await bot.settle()

    assert [t.deleted for t in bot.double.topics(bot.staff_chat) if t.id == thread] == [True]
    card = tip_messages(bot, tip)["card"][0]
    assert staff_says_removed(bot, "retention") in card.text and TIP_TEXT not in card.text
    # Much older than 48 hours: the photo is replaced, the voice and the pin listed.
    photo = tip_messages(bot, tip)["photo"][0]
    assert staff_says_removed(bot, "retention") in (photo.text or "")
    [note] = [n for n in general_notes(bot) if n.startswith(report_head(bot, "retention"))]
    assert could_not_remove(bot) in note
    other = await store.get_tip(bot.db, 2)
    assert other is not None and other.description == TIP_TEXT
    assert TIP_TEXT in tip_messages(bot, other)["card"][0].text
    # Run again: nothing new is planned, nothing is sent twice.
    sent = len(bot.double.sent)
    await retention_job(BotContext(bot.app))
    await bot.settle()
    assert len(bot.double.sent) == sent


async def test_residents_forget_on_the_command_line_queues_what_the_running_bot_removes(
    bot: BotHarness,
):
    from tests.test_privacy import _run_cli

    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await tip_with_photo_voice_and_pin(bot, amina)
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None
    code, out, _ = await _run_cli(bot, "residents", "forget", str(amina.id))
    assert code == 0 and "erased" in out
    assert "queued" in out and "running bot" in out
    # The running bot's outbox makes the removals.
    assert bot.app is not None
    await send_pending(BotContext(bot.app))
    await bot.settle()
    after = tip_messages(bot, tip)
    assert staff_says_removed(bot) in after["card"][0].text
    assert all(m.deleted for kind in ("photo", "voice", "location") for m in after[kind])
    assert await staff_erasure.pending(bot.db) == 0


async def test_a_tip_erased_before_its_card_went_out_never_reaches_staff(bot: BotHarness):
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    bot.double.outage(chats=(bot.staff_chat.id,))
    await tip_with_photo_voice_and_pin(bot, amina)
    await erase_by_deleteme(amina)
    bot.double.end_outage()
    bot.clock.advance(timedelta(minutes=31))
    assert bot.app is not None
    await send_pending(BotContext(bot.app))
    await bot.settle()
    assert not [m for m in bot.staff_messages() if m.text and "T-0001" in m.text]
    assert not [m for m in bot.staff_messages() if m.media_kind in ("photo", "voice", "location")]


async def test_a_topic_the_bot_may_not_delete_is_listed_for_staff(bot: BotHarness):
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    thread = await open_case(bot, amina)
    bot.staff_chat.bot_can_manage_topics = False  # an administrator took the right away
    await erase_by_deleteme(amina)
    await bot.settle()
    assert [t.deleted for t in bot.double.topics(bot.staff_chat) if t.id == thread] == [False]
    [failed] = await staff_erasure.not_removed(bot.db)
    assert (failed.target, failed.thread_id, failed.outcome) == ("topic", thread, "failed")
    [note] = [n for n in general_notes(bot) if n.startswith(report_head(bot))]
    internal = str(bot.staff_chat.id).removeprefix("-100")
    assert could_not_remove(bot) in note and f"https://t.me/c/{internal}/{thread}" in note
    assert "S-0001" in note
