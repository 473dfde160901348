"""Survey decisions without Telegram: the file format, who may start, buttons, privacy."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Config, ConfigError
from bot.i18n import SUPPORTED_LANGUAGES
from bot.surveys.answering import Start, decide_start, parse_press
from bot.surveys.definition import SurveyFileError, localized, parse_survey
from bot.surveys.management import load_survey
from storage import privacy, residents
from storage import surveys as store
from storage.db import Database

EXAMPLE = Path(__file__).resolve().parent.parent / "surveys" / "example.toml"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_the_example_file_is_valid():
    survey = parse_survey(EXAMPLE.read_bytes())
    assert survey.slug == "park-2026" and survey.anonymous
    assert [q.kind for q in survey.questions] == ["smiley", "choice", "multiple", "text"]
    assert [q.optional for q in survey.questions] == [False, False, True, True]
    assert survey.opens_on == date(2026, 11, 1) and survey.closes_on == date(2026, 12, 31)


def test_the_example_speaks_every_shipped_language():
    """docs/surveys.md promises a complete example: every text in every language."""
    survey = parse_survey(EXAMPLE.read_bytes())
    texts = [("title", survey.title)]
    for question in survey.questions:
        texts.append((question.key, question.text))
        texts += [(f"{question.key}/{option.key}", option.text) for option in question.options]
    for where, text in texts:
        missing = set(SUPPORTED_LANGUAGES) - set(text)
        assert not missing, f"{where} has no text in {sorted(missing)}"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ('slug = "Park 2026"', "slug: is missing or not a short name"),
        ('slug = "p"\n[[questions]]\nkind = "smiley"\ntext = "Q"', "title: is missing"),
        (
            'slug = "p"\ntitle = "T"\n[[questions]]\nkind = "smiley"\ntext = { en = "Q" }',
            "questions[1].text (line 3): needs a text in nb",
        ),
        (
            'slug = "p"\ntitle = "T"\n[[questions]]\nkind = "smiley"\ntext = { xx = "Q" }',
            "questions[1].text.xx (line 3): unknown language",
        ),
        (
            'slug = "p"\ntitle = "T"\nopens = "2026-01-01"\n[[questions]]\nkind = "text"\n'
            'text = "Q"',
            "opens: must be a date like 2026-12-31",
        ),
        (
            'slug = "p"\ntitle = "T"\n[[questions]]\nkind = "text"\ntext = "Q"\ntxet = "x"',
            "questions[1] (line 3): a question has an unknown field 'txet'",
        ),
        ('slug = "p"\ntitle = "T"\nquestions = []', "questions: the survey needs at least one"),
        ('slug = "p"\ntitle = "T\n', "the file is not valid TOML"),
        (b"\xff\xfe", "not UTF-8"),
        ("a = " + "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('slug = "abc\\n"\ntitle = "T"', "slug: is missing or not a short name"),
        (
            'slug = "p"\ntitle = "T"\n[[questions]]\nid = "q\\n"\nkind = "text"\ntext = "Q"',
            "questions[1].id (line 3)",
        ),
    ],
)
def test_broken_files_name_the_problem(source, problem):
    with pytest.raises(SurveyFileError) as error:
        parse_survey(source)
    assert problem in str(error.value)


def test_texts_fall_back_to_the_default_language():
    texts = {"nb": "Hei", "en": "Hi"}
    assert localized(texts, "en", "nb") == "Hi"
    assert localized(texts, "so", "nb") == "Hei"


def test_who_may_start():
    survey = store.Survey(
        1,
        "s",
        {"nb": "S"},
        True,
        date(2026, 11, 1),
        date(2026, 11, 30),
        None,
        (store.Question(7, "q", "smiley", {"nb": "Q"}, False),),
    )
    today = date(2026, 11, 25)
    session = store.Session(5, 1, "tok", 7, None, NOW)
    assert decide_start(survey, today, False, None) is Start.NEW
    assert decide_start(survey, today, True, None) is Start.ANSWERED
    assert decide_start(survey, today, True, session) is Start.RESUME
    assert decide_start(survey, date(2026, 12, 1), False, None) is Start.CLOSED
    assert decide_start(survey, date(2026, 10, 31), False, None) is Start.CLOSED


def test_button_data_is_read_strictly():
    assert parse_press("sv:a:1:2:3") is not None
    assert parse_press("sv:a:1:2") is None
    assert parse_press("sv:a:1:x:3") is None
    assert parse_press("sv:zz:1") is None
    assert parse_press("xx:go:1") is None


def test_activity_feedback_is_on_unless_switched_off():
    base = {"BOT_TOKEN": "1:abc"}
    assert Config.from_env(base).activity_feedback is True
    assert Config.from_env({**base, "BOT_ACTIVITY_FEEDBACK": "off"}).activity_feedback is False
    with pytest.raises(ConfigError, match="BOT_ACTIVITY_FEEDBACK must be on or off"):
        Config.from_env({**base, "BOT_ACTIVITY_FEEDBACK": "maybe"})


NAMED = (
    b'slug = "library"\ntitle = "Library"\n[[questions]]\nid = "r"\nkind = "smiley"\ntext = "Q"'
)


async def test_updates_keep_answers_and_personal_data_is_exported_and_erased(database_location):
    db = await Database.open(database_location)
    try:
        await residents.touch(db, 42, "nb", "Ola", NOW)
        survey, created = await load_survey(db, NAMED, "nb", NOW)
        assert created
        session = await store.start(db, survey, 42, "nb", NOW, NOW.date())
        assert await store.record_answer(db, session, value=4, next_question_id=None, now=NOW)

        # The kind of an answered question cannot change; the survey stays as it was.
        changed = NAMED.replace(b'"smiley"', b'"text"')
        with pytest.raises(SurveyFileError, match='question "r" has answers already'):
            await load_survey(db, changed, "nb", NOW)
        # A new title is fine, and the answer keeps its question.
        survey, created = await load_survey(db, NAMED.replace(b"Library", b"Books"), "nb", NOW)
        assert not created and survey.title == {"nb": "Books"}
        (row,) = await store.responses(db, survey.id)
        assert row.answers == {survey.questions[0].id: [4]}

        exported = await privacy.export_resident(db, 42)
        assert exported["surveys"]["took_part_in"] == ["library"]
        assert exported["surveys"]["answers"] == [{"slug": "library", "question": "r", "value": 4}]

        assert await privacy.forget_resident(db, 42)
        assert await store.responses(db, survey.id) == []
        assert not await store.has_answered(db, survey.id, 42)
    finally:
        await db.close()


async def test_stale_sessions_end_and_old_answers_lose_their_name(database_location):
    db = await Database.open(database_location)
    try:
        await residents.touch(db, 42, "nb", None, NOW)
        survey, _ = await load_survey(db, NAMED, "nb", NOW)
        session = await store.start(db, survey, 42, "nb", NOW, NOW.date())
        assert await store.end_stale_sessions(db, NOW - timedelta(days=1)) == 0
        assert await store.end_stale_sessions(db, NOW + timedelta(days=1)) == 1
        assert await store.session_of(db, 42) is None
        assert not await store.record_answer(db, session, value=3, next_question_id=None, now=NOW)

        session = await store.start(db, survey, 42, "nb", NOW, NOW.date())
        await store.record_answer(db, session, value=3, next_question_id=None, now=NOW)
        await privacy.expire(db, NOW + timedelta(days=400))
        names = await db.fetchall("SELECT resident_id FROM survey_responses")
        assert [row["resident_id"] for row in names] == [None, None]
    finally:
        await db.close()


def test_control_characters_in_answers_do_not_break_the_xlsx_results():
    import io

    from openpyxl import load_workbook

    from bot.surveys import results

    data = results.to_xlsx(
        [["answer"], ["Bra\x07 kurs\x1b"], ["=1+1"]], [["q", "text", "Hva\x00?"]]
    )
    workbook = load_workbook(io.BytesIO(data))
    answers = [row[0] for row in workbook["answers"].values]
    assert answers == ["answer", "Bra\ufffd kurs\ufffd", "'=1+1"]
    assert next(workbook["questions"].values)[2] == "Hva\ufffd?"
