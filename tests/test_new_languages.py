"""The languages added for the outer districts: offered by name, preselected from the app.

Telegram has no code for Dari: Persian-language apps report `fa`, which selects Dari, and Dari
is written right to left, so embedded values are bidi-isolated as in Arabic and Urdu.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel import Locale

from bot.i18n import FSI, PDI, SUPPORTED_LANGUAGES, Catalogs
from tests.harness import BotHarness

OSLO = ZoneInfo("Europe/Oslo")

ENDONYMS = {"uk": "Українська", "ti": "ትግርኛ", "tr": "Türkçe", "fa_AF": "دری", "ta": "தமிழ்"}


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs()


def test_new_languages_are_shipped_with_their_endonyms():
    for code, name in ENDONYMS.items():
        assert SUPPORTED_LANGUAGES[code] == name


async def test_chooser_offers_the_new_languages_by_their_own_names(bot: BotHarness):
    olena = bot.resident("Olena", language_code="uk")
    await olena.says("/start")
    labels = [label for label, _ in olena.last.buttons]
    assert "✅ Українська" in labels  # the app's language is preselected
    for name in ("ትግርኛ", "Türkçe", "دری", "தமிழ்"):
        assert name in labels
    await olena.presses("Українська")
    assert olena.last.text.startswith("Ласкаво просимо!")


async def test_onboarding_in_tigrinya(bot: BotHarness):
    senait = bot.resident("Senait", language_code="ti")
    await senait.says("/start")
    greeting = senait.last.text
    assert "ሰላም" in greeting and "ቋንቋኹም ምረጹ" in greeting
    assert "✅ ትግርኛ" in [label for label, _ in senait.last.buttons]
    await senait.presses("ትግርኛ")
    welcome = senait.last.text
    assert welcome.startswith("እንቋዕ ብደሓን መጻእኩም!")
    assert "Welcome" not in welcome and "Velkommen" not in welcome
    menu = [label for label, _ in senait.last.buttons]
    assert any("ንጥፈታት" in label for label in menu)
    assert any("ምስ ሰብ ተዛረቡ" in label for label in menu)
    # Every later answer stays in Tigrinya.
    await senait.says("/cancel")
    assert "ዝቋረጽ ነገር የለን" in senait.last.text


async def test_onboarding_in_dari_reads_right_to_left(bot: BotHarness):
    # A Persian-language app reports `fa`: the chooser preselects Dari.
    mariam = bot.resident("Mariam", language_code="fa")
    await mariam.says("/start")
    greeting = mariam.last.text
    assert greeting.startswith("سلام!") and "زبان خود را انتخاب کنید" in greeting
    assert "✅ دری" in [label for label, _ in mariam.last.buttons]
    await mariam.presses("دری")
    # The confirmation isolates the embedded name, as in every right-to-left language.
    confirmation = bot.double.answered_callbacks[-1]["text"]
    assert confirmation == f"زبان: {FSI}دری{PDI}"
    welcome = mariam.last.text
    assert welcome.startswith("خوش آمدید!")
    assert "Welcome" not in welcome
    menu = [label for label, _ in mariam.last.buttons]
    assert any("فعالیت‌ها" in label for label in menu)
    await mariam.says("/privacy")
    assert "Telegram ID" in mariam.last.text and "/deleteme" in mariam.last.text


async def test_dari_is_kept_after_a_restart(bot: BotHarness):
    mariam = bot.resident("Mariam", language_code="fa-AF")
    await mariam.says("/start")
    await mariam.presses("دری")
    await bot.restart()
    await mariam.says("/cancel")
    assert "چیزی برای توقف نیست" in mariam.last.text


async def test_command_menus_in_the_new_languages(bot: BotHarness):
    menus = {language: items for (_scope, language), items in bot.double.commands.items()}
    expected = {"uk": "Змінити мову", "ti": "ቋንቋ ቀይሩ", "fa": "تغییر زبان"}
    for code, description in expected.items():
        language = {c["command"]: c["description"] for c in menus[code]}["language"]
        assert language == description, code
    assert "fa_AF" not in menus


def test_weekday_dates_in_the_new_locales(catalogs):
    moment = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)
    assert catalogs.texts("uk").weekday_date(moment, OSLO) == "понеділок, 2 березня"
    assert catalogs.texts("ti").weekday_date(moment, OSLO) == "ሰኑይ፣ 2 መጋቢት"
    dari = catalogs.texts("fa").weekday_date(moment, OSLO)
    assert dari == "دوشنبه 2 مارچ"  # Dari month names (Persian would write مارس)
    assert catalogs.texts("fa").time(moment, OSLO) == "17:30"
    assert catalogs.texts("tr").weekday_date(moment, OSLO) == "2 Mart Pazartesi"
    assert catalogs.texts("ta").weekday_date(moment, OSLO) == "திங்கள், 2 மார்ச்"


@pytest.mark.parametrize("language", ["uk", "ti", "fa_AF"])
def test_plural_forms_follow_the_languages_rule(catalogs, language):
    """Each count picks the form Babel's CLDR rule names for it, in the catalog's own order."""
    texts = catalogs.texts(language)
    rule = Locale.parse(language).plural_form
    singular = "We delete tips and conversations {count} day after they are finished."
    plural = "We delete tips and conversations {count} days after they are finished."
    forms: dict[str, set[str]] = {}
    for count in (0, 1, 2, 3, 5, 11, 21, 22, 25, 100, 101, 111, 365):
        text = texts.n_(singular, plural, count)
        assert str(count) in text
        forms.setdefault(rule(count), set()).add(text.replace(str(count), "#"))
    # One wording per CLDR category: the header's rule agrees with CLDR for every count.
    assert all(len(wordings) == 1 for wordings in forms.values()), forms
    if language == "uk":
        assert forms["one"] == {"Ми видаляємо звернення і розмови через # день після завершення."}
        assert forms["few"] == {"Ми видаляємо звернення і розмови через # дні після завершення."}
        assert forms["many"] == {"Ми видаляємо звернення і розмови через # днів після завершення."}


# --- the weekly digest in the new languages ---
DIGEST_CSV = (
    "uid,title,start,end,place,age_groups,title_fa_AF,title_ti,title_uk\n"
    "famdag-1,Familiedag på torget,2026-10-24 12:00,15:00,Stovner torg,all,"
    "روز فامیل,መዓልቲ ስድራ,День родини\n"
).encode()

DIGEST_ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Bydel Stovner//Kalender//NO\r
BEGIN:VEVENT\r
UID:babytreff@stovner\r
DTSTART;TZID=Europe/Oslo:20261020T100000\r
DTEND;TZID=Europe/Oslo:20261020T113000\r
SUMMARY:Babytreff\r
LOCATION:Stovner bibliotek\r
X-AGE-GROUPS:0-1\r
X-TITLE-FA-AF:دیدار نوزادان\r
END:VEVENT\r
END:VCALENDAR\r
""".encode()


async def test_weekly_digest_in_dari_tigrinya_and_ukrainian(bot: BotHarness):
    from bot.activities.importer import import_file
    from tests.test_activities import DST_MONDAY, run_weekly_job, subscriber

    bot.clock.set(DST_MONDAY - timedelta(days=14))
    for name, data in (("a.csv", DIGEST_CSV), ("k.ics", DIGEST_ICS)):
        summary = await import_file(bot.db, name, data, bot.config.timezone, bot.clock())
        assert summary.errors == [], summary.errors
    mariam = await subscriber(bot, "Mariam", "fa", "دری", "0–1")
    senait = await subscriber(bot, "Senait", "ti", "ትግርኛ", "0–1")
    olena = await subscriber(bot, "Olena", "uk", "Українська", "6–12")
    for person in (mariam, senait, olena):
        person.new_messages()
    bot.clock.set(DST_MONDAY)
    await run_weekly_job(bot)

    [dari] = mariam.new_messages()
    # Both titles in Dari: from the spreadsheet's `title_fa_AF` and the calendar's X-TITLE-FA-AF.
    assert "روز فامیل" in dari.text and "دیدار نوزادان" in dari.text
    assert "سه‌شنبه 20 اکتوبر" in dari.text  # Tuesday 20 October, Dari month name
    assert "همه سنین" in dari.text  # the family day is for all ages
    [tigrinya] = senait.new_messages()
    assert "መዓልቲ ስድራ" in tigrinya.text and "Babytreff" in tigrinya.text
    assert "ሰሉስ" in tigrinya.text  # Tuesday
    [ukrainian] = olena.new_messages()
    assert "День родини" in ukrainian.text and "Babytreff" not in ukrainian.text
    assert "субота, 24 жовтня" in ukrainian.text


def test_survey_files_name_dari_as_fa_or_fa_af():
    from bot.surveys.definition import SurveyFileError, localized, parse_survey

    source = """
slug = "park"
[title]
nb = "Parken"
fa = "پارک"
ti = "ፓርክ"
[[questions]]
id = "overall"
kind = "smiley"
text = { nb = "Hvor fornøyd er du?", fa-AF = "چقدر راضی هستید؟", uk = "Наскільки ви задоволені?" }
"""
    survey = parse_survey(source)
    assert localized(survey.title, "fa_AF", "nb") == "پارک"
    assert localized(survey.title, "ti", "nb") == "ፓርክ"
    assert localized(survey.questions[0].text, "fa_AF", "nb") == "چقدر راضی هستید؟"
    assert localized(survey.questions[0].text, "uk", "nb") == "Наскільки ви задоволені?"
    with pytest.raises(SurveyFileError, match=r"title\.xx"):
        parse_survey(source.replace('ti = "ፓርክ"', 'xx = "?"'))


# --- the QR poster ---
POSTER_SURVEY = """
slug = "park"
[title]
nb = "Hva synes du om parken?"
ti = "ብዛዕባ እቲ ፓርክ እንታይ ትሓስቡ?"
ta = "பூங்கா பற்றி நீங்கள் என்ன நினைக்கிறீர்கள்?"
fa = "دربارهٔ پارک چه فکر می‌کنید؟"
uk = "Що ви думаєте про парк?"
[[questions]]
id = "overall"
kind = "smiley"
text = "Hvor fornøyd er du?"
"""


async def test_poster_prints_tigrinya_tamil_and_dari_titles(
    bot: BotHarness, tmp_path, monkeypatch, capsys
):
    import asyncio

    import zxingcpp
    from PIL import Image

    from bot.__main__ import main as cli
    from bot.surveys.management import load_survey

    await load_survey(bot.db, POSTER_SURVEY.encode(), "nb", bot.clock())
    monkeypatch.setenv("BOT_DATABASE", str(bot.config.database))
    output = tmp_path / "poster.png"
    # `fa` names Dari here as in the app.
    args = ["surveys", "qr", "park", "--output", str(output), "--bot-username", "stikk_test_bot"]
    code = await asyncio.to_thread(cli, [*args, "--languages", "ti,ta,fa"])
    printed = capsys.readouterr().out
    assert code == 0 and "warning" not in printed, printed
    image = Image.open(output)
    assert [b.text for b in zxingcpp.read_barcodes(image)] == [
        "https://t.me/stikk_test_bot?start=survey-park"
    ]

    # Without --languages: every language the survey has a title in, none left out.
    code = await asyncio.to_thread(cli, args)
    printed = capsys.readouterr().out
    assert code == 0 and "warning" not in printed, printed


def test_an_ethiopic_title_with_digits_and_a_question_mark_is_drawn_in_runs():
    """Noto Sans Ethiopic has no "?" and no digits: they come from another font, same line."""
    from PIL import Image, ImageDraw

    from bot.surveys.poster import PAGE, _draw_line, _font_runs, candidate_fonts

    fonts = candidate_fonts()
    title = "ፓርክ 2026 ከመይ ነይሩ?"
    runs = _font_runs(title, fonts)
    assert runs is not None and "".join(text for _, text in runs) == title
    ethiopic = {path for path, text in runs if "ፓርክ" in text}
    assert len(ethiopic) == 1 and any(path not in ethiopic for path, _ in runs)
    assert all(text in ("2026", "?") or path in ethiopic for path, text in runs if text.strip())

    image = Image.new("L", PAGE, 255)
    below = _draw_line(ImageDraw.Draw(image), title, False, fonts, 56, 100, PAGE[0] - 180)
    assert below is not None and below > 100
    ink = image.crop((0, 90, PAGE[0], below)).point(lambda v: 255 if v < 128 else 0)
    left, _, right, _ = ink.getbbox() or (0, 0, 0, 0)
    # Centred: as much margin on the left as on the right, within a few pixels.
    assert right > left and abs(left - (PAGE[0] - right)) < 8
