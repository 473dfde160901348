"""Language routing and the bridge's word in /privacy: staff say which languages they read,
a new case in such a language mentions them, and residents are told where their words may go."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import Catalogs
from bot.onboarding import privacy_text
from storage import staff_languages
from storage.db import DatabaseLocation
from tests.harness import BotHarness, Person, make_harness
from tests.test_handover import open_case, start


async def staff_command(bot: BotHarness, text: str, who: int = 0) -> str:
    await bot.staff[who].does("send_text", text, chat=bot.staff_chat)
    reply = bot.staff_messages()[-1]
    assert reply.text is not None
    return reply.text


async def test_languages_saves_and_shows_what_a_staff_member_reads(bot: BotHarness):
    shown = await staff_command(bot, "/languages")
    assert "Du har ikke sagt hvilke språk du leser" in shown
    saved = await staff_command(bot, "/languages so, Arabic")
    assert saved == "Du leser: somali (so), arabisk (ar). Nye saker på disse språkene nevner deg."
    assert await staff_command(bot, "/languages") == saved
    assert await staff_languages.languages_of(bot.db, bot.staff[0].id) == ["so", "ar"]
    # Names and codes may be mixed; a second list replaces the first.
    await staff_command(bot, "/languages urdu pl")
    assert await staff_languages.languages_of(bot.db, bot.staff[0].id) == ["ur", "pl"]
    assert await staff_command(bot, "/languages none") == "OK, nye saker vil ikke nevne deg."
    assert await staff_languages.languages_of(bot.db, bot.staff[0].id) == []


async def test_an_unknown_language_is_refused_and_nothing_changes(bot: BotHarness):
    await staff_command(bot, "/languages so")
    refused = await staff_command(bot, "/languages so klingon")
    assert refused.startswith("Jeg kjenner ikke språket klingon. Bruk koder som nb en ar so")
    assert await staff_languages.languages_of(bot.db, bot.staff[0].id) == ["so"]


async def test_languages_is_for_staff_only(bot: BotHarness):
    amina = bot.resident("Amina", language_code="so")
    await amina.says("/start")
    await amina.says("/languages so")
    assert await staff_languages.readers_for(bot.db, "so") == []


async def test_a_somali_case_mentions_the_somali_reader(bot: BotHarness):
    await staff_command(bot, "/languages so ar", who=1)  # Ola reads Somali
    await staff_command(bot, "/languages ar")  # Kari does not
    readers = await staff_languages.readers_for(bot.db, "so")
    assert [reader.user_id for reader in readers] == [bot.staff[1].id]

    amina = bot.resident("Amina", language_code="so")
    await start(amina, "Soomaali")
    thread = await open_case(bot, amina, "Waxaan u baahanahay caawimo")
    header = bot.staff_messages(thread)[0]
    assert "Leser somali: Ola" in (header.text or "")
    mentions = [e for e in header.entities if e["type"] == "text_mention"]
    assert [m["user"]["id"] for m in mentions] == [bot.staff[1].id]


async def test_a_case_in_the_staff_language_mentions_nobody(bot: BotHarness):
    await staff_command(bot, "/languages nb so")
    ola = bot.resident("Ola", language_code="nb")
    await start(ola, "Norsk")
    thread = await open_case(bot, ola, "Hei")
    header = bot.staff_messages(thread)[0]
    assert "Leser" not in (header.text or "")
    assert not [e for e in header.entities if e["type"] == "text_mention"]


# --- /privacy ---
def test_privacy_names_the_services_by_host_only():
    t = Catalogs().texts("en")
    text = privacy_text(t, 365, translation_host="translate.bydel.no", transcription_host=None)
    assert "translated by a machine at translate.bydel.no" in text
    assert "voice messages" not in text
    assert "machine" not in privacy_text(t, 365)


async def test_privacy_in_the_bot_names_the_configured_services(
    tmp_path: Path, database_location: DatabaseLocation
):
    async for bot in make_harness(
        tmp_path,
        database=database_location,
        translation_url="http://translate.bydel.no:5000/some/path",
        transcription_url="https://user:secret@whisper.bydel.no/v1",
    ):
        ali = Person(bot, bot.double.add_user("Ali", language_code="pl"))
        await start(ali, "Polski")
        await ali.says("/privacy")
        text = ali.last.text or ""
        assert "maszynę w translate.bydel.no:5000," in text
        assert "zapisane przez maszynę w whisper.bydel.no." in text
        assert "secret" not in text and "/v1" not in text
