"""`python -m bot check` for the language bridge: does each configured service answer, does the
key work, and which of the residents' languages can it handle."""

from __future__ import annotations

from collections.abc import Callable

from bot.bridge.languages import language_name, transcription_code
from bot.bridge.service import service_host
from bot.bridge.transcription import TranscriptionClient, TranscriptionFailed
from bot.bridge.translation import LibreTranslateClient, Translation, TranslationFailed
from bot.config import Config
from bot.i18n import SUPPORTED_LANGUAGES

Say = Callable[[str], None]

#: A short, harmless text for the test translation (no resident's words).
PROBE = {"nb": "God morgen", "en": "Good morning"}


def _failure(result: TranslationFailed | TranscriptionFailed) -> str:
    return f"{result.reason}" + (f" ({result.detail})" if result.detail else "")


async def check_translation(config: Config, ok: Say, fix: Say, note: Say) -> None:
    if config.translation_url is None:
        ok("translation: off (BOT_TRANSLATION_URL is not set); messages reach staff as written")
        return
    host = service_host(config.translation_url)
    client = LibreTranslateClient(config.translation_url, api_key=config.translation_api_key)
    try:
        languages = await client.languages()
        if isinstance(languages, TranslationFailed):
            fix(f"translation server {host}: {_failure(languages)}; check BOT_TRANSLATION_URL")
            return
        staff = config.staff_language
        by_code = {language.code: language for language in languages}
        staff_side = by_code.get(staff)
        both_ways = [
            code
            for code in SUPPORTED_LANGUAGES
            if code != staff
            and code in by_code
            and staff_side is not None
            and code in staff_side.targets
            and staff in by_code[code].targets
        ]
        if not both_ways:
            fix(
                f"translation server {host} answers but translates none of the residents'"
                f" languages to and from {language_name(staff)} ({staff}); install its models"
            )
            return
        probe_target = both_ways[0]
        probe = await client.translate(PROBE.get(staff, PROBE["en"]), staff, probe_target)
        if not isinstance(probe, Translation):
            fix(
                f"translation server {host} refused a test translation: {_failure(probe)};"
                " check BOT_TRANSLATION_API_KEY"
            )
            return
        ok(f"translation server {host} answers and translates {staff} <-> " + ", ".join(both_ways))
        for code in SUPPORTED_LANGUAGES:
            if code != staff and code not in both_ways:
                note(
                    f"translation: {language_name(code)} ({code}) <-> {staff} is not available"
                    f" on {host}; {language_name(code)} messages reach staff untranslated"
                )
    finally:
        await client.close()


async def check_transcription(config: Config, ok: Say, fix: Say, note: Say) -> None:
    if config.transcription_url is None:
        ok("transcription: off (BOT_TRANSCRIPTION_URL is not set); voice notes get no transcript")
        return
    host = service_host(config.transcription_url)
    model = config.transcription_model
    client = TranscriptionClient(
        config.transcription_url, model=model, api_key=config.transcription_api_key
    )
    try:
        models = await client.models()
    finally:
        await client.close()
    if isinstance(models, TranscriptionFailed):
        fix(
            f"transcription server {host}: {_failure(models)}; check BOT_TRANSCRIPTION_URL"
            " (it ends in /v1) and BOT_TRANSCRIPTION_API_KEY"
        )
        return
    if models is None:
        ok(f"transcription server {host} answers")
        note(f"transcription: {host} does not list its models; could not check {model!r}")
    elif model not in models:
        fix(
            f"transcription server {host} does not offer the model {model!r}"
            f" (it offers: {', '.join(models) or 'none'}); set BOT_TRANSCRIPTION_MODEL"
        )
        return
    else:
        ok(f"transcription server {host} answers and offers the model {model!r}")
    # Whisper models are multilingual and the API has no list of languages to ask.
    codes = ", ".join(
        code if transcription_code(code) == code else f"{code} (as {transcription_code(code)})"
        for code in SUPPORTED_LANGUAGES
    )
    note(
        f"transcription: Whisper models recognise {codes}; voice notes over 2 minutes are not sent"
    )


async def check_bridge(config: Config, ok: Say, fix: Say, note: Say) -> None:
    await check_translation(config, ok, fix, note)
    await check_transcription(config, ok, fix, note)
