"""What the district learns from the bot: the weekly summary in the staff chat and the report.

Staff read these in their own language; the tests compare with the catalogs' wording, so they
follow a translation change instead of breaking on it.
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from bot.__main__ import main
from bot.context import BotContext
from bot.i18n import Texts
from bot.reports import render, weekly
from bot.reports.cli import period
from storage import case_labels, reports
from tests.harness import BotHarness, Person

OSLO = ZoneInfo("Europe/Oslo")
#: Monday 30 November 2026: the summary of 23-29 November is due at 08:00.
MONDAY = datetime(2026, 11, 30, 8, 5, tzinfo=OSLO)


def staff_texts(bot: BotHarness) -> Texts:
    assert bot.app is not None
    return bot.app.bot_data.catalogs.texts(bot.config.default_language)


async def case_with_reply_and_rating(bot: BotHarness, person: Person, language_button: str):
    """A resident asks for a person; staff answer after 30 minutes and close; 5 smileys."""
    person.double.set_limits(private_burst=20)
    await person.says("/start")
    await person.presses(language_button)
    await person.says("/contact")
    await person.says("Hello, the lights in the underpass are broken")
    thread = bot.double.topics(bot.staff_chat)[-1].id
    bot.clock.advance(timedelta(minutes=30))
    await bot.staff[0].does(
        "send_text", "We will look at it", chat=bot.staff_chat, thread_id=thread
    )
    await bot.staff[0].does("send_text", "/close", chat=bot.staff_chat, thread_id=thread)
    await person.presses("😄")
    return thread


async def seed_period(bot: BotHarness, start: datetime, offset: int = 0) -> None:
    """Tips in two categories, a digest with one blocked subscriber, subscribers come and go."""
    at = (start + timedelta(days=1)).isoformat()
    db = bot.db
    for category, status in [("sports", "new"), ("sports", "resolved"), ("littering", "new")]:
        await db.execute(
            "INSERT INTO tips (category, language, status, created_at, updated_at)"
            " VALUES (?, 'so', ?, ?, ?)",
            (category, status, at, at),
        )
    for chat, status in [(1, "sent"), (2, "sent"), (3, "blocked")]:
        await db.execute(
            "INSERT INTO outbox (edition, chat_id, kind, status, created_at, done_at)"
            " VALUES (?, ?, 'text', ?, ?, ?)",
            (f"digest-{start.date()}", chat + offset, status, at, at),
        )
    await db.execute(
        "INSERT INTO digest_subscriptions (telegram_id, age_groups, active, created_at)"
        " VALUES (?, 'all', 1, ?)",
        (1 + offset, at),
    )
    await db.execute(
        "INSERT INTO digest_subscriptions"
        " (telegram_id, age_groups, active, created_at, ended_at, ended_reason)"
        " VALUES (?, 'all', 0, '2026-01-01T00:00:00+00:00', ?, 'blocked')",
        (3 + offset, at),
    )


async def test_figures_count_what_happened_in_the_period_only(bot: BotHarness):
    week = period(bot.config, MONDAY.date() - timedelta(days=7), MONDAY.date() - timedelta(days=1))
    await seed_period(bot, week.start)
    await seed_period(bot, week.start - timedelta(days=30), 10)  # a month before: not counted

    figures = await reports.figures(bot.db, week)
    assert figures.tips_by_category == {"sports": 2, "littering": 1}
    assert figures.tips_by_status == {"new": 2, "resolved": 1}
    assert figures.digest_reach == {"blocked": 1, "sent": 2}
    assert figures.new_subscribers == 1
    assert figures.lost_subscribers == {"blocked": 1}
    assert figures.cases_total == 0 and figures.median_first_response is None


async def test_weekly_summary_is_posted_once_with_a_chart(bot: BotHarness):
    bot.clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=OSLO))
    john = bot.resident("John", language_code="en")
    thread = await case_with_reply_and_rating(bot, john, "English")
    [case] = await bot.db.fetchall("SELECT id FROM cases")
    staff_member = bot.staff[0].id
    assert await case_labels.add(bot.db, case[0], "paths", staff_member, bot.clock())
    assert not await case_labels.add(bot.db, case[0], "paths", staff_member, bot.clock())
    context = BotContext(bot.app)

    bot.clock.set(MONDAY - timedelta(minutes=10))  # 07:55: not yet
    assert not await weekly.post_weekly_summary(context)

    bot.clock.set(MONDAY)
    before = len(bot.staff_messages())
    assert await weekly.post_weekly_summary(context)
    await bot.settle()
    posted = bot.staff_messages()[before:]
    assert [m.media_kind for m in posted] == [None, "photo"]
    t = staff_texts(bot)
    text = posted[0].text or ""
    assert render.plain(t._("📈 <b>Last week in numbers</b>")) in text
    assert t._("Conversations with staff: {count}", count=1) in text
    assert f"{t.locale.languages['en']}: 1" in text
    assert f"{t._('Walking paths and green areas')}: 1" in text  # the label
    assert t._("Rating: {average} of 5 ({count} answers)", average="5.0", count=1) in text
    assert t._("Median time to first reply: {time}", time="30 min") in text
    assert posted[1].data and posted[1].data.startswith(b"\x89PNG")
    assert all(m.thread_id in (None, 1) for m in posted), "in General, not in the case"
    assert thread not in {m.thread_id for m in posted}

    # Later checks the same week, and a restart, post nothing more.
    bot.clock.advance(timedelta(hours=3))
    assert not await weekly.post_weekly_summary(context)
    await bot.restart()
    assert not await weekly.post_weekly_summary(BotContext(bot.app))
    assert len(bot.staff_messages()) == before + 2


async def test_the_job_is_scheduled_unless_switched_off(bot: BotHarness, tmp_path):
    assert bot.app is not None
    [job] = bot.app.job_queue.get_jobs_by_name(weekly.JOB_NAME)
    bot.clock.set(MONDAY)
    await job.run(bot.app)
    await bot.settle()
    assert bot.staff_messages()[-1].media_kind == "photo"


def test_due_period_is_the_seven_days_before_the_summary_day():
    found = weekly.due_period(MONDAY, 0, MONDAY.time().replace(minute=0), OSLO)
    assert found is not None
    assert found.start == datetime(2026, 11, 23, tzinfo=OSLO)
    assert found.end == datetime(2026, 11, 30, tzinfo=OSLO)
    assert weekly.week_key(found.first_day) == "2026-W48"
    # On Sunday the Monday summary is six days old: still that week, never a new one.
    sunday = weekly.due_period(MONDAY + timedelta(days=6), 0, MONDAY.time(), OSLO)
    assert sunday == found
    assert weekly.due_period(MONDAY - timedelta(hours=1), 0, MONDAY.time(), OSLO) != found


@pytest.fixture
def database_env(bot: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_DATABASE", str(bot.config.database))
    monkeypatch.delenv("BOT_TOKEN", raising=False)


async def test_report_as_markdown_and_pdf(bot: BotHarness, database_env, tmp_path, capsysbinary):
    week = period(bot.config, MONDAY.date() - timedelta(days=7), MONDAY.date() - timedelta(days=1))
    await seed_period(bot, week.start)
    args = ["report", "--from", "2026-11-23", "--to", "2026-11-29"]
    t = staff_texts(bot)

    assert await asyncio.to_thread(main, [*args, "--format", "md"]) == 0
    markdown = capsysbinary.readouterr().out.decode()
    assert markdown.startswith("# Stikk innom")
    assert f"## {t._('New tips: {count}', count=3)}" in markdown
    assert f"| {t._('Sports fields and playgrounds')} | 2 |" in markdown
    assert t._("No personal data is included in this report.") in markdown

    target = tmp_path / "november.pdf"
    assert await asyncio.to_thread(main, [*args, "--output", str(target)]) == 0
    reader = PdfReader(io.BytesIO(target.read_bytes()))
    assert len(reader.pages) == 2
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert t._("New tips: {count}", count=3) in text
    assert t._("Littering and waste") in text
    assert "23" in text and "29" in text  # the period's days


async def test_report_refuses_bad_periods_and_pdf_to_a_terminal(bot: BotHarness, database_env):
    assert (
        await asyncio.to_thread(main, ["report", "--from", "2026-11-29", "--to", "2026-11-23"])
        == 2
    )
    assert (
        await asyncio.to_thread(
            main, ["report", "--from", "2026-11-23", "--to", "2026-11-29", "--format", "pdf"]
        )
        == 2
    )
