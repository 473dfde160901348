"""Language codes of the outside services, in one table.

The bot names languages by its own codes (`nb`, `so`, ...). LibreTranslate uses ISO 639-1 codes
too, but not always the same ones (older servers say `no` for Norwegian), and Whisper knows
Norwegian only as `no`. Every conversion goes through this table, so a server that names a
language differently is fixed here and nowhere else.

The residents' six languages come first; the others are languages staff may read and the
translation server may detect (newcomers often write in a language the bot has no catalog for).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str  #: ours
    name: str  #: in English, for operators and staff
    translation: str  #: LibreTranslate's code
    transcription: str  #: Whisper's code


LANGUAGES: dict[str, Language] = {
    language.code: language
    for language in (
        Language("nb", "Norwegian", "nb", "no"),
        Language("en", "English", "en", "en"),
        Language("ar", "Arabic", "ar", "ar"),
        Language("so", "Somali", "so", "so"),
        Language("ur", "Urdu", "ur", "ur"),
        Language("pl", "Polish", "pl", "pl"),
        Language("uk", "Ukrainian", "uk", "uk"),
        Language("ti", "Tigrinya", "ti", "ti"),
        Language("tr", "Turkish", "tr", "tr"),
        Language("fa", "Persian", "fa", "fa"),
        Language("ta", "Tamil", "ta", "ta"),
    )
}

#: Codes a translation server may answer with for a language we know under another code.
_TRANSLATION_ALIASES = {"no": "nb", "nn": "nb", "nb-no": "nb"}
_FROM_TRANSLATION = {language.translation: code for code, language in LANGUAGES.items()}


def translation_code(code: str) -> str:
    """Our code -> LibreTranslate's (`auto` stays `auto`; unknown codes are passed as given)."""
    language = LANGUAGES.get(code)
    return language.translation if language else code


def from_translation_code(code: str) -> str:
    """LibreTranslate's code -> ours; a language outside the table keeps the server's code."""
    code = code.lower()
    return _FROM_TRANSLATION.get(code) or _TRANSLATION_ALIASES.get(code) or code


def transcription_code(code: str) -> str:
    """Our code -> Whisper's (`nb` -> `no`)."""
    language = LANGUAGES.get(code)
    return language.transcription if language else code


def language_name(code: str) -> str:
    """The English name of a language, or its code if it is not in the table."""
    language = LANGUAGES.get(code)
    return language.name if language else code
