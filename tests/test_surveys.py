"""Surveys: loaded from TOML, answered one tap at a time, invitations, feedback, results."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from openpyxl import load_workbook
from PIL import Image

from bot.__main__ import main as cli
from bot.surveys import feedback
from bot.surveys.management import load_survey
from storage import activities, cases
from storage import surveys as store
from storage.activities import Occurrence
from storage.db import DatabaseLocation
from tests.harness import BotHarness, Person, make_harness

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "surveys" / "example.toml"
LINK = "https://t.me/stikk_test_bot?start=survey-park-2026"

NAMED = b"""
slug = "library"
anonymous = false
title = "The library"
[[questions]]
id = "rating"
kind = "smiley"
text = "How do you like the library?"
"""


@pytest.fixture(autouse=True)
def quick_hands(request):
    """Test residents tap many times a second, which real people do not: allow that burst in
    the private chats so the tests do not wait for flood control (tested elsewhere)."""
    if "bot" in request.fixturenames:
        request.getfixturevalue("bot").double.set_limits(private_burst=50)


async def load_example(bot: BotHarness) -> store.Survey:
    survey, _ = await load_survey(bot.db, EXAMPLE.read_bytes(), "nb", bot.clock())
    return survey


async def staff_says(bot: BotHarness, text: str, who: int = 0) -> list:
    before = len(bot.staff_messages())
    bot.double.send_text(bot.staff[who].user, text, chat=bot.staff_chat)
    await bot.settle()
    return bot.staff_messages()[before:]


async def newcomer(bot: BotHarness, name: str, language: str, label: str) -> Person:
    person = bot.resident(name, language_code=language)
    await person.says("/start")
    await person.presses(label)
    person.new_messages()
    return person


async def survey_rows(bot: BotHarness) -> dict[str, list[dict]]:
    tables = [
        "survey_responses",
        "survey_answers",
        "survey_participants",
        "survey_sessions",
        "survey_invitations",
    ]
    return {
        table: [dict(row) for row in await bot.db.fetchall(f"SELECT * FROM {table}")]
        for table in tables
    }


# --- loading -----------------------------------------------------------------------------------
async def test_admin_uploads_a_survey_file_and_a_broken_one_is_rejected(bot: BotHarness):
    admin = bot.staff[0]
    bot.double.send_document(
        admin.user, EXAMPLE.read_bytes(), "park.toml", "application/toml", chat=bot.staff_chat
    )
    await bot.settle()
    saved = bot.staff_messages()[-1].text
    assert "Hva synes du om parken?" in saved
    assert LINK in saved
    survey = await store.by_slug(bot.db, "park-2026")
    assert survey is not None and [q.kind for q in survey.questions] == [
        "smiley",
        "choice",
        "multiple",
        "text",
    ]
    assert survey.anonymous and survey.title["ar"] == "ما رأيك في الحديقة؟"

    broken = b'slug = "broken"\ntitle = "T"\n\n[[questions]]\nkind = "smily"\ntext = "Hi"\n'
    bot.double.send_document(
        admin.user, broken, "broken.toml", "application/toml", chat=bot.staff_chat
    )
    await bot.settle()
    rejected = bot.staff_messages()[-1].text
    assert "questions[1].kind (line 4)" in rejected
    assert "smiley, choice, multiple, text" in rejected
    assert await store.by_slug(bot.db, "broken") is None

    not_toml = b'slug = "x"\ntitle = "unclosed\n'
    bot.double.send_document(
        admin.user, not_toml, "x.toml", "application/toml", chat=bot.staff_chat
    )
    await bot.settle()
    assert "line 2" in bot.staff_messages()[-1].text

    # Staff who are not administrators cannot load surveys.
    bot.double.send_document(
        bot.staff[1].user, NAMED, "library.toml", "application/toml", chat=bot.staff_chat
    )
    await bot.settle()
    assert await store.by_slug(bot.db, "library") is None


async def test_command_line_loads_and_rejects_files(
    bot: BotHarness, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("BOT_DATABASE", str(bot.config.database))
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    assert await asyncio.to_thread(cli, ["surveys", "load", str(EXAMPLE)]) == 0
    assert "park-2026 added: 4 questions" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('slug = "bad"\ntitle = "T"\n[[questions]]\nkind = "choice"\ntext = "Q"\n')
    assert await asyncio.to_thread(cli, ["surveys", "load", str(bad)]) == 1
    assert "questions[1].options (line 3): a choice needs at least two options" in (
        capsys.readouterr().err
    )
    assert await store.by_slug(bot.db, "park-2026") is not None
    assert await store.by_slug(bot.db, "bad") is None


# --- answering ---------------------------------------------------------------------------------
async def test_polish_resident_answers_through_the_deep_link_skips_and_stops(bot: BotHarness):
    survey = await load_example(bot)
    ewa = bot.resident("Ewa", language_code="pl")
    await ewa.says("/start survey-park-2026")
    assert "Wybierz język" in ewa.last.text  # a new resident chooses the language first
    replies = await ewa.presses("Polski")
    first = replies[-1]
    assert "Co myślisz o parku?" in first.text and "1/4" in first.text
    assert "Ile uśmiechów dajesz parkowi?" in first.text
    assert [label for label, _ in first.buttons][:5] == ["😞", "🙁", "😐", "🙂", "😄"]

    replies = await ewa.presses("🙂")
    assert "🙂" in first.text and not first.buttons  # the answer shows, the buttons go
    assert "2/4" in replies[-1].text and "Jak często jesteś w parku?" in replies[-1].text
    replies = await ewa.presses("Co tydzień")
    assert "3/4" in replies[-1].text
    replies = await ewa.presses("⏭")  # the optional multiple choice, skipped
    assert "4/4" in replies[-1].text and "Chcesz coś dodać?" in replies[-1].text
    replies = await ewa.presses("⏹")
    assert "odpowiedzi są zapisane" in replies[-1].text

    # Partial: two answers stored, the response unfinished, and it counts as answered.
    responses = await store.responses(bot.db, survey.id)
    assert len(responses) == 1 and not responses[0].finished
    overall, how_often = survey.questions[0], survey.questions[1]
    weekly = next(o for o in how_often.options if o.key == "weekly")
    assert responses[0].answers == {overall.id: [4], how_often.id: [weekly.id]}
    assert responses[0].language == "pl"

    # A second try is refused, in Polish; the list has nothing left for her.
    replies = await ewa.says("/start survey-park-2026")
    assert "Ta ankieta ma już Twoje odpowiedzi" in replies[-1].text
    replies = await ewa.says("/survey")
    assert "Teraz nie ma dla Ciebie ankiety" in replies[-1].text
    assert len(await store.responses(bot.db, survey.id)) == 1


async def test_anonymous_survey_keeps_no_link_to_the_resident(bot: BotHarness):
    survey = await load_example(bot)
    amina = await newcomer(bot, "Amina", "nb", "Norsk")
    await amina.says("/survey")
    await amina.presses("Hva synes du om parken?")
    await amina.presses("😄")
    await amina.presses("Hver dag")
    await amina.presses("Benker")
    await amina.presses("Lys")
    await amina.presses("Benker")  # untick
    await amina.presses("Ferdig")
    # While the question waits, the only link is the session; a restart loses nothing.
    await bot.restart()
    replies = await amina.says("Flere <b>benker</b> & mer lys")
    assert "Tusen takk" in replies[-1].text

    rows = await survey_rows(bot)
    assert rows["survey_sessions"] == []  # gone with the last answer
    assert [r["resident_id"] for r in rows["survey_responses"]] == [None]
    assert rows["survey_participants"] == [{"survey_id": survey.id, "resident_id": amina.id}]
    # No row that holds an answer holds anything that points at Amina.
    for table in ("survey_responses", "survey_answers"):
        for row in rows[table]:
            assert amina.id not in row.values()
            assert all(":" not in str(value) for value in row.values()), (
                f"{table} keeps a time finer than a day: {row}"
            )
    texts = [r["text"] for r in rows["survey_answers"] if r["text"]]
    assert texts == ["Flere <b>benker</b> & mer lys"]
    light = next(o for o in survey.questions[2].options if o.key == "light")
    wishes = survey.questions[2].id
    ticked = [r["option_id"] for r in rows["survey_answers"] if r["question_id"] == wishes]
    assert ticked == [light.id]

    # A survey with names, by contrast, stores who answered.
    await load_survey(bot.db, NAMED, "nb", bot.clock())
    await amina.says("/start survey-library")
    await amina.presses("🙂")
    named = await bot.db.fetchall(
        "SELECT r.resident_id FROM survey_responses r JOIN surveys s ON s.id = r.survey_id"
        " WHERE s.slug = 'library'"
    )
    assert [row["resident_id"] for row in named] == [amina.id]


async def test_forged_and_old_buttons_change_nothing(bot: BotHarness):
    survey = await load_example(bot)
    john = await newcomer(bot, "John", "en", "English")
    await john.says("/start survey-park-2026")
    question = john.last
    q1 = survey.questions[0].id
    await john.presses_data(question, f"sv:a:{survey.id}:{q1}:9")  # no such smiley
    assert bot.double.answered_callbacks[-1]["text"] == "This button does not work any more."
    await john.presses_data(question, f"sv:a:{survey.id}:{survey.questions[2].id}:1")
    assert bot.double.answered_callbacks[-1]["text"] == "This button does not work any more."
    assert await store.responses(bot.db, survey.id) == []
    await john.presses("😐")
    await john.presses_data(question, f"sv:a:{survey.id}:{q1}:5")  # the old message again
    responses = await store.responses(bot.db, survey.id)
    assert responses[0].answers == {q1: [3]}
    # Writing while a button question waits gets a hint, not silence.
    replies = await john.says("every day")
    assert "tap one of the buttons" in replies[-1].text
    # /cancel stops the survey; the answers stay.
    replies = await john.says("/cancel")
    assert "I stopped" in replies[-1].text
    assert await store.session_of(bot.db, john.id) is None
    assert len(await store.responses(bot.db, survey.id)) == 1


async def test_closed_and_unknown_surveys_are_explained(bot: BotHarness):
    await load_example(bot)
    john = await newcomer(bot, "John", "en", "English")
    replies = await john.says("/start survey-nothing-here")
    assert "can't find this survey" in replies[0].text
    replies = await john.presses("Give feedback")
    assert "Which survey" in replies[-1].text
    assert any("What do you think of the park?" in label for label, _ in replies[-1].buttons)
    bot.clock.advance(timedelta(days=60))  # past 31 December
    replies = await john.says("/start survey-park-2026")
    assert "This survey is closed" in replies[-1].text


# --- invitations and feedback ------------------------------------------------------------------
async def add_activity(bot: BotHarness, title: str, starts_in: timedelta) -> activities.Activity:
    start = bot.clock() + starts_in
    await activities.save_series(
        bot.db,
        f"uid-{title}",
        "staff",
        [Occurrence(start, start, start + timedelta(hours=2), title)],
        bot.clock(),
    )
    rows = await activities.listed_between(
        bot.db, start - timedelta(minutes=1), start + timedelta(minutes=1)
    )
    return next(a for a in rows if a.title == title)


async def run_invitations_job(bot: BotHarness) -> None:
    assert bot.app is not None and bot.app.job_queue is not None
    (job,) = bot.app.job_queue.get_jobs_by_name(feedback.JOB_NAME)
    await job.run(bot.app)
    await bot.settle()


async def test_feedback_after_an_activity_goes_only_to_those_who_said_they_would_come(
    bot: BotHarness,
):
    ali = await newcomer(bot, "Ali", "so", "Soomaali")
    ewa = await newcomer(bot, "Ewa", "pl", "Polski")
    kari = await newcomer(bot, "Kari", "nb", "Norsk")
    busy = await newcomer(bot, "Busy", "en", "English")
    stayed_home = await newcomer(bot, "Home", "nb", "Norsk")
    await activities.subscribe(bot.db, stayed_home.id, ["all"], bot.clock())
    cafe = await add_activity(bot, "Språkkafé", timedelta(hours=1))
    await ewa.says("/start")
    await ewa.presses_data(ewa.last, f"act:go:{cafe.id}")  # the "I'm going" button
    for person in (ali, kari, busy):
        await activities.mark_going(bot.db, cafe.id, person.id, bot.clock())
    assert ewa.id in await activities.going_residents(bot.db, cafe.id)
    ewa.new_messages()

    # Kari got another survey's invitation two days ago: one a week is enough.
    library, _ = await load_survey(bot.db, NAMED, "nb", bot.clock())
    async with bot.db.transaction() as tx:
        await store.record_invitations(tx, library.id, [kari.id], bot.clock() - timedelta(days=2))

    # "Busy" is talking with staff: a case is open.
    await cases.open_case(bot.db, busy.id, "en", bot.clock())

    await run_invitations_job(bot)  # before the end: nothing yet
    assert all(not p.new_messages() for p in (ali, ewa, kari, busy, stayed_home))

    bot.clock.advance(timedelta(hours=3, minutes=30))
    await run_invitations_job(bot)
    ask_ewa = ewa.new_messages()
    assert len(ask_ewa) == 1 and "Språkkafé" in ask_ewa[0].text
    assert "1/2" in ask_ewa[0].text
    assert [label for label, _ in ask_ewa[0].buttons][:5] == ["😞", "🙁", "😐", "🙂", "😄"]
    assert len(ali.new_messages()) == 1
    assert kari.new_messages() == [] and busy.new_messages() == []
    assert stayed_home.new_messages() == []

    # One tap answers; the comment is optional.
    replies = await ewa.presses("😄", ask_ewa[0])
    assert "2/2" in replies[-1].text
    replies = await ewa.says("Było super!")
    assert "Dziękujemy" in replies[-1].text
    survey = await store.by_activity(bot.db, cafe.id)
    assert survey is not None and survey.anonymous
    (response,) = await store.responses(bot.db, survey.id)
    assert response.finished and list(response.answers.values()) == [[5], ["Było super!"]]

    # Later rounds and a restart send nothing twice.
    await bot.restart()
    bot.clock.advance(timedelta(minutes=15))
    await run_invitations_job(bot)
    assert all(not p.new_messages() for p in (ali, ewa, kari, busy, stayed_home))


async def test_activity_feedback_can_be_switched_off(
    tmp_path, database_location: DatabaseLocation
):
    async for bot in make_harness(tmp_path, database=database_location, activity_feedback=False):
        ali = await newcomer(bot, "Ali", "so", "Soomaali")
        cafe = await add_activity(bot, "Kafé", -timedelta(hours=3))
        await activities.mark_going(bot.db, cafe.id, ali.id, bot.clock())
        await run_invitations_job(bot)
        assert ali.new_messages() == []
        assert await store.by_activity(bot.db, cafe.id) is None


async def test_survey_send_invites_subscribers_or_those_going(bot: BotHarness):
    survey = await load_example(bot)
    amina = await newcomer(bot, "Amina", "nb", "Norsk")
    john = await newcomer(bot, "John", "en", "English")
    for person in (amina, john):
        await activities.subscribe(bot.db, person.id, ["all"], bot.clock())

    report = await staff_says(bot, "/survey_send park-2026")
    assert "2" in report[0].text
    invitation = john.new_messages()
    assert len(invitation) == 1 and "What do you think of the park?" in invitation[0].text
    replies = await john.presses("Start", invitation[0])
    assert "1/4" in replies[-1].text
    assert len(amina.new_messages()) == 1
    rows = await bot.db.fetchall(
        "SELECT status FROM outbox WHERE edition = ?", (f"survey-{survey.id}",)
    )
    assert [r["status"] for r in rows] == ["sent", "sent"]

    # Sending again invites nobody twice; nor does another survey the same week.
    await staff_says(bot, "/survey_send park-2026")
    await load_survey(bot.db, NAMED, "nb", bot.clock())
    await staff_says(bot, "/survey_send library")
    assert amina.new_messages() == [] and john.new_messages() == []

    # To the residents going to an activity, a week later.
    bot.clock.advance(timedelta(days=8))
    cafe = await add_activity(bot, "Kafé", timedelta(days=1))
    await activities.mark_going(bot.db, cafe.id, amina.id, bot.clock())
    await staff_says(bot, f"/survey_send library {cafe.id}")
    assert len(amina.new_messages()) == 1 and john.new_messages() == []

    # Only administrators may send.
    replies = await staff_says(bot, "/survey_send park-2026", who=1)
    assert "administratorer" in replies[-1].text


# --- results -----------------------------------------------------------------------------------
async def answer_example(bot: BotHarness, person: Person, smiley: str, comment: str | None):
    await person.says("/start survey-park-2026")
    await person.presses(smiley)
    await person.presses("Hver uke" if person.user.language_code == "nb" else "Every week")
    await person.presses("⏭")
    if comment is None:
        await person.presses("⏭")
    else:
        await person.says(comment)


async def test_results_in_the_staff_chat_with_a_chart(bot: BotHarness):
    await load_example(bot)
    for name, smiley, comment in [
        ("A", "😄", "Mer <lys> & benker"),
        ("B", "🙂", None),
        ("C", "😄", "Bra"),
    ]:
        person = await newcomer(bot, name, "nb", "Norsk")
        await answer_example(bot, person, smiley, comment)

    replies = await staff_says(bot, "/results park-2026")
    photo = next(m for m in replies if m.media_kind == "photo")
    png = bot.double.file_bytes(photo.file_id)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.width > 300 and image.height > 200
    text = "\n".join(m.text for m in replies if m.text)
    assert "3" in text
    assert "4,7" in text or "4.7" in text  # average of 5, 4, 5
    assert "Hver uke: 3" in text
    assert "Mer <lys> & benker" in text  # escaped in the HTML, shown as written
    html = "\n".join(m.html or "" for m in replies if m.html)
    assert "Mer &lt;lys&gt; &amp; benker" in html


async def test_results_as_csv_and_xlsx(bot: BotHarness, tmp_path, monkeypatch):
    survey = await load_example(bot)
    for name, smiley, comment in [("A", "😄", "=HYPERLINK(1)"), ("B", "😞", None)]:
        person = await newcomer(bot, name, "nb", "Norsk")
        await answer_example(bot, person, smiley, comment)
    monkeypatch.setenv("BOT_DATABASE", str(bot.config.database))
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    csv_path, xlsx_path = tmp_path / "r.csv", tmp_path / "r.xlsx"
    args = ["surveys", "results", "park-2026", "--output"]
    assert await asyncio.to_thread(cli, [*args, str(csv_path), "--format", "csv"]) == 0
    assert await asyncio.to_thread(cli, [*args, str(xlsx_path), "--format", "xlsx"]) == 0

    rows = list(csv.DictReader(io.StringIO(csv_path.read_text("utf-8-sig"))))
    assert sorted(r["overall"] for r in rows) == ["1", "5"]
    assert {r["how-often"] for r in rows} == {"Hver uke"}
    assert sorted(r["comment"] for r in rows) == ["", "'=HYPERLINK(1)"]  # no formula runs
    assert {r["finished"] for r in rows} == {"yes"}

    book = load_workbook(xlsx_path)
    answers = list(book["answers"].iter_rows(values_only=True))
    assert answers[0][:5] == ("response", "language", "started_on", "finished", "overall")
    assert sorted(row[4] for row in answers[1:]) == [1, 5]
    questions = list(book["questions"].iter_rows(values_only=True))
    assert ("overall", "smiley", "Hvor mange smilefjes gir du parken?") in questions
    assert survey.slug == "park-2026"


# --- the poster --------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".png", ".pdf"])
async def test_qr_poster_decodes_to_the_deep_link(bot: BotHarness, tmp_path, monkeypatch, suffix):
    await load_example(bot)
    monkeypatch.setenv("BOT_DATABASE", str(bot.config.database))
    # The bot's name comes from Telegram (getMe) when not given.
    monkeypatch.setenv("BOT_TOKEN", bot.config.token)
    monkeypatch.setenv("BOT_API_BASE_URL", bot.config.api_base_url)
    output = tmp_path / f"poster{suffix}"
    code = await asyncio.to_thread(
        cli, ["surveys", "qr", "park-2026", "--output", str(output), "--languages", "nb,en,ar"]
    )
    assert code == 0 and output.is_file()
    if suffix == ".pdf":
        assert output.read_bytes().startswith(b"%PDF")
        return
    image = Image.open(output)
    found = zxingcpp.read_barcodes(image)
    assert [barcode.text for barcode in found] == [LINK]
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
