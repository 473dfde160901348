"""Translations, plural forms and locale-aware dates: the one place that looks up resident text.

Catalogs are read from the `.po` files at start and compiled in memory, so a fresh checkout works
without a compile step and a `.po` edit takes effect on the next start. A missing catalog fails
loudly: `gettext` would otherwise fall back to the untranslated source text without a word.
"""

from __future__ import annotations

import gettext
import html
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from babel.lists import format_list as babel_format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"

#: Shipped languages, each named in its own language (this is how the language buttons read).
SUPPORTED_LANGUAGES: dict[str, str] = {
    "nb": "Norsk (bokmål)",
    "en": "English",
    "ar": "العربية",
    "so": "Soomaali",
    "ur": "اردو",
    "pl": "Polski",
    "uk": "Українська",
    "ti": "ትግርኛ",
    "tr": "Türkçe",
    "fa_AF": "دری",
    "ta": "தமிழ்",
}
RIGHT_TO_LEFT = frozenset({"ar", "ur", "fa_AF"})

#: The `language_code`s Telegram clients report for a shipped language, where they differ from
#: its code: Norwegian as `no`, `nb` or `nn`; Dari as `fa` (Telegram has no code for Dari, and
#: Persian-speaking residents in Oslo mostly read Dari). Command menus are set for each of them.
CLIENT_CODES: dict[str, tuple[str, ...]] = {"nb": ("nb", "no", "nn"), "fa_AF": ("fa",)}

# Client codes (with any region stripped) that select a shipped language of another code.
_ALIASES = {code: language for language, codes in CLIENT_CODES.items() for code in codes}

# Unicode bidi isolates: an embedded value (a reference such as T-0042, a number, a Latin
# name) keeps its own direction inside a right-to-left sentence instead of scrambling it.
FSI, PDI = "\u2068", "\u2069"

_PLACEHOLDER_RE = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the language is known."""
    return message


def normalize_language(code: str | None) -> str | None:
    """Map a Telegram `language_code` (e.g. `nb-NO`, `no`, `en-GB`) to a shipped language."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    base = _ALIASES.get(base, base)
    return base if base in SUPPORTED_LANGUAGES else None


def client_codes(language: str) -> tuple[str, ...]:
    """The Telegram `language_code`s that should get `language`'s command menu."""
    return CLIENT_CODES.get(language, (language,))


def ascii_digits(text: str) -> str:
    """Typed numbers in any script as ASCII digits: "١٧:٠٠" (Arabic-Indic), "۱۷:۰۰" (Persian and
    Urdu keyboards), "१७" (Devanagari) all become "17:00"/"17".

    Used where the bot parses a number someone typed (a time, an age range), so that a phone
    set to Arabic or Urdu is understood as well as a Norwegian one. Other text is left as is.
    """
    return "".join(_ascii_digit(char) for char in text)


def _ascii_digit(char: str) -> str:
    if char.isascii():
        return char
    value = unicodedata.decimal(char, None)
    return char if value is None else str(value)


def placeholders(message: str) -> set[str]:
    """The `{name}` placeholders of a message, used to check translations keep them."""
    return set(_PLACEHOLDER_RE.findall(message))


class Catalogs:
    """All shipped translations, loaded once."""

    def __init__(self, locales_dir: Path = LOCALES_DIR, default_language: str = "nb") -> None:
        self.default_language = default_language
        self._translations: dict[str, gettext.GNUTranslations] = {}
        for language in SUPPORTED_LANGUAGES:
            po_path = locales_dir / language / "LC_MESSAGES" / "messages.po"
            if not po_path.is_file():
                raise FileNotFoundError(f"missing translation catalog {po_path}")
            self._translations[language] = _compile(po_path, language)
        self._texts = {lang: Texts(lang, self._translations[lang]) for lang in SUPPORTED_LANGUAGES}

    def texts(self, language: str | None) -> Texts:
        """Texts for a language; unknown or missing languages get the district's default."""
        lang = normalize_language(language) or self.default_language
        return self._texts[lang]


def _compile(po_path: Path, language: str) -> gettext.GNUTranslations:
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


#: `Texts` has methods called `date` and `datetime`; inside it, this names the types.
DateOrTime = date | datetime


@dataclass(frozen=True)
class Texts:
    """Translated text and locale-aware formatting for one language."""

    language: str
    translations: gettext.GNUTranslations

    @property
    def rtl(self) -> bool:
        """True for right-to-left scripts (Arabic, Urdu, Dari)."""
        return self.language in RIGHT_TO_LEFT

    @property
    def locale(self) -> Locale:
        return _locale(self.language)

    def _(self, message: str, **values: Any) -> str:
        """Translate a message and fill its `{placeholders}` with HTML-escaped values.

        Every value is escaped here, so a resident's `<b>` or `&` can never break the HTML
        the bot sends; in right-to-left languages values are bidi-isolated as well.
        """
        translated = self.translations.gettext(message)
        return self._fill(translated, values) if values else translated

    def n_(self, singular: str, plural: str, count: int, **values: Any) -> str:
        """Translate with the language's own plural rules; `{count}` is always available."""
        translated = self.translations.ngettext(singular, plural, count)
        return self._fill(translated, {"count": count, **values})

    def quote(self, value: str) -> Raw:
        """Someone else's words (a resident's) as an escaped blockquote, for a `{placeholder}`:
        set apart from the bot's own lines, so a message cannot imitate them."""
        return Raw(f"<blockquote>{self.isolate(html.escape(value, quote=False))}</blockquote>")

    def isolate(self, value: str) -> str:
        """Keep an embedded value's direction intact inside right-to-left text."""
        return f"{FSI}{value}{PDI}" if self.rtl else value

    def _fill(self, template: str, values: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                return match.group(0)
            value = values[name]
            if isinstance(value, Raw):
                return value.html
            return self.isolate(html.escape(str(value), quote=False))

        return _PLACEHOLDER_RE.sub(replace, template)

    def format_list(self, items: Iterable[str]) -> str:
        """Join items the way the language writes a list: "A, B and C", "A وB وC", "A، B، اور C".

        A plain ", " reads wrong in many languages (Arabic and Urdu have their own comma and
        "and"), so every list a resident reads goes through here. The result is plain text:
        pass it as a placeholder value, which escapes it. In right-to-left languages each item
        is isolated, so a Latin name or a number in the list keeps its place.
        """
        parts = [self.isolate(item) for item in items if item]
        if len(parts) < 2:
            return "".join(parts)
        try:
            return babel_format_list(parts, style="standard", locale=self.locale)
        except (KeyError, ValueError):  # a locale without list patterns in Babel's data
            return ", ".join(parts)

    # --- dates and times, in the resident's locale ---
    def date(self, value: date | datetime, tz: tzinfo | None = None, fmt: str = "full") -> str:
        if isinstance(value, datetime) and tz is not None:
            value = value.astimezone(tz)
        day = value.date() if isinstance(value, datetime) else value
        return babel_dates.format_date(day, format=fmt, locale=self.locale)

    def time(self, value: datetime | time, tz: tzinfo | None = None) -> str:
        if isinstance(value, datetime) and tz is not None:
            value = value.astimezone(tz)
        return babel_dates.format_time(value, format="short", locale=self.locale)

    def datetime(self, value: datetime, tz: tzinfo, fmt: str = "medium") -> str:
        return babel_dates.format_datetime(value, format=fmt, tzinfo=tz, locale=self.locale)

    def weekday_date(self, value: DateOrTime, tz: tzinfo | None = None) -> str:
        """ "Monday 3 March"-style heading, the way each locale writes it."""
        if isinstance(value, datetime) and tz is not None:
            value = value.astimezone(tz)
        day = value.date() if isinstance(value, datetime) else value
        return babel_dates.format_date(
            day, format=_weekday_pattern(self.language), locale=self.locale
        )


# The year with what belongs to it: separators, and a quoted suffix such as Ukrainian 'р'.
_YEAR_RE = re.compile(r"[\s,،]*\by+\b(?:\s*'[^']*')?\.?|\by+\b(?:\s*'[^']*')?[\s,،.]*")


@cache
def _locale(language: str) -> Locale:
    """Parsed once per language: every date and time on every message needs it."""
    return Locale.parse(language)


@cache
def _weekday_pattern(language: str) -> str:
    """The locale's full date pattern ("EEEE d. MMMM y") without the year.

    Babel's skeletons fall back to abbreviated weekdays in some locales; the full pattern
    keeps the weekday written out, which is easier for readers of a second language.
    """
    pattern = Locale.parse(language).date_formats["full"].pattern
    return _YEAR_RE.sub("", pattern).strip(" ,،")


@dataclass(frozen=True)
class Raw:
    """Already-safe HTML to insert into a template without escaping (built by the bot itself)."""

    html: str
