"""Language detection, escaping, right-to-left isolation and localized dates."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import FSI, PDI, Catalogs, Raw, normalize_language

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
