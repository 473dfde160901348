"""Plural forms: each catalog picks the form written for the count's grammatical category.

A catalog's `Plural-Forms` header numbers the forms; the translator writes them in CLDR's order
(zero, one, two, few, many, other, keeping the categories the language has for whole numbers).
If the two disagree, the bot says "after 365 day" in Arabic and no completeness check notices.
So the header is checked against Babel's CLDR rule for every count up to 1000, every plural
entry is rendered through `Texts.n_` for typical counts, and a few renderings a native reader
checked are pinned per language (add rows for a new language to `GRAMMATICAL`).
"""

from __future__ import annotations

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, SUPPORTED_LANGUAGES, Catalogs

COUNTS = (0, 1, 2, 3, 11, 100, 365)
CLDR_ORDER = ("zero", "one", "two", "few", "many", "other")

RETENTION = "We delete tips and conversations {count} day after they are finished."
PHOTOS = "{count} photo"
QUESTIONS = "{count} question"
REPORTERS = "👥 {count} more resident reports the same"

#: (msgid, count, text the rendering must contain): the grammatically right form, as a native
#: reader would write it, for counts in different categories.
GRAMMATICAL: dict[str, list[tuple[str, int, str]]] = {
    "ar": [
        (RETENTION, 1, "بعد يوم واحد"),
        (RETENTION, 2, "بعد يومين"),
        (RETENTION, 3, "بعد 3 أيام"),
        (RETENTION, 11, "بعد 11 يومًا"),
        (RETENTION, 100, "بعد 100 يوم "),
        (RETENTION, 365, "بعد 365 يومًا"),
        (QUESTIONS, 10, "10 أسئلة"),
        (QUESTIONS, 11, "11 سؤالًا"),
        (QUESTIONS, 102, "102 سؤال"),
        (PHOTOS, 2, "صورتان"),
    ],
    "pl": [
        (PHOTOS, 1, "1 zdjęcie"),
        (PHOTOS, 3, "3 zdjęcia"),
        (PHOTOS, 5, "5 zdjęć"),
        (PHOTOS, 12, "12 zdjęć"),
        (PHOTOS, 22, "22 zdjęcia"),
        (PHOTOS, 365, "365 zdjęć"),
        (RETENTION, 1, "1 dzień"),
        (RETENTION, 365, "365 dni"),
        (REPORTERS, 1, "1 osoba zgłasza"),
        (REPORTERS, 2, "2 osoby zgłaszają"),
        (REPORTERS, 5, "5 osób zgłasza"),
    ],
    "nb": [(RETENTION, 1, "1 dag etter"), (RETENTION, 365, "365 dager etter")],
    "en": [(PHOTOS, 1, "1 photo"), (PHOTOS, 0, "0 photos"), (PHOTOS, 365, "365 photos")],
    "so": [(RETENTION, 1, "1 maalin"), (RETENTION, 365, "365 maalmood")],
    "ur": [(PHOTOS, 1, "1 تصویر"), (PHOTOS, 3, "3 تصاویر")],
    "uk": [
        (RETENTION, 1, "через 1 день"),
        (RETENTION, 3, "через 3 дні"),
        (RETENTION, 11, "через 11 днів"),
        (RETENTION, 21, "через 21 день"),
        (RETENTION, 365, "через 365 днів"),
        (QUESTIONS, 2, "2 запитання"),
        (QUESTIONS, 5, "5 запитань"),
        (REPORTERS, 1, "Ще 1 мешканець повідомляє"),
        (REPORTERS, 2, "Ще 2 мешканці повідомляють"),
        (REPORTERS, 12, "Ще 12 мешканців повідомляють"),
    ],
    "ti": [(PHOTOS, 1, "1 ስእሊ"), (PHOTOS, 0, "0 ስእሊ"), (PHOTOS, 3, "3 ስእልታት")],
    # Persian nouns stay singular after a number: both forms read alike.
    "fa_AF": [(PHOTOS, 1, "1 عکس"), (PHOTOS, 3, "3 عکس"), (RETENTION, 365, "365 روز بعد")],
}


def integer_categories(language: str) -> list[str]:
    """The CLDR categories whole numbers fall into, in CLDR order (= the gettext form index)."""
    rule = Locale.parse(language).plural_form
    seen = {rule(n) for n in range(1001)}
    return [category for category in CLDR_ORDER if category in seen]


def _plural_entries(language: str):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return [m for m in catalog if m.id and m.pluralizable]


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs()


@pytest.mark.parametrize("language", list(SUPPORTED_LANGUAGES))
def test_header_plural_rule_agrees_with_cldr(language: str, catalogs: Catalogs):
    categories = integer_categories(language)
    translations = catalogs.texts(language).translations
    rule = Locale.parse(language).plural_form
    assert translations.info()["plural-forms"].startswith(f"nplurals={len(categories)};")
    for n in range(1001):
        assert translations.plural(n) == categories.index(rule(n)), (  # type: ignore[attr-defined]
            f"{language}: the header picks form {translations.plural(n)} for {n}, "  # type: ignore[attr-defined]
            f"but {n} is {rule(n)!r} (form {categories.index(rule(n))})"
        )


@pytest.mark.parametrize("language", list(SUPPORTED_LANGUAGES))
def test_every_plural_entry_renders_its_categorys_form(language: str, catalogs: Catalogs):
    categories = integer_categories(language)
    rule = Locale.parse(language).plural_form
    entries = _plural_entries(language)
    assert entries, "the code has plural messages"
    t = catalogs.texts(language)
    for message in entries:
        forms = message.string
        assert len(forms) == len(categories) and all(f.strip() for f in forms), (
            f"{language}: {message.id[0]!r} needs {len(categories)} forms ({categories})"
        )
        for count in COUNTS:
            category = rule(count)
            rendered = t.n_(message.id[0], message.id[1], count, slug="x")
            expected = t._fill(forms[categories.index(category)], {"count": count, "slug": "x"})
            assert rendered == expected, f"{language}: {message.id[0]!r} for {count}"
            if category not in ("zero", "one", "two"):
                # Only these categories are a single number that a word can say instead.
                assert str(count) in rendered, f"{language}: {message.id[0]!r} drops {count}"


@pytest.mark.parametrize("language", list(GRAMMATICAL))
def test_plural_forms_are_the_grammatically_right_ones(language: str, catalogs: Catalogs):
    t = catalogs.texts(language)
    for msgid, count, expected in GRAMMATICAL[language]:
        plural = next(m.id[1] for m in _plural_entries(language) if m.id[0] == msgid)
        rendered = t.n_(msgid, plural, count).replace("\u2068", "").replace("\u2069", "")
        assert expected in rendered, f"{language}: {msgid!r} for {count} reads {rendered!r}"
