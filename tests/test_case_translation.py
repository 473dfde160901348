"""Machine translation in cases, both ways, through the Bot API double and a LibreTranslate
fake over HTTP: a Somali case with the back-translation, /translate off, `!`, and the
translation server down (timeout, HTTP 500) while every message is still relayed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.outbox import send_pending
from sandbox.fake_translate import FakeTranslate
from storage import cases
from storage.db import DatabaseLocation
from tests.harness import BotHarness, make_harness, shown_to_staff
from tests.test_handover import open_case, staff_says, start
from tests.test_outbox import job_context

SOMALI = "Waxaan u baahanahay caawimaad, nabad iyo mahadsanid"


@pytest.fixture
async def translate() -> AsyncIterator[FakeTranslate]:
    async with FakeTranslate() as server:
        yield server


@pytest.fixture
async def bridged(
    tmp_path: Path, database_location: DatabaseLocation, translate: FakeTranslate
) -> AsyncIterator[BotHarness]:
    async for harness in make_harness(
        tmp_path, database=database_location, translation_url=translate.url
    ):
        yield harness


def after(bot: BotHarness, thread: int, message_id: int):
    """The bot's messages in the topic that reply to `message_id`."""
    return [m for m in bot.staff_messages(thread) if m.reply_to_message_id == message_id]


async def test_a_somali_case_translated_both_ways(bridged: BotHarness, translate: FakeTranslate):
    bot = bridged
    amina = bot.resident("Amina", language_code="so")
    await start(amina, "Soomaali")
    thread = await open_case(bot, amina, SOMALI)
    copy = next(m for m in bot.staff_messages(thread) if shown_to_staff(m) == SOMALI)
    notes = after(bot, thread, copy.message_id)
    assert len(notes) == 1
    assert notes[0].text == f"🌐 Maskinoversettelse:\n[so->nb] {SOMALI}"
    assert translate.translations()[0]["source"] == "auto"

    before = len(amina.received)
    await staff_says(bot, thread, "Hei, vi kan hjelpe deg")
    got = amina.received[before:]
    assert len(got) == 1
    assert (got[0].text or "").startswith("[nb->so] Hei, vi kan hjelpe deg")
    quote = [e for e in got[0].entities if e["type"] == "expandable_blockquote"]
    assert len(quote) == 1
    assert (got[0].text or "").endswith("Hei, vi kan hjelpe deg")
    record = [m for m in bot.staff_messages(thread) if "[so->nb] [nb->so]" in (m.text or "")]
    assert len(record) == 1
    text = record[0].text or ""
    assert "[nb->so] Hei, vi kan hjelpe deg" in text  # what the resident got
    assert "[so->nb] [nb->so] Hei, vi kan hjelpe deg" in text  # the back-translation
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.first_staff_reply_at is not None

    # A restart sends nothing twice: no translation, reply or record again.
    in_topic, to_amina = len(bot.staff_messages(thread)), len(amina.received)
    asked = translate.count("/translate")
    await bot.restart()
    await bot.settle()
    assert len(bot.staff_messages(thread)) == in_topic and len(amina.received) == to_amina
    assert translate.count("/translate") == asked


async def test_a_message_in_the_staff_language_gets_no_translation(
    bridged: BotHarness, translate: FakeTranslate
):
    bot = bridged
    ola = bot.resident("Ola", language_code="so")
    await start(ola, "Soomaali")
    thread = await open_case(bot, ola, "Hei, jeg kan skrive norsk og takk")
    copy = bot.staff_messages(thread)[-1]
    assert shown_to_staff(copy) == "Hei, jeg kan skrive norsk og takk"
    assert after(bot, thread, copy.message_id) == []
    assert translate.count("/translate") == 1


async def test_translate_off_and_the_exclamation_mark(
    bridged: BotHarness, translate: FakeTranslate
):
    bot = bridged
    amina = bot.resident("Amina", language_code="so")
    await start(amina, "Soomaali")
    thread = await open_case(bot, amina, SOMALI)
    await staff_says(bot, thread, "!Nabad, Amina")
    assert amina.last.text == "Nabad, Amina"
    await staff_says(bot, thread, "/translate off")
    assert "av" in (bot.staff_messages(thread)[-1].text or "")
    await staff_says(bot, thread, "Haa, waan ku caawin karnaa")
    assert amina.last.text == "Haa, waan ku caawin karnaa"
    asked = [f["q"] for f in translate.translations()]
    assert "Haa, waan ku caawin karnaa" not in asked and "Nabad, Amina" not in asked
    await staff_says(bot, thread, "/translate on")
    await staff_says(bot, thread, "Vi ses på mandag")
    assert (amina.last.text or "").startswith("[nb->so] Vi ses på mandag")


@pytest.mark.parametrize("mode", ["timeout", "error"])
async def test_translation_down_relays_everything_with_a_note(
    bridged: BotHarness, translate: FakeTranslate, mode: str
):
    bot = bridged
    assert bot.app is not None and bot.app.bot_data.translator is not None
    client = bot.app.bot_data.translator.client
    assert client is not None
    client.timeout = 0.5  # the fake holds the request; the bot gives up on it
    translate.mode = mode  # type: ignore[assignment]
    amina = bot.resident("Amina", language_code="so")
    await start(amina, "Soomaali")
    thread = await open_case(bot, amina, SOMALI)
    copy = next(m for m in bot.staff_messages(thread) if shown_to_staff(m) == SOMALI)
    notes = after(bot, thread, copy.message_id)
    assert [n.text for n in notes] == [
        "⚠️ Oversettelsen mislyktes. Meldingen over er slik innbyggeren skrev den."
    ]
    case = await cases.by_topic(bot.db, thread)
    assert case is not None
    assert await cases.undelivered(bot.db, case.id, resident_message_id=copy.message_id) is None

    await staff_says(bot, thread, "Hei, vi kan hjelpe deg")
    assert amina.last.text == "Hei, vi kan hjelpe deg"
    assert "Oversettelsen mislyktes" in (bot.staff_messages(thread)[-1].text or "")

    translate.mode = "ok"
    await amina.says("Mahadsanid")
    copy = bot.staff_messages(thread)[-2]
    assert shown_to_staff(copy) == "Mahadsanid"
    assert bot.staff_messages(thread)[-1].text == "🌐 Maskinoversettelse:\n[so->nb] Mahadsanid"


async def test_the_detected_language_is_named_when_it_is_not_the_chosen_one(
    bridged: BotHarness,
):
    bot = bridged
    amina = bot.resident("Amina", language_code="so")
    await start(amina, "Soomaali")
    thread = await open_case(bot, amina, "Dzień dobry, proszę o pomoc")
    copy = bot.staff_messages(thread)[-2]
    assert shown_to_staff(copy) == "Dzień dobry, proszę o pomoc"  # the copy stays exact
    assert bot.staff_messages(thread)[-1].text == (
        "🌐 Maskinoversatt fra polsk (innbyggeren valgte somali):\n"
        "[pl->nb] Dzień dobry, proszę o pomoc"
    )
    assert bot.staff_messages(thread)[-1].reply_to_message_id == copy.message_id


async def test_translate_without_a_word_says_what_is_set(bridged: BotHarness):
    bot = bridged
    amina = bot.resident("Amina", language_code="so")
    await start(amina, "Soomaali")
    thread = await open_case(bot, amina, SOMALI)
    await staff_says(bot, thread, "/translate")
    assert (bot.staff_messages(thread)[-1].text or "").startswith(
        "Oversettelse er på i denne saken."
    )
    await staff_says(bot, thread, "/translate off")
    await staff_says(bot, thread, "/translate")
    assert (bot.staff_messages(thread)[-1].text or "").startswith(
        "Oversettelse er av i denne saken."
    )


async def test_a_message_kept_through_a_telegram_outage_and_a_restart_is_translated_once(
    bridged: BotHarness, translate: FakeTranslate
):
    bot = bridged
    amina = bot.resident("Amina", language_code="so")
    await start(amina, "Soomaali")
    thread = await open_case(bot, amina, SOMALI)
    bot.double.outage(chats=(bot.staff_chat.id,))
    await amina.says("Mahadsanid, waan sugayaa")
    assert all(shown_to_staff(m) != "Mahadsanid, waan sugayaa" for m in bot.staff_messages(thread))
    assert await bot.db.fetchval("SELECT COUNT(*) FROM bridge_texts") == 1  # kept, not lost
    bot.double.end_outage()
    await bot.restart()
    await send_pending(job_context(bot))
    await bot.settle()
    texts = [m.text for m in bot.staff_messages(thread)]
    assert [shown_to_staff(m) for m in bot.staff_messages(thread)].count(
        "Mahadsanid, waan sugayaa"
    ) == 1
    assert texts.count("🌐 Maskinoversettelse:\n[so->nb] Mahadsanid, waan sugayaa") == 1
    assert await bot.db.fetchval("SELECT COUNT(*) FROM bridge_texts") == 0
    await bot.restart()
    await send_pending(job_context(bot))
    await bot.settle()
    assert [m.text for m in bot.staff_messages(thread)] == texts
