"""Language routing: staff say which languages they read (`/languages so ar` in the staff chat),
and the header of a new case in such a language mentions them, so a Somali speaker sees the
Somali cases without watching every topic."""

from __future__ import annotations

import re

from telegram import Update
from telegram.helpers import mention_html

from bot.bridge.languages import LANGUAGES
from bot.context import BotContext, BotData
from bot.i18n import SUPPORTED_LANGUAGES, Raw, Texts
from bot.staff_chat import answer_in_thread
from storage import residents, staff_languages

#: Words that clear the list.
_NONE = {"none", "ingen", "off", "-"}
#: Names staff may write instead of codes (English, Norwegian, and each language's own name).
_NAMES = {
    **{language.name.lower(): code for code, language in LANGUAGES.items()},
    **{name.lower(): code for code, name in SUPPORTED_LANGUAGES.items()},
    "no": "nb",
    "nn": "nb",
    "bokmål": "nb",
    "norwegian": "nb",
    "engelsk": "en",
    "arabisk": "ar",
    "polsk": "pl",
    "ukrainsk": "uk",
    "tigrinja": "ti",
    "tyrkisk": "tr",
    "persisk": "fa",
    "farsi": "fa",
}


def parse_languages(words: list[str]) -> tuple[list[str], list[str]]:
    """(codes understood, words not understood); `so, ar` and `Somali Arabic` both work."""
    codes: list[str] = []
    unknown: list[str] = []
    for word in re.split(r"[\s,;]+", " ".join(words)):
        if not word:
            continue
        key = word.lower()
        code = key if key in LANGUAGES else _NAMES.get(key)
        if code is None:
            unknown.append(word)
        elif code not in codes:
            codes.append(code)
    return codes, unknown


def language_label(t: Texts, code: str) -> str:
    """A language as staff call it, in their own language ("somali")."""
    return str(t.locale.languages.get(code, code))


async def languages_command(update: Update, context: BotContext) -> None:
    """`/languages so ar` saves what the sender reads; `/languages` shows it."""
    user = update.effective_user
    if user is None:
        return
    t = context.staff_texts()
    words = context.args or []
    if words:
        if len(words) == 1 and words[0].lower() in _NONE:
            codes: list[str] = []
        else:
            codes, unknown = parse_languages(words)
            if unknown:
                await answer_in_thread(
                    update,
                    context,
                    t._(
                        "I do not know the language {word}. Use codes such as {codes}.",
                        word=unknown[0],
                        codes=" ".join(LANGUAGES),
                    ),
                )
                return
        await staff_languages.set_languages(
            context.db, user.id, user.first_name, codes, context.now()
        )
    saved = await staff_languages.languages_of(context.db, user.id)
    if saved:
        names = ", ".join(f"{language_label(t, code)} ({code})" for code in saved)
        text = t._(
            "You read: {languages}. New cases in these languages will mention you.",
            languages=names,
        )
    elif words:
        text = t._("OK, new cases will not mention you.")
    else:
        text = t._(
            "You have not said which languages you read. Write for example /languages so ar,"
            " and new cases in those languages will mention you."
        )
    await answer_in_thread(update, context, text)


async def readers_header_part(data: BotData, resident_id: int, t: Texts) -> list[str]:
    """Header line of a new case in a language other than the staff's: who reads it."""
    resident = await residents.get(data.db, resident_id)
    if resident is None or resident.language == data.config.staff_language:
        return []
    readers = await staff_languages.readers_for(data.db, resident.language)
    if not readers:
        return []
    mentions = ", ".join(mention_html(reader.user_id, reader.name) for reader in readers)
    return [
        t._(
            "Reads {language}: {names}",
            language=language_label(t, resident.language),
            names=Raw(mentions),
        )
    ]
