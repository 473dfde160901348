"""The translation client against a LibreTranslate-speaking fake server over HTTP: results,
detected languages, every kind of failure as a value, and the cache in the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.bridge.languages import from_translation_code, translation_code
from bot.bridge.service import Problem
from bot.bridge.translation import (
    LibreTranslateClient,
    Translation,
    TranslationFailed,
    Translator,
    text_hash,
)
from sandbox.fake_translate import FakeTranslate
from storage import privacy
from storage import translations as cache
from storage.db import Database, DatabaseLocation

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
async def server() -> AsyncIterator[FakeTranslate]:
    async with FakeTranslate() as fake:
        yield fake


@pytest.fixture
async def db(database_location: DatabaseLocation) -> AsyncIterator[Database]:
    database = await Database.open(database_location)
    yield database
    await database.close()


@pytest.fixture
async def client(server: FakeTranslate) -> AsyncIterator[LibreTranslateClient]:
    translator_client = LibreTranslateClient(server.url, timeout=1.0)
    yield translator_client
    await translator_client.close()


async def test_translates_with_the_languages_asked_for(server, client):
    result = await client.translate("Waan ku faraxsanahay", "so", "nb")
    assert result == Translation("[so->nb] Waan ku faraxsanahay", source="so", target="nb")
    sent = server.translations()[0]
    assert sent == {
        "q": "Waan ku faraxsanahay",
        "source": "so",
        "target": "nb",
        "format": "text",
    }


async def test_auto_reports_the_detected_language_and_its_confidence(client):
    result = await client.translate("Nabad, waa maxay saacadaha furitaanka?", "auto", "nb")
    assert isinstance(result, Translation)
    assert result.detected == "so"
    assert result.source == "so"
    assert result.confidence is not None and result.confidence > 50
    assert result.text.startswith("[so->nb] ")


async def test_the_api_key_is_sent_and_a_wrong_one_is_refused():
    async with FakeTranslate(api_key="secret") as server:
        good = LibreTranslateClient(server.url, api_key="secret")
        wrong = LibreTranslateClient(server.url, api_key="guess")
        try:
            assert isinstance(await good.translate("Hei", "nb", "en"), Translation)
            failed = await wrong.translate("Hei", "nb", "en")
        finally:
            await good.close()
            await wrong.close()
    assert failed == TranslationFailed(Problem.REFUSED, "Invalid API key")


async def test_a_slow_server_is_a_timeout_not_a_wait(server):
    server.mode = "timeout"
    quick = LibreTranslateClient(server.url, timeout=0.3)
    try:
        result = await quick.translate("Hei", "nb", "so")
    finally:
        await quick.close()
    assert isinstance(result, TranslationFailed)
    assert result.reason is Problem.TIMEOUT


async def test_a_server_error_is_a_value(server, client):
    server.mode = "error"
    result = await client.translate("Hei", "nb", "so")
    assert isinstance(result, TranslationFailed)
    assert result.reason is Problem.SERVER_ERROR


async def test_an_unsupported_language_or_pair_is_named_as_such():
    async with FakeTranslate(["nb", "en", "ar"], missing_pairs=[("ar", "nb")]) as server:
        client = LibreTranslateClient(server.url)
        try:
            no_somali = await client.translate("Nabad", "so", "nb")
            no_pair = await client.translate("مرحبا", "ar", "nb")
            fine = await client.translate("مرحبا", "ar", "en")
        finally:
            await client.close()
    assert no_somali == TranslationFailed(Problem.UNSUPPORTED, "so is not supported")
    assert isinstance(no_pair, TranslationFailed)
    assert no_pair.reason is Problem.UNSUPPORTED
    assert "not available as a target language" in no_pair.detail
    assert isinstance(fine, Translation)


async def test_a_server_that_is_not_there_is_unreachable(server):
    url = server.url
    await server.close()
    client = LibreTranslateClient(url)
    try:
        result = await client.translate("Hei", "nb", "so")
    finally:
        await client.close()
    assert isinstance(result, TranslationFailed)
    assert result.reason is Problem.UNREACHABLE


async def test_languages_lists_what_the_server_translates(client):
    languages = await client.languages()
    assert not isinstance(languages, TranslationFailed)
    by_code = {language.code: language for language in languages}
    assert set(by_code) == {"nb", "en", "ar", "so", "ur", "pl"}
    assert "so" in by_code["nb"].targets and "nb" in by_code["so"].targets


def test_one_table_maps_our_codes_to_the_services():
    assert translation_code("nb") == "nb"
    assert from_translation_code("no") == "nb"  # older LibreTranslate servers
    assert from_translation_code("so") == "so"
    assert from_translation_code("ti") == "ti"
    assert from_translation_code("xx") == "xx"  # unknown codes stay as the server gave them


# --- the cache ---
async def test_the_same_text_is_sent_once(server, client, db):
    translator = Translator(client, db, clock=lambda: NOW)
    first = await translator.translate("Nabad", "so", "nb", owner=42)
    second = await translator.translate("Nabad", "so", "nb", owner=42)
    assert isinstance(first, Translation) and not first.cached
    assert second == Translation(first.text, "so", "nb", cached=True)
    assert server.count("/translate") == 1
    # Another direction, another text or another resident's words are new requests.
    await translator.translate("Nabad", "so", "en", owner=42)
    await translator.translate("Nabad!", "so", "nb", owner=42)
    await translator.translate("Nabad", "so", "nb", owner=7)
    assert server.count("/translate") == 4


async def test_a_cached_detection_keeps_the_detected_language(server, client, db):
    translator = Translator(client, db, clock=lambda: NOW)
    first = await translator.translate("Dzień dobry, proszę", "auto", "nb", owner=1)
    again = await translator.translate("Dzień dobry, proszę", "auto", "nb", owner=1)
    assert isinstance(again, Translation) and again.cached
    assert again.detected == "pl" == first.detected  # type: ignore[union-attr]
    assert server.count("/translate") == 1


async def test_failures_are_not_cached(server, client, db):
    translator = Translator(client, db, clock=lambda: NOW)
    server.mode = "error"
    assert isinstance(await translator.translate("Hei", "nb", "so"), TranslationFailed)
    server.mode = "ok"
    assert isinstance(await translator.translate("Hei", "nb", "so"), Translation)
    assert server.count("/translate") == 2


async def test_nothing_to_translate_asks_nobody(server, client, db):
    translator = Translator(client, db)
    same = await translator.translate("Hei", "nb", "nb")
    assert same == Translation("Hei", "nb", "nb")
    assert server.count("/translate") == 0


async def test_without_a_server_only_the_cache_answers(db):
    translator = Translator(None, db)
    assert await translator.translate("Hei", "nb", "so") == TranslationFailed(
        Problem.NOT_CONFIGURED
    )


async def test_the_cache_holds_no_source_text_and_is_erased_with_the_resident(server, client, db):
    translator = Translator(client, db, clock=lambda: NOW)
    await translator.translate("Secret words", "en", "nb", owner=42)
    await translator.translate("Opening hours", "en", "nb")  # a template: nobody's
    rows = await db.fetchall("SELECT * FROM translation_cache")
    # The fake's translation repeats the source; apart from it, only a hash is kept.
    assert all(
        "Secret words" not in str(value)
        for row in rows
        for key, value in dict(row).items()
        if key != "translated"
    )
    assert {row["text_hash"] for row in rows} == {
        text_hash("Secret words"),
        text_hash("Opening hours"),
    }
    exported = await privacy.export_resident(db, 42)
    assert exported["translations"]["machine_translations"][0]["translated"] == (
        "[en->nb] Secret words"
    )
    await privacy.forget_resident(db, 42)
    assert await cache.count(db) == 1
    await translator.translate("Secret words", "en", "nb", owner=42)
    assert server.count("/translate") == 3  # asked again: the erased translation is gone


async def test_the_cache_is_purged_after_its_lifetime(client, db):
    clock = [NOW]
    translator = Translator(client, db, clock=lambda: clock[0])
    await translator.translate("Old", "en", "nb")
    clock[0] = NOW + timedelta(days=cache.CACHE_DAYS)
    await translator.translate("New", "en", "nb")
    removed = await cache.purge(db, clock[0] - timedelta(days=cache.CACHE_DAYS) + timedelta(1))
    assert removed == 1
    assert await cache.count(db) == 1
    # The retention job removes what is older than its cutoff too.
    assert await privacy.expire(db, clock[0] + timedelta(seconds=1)) >= 1
    assert await cache.count(db) == 0


async def test_failures_are_logged_without_the_text(server, client, caplog):
    caplog.set_level("DEBUG")
    server.mode = "error"
    await client.translate("Naagtaydu way buka", "so", "nb")
    server.mode = "ok"
    await client.translate("Naagtaydu way buka", "zz", "nb")  # unsupported
    messages = [record.getMessage() for record in caplog.records]
    assert any("translation failed: server error (HTTP 500)" in m for m in messages), messages
    assert any("translation failed: unsupported language (HTTP 400)" in m for m in messages)
    assert not any("Naagtaydu" in m for m in messages)
