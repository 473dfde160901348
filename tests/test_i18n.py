"""Language detection, escaping, right-to-left isolation and localized dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.activities.render import age_groups_text
from bot.i18n import (
    FSI,
    LOCALES_DIR,
    PDI,
    SUPPORTED_LANGUAGES,
    Catalogs,
    Raw,
    normalize_language,
)

OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("no", "nb"),
        ("nb", "nb"),
        ("nn", "nb"),
        ("nb-NO", "nb"),
        ("en-GB", "en"),
        ("ar", "ar"),
        ("so", "so"),
        ("ur", "ur"),
        ("pl", "pl"),
        ("uk", "uk"),
        ("uk-UA", "uk"),
        ("ti", "ti"),
        ("tr-TR", "tr"),
        ("ta", "ta"),
        ("fa", "fa_AF"),
        ("fa-AF", "fa_AF"),
        ("fa_AF", "fa_AF"),
        ("de", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_language(code, expected):
    assert normalize_language(code) == expected


def test_values_are_escaped(catalogs):
    text = catalogs.texts("en")._("Language: {name}", name="<b>x</b> & co")
    assert text == "Language: &lt;b&gt;x&lt;/b&gt; &amp; co"


def test_raw_html_is_not_escaped(catalogs):
    text = catalogs.texts("en")._("Language: {name}", name=Raw("<i>Norsk</i>"))
    assert text == "Language: <i>Norsk</i>"


def test_right_to_left_values_are_isolated(catalogs):
    arabic = catalogs.texts("ar")
    text = arabic._("Language: {name}", name="T-0042")
    assert f"{FSI}T-0042{PDI}" in text
    assert text.startswith("اللغة")
    assert arabic.rtl and catalogs.texts("ur").rtl and not catalogs.texts("pl").rtl
    assert catalogs.texts("fa").rtl and not catalogs.texts("ti").rtl
    assert FSI not in catalogs.texts("en")._("Language: {name}", name="T-0042")


def test_unknown_language_falls_back_to_default(catalogs):
    assert catalogs.texts("de").language == "nb"
    assert catalogs.texts(None).language == "nb"


def test_dates_in_the_residents_locale(catalogs):
    moment = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)  # 17:30 in Oslo (winter time)
    assert catalogs.texts("nb").weekday_date(moment, OSLO) == "mandag 2. mars"
    assert catalogs.texts("en").weekday_date(moment, OSLO) == "Monday, March 2"
    assert catalogs.texts("pl").weekday_date(moment, OSLO) == "poniedziałek, 2 marca"
    assert catalogs.texts("nb").time(moment, OSLO) == "17:30"
    arabic = catalogs.texts("ar").weekday_date(moment, OSLO)
    assert "الاثنين" in arabic and "مارس" in arabic


def test_summer_time_is_respected(catalogs):
    moment = datetime(2026, 6, 1, 16, 30, tzinfo=UTC)  # 18:30 in Oslo (summer time)
    assert catalogs.texts("nb").time(moment, OSLO) == "18:30"


def test_lists_follow_each_languages_own_pattern(catalogs):
    assert catalogs.texts("en").format_list(["A", "B", "C"]) == "A, B, and C"
    assert catalogs.texts("nb").format_list(["A", "B", "C"]) == "A, B og C"
    assert catalogs.texts("pl").format_list(["A", "B"]) == "A i B"
    assert catalogs.texts("en").format_list(["only"]) == "only"
    assert catalogs.texts("en").format_list([]) == ""


def test_lists_in_right_to_left_text_use_their_own_separators(catalogs):
    """Arabic joins with "و", Urdu with "،" and "اور": never a Latin ", " in the sentence."""
    arabic = catalogs.texts("ar")
    groups = age_groups_text(arabic, frozenset({"0-1", "2-5", "13-18"}))
    line = arabic._("For: {groups}", groups=groups)
    assert ", " not in line and " و" in line
    # Each item keeps its own direction: "0–1" stays a range, not "1–0".
    assert f"{FSI}0–1 سنة{PDI}" in line
    urdu = catalogs.texts("ur")
    names = urdu.format_list(["ناروے", "عربی", "Polski"])
    assert "،" in names and "اور" in names and ", " not in names
    assert f"{FSI}Polski{PDI}" in names


# Polish weekdays change form after a preposition ("w środę", never "w środa"); Babel gives the
# nominative, so a translation names the day after a colon instead.
_PREPOSITION_BEFORE_DAY = {
    "pl": re.compile(r"\b(?:w|we|każdy|każdą|od|do|na)\s+\{(?:day|weekday)\}"),
    # Ukrainian too: "у середу", never "у середа".
    "uk": re.compile(r"\b(?:у|в|во|кожен|кожний|кожну|кожного|до|на|з|із)\s+\{(?:day|weekday)\}"),
}


@pytest.mark.parametrize("language", list(_PREPOSITION_BEFORE_DAY))
def test_weekday_placeholders_stand_where_the_nominative_fits(language, catalogs):
    if language not in SUPPORTED_LANGUAGES:
        pytest.skip(f"{language} is not shipped")
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    wrong = [
        m.string
        for m in catalog
        if m.id
        and _PREPOSITION_BEFORE_DAY[language].search(
            m.string if isinstance(m.string, str) else " ".join(m.string)
        )
    ]
    assert not wrong, wrong


def test_polish_digest_confirmation_names_a_wednesday_correctly(catalogs):
    polish = catalogs.texts("pl")
    wednesday = polish.locale.days["format"]["wide"][2]
    text = polish._(
        "Done! 🎉 Every {weekday} you get the activities for: {groups}.",
        weekday=wednesday,
        groups="0–1 lat",
    )
    assert f"dzień: {wednesday}" in text and "każdy środa" not in text
