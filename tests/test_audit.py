"""The audit trail: exports of personal data, erasures and case assignments are recorded (who,
what, when) and listed by `python -m bot audit`, with no message content and no resident ID."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from bot.__main__ import main
from bot.context import BotContext
from bot.privacy import retention_job
from bot.surveys.management import load_survey
from storage import audit
from tests.harness import BotHarness

SECRET = "the drug dealer behind block 7"

NAMED_SURVEY = b"""
slug = "library"
anonymous = false
title = "The library"
[[questions]]
id = "rating"
kind = "smiley"
text = "How do you like the library?"
"""


@pytest.fixture(autouse=True)
def quick_hands(bot: BotHarness) -> None:
    bot.double.set_limits(private_burst=50)


async def staff_says(bot: BotHarness, text: str, who: int = 0, thread_id: int | None = None):
    await bot.staff[who].does("send_text", text, chat=bot.staff_chat, thread_id=thread_id)


async def audit_listing(bot: BotHarness, monkeypatch, capsys, *extra: str) -> list[list[str]]:
    monkeypatch.setenv("BOT_DATABASE", str(bot.config.database))
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["audit", *extra]) == 0
    return [line.split("\t") for line in capsys.readouterr().out.splitlines()]


async def test_exports_erasures_and_assignments_are_listed_without_content(
    bot: BotHarness, monkeypatch, capsys
):
    kari, ola = bot.staff
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await amina.says("/contact")
    await amina.says(f"I want to report {SECRET}")
    thread = bot.double.topics(bot.staff_chat)[-1].id
    await staff_says(bot, "/assign", who=1, thread_id=thread)
    await amina.says("/mydata")
    await staff_says(bot, "/tipsexport csv 2026-01-01")  # Kari is an administrator

    await load_survey(bot.db, NAMED_SURVEY, "nb", bot.clock())
    await staff_says(bot, "/results library")
    await amina.says("/deleteme")
    await amina.presses("Yes, delete everything")

    rows = await audit_listing(bot, monkeypatch, capsys)
    actions = [(row[1], row[2], row[3]) for row in rows]
    assert actions == [
        (f"staff {ola.id} (Ola)", "case.assign", "S-0001"),
        ("resident", "export.mydata", ""),
        (f"staff {kari.id} (Kari)", "export.tips", ""),
        (f"staff {kari.id} (Kari)", "export.survey", "library"),
        ("resident", "erase.resident", ""),
    ]
    assert rows[2][4] == "format=csv since=2026-01-01"
    listing = "\n".join("\t".join(row) for row in rows)
    assert SECRET not in listing and "Amina" not in listing
    assert str(amina.id) not in listing, "an erased resident is not findable in the trail"

    stored = await bot.db.fetchall("SELECT * FROM audit_log")
    assert not any(str(amina.id) in str(tuple(row)) for row in stored)


async def test_anonymous_survey_results_are_not_personal_data(bot: BotHarness):
    await load_survey(bot.db, NAMED_SURVEY.replace(b"false", b"true"), "nb", bot.clock())
    await staff_says(bot, "/results library")
    assert await audit.entries(bot.db) == []


async def test_operator_exports_and_forgets_from_the_command_line(
    bot: BotHarness, monkeypatch, capsys
):
    john = bot.resident("John", language_code="en")
    await john.says("/start")
    monkeypatch.setenv("BOT_DATABASE", str(bot.config.database))
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    assert await asyncio.to_thread(main, ["tips", "export", "--format", "open311"]) == 0
    assert await asyncio.to_thread(main, ["residents", "forget", str(john.id)]) == 0
    await load_survey(bot.db, NAMED_SURVEY, "nb", bot.clock())
    assert await asyncio.to_thread(main, ["surveys", "results", "library"]) == 0

    rows = await audit_listing(bot, monkeypatch, capsys)
    assert [(row[1], row[2]) for row in rows] == [
        ("operator", "export.tips"),
        ("operator", "erase.resident"),
        ("operator", "export.survey"),
    ]
    assert str(john.id) not in capsys.readouterr().out


async def test_retention_is_recorded_and_the_trail_itself_expires(
    bot: BotHarness, monkeypatch, capsys
):
    old = bot.clock() - audit.KEEP - timedelta(days=1)
    await audit.record(bot.db, audit.OPERATOR, audit.Action.EXPORT_TIPS, old)
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.says("/contact")
    await amina.says("Hello")
    thread = bot.double.topics(bot.staff_chat)[-1].id
    await staff_says(bot, "/close", thread_id=thread)

    bot.clock.advance(timedelta(days=bot.config.retention_days + 1))
    await retention_job(BotContext(bot.app))
    [entry] = await audit.entries(bot.db)
    assert entry.action == "erase.retention" and entry.actor.kind == "system"
    touched = re.fullmatch(r"(\d+) records older than (\d+) days", entry.detail or "")
    assert touched and int(touched[1]) >= 1 and int(touched[2]) == bot.config.retention_days

    today = bot.clock().astimezone(bot.config.timezone).date()
    assert await audit_listing(bot, monkeypatch, capsys, "--since", str(today)) != []
    tomorrow = today + timedelta(days=1)
    assert await audit_listing(bot, monkeypatch, capsys, "--since", str(tomorrow)) == []
