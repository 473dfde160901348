"""/reply in a case topic: a reply template goes to the resident in their language, written by
a person where the file has it (Urdu) and machine-translated where not (Polish), through the
Bot API double and a LibreTranslate-speaking fake server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bridge.templates import parse_templates
from bot.i18n import Catalogs
from sandbox.fake_translate import FakeTranslate
from storage import cases, replies
from storage.db import DatabaseLocation
from tests.harness import BotHarness, make_harness
from tests.test_handover import open_case, staff_says, start

EXAMPLE = Path(__file__).resolve().parent.parent / "replies" / "example.toml"
TEMPLATES = {t.key: t for t in parse_templates(EXAMPLE.read_bytes(), "nb")}


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
        await replies.replace_all(
            harness.db, list(TEMPLATES.values()), datetime(2026, 11, 25, tzinfo=UTC)
        )
        yield harness


async def press_in_topic(bot: BotHarness, thread: int, label: str) -> None:
    keyboard = next(m for m in reversed(bot.staff_messages(thread)) if m.buttons)
    await bot.staff[0].presses(label, keyboard)


async def test_a_template_in_urdu_from_the_file(bridged: BotHarness, translate: FakeTranslate):
    bot = bridged
    amina = bot.resident("Amina", language_code="ur")
    await start(amina, "اردو")
    thread = await open_case(bot, amina, "آپ کب کھلے ہیں؟")
    await staff_says(bot, thread, "/reply")
    keyboard = bot.staff_messages(thread)[-1]
    assert "Det sendes på urdu" in (keyboard.text or "")
    assert [label for label, _ in keyboard.buttons] == [
        "Åpningstider",
        "Send et bilde",
        "Kom innom på kontoret",
        "Sendt videre",
    ]
    await press_in_topic(bot, thread, "Åpningstider")
    assert amina.last.text == TEMPLATES["opening-hours"].texts["ur"]
    record = bot.staff_messages(thread)[-1]
    assert record.message_id == keyboard.message_id and not record.buttons
    assert (record.text or "").startswith("✉️ «Åpningstider» sendt på urdu:")
    assert TEMPLATES["opening-hours"].texts["ur"] in (record.text or "")
    # A person's text needs no machine (the resident's own message is translated for staff).
    assert [f["source"] for f in translate.translations()] == ["auto"]
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.first_staff_reply_at is not None


async def test_a_template_in_polish_machine_translated(
    bridged: BotHarness, translate: FakeTranslate
):
    bot = bridged
    ewa = bot.resident("Ewa", language_code="pl")
    await start(ewa, "Polski")
    thread = await open_case(bot, ewa, "Dzień dobry, mam pytanie")
    await staff_says(bot, thread, "/reply")
    await press_in_topic(bot, thread, "Kom innom på kontoret")
    received = ewa.last.text or ""
    assert received.startswith("[nb->pl] Det er lettest å hjelpe deg på kontoret.")
    assert received.endswith("Przetłumaczone maszynowo.")
    assert ewa.last.entities[-1]["type"] == "italic"
    record = bot.staff_messages(thread)[-1]
    assert (record.text or "").startswith(
        "✉️ «Kom innom på kontoret» sendt på polsk, maskinoversatt:"
    )
    # The same keyboard sends once: a second press changes nothing.
    count = len(ewa.received)
    case = await cases.by_topic(bot.db, thread)
    assert case is not None
    await bot.staff[0].presses_data(record, f"reply:send:{case.id}:come-by")
    assert len(ewa.received) == count
    assert [f["source"] for f in translate.translations()] == ["auto", "nb"]


async def test_with_the_translator_down_the_english_text_goes_out(
    bridged: BotHarness, translate: FakeTranslate
):
    bot = bridged
    translate.mode = "error"
    ewa = bot.resident("Ewa", language_code="pl")
    await start(ewa, "Polski")
    thread = await open_case(bot, ewa, "Dzień dobry")
    await staff_says(bot, thread, "/reply")
    await press_in_topic(bot, thread, "Sendt videre")
    assert ewa.last.text == TEMPLATES["forwarded"].texts["en"]
    assert (bot.staff_messages(thread)[-1].text or "").startswith(
        "✉️ «Sendt videre» sendt på engelsk:"
    )


async def test_reply_without_templates_or_outside_a_case(bot: BotHarness):
    await bot.staff[0].does("send_text", "/reply", chat=bot.staff_chat)
    staff = Catalogs().texts("nb")
    assert bot.staff_messages()[-1].text == staff._("Use this command inside a case topic.")
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    await staff_says(bot, thread, "/reply")
    assert "python -m bot replies load FILE" in (bot.staff_messages(thread)[-1].text or "")
    assert all("replies load" not in (m.text or "") for m in john.received)
