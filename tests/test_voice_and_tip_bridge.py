"""The language bridge on tips and voice notes, through the Bot API double with the
LibreTranslate and OpenAI-transcription fakes over HTTP: a tip card translated, a voice note
transcribed and translated in a case and in a tip (kept with the tip, erased with it), and a
voice note above the documented limit refused with a note."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bridge.transcription import MAX_AUDIO_SECONDS
from bot.tips import export
from sandbox.fake_translate import FakeTranslate
from sandbox.fake_whisper import FakeWhisper
from storage import privacy, translations
from storage import tips as store
from storage.db import DatabaseLocation
from tests.harness import BotHarness, make_harness
from tests.test_handover import open_case, start
from tests.test_tips import STOVNER, cards, report, texts

VOICE = b"OggS\x00waxaan arkay nal jaban"
SPOKEN = "Waxaan arkay nal jaban oo waddada ku yaal"


@pytest.fixture
async def services() -> AsyncIterator[tuple[FakeTranslate, FakeWhisper]]:
    async with FakeTranslate() as translate, FakeWhisper() as whisper:
        whisper.will_hear(VOICE, SPOKEN, "so")
        yield translate, whisper


@pytest.fixture
async def bridged(
    tmp_path: Path,
    database_location: DatabaseLocation,
    services: tuple[FakeTranslate, FakeWhisper],
) -> AsyncIterator[BotHarness]:
    translate, whisper = services
    async for harness in make_harness(
        tmp_path,
        database=database_location,
        translation_url=translate.url,
        transcription_url=whisper.url,
    ):
        yield harness


async def test_a_voice_note_in_a_case_is_transcribed_and_translated(
    bridged: BotHarness, services: tuple[FakeTranslate, FakeWhisper]
):
    bot = bridged
    _, whisper = services
    amina = bot.resident("Amina", language_code="so")
    await start(amina, "Soomaali")
    thread = await open_case(bot, amina, "Nabad")
    await amina.does("send_voice", VOICE, duration=7)
    [copy] = [m for m in bot.staff_messages(thread) if m.media_kind == "voice"]
    [note] = [m for m in bot.staff_messages(thread) if m.reply_to_message_id == copy.message_id]
    assert note.text == (
        f"🎤 Transkripsjon av talemeldingen:\n{SPOKEN}\n\n"
        f"🌐 Maskinoversatt fra somali:\n[so->nb] {SPOKEN}"
    )
    assert whisper.count("/audio/transcriptions") == 1
    # A video note the same way (the fake hears what it was not told as "(speech, N bytes)").
    await amina.does("send_video_note", b"\x00\x00\x00\x18ftypmp42 video note")
    [video] = [m for m in bot.staff_messages(thread) if m.media_kind == "video_note"]
    [note] = [m for m in bot.staff_messages(thread) if m.reply_to_message_id == video.message_id]
    assert (note.text or "").startswith("🎤 Transkripsjon av talemeldingen:\n(speech, ")
    assert whisper.count("/audio/transcriptions") == 2
    # Nothing of it waits in the database once posted.
    assert await bot.db.fetchval("SELECT COUNT(*) FROM bridge_texts") == 0


async def test_a_long_voice_note_gets_a_note_instead(
    bridged: BotHarness, services: tuple[FakeTranslate, FakeWhisper]
):
    bot = bridged
    _, whisper = services
    amina = bot.resident("Amina", language_code="so")
    await start(amina, "Soomaali")
    thread = await open_case(bot, amina, "Nabad")
    await amina.does("send_voice", VOICE, duration=MAX_AUDIO_SECONDS + 1)
    [copy] = [m for m in bot.staff_messages(thread) if m.media_kind == "voice"]
    [note] = [m for m in bot.staff_messages(thread) if m.reply_to_message_id == copy.message_id]
    assert note.text == (
        f"🎤 Talemeldingen er lengre enn {MAX_AUDIO_SECONDS} sekunder: ingen transkripsjon."
    )
    assert whisper.count("/audio/transcriptions") == 0


async def test_a_somali_tip_card_translated_with_its_voice_message(
    bridged: BotHarness, services: tuple[FakeTranslate, FakeWhisper]
):
    bot = bridged
    so = texts(bot, "so")
    amina = bot.resident("Amina", language_code="so")
    await amina.says("/tip")
    await amina.presses(so._("Sports fields and playgrounds"))
    await amina.does("send_location", *STOVNER)
    await amina.says("Lulida garoonka waa jabtay")
    await amina.does("send_voice", VOICE)
    await amina.presses(so._("Done, next step"))
    await amina.presses(so._("Yes, show my name"))
    await amina.presses(so._("Send the tip"))
    [card] = cards(bot)
    text = card.text or ""
    assert "Lulida garoonka waa jabtay\n\n🌐 Maskinoversatt fra somali:\n" in text
    assert "[so->nb] Lulida garoonka waa jabtay" in text
    assert f"🎤 Transkripsjon av talemeldingen:\n{SPOKEN}" in text
    assert f"[so->nb] {SPOKEN}" in text
    assert {label for label, _ in card.buttons} >= {"📥 Mottatt", "✅ Løst"}

    # The tips export has the translated description next to the original.
    assert bot.app is not None
    config, nb = bot.app.bot_data.config, texts(bot, "nb")
    table = await export.export_bytes(bot.db, "csv", None, config, nb)
    [row] = list(csv.DictReader(io.StringIO(table.decode("utf-8-sig"))))
    assert row["description"] == "Lulida garoonka waa jabtay"
    assert row["description_translated"] == "[so->nb] Lulida garoonka waa jabtay"
    [request] = json.loads(await export.export_bytes(bot.db, "open311", None, config, nb))
    assert request["description_translated"] == "[so->nb] Lulida garoonka waa jabtay"

    # Kept with the tip: in /mydata's export, and gone with /deleteme's erasure.
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None
    kept = await translations.tip_bridge(bot.db, tip.id)
    assert kept is not None and kept.transcript == SPOKEN
    exported = await privacy.export_resident(bot.db, amina.id)
    assert exported["translations"]["tips_translated_and_transcribed"][0]["transcript"] == SPOKEN
    await privacy.forget_resident(bot.db, amina.id)
    assert await translations.tip_bridge(bot.db, tip.id) is None
    [row] = list(
        csv.DictReader(
            io.StringIO(
                (await export.export_bytes(bot.db, "csv", None, config, nb)).decode("utf-8-sig")
            )
        )
    )
    assert row["description"] == row["description_translated"] == ""


async def test_a_staff_question_on_a_tip_goes_out_translated(
    bridged: BotHarness, services: tuple[FakeTranslate, FakeWhisper]
):
    bot = bridged
    amina = bot.resident("Amina", language_code="so")
    await report(bot, amina, text="Lulida waa jabtay", place="Tokerud skole", language="so")
    [card] = cards(bot)
    kari = bot.staff[0]
    for text in ("Hvilken huske er det?", "!Mahadsanid, Amina"):
        bot.double.send_text(
            kari.user, text, chat=bot.staff_chat, thread_id=card.thread_id, reply_to=card
        )
        await bot.settle()
    first, second = [m for m in amina.received if (m.text or "").startswith("❓")]
    assert "[nb->so] Hvilken huske er det?" in (first.text or "")
    [quote] = [e for e in first.entities if e["type"] == "expandable_blockquote"]
    quoted = (first.text or "")[quote["offset"] :]
    assert "Hvilken huske er det?" in quoted and "[nb->so]" not in quoted
    assert "Mahadsanid, Amina" in (second.text or "") and "[nb->so]" not in (second.text or "")
    assert "!" not in (second.text or "").split("\n\n")[1]
    notes = [m.text or "" for m in bot.staff_messages(card.thread_id) if "✉️" in (m.text or "")]
    assert len(notes) == 2
    assert "[nb->so] Hvilken huske er det?" in notes[0]

    # The resident's answer reaches staff as written, its translation as a reply to it.
    await amina.says("Kan weyn, waa nabad")
    topic = bot.staff_messages(card.thread_id)
    [posted] = [m for m in topic if "Kan weyn, waa nabad" in (m.text or "") and "[" not in m.text]
    [translated] = [m for m in topic if m.reply_to_message_id == posted.message_id]
    assert translated.text == "🌐 Maskinoversettelse:\n[so->nb] Kan weyn, waa nabad"
