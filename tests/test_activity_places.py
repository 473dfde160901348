"""Families and activities through the double: a reminder the evening before for those going,
cancellations and new times that reach everyone on the list (once, even after a crash), and
places with a waiting list."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.activities.digest import build_edition
from bot.activities.importer import expand, import_file, parse_ics, series_calendar
from bot.config import ConfigError, ReminderRule, parse_activity_reminder
from sandbox import BotAPIDouble
from storage import activities, audit, outbox, residents
from storage.db import Database
from tests.harness import BotHarness, Person

ROOT = Path(__file__).resolve().parent.parent
#: Monday 23 November 2026, 09:00 in Oslo.
NOV_MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
#: The activity: Wednesday 25 November, 10:00-11:30 in Oslo.
WEDNESDAY_10 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


async def add_meetup(bot: BotHarness, capacity: int | None = None) -> int:
    """One listed activity on Wednesday, imported from a CSV file like staff make them."""
    row = "babytreff-1,Babytreff,2026-11-25 10:00,11:30,Stovner bibliotek,0-1"
    header = "uid,title,start,end,place,age_groups"
    if capacity is not None:
        header, row = f"{header},capacity", f"{row},{capacity}"
    data = f"{header}\n{row}\n".encode()

    summary = await import_file(bot.db, "liste.csv", data, bot.config.timezone, bot.clock())
    assert summary.errors == []
    [activity] = await activities.series_activities(bot.db, "babytreff-1")
    assert activity.capacity == capacity
    return activity.id


async def resident(bot: BotHarness, name: str, label: str, code: str) -> Person:
    person = bot.resident(name, language_code=code)
    await person.says("/start")
    await person.presses(label)
    return person


async def run_notices(bot: BotHarness) -> None:
    assert bot.app is not None
    job = bot.app.job_queue.get_jobs_by_name("activity-notices")[0]
    await job.run(bot.app)
    await bot.settle()


def test_the_reminder_setting():
    assert parse_activity_reminder("") == ReminderRule(days=1, at=datetime(1, 1, 1, 18).time())
    assert parse_activity_reminder("-2h") == ReminderRule(before=timedelta(hours=2))
    assert parse_activity_reminder("-2d") == ReminderRule(before=timedelta(days=2))
    assert parse_activity_reminder("off") is None
    for bad in ("18:00", "-1h 18:00", "-1d 25:00", "tomorrow"):
        with pytest.raises(ConfigError):
            parse_activity_reminder(bad)


def test_capacity_from_icalendar_and_a_bad_one_reported_by_line():
    event = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
        "DTSTART:20261125T090000Z\r\nSUMMARY:Kurs\r\nX-CAPACITY:{capacity}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    good = parse_ics(event.format(uid="kurs-1", capacity="15").encode())
    assert good.errors == []
    [occurrence] = expand(
        series_calendar(good.series[0]), UTC, NOV_MONDAY, WEDNESDAY_10 + timedelta(days=1)
    )
    assert occurrence.capacity == 15
    bad = parse_ics(event.format(uid="kurs-2", capacity="many").encode())
    assert bad.series == [] and "capacity" in str(bad.errors[0][1]) and bad.errors[0][0] == 4


async def test_a_reminder_the_evening_before_reaches_those_going_only(bot: BotHarness):
    bot.clock.set(NOV_MONDAY)
    activity_id = await add_meetup(bot)
    amina = await resident(bot, "Amina", "English", "en")
    layla = await resident(bot, "Layla", "العربية", "ar")
    kari = await resident(bot, "Kari", "Norsk", "nb")
    for person in (amina, layla):
        await person.says("/activities")
        await person.presses("✋")  # "✋ 1: I'm going", in their language
    await kari.says("/activities")  # looks, does not go
    assert await activities.going_residents(bot.db, activity_id) == [amina.id, layla.id]
    for person in (amina, layla, kari):
        person.new_messages()

    # Tuesday 17:59: not yet.
    bot.clock.set(datetime(2026, 11, 24, 16, 59, tzinfo=UTC))
    await run_notices(bot)
    assert amina.new_messages() == [] and layla.new_messages() == []

    # Tuesday 18:01 in Oslo: those going get it, in their language, with time and place.
    bot.clock.set(datetime(2026, 11, 24, 17, 1, tzinfo=UTC))
    await run_notices(bot)
    [reminder] = amina.new_messages()
    assert "Reminder" in reminder.text and "Babytreff" in reminder.text
    assert "Stovner bibliotek" in reminder.text and "10:00" in reminder.text
    assert "Wednesday" in reminder.text
    [arabic] = layla.new_messages()
    assert "Babytreff" in arabic.text and "Reminder" not in arabic.text
    assert kari.new_messages() == []

    # The job runs again (and the bot restarts): nobody is reminded twice.
    await run_notices(bot)
    await bot.restart()
    await run_notices(bot)
    assert amina.new_messages() == [] and layla.new_messages() == []

    # "I can't come after all" takes Amina off the list.
    await amina.presses("I can't come after all", reminder)
    assert await activities.going_residents(bot.db, activity_id) == [layla.id]


async def test_a_full_activity_has_a_waiting_list_and_a_freed_place_goes_to_the_first(
    bot: BotHarness,
):
    bot.clock.set(NOV_MONDAY)
    activity_id = await add_meetup(bot, capacity=2)
    amina = await resident(bot, "Amina", "English", "en")
    carl = await resident(bot, "Carl", "English", "en")
    layla = await resident(bot, "Layla", "العربية", "ar")
    sara = await resident(bot, "Sara", "English", "en")

    await amina.says("/activities")
    await amina.presses("1: I'm going")
    # Places are counted, so the list may show her first name if she agrees.
    await amina.presses("Yes, show my first name")
    await carl.says("/activities")
    await carl.presses("1: I'm going")
    assert "1/2" not in carl.last.text  # the question about the name, nothing about others

    # Full: Layla is offered the waiting list, then Sara.
    await layla.says("/activities")
    replies = await layla.presses("✋")
    [offer] = replies
    assert "Babytreff" in offer.text
    await layla.presses("📝", offer)
    assert "1" in bot.double.answered_callbacks[-1]["text"]
    await sara.says("/activities")
    await sara.presses("1: I'm going")
    await sara.presses("waiting list")
    assert "number 2" in bot.double.answered_callbacks[-1]["text"]
    assert await activities.going_residents(bot.db, activity_id) == [amina.id, carl.id]

    # Staff see the places and the waiting list.
    kari = bot.staff[0]
    bot.double.send_text(kari.user, "/activity_list", chat=bot.staff_chat)
    await bot.settle()
    listing = bot.staff_messages()[-1].text
    assert f"#{activity_id}" in listing and "2/2" in listing and "Babytreff" in listing
    assert ": 2" in listing.split("2/2", 1)[1]  # two waiting

    # The evening before, Carl cannot come after all: the first one waiting gets the place,
    # and is told in her language, once.
    bot.clock.set(datetime(2026, 11, 24, 17, 30, tzinfo=UTC))
    await run_notices(bot)
    layla.new_messages()
    await carl.presses("I can't come after all", carl.last_with_button("I can't come"))
    assert await activities.going_residents(bot.db, activity_id) == [amina.id, layla.id]
    [news] = layla.new_messages()
    assert "Babytreff" in news.text and "Stovner bibliotek" in news.text
    assert "🎉" in news.text and "Good news" not in news.text  # Arabic
    await run_notices(bot)
    await bot.restart()
    await asyncio.sleep(0)
    await bot.settle()
    assert layla.new_messages() == []
    assert sara.new_messages() == []  # still waiting, number 1 now

    # The list for the organisers: a first name only where it was allowed.
    bot.double.send_text(kari.user, f"/activity_export {activity_id}", chat=bot.staff_chat)
    await bot.settle()
    document = bot.staff_messages()[-1]
    assert document.filename == f"activity-{activity_id}.csv"
    rows = list(csv.reader(io.StringIO(document.data.decode("utf-8-sig"))))
    assert rows[0] == ["number", "name", "list", "since"]
    names = [(row[1], row[2]) for row in rows[1:]]
    assert names[0] == ("Amina", "going")
    assert names[1][1] == "going" and "Layla" not in names[1][0] and "#2" in names[1][0]
    assert names[2][1] == "waiting" and "Sara" not in names[2][0]
    assert all(str(person.id) not in document.data.decode() for person in (amina, layla, sara))
    [entry] = await audit.entries(bot.db)
    assert entry.action == audit.Action.EXPORT_ACTIVITY_LIST
    assert entry.subject == f"activity {activity_id}"


async def test_a_new_time_reaches_those_going_and_the_digest_marks_a_cancellation(
    bot: BotHarness,
):
    bot.clock.set(NOV_MONDAY)
    activity_id = await add_meetup(bot)
    amina = await resident(bot, "Amina", "English", "en")
    await amina.says("/activities")
    await amina.presses("1: I'm going")
    amina.new_messages()

    # Staff send the list again with a new time: Amina is told once.
    moved = (
        b"uid,title,start,end,place,age_groups\n"
        b"babytreff-1,Babytreff,2026-11-25 12:00,13:30,Stovner bibliotek,0-1\n"
    )

    for _ in range(2):
        await import_file(bot.db, "liste.csv", moved, bot.config.timezone, bot.clock())
        await run_notices(bot)
    [notice] = amina.new_messages()
    assert "new time or place" in notice.text and "12:00" in notice.text
    await activities.subscribe(bot.db, amina.id, ["all"], bot.clock())
    edition = await build_edition(bot.db, bot.app.bot_data.catalogs, bot.config, bot.clock())
    [item] = [i for i in edition.items if i.chat_id == amina.id]
    assert "New time or place" in item.text and "12:00" in item.text

    # Staff cancel it: she is told, and the digest marks it instead of leaving it out.
    bot.double.send_text(bot.staff[0].user, f"/activity_cancel {activity_id}", chat=bot.staff_chat)
    await bot.settle()
    await run_notices(bot)
    [cancelled] = amina.new_messages()
    assert "cancelled" in cancelled.text and "Babytreff" in cancelled.text

    edition = await build_edition(bot.db, bot.app.bot_data.catalogs, bot.config, bot.clock())
    [item] = [i for i in edition.items if i.chat_id == amina.id]
    assert "Babytreff" in item.text and "Cancelled" in item.text
    assert item.reply_markup is None  # nothing to press on a cancelled activity


# --- a cancellation by import, with the process killed in the middle of telling people ---
GOING = 120

CANCELLED_ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:babytreff@stovner\r\n"
    "DTSTAMP:20261001T080000Z\r\nDTSTART;TZID=Europe/Oslo:{start}\r\n"
    "DTEND;TZID=Europe/Oslo:{end}\r\nSUMMARY:Babytreff\r\nLOCATION:Stovner bibliotek\r\n"
    "{status}END:VEVENT\r\nEND:VCALENDAR\r\n"
)


async def import_command(env: dict[str, str], path: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "activities",
        "import",
        str(path),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_until(condition) -> None:
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 (polls the double's counters)
            await asyncio.sleep(0.02)


async def test_a_cancellation_by_import_reaches_everyone_going_once_after_a_crash(
    tmp_path: Path,
):
    async with BotAPIDouble() as double:
        users = [double.add_user(f"R{i}", language_code="nb") for i in range(GOING)]
        bystander = double.add_user("Not going", language_code="nb")
        double.set_limits(global_per_second=400, private_chat_per_second=1, private_burst=1)
        database = tmp_path / "bot.sqlite3"
        now = datetime.now(UTC)
        start = (now + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
        stamp = "%Y%m%dT%H%M%S"
        local = start.astimezone(ZoneInfo("Europe/Oslo"))
        event = {
            "start": local.strftime(stamp),
            "end": (local + timedelta(hours=1)).strftime(stamp),
        }

        db = await Database.open(database)
        await residents.touch(db, bystander.id, "nb", None, now)
        calendar = tmp_path / "kalender.ics"
        calendar.write_text(CANCELLED_ICS.format(**event, status=""))

        await import_file(db, "kalender.ics", calendar.read_bytes(), local.tzinfo, now)
        [activity] = await activities.series_activities(db, "babytreff@stovner")
        for i, user in enumerate(users):
            await residents.touch(db, user.id, "nb" if i % 2 else "ar", None, now)
            await activities.mark_going(db, activity.id, user.id, now)
        await db.close()

        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "BOT_TOKEN": double.token,
            "BOT_API_BASE_URL": double.base_url,
            "BOT_DATABASE": str(database),
            "BOT_DELIVERY_RATE": "300",
        }

        def delivered() -> int:
            return sum(1 for m in double.sent if m.chat_id > 0)

        def committed_sent() -> int:
            with sqlite3.connect(database) as peek:
                return peek.execute(
                    "SELECT COUNT(*) FROM outbox WHERE status = 'sent'"
                ).fetchone()[0]

        # The new calendar calls it off; Telegram stalls after 40 notices and the process is
        # killed while it waits.
        calendar.write_text(CANCELLED_ICS.format(**event, status="STATUS:CANCELLED\r\n"))
        double.hold_sends(after=40)
        first = await import_command(env, calendar)
        await wait_until(lambda: double.held > 0)
        await wait_until(lambda: committed_sent() == delivered())
        first.kill()
        assert await first.wait() == -9
        await asyncio.sleep(0.2)
        double.release_sends()
        before = delivered()
        assert 0 < before < GOING

        # The same import again (staff try once more): nothing new is cancelled, and the
        # notices left pending go out.
        second = await import_command(env, calendar)
        out, err = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 0, err.decode()
        assert f"{GOING - before} residents told" in out.decode()
        for user in users:
            [notice] = double.messages_to(user)
            assert "Babytreff" in notice.text, user.id
        assert double.messages_to(bystander) == []
        assert double.flood_violations == 0

        third = await import_command(env, calendar)
        out, _ = await asyncio.wait_for(third.communicate(), 60)
        assert "0 residents told" in out.decode()
        assert delivered() == GOING
        db = await Database.open(database)
        counts = await outbox.counts(db, f"change-{activity.id}-1")
        assert (counts.sent, counts.pending) == (GOING, 0)
        await db.close()
