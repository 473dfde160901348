"""The language bridge: machine translation, voice transcripts, reply templates and the
languages staff read, so that any staff member can help any resident.

- `translation.py`: a LibreTranslate client and the cached `Translator`;
- `transcription.py`: an OpenAI-compatible speech-to-text client;
- `languages.py`: our language codes and the services' codes, in one table;
- `templates.py`: reply templates (TOML) and picking a resident's text;
- `readers.py`: `/languages` in the staff chat and the case header line naming the readers.

Every outside call returns a value (a result or a failure with its reason), never an
exception, so a message is relayed at once whether or not the bridge is up.
"""

from __future__ import annotations

from datetime import time, timedelta

from bot.context import BotApplication, BotContext
from bot.i18n import N_
from bot.registry import add_case_header_part, add_startup_hook
from storage import translations

#: Where the transcription client lives in `BotData.extras` (absent: no transcripts).
TRANSCRIBER = "bridge.transcriber"


async def open_translator(app: BotApplication) -> None:
    """At start, once the database is open: the translator every feature uses."""
    from bot.bridge.translation import LibreTranslateClient, Translator

    config, data = app.bot_data.config, app.bot_data
    client = (
        LibreTranslateClient(config.translation_url, api_key=config.translation_api_key)
        if config.translation_url
        else None
    )
    data.translator = Translator(client, data.db, clock=lambda: data.clock())
    if config.transcription_url:
        from bot.bridge.transcription import TranscriptionClient

        data.extras[TRANSCRIBER] = TranscriptionClient(
            config.transcription_url,
            model=config.transcription_model,
            api_key=config.transcription_api_key,
        )


async def purge_translation_cache(context: BotContext) -> None:
    """Daily: cached translations hold residents' words; keep them only `CACHE_DAYS`."""
    await translations.purge(context.db, context.now() - timedelta(days=translations.CACHE_DAYS))


def register(app: BotApplication) -> None:
    from bot.bridge.readers import languages_command, readers_header_part
    from bot.staff_chat import add_staff_command

    add_staff_command(
        app,
        "languages",
        languages_command,
        N_("Say which languages you read, e.g. /languages so ar"),
        order=60,
    )
    add_case_header_part(app, readers_header_part)
    add_startup_hook(app, open_translator)
    assert app.job_queue is not None
    app.job_queue.run_daily(
        purge_translation_cache,
        time=time(3, 45, tzinfo=app.bot_data.config.timezone),
        name="translation-cache",
    )
