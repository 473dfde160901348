"""Activities through the double: imports, /subscribe, /activities, the weekly digest,
"I'm going", calendar files, organisers' proposals and staff tools."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
from babel.dates import format_date, format_time

from bot.activities import weekly_digest
from bot.activities.digest import build_edition
from bot.activities.importer import import_file, parse_age_groups
from bot.delivery import delivery_bot
from bot.i18n import SUPPORTED_LANGUAGES, Catalogs
from storage import activities, outbox
from tests.harness import BotHarness, Person
from tests.postgres import bot_database

#: Monday 19 October 2026, 09:00 in Oslo (summer time ends on Sunday 25 October).
DST_MONDAY = datetime(2026, 10, 19, 7, 0, tzinfo=UTC)
#: Monday 23 November 2026, 09:00 in Oslo (winter time).
NOV_MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

WEEKLY_ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Bydel Stovner//Kalender//NO\r
BEGIN:VEVENT\r
UID:babytreff@stovner\r
DTSTAMP:20261001T080000Z\r
DTSTART;TZID=Europe/Oslo:20261006T100000\r
DTEND;TZID=Europe/Oslo:20261006T113000\r
RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=12\r
SUMMARY:Babytreff\r
DESCRIPTION:Kaffe og lek for foreldre med baby.\r
LOCATION:Stovner bibliotek\r
X-AGE-GROUPS:0-1\r
X-LANGUAGES:nb,ar\r
X-TITLE-AR:لقاء الأطفال الرضع\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:babytreff@stovner\r
DTSTAMP:20261001T080000Z\r
RECURRENCE-ID;TZID=Europe/Oslo:20261117T100000\r
DTSTART;TZID=Europe/Oslo:20261117T100000\r
DTEND;TZID=Europe/Oslo:20261117T113000\r
STATUS:CANCELLED\r
SUMMARY:Babytreff\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:leksehjelp@bjerke\r
DTSTAMP:20261001T080000Z\r
DTSTART;TZID=Europe/Oslo:20261028T170000\r
DTEND;TZID=Europe/Oslo:20261028T190000\r
RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=10\r
SUMMARY:Leksehjelp\r
LOCATION:Bjerke fritidsklubb\r
X-AGE-GROUPS:6-12,13-18\r
X-PRICE:20 kr\r
END:VEVENT\r
END:VCALENDAR\r
""".encode()

CSV = (
    "uid,title,start,end,place,age_groups,languages,price,title_ar\n"
    "famdag-1,Familiedag på torget,2026-10-24 12:00,15:00,Stovner torg,all,nb,,يوم العائلة\n"
    "bad-1,Kvinnenettverk,24.13.2026 18:00,20:00,Bjerke,adults,,,\n"
    'rk-1,Røde Kors familiesenter,2026-10-25 11:00,14:00,Haugenstua,"0-1,2-5,6-12",,,\n'
).encode()


async def import_calendar(bot: BotHarness, now: datetime) -> None:
    summary = await import_file(bot.db, "kalender.ics", WEEKLY_ICS, bot.config.timezone, now)
    assert summary.errors == []


#: A child's birth year in the age group, in the year of the digests of these tests.
BORN_IN = {"0–1": 2026, "2–5": 2023, "6–12": 2018, "13–18": 2012}


async def subscriber(bot: BotHarness, name: str, language: str, label: str, *ages: str) -> Person:
    """A resident subscribed with a child in each of `ages` ("0–1", ...) or "All ages"."""
    person = bot.resident(name, language_code=language)
    await person.says("/start")
    await person.presses(label)
    await person.says("/subscribe")
    if "All ages" in ages:
        await person.presses(Catalogs().texts(language)._("🌍 Everything (all ages)"))
        return person
    for age in ages:
        await person.presses(str(BORN_IN[age]))
    await person.presses("💾")
    return person


async def run_weekly_job(bot: BotHarness) -> None:
    assert bot.app is not None
    job = bot.app.job_queue.get_jobs_by_name("weekly-digest")[0]
    await job.run(bot.app)
    await bot.settle()


# --- import ---
async def test_ics_weekly_rule_with_a_cancelled_occurrence(bot: BotHarness):
    now = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    await import_calendar(bot, now)
    baby = await activities.series_activities(bot.db, "babytreff@stovner")
    assert len(baby) == 12
    cancelled = [a for a in baby if a.cancelled]
    assert [a.starts_at for a in cancelled] == [datetime(2026, 11, 17, 9, 0, tzinfo=UTC)]
    # Across the change to winter time the local time stays 10:00.
    assert baby[2].starts_at == datetime(2026, 10, 20, 8, 0, tzinfo=UTC)
    assert baby[3].starts_at == datetime(2026, 10, 27, 9, 0, tzinfo=UTC)
    assert baby[0].title_in("ar") == "لقاء الأطفال الرضع" and baby[0].title_in("so") == "Babytreff"
    # Importing again changes nothing and keeps the ids ("I'm going" marks stay valid).
    again = await import_file(bot.db, "kalender.ics", WEEKLY_ICS, bot.config.timezone, now)
    assert (again.added, again.updated) == (0, 22)
    assert [a.id for a in await activities.series_activities(bot.db, "babytreff@stovner")] == [
        a.id for a in baby
    ]


async def test_ics_cancel_file_and_exdate(bot: BotHarness):
    now = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    await import_calendar(bot, now)
    cancel = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\n"
        b"UID:leksehjelp@bjerke\r\nDTSTAMP:20261001T080000Z\r\n"
        b"RECURRENCE-ID;TZID=Europe/Oslo:20261104T170000\r\n"
        b"DTSTART;TZID=Europe/Oslo:20261104T170000\r\nSTATUS:CANCELLED\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    summary = await import_file(bot.db, "cancel.ics", cancel, bot.config.timezone, now)
    assert summary.cancelled == 1
    lessons = await activities.series_activities(bot.db, "leksehjelp@bjerke")
    assert [a.starts_at.day for a in lessons if a.cancelled] == [4]
    # An EXDATE added later cancels the stored occurrence.
    with_exdate = WEEKLY_ICS.replace(
        b"RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=12\r\n",
        b"RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=12\r\nEXDATE;TZID=Europe/Oslo:20261110T100000\r\n",
    )
    await import_file(bot.db, "kalender.ics", with_exdate, bot.config.timezone, now)
    baby = await activities.series_activities(bot.db, "babytreff@stovner")
    assert sorted(a.starts_at.day for a in baby if a.cancelled) == [10, 17]


async def test_csv_with_one_bad_row_reports_its_line_and_imports_the_rest(bot: BotHarness):
    now = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    summary = await import_file(bot.db, "aktiviteter.csv", CSV, bot.config.timezone, now)
    assert summary.added == 2
    assert len(summary.errors) == 1
    line, problem = summary.errors[0]
    assert line == 3 and "24.13.2026" in str(problem)
    day = (await activities.series_activities(bot.db, "famdag-1"))[0]
    assert day.starts_at == datetime(2026, 10, 24, 10, 0, tzinfo=UTC)
    assert day.ends_at == datetime(2026, 10, 24, 13, 0, tzinfo=UTC)
    assert day.age_groups == frozenset() and day.price == ""
    assert day.title_in("ar") == "يوم العائلة"


async def test_staff_upload_imports_and_reports_problems(bot: BotHarness):
    bot.clock.set(datetime(2026, 10, 5, 8, 0, tzinfo=UTC))
    kari, ola = bot.staff  # Kari is an administrator, Ola is not
    bot.double.send_document(ola.user, CSV, "aktiviteter.csv", "text/csv", chat=bot.staff_chat)
    await bot.settle()
    assert await activities.series_activities(bot.db, "famdag-1") == []
    bot.double.send_document(kari.user, CSV, "aktiviteter.csv", "text/csv", chat=bot.staff_chat)
    await bot.settle()
    report = bot.staff_messages()[-1].text
    assert "2" in report and "3" in report  # two new, line 3 is bad
    assert "24.13.2026" in report
    assert len(await activities.series_activities(bot.db, "famdag-1")) == 1


def test_cli_import_reports_bad_rows(tmp_path, database_location):
    path = tmp_path / "aktiviteter.csv"
    year = datetime.now(UTC).year + 1  # the command imports what lies ahead of today
    path.write_bytes(CSV.replace(b"2026-10-2", f"{year}-10-2".encode()))
    env = {"BOT_DATABASE": bot_database(database_location), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "activities", "import", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1  # some rows were bad
    assert "2 new" in result.stdout
    assert "line 3:" in result.stderr


# --- subscribing and the digest ---
async def test_norwegian_and_arabic_subscribers_get_filtered_localized_digests_over_dst(
    bot: BotHarness,
):
    bot.clock.set(DST_MONDAY - timedelta(days=14))
    await import_calendar(bot, bot.clock())
    await import_file(bot.db, "a.csv", CSV, bot.config.timezone, bot.clock())
    kari = await subscriber(bot, "Kari", "nb", "Norsk", "0–1")
    layla = await subscriber(bot, "Layla", "ar", "العربية", "6–12")
    nobody = bot.resident("Nils", language_code="nb")
    await nobody.says("/start")
    await nobody.presses("Norsk")
    for person in (kari, layla, nobody):
        person.new_messages()

    bot.clock.set(DST_MONDAY)
    await run_weekly_job(bot)

    [digest] = kari.new_messages()
    text = digest.text
    # Babytreff (0–1) on Tuesday 20 October, and the family day and Red Cross, for everyone
    # or for 0–1; Leksehjelp is for 6–18 and is not in Kari's list.
    assert "Babytreff" in text and "Leksehjelp" not in text
    assert "tirsdag 20. oktober" in text and "10:00–11:30" in text
    assert "Familiedag på torget" in text and "søndag 25. oktober" in text
    assert any("✋" in label for label, _ in digest.buttons)

    [arabic] = layla.new_messages()
    # Red Cross (0–12) on Sunday 25 October, after the change to winter time, and the family
    # day for everyone; not the baby meetup.
    assert "Røde Kors familiesenter" in arabic.text and "Babytreff" not in arabic.text
    assert "يوم العائلة" in arabic.text  # the Arabic title of the family day
    assert format_date(date(2026, 10, 25), "EEEE", locale="ar") in arabic.text
    # 11:00 local on Sunday is 10:00 UTC (winter time): shown as 11:00, not 12:00.
    assert format_time(time(11, 0), "short", locale="ar") in arabic.text
    assert format_time(time(12, 0), "short", locale="ar") in arabic.text  # the family day
    assert "Leksehjelp" not in arabic.text  # from 28 October: next week
    # The Red Cross's age groups are an Arabic list ("A وB وC"), each range isolated so it
    # reads 0–1, not 1–0, inside the right-to-left line.
    [ages] = [line for line in arabic.text.splitlines() if "2–5" in line]
    assert "0–1 سنة\u2069 و\u20682–5 سنوات\u2069 و\u20686–12 سنة" in ages and ", " not in ages

    assert nobody.new_messages() == []
    summary = bot.staff_messages()[-1].text
    assert "2" in summary and "W43" in summary

    # The meetup after the change is still at 10:00 local time: 09:00 UTC.
    meetups = await activities.series_activities(bot.db, "babytreff@stovner")
    assert meetups[3].starts_at == datetime(2026, 10, 27, 9, 0, tzinfo=UTC)

    # Running the week again sends nothing.
    await run_weekly_job(bot)
    assert kari.new_messages() == [] and layla.new_messages() == []


async def test_digest_is_rendered_once_per_language_and_choice(bot: BotHarness):
    now = NOV_MONDAY
    await import_calendar(bot, now - timedelta(days=30))
    for i in range(6):
        await activities.subscribe(bot.db, 500 + i, ["0-1"], now)
        from storage import residents

        await residents.touch(bot.db, 500 + i, "nb" if i < 4 else "ar", None, now)
    await activities.subscribe(bot.db, 900, ["all"], now)
    await residents.touch(bot.db, 900, "nb", None, now)
    assert bot.app is not None
    edition = await build_edition(bot.db, bot.app.bot_data.catalogs, bot.config, now)
    assert edition.subscribers == 7
    assert edition.renders == 3  # (nb, 0-1), (ar, 0-1), (nb, all)
    texts = {item.chat_id: item.text for item in edition.items}
    assert texts[500] == texts[503] and texts[500] != texts[504]


async def test_the_stored_edition_is_what_each_subscriber_should_get(bot: BotHarness):
    """prepare_edition lets the database make the rows (one INSERT ... SELECT); they must be
    exactly the per-subscriber items: right language (an unshipped one gets the default),
    right age groups, no one who unsubscribed, and the channel's list beside them."""
    from dataclasses import replace

    from bot.activities.digest import digest_header, prepare_edition
    from storage import residents

    now = NOV_MONDAY
    await import_calendar(bot, now - timedelta(days=30))
    people = {601: ("nb", ["0-1"]), 602: ("ar", ["0-1"]), 603: ("de", ["13-18", "0-1"])}
    people |= {604: ("so", ["all"]), 605: ("nb", ["adults"]), 606: ("ur", ["6-12"])}
    for telegram_id, (language, groups) in people.items():
        await residents.touch(bot.db, telegram_id, language, None, now)
        await activities.subscribe(bot.db, telegram_id, groups, now)
    await activities.unsubscribe(bot.db, 606, now)
    config = replace(bot.config, channel_id=-100777)
    assert bot.app is not None
    catalogs = bot.app.bot_data.catalogs

    expected = await build_edition(bot.db, catalogs, config, now)
    name = await prepare_edition(bot.db, catalogs, config, now)
    stored = await outbox.pending(bot.db, name)

    def rows(items):
        return sorted((i.chat_id, i.part, i.text, i.reply_markup) for i in items)

    assert {row.chat_id for row in stored} >= {601, 602, 603, 604, -100777}
    assert 606 not in {row.chat_id for row in stored}
    assert rows(stored) == rows(expected.items)
    blocked_by = {row.on_blocked for row in stored if row.chat_id > 0}
    assert blocked_by == {"digest"}
    # The unshipped language got the default language's text, not nothing.
    by_chat = {row.chat_id: row.text for row in stored if row.part == 0}
    header = digest_header(catalogs.texts("nb"))
    assert by_chat[603].startswith(header) and by_chat[601].startswith(header)
    assert not by_chat[602].startswith(header)
    # A second run adds nothing.
    assert await prepare_edition(bot.db, catalogs, config, now) == name
    assert len(await outbox.pending(bot.db, name)) == len(stored)


async def test_a_long_digest_is_split_at_day_boundaries(bot: BotHarness):
    now = NOV_MONDAY
    for day in range(7):
        for n in range(6):
            start = now + timedelta(days=day, hours=1 + n)
            await activities.save_series(
                bot.db,
                f"x-{day}-{n}",
                "staff",
                [
                    activities.Occurrence(
                        occurrence=start,
                        starts_at=start,
                        ends_at=start + timedelta(hours=1),
                        title=f"Aktivitet {day}-{n}",
                        description="Lang tekst " * 30,
                    )
                ],
                now,
            )
    await activities.subscribe(bot.db, 700, ["all"], now)
    from storage import residents

    await residents.touch(bot.db, 700, "nb", None, now)
    assert bot.app is not None
    edition = await build_edition(bot.db, bot.app.bot_data.catalogs, bot.config, now)
    parts = [item for item in edition.items if item.chat_id == 700]
    assert len(parts) >= 3
    for item in parts:
        assert item.text is not None and len(item.text) <= 4096
    # Each part after the first starts with a day heading (a day is never cut in two here).
    for item in parts[1:]:
        assert item.text is not None and item.text.startswith("<b>📆")


async def test_blocked_subscriber_is_deactivated_and_the_run_goes_on(bot: BotHarness):
    bot.clock.set(NOV_MONDAY - timedelta(days=7))
    await import_calendar(bot, datetime(2026, 10, 5, tzinfo=UTC))
    amina = await subscriber(bot, "Amina", "nb", "Norsk", "0–1")
    blocker = await subscriber(bot, "Bo", "nb", "Norsk", "0–1")
    amina.new_messages()
    bot.double.block(blocker.user)
    bot.clock.set(NOV_MONDAY)
    await run_weekly_job(bot)
    assert len(amina.new_messages()) == 1
    assert [s.telegram_id for s in await activities.active_subscribers(bot.db)] == [amina.id]
    assert "1 blokkert" in bot.staff_messages()[-1].text


async def test_429_is_honoured_during_the_digest(bot: BotHarness):
    bot.clock.set(NOV_MONDAY - timedelta(days=7))
    await import_calendar(bot, datetime(2026, 10, 5, tzinfo=UTC))
    people = [await subscriber(bot, f"P{i}", "nb", "Norsk", "0–1") for i in range(4)]
    for person in people:
        person.new_messages()
    bot.double.set_limits(global_per_second=2, retry_after=1)
    bot.clock.set(NOV_MONDAY)
    await run_weekly_job(bot)
    assert bot.double.flood_violations >= 1
    for person in people:
        assert len(person.new_messages()) == 1
    counts = await outbox.counts(bot.db, "digest-2026-W48")
    assert (counts.sent, counts.failed) == (4, 0)


async def test_unsubscribe_stops_the_digest(bot: BotHarness):
    bot.clock.set(NOV_MONDAY - timedelta(days=7))
    await import_calendar(bot, datetime(2026, 10, 5, tzinfo=UTC))
    amina = await subscriber(bot, "Amina", "en", "English", "All ages")
    assert "Done!" in amina.last.text and "Monday" in amina.last.text
    await amina.says("/unsubscribe")
    assert "not get the weekly list" in amina.last.text
    amina.new_messages()
    bot.clock.set(NOV_MONDAY)
    await run_weekly_job(bot)
    assert amina.new_messages() == []


async def test_a_year_pressed_again_is_taken_back_and_save_asks_for_one(bot: BotHarness):
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await amina.says("/subscribe")
    assert "💾 Save" not in [label for label, _ in amina.last.buttons]
    await amina.presses("2024")
    keyboard = amina.last
    await amina.presses("✅ 2024", keyboard)
    # The old Save button of a keyboard with a year pressed: nothing to save any more.
    await amina.presses_data(keyboard, "sub:save")
    assert "year your child was born" in bot.double.answered_callbacks[-1]["text"]
    assert await activities.active_subscribers(bot.db) == []


# --- ages that grow ---
DEC_MONDAY = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)
JAN_MONDAY = datetime(2027, 1, 11, 8, 0, tzinfo=UTC)

FAMILY_CSV = (
    b"uid,title,start,end,place,age_groups,category,price,description\n"
    b"baby@dec,Babysang,2026-12-15 10:00,11:00,Stovner bibliotek,0-1,,,\n"
    b"small@dec,Lekestue,2026-12-16 10:00,11:00,Stovner bibliotek,2-5,,,\n"
    b"baby@jan,Babysang januar,2027-01-12 10:00,11:00,Stovner bibliotek,0-1,,,\n"
    b"small@jan,Lekestue januar,2027-01-13 10:00,11:00,Stovner bibliotek,2-5,,,\n"
    b"school@jan,Sjakk januar,2027-01-13 15:00,16:00,Stovner bibliotek,6-12,,,\n"
)


async def test_a_child_moves_from_0_1_to_2_5_when_a_year_passes(bot: BotHarness):
    """Birth years are stored, not ages: the digest works the groups out on the send date."""
    bot.clock.set(DEC_MONDAY - timedelta(days=7))
    summary = await import_file(
        bot.db, "familie.csv", FAMILY_CSV, bot.config.timezone, bot.clock()
    )
    assert summary.errors == []
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await amina.says("/subscribe")
    # Two children, typed the lenient way; one year is not a child's.
    await amina.says("born 2025 and 1990")
    assert "1990" in amina.last.text and "2025" in amina.last.text
    await amina.says("٢٠١٨")  # Eastern Arabic digits: 2018
    assert "2018" in amina.last.text
    await amina.presses("💾")
    assert "2018" in amina.last.text and "2025" in amina.last.text
    sub = await activities.subscription(bot.db, amina.id)
    assert sub is not None and sub.active and sub.birth_years == (2018, 2025)
    assert sub.step is None
    amina.new_messages()

    bot.clock.set(DEC_MONDAY)
    await run_weekly_job(bot)
    [december] = amina.new_messages()
    assert "Babysang" in december.text and "Lekestue" not in december.text

    # A new year: the baby born in 2025 is two this year, a toddler, and the bigger child is
    # still a schoolchild.
    bot.clock.set(JAN_MONDAY)
    await run_weekly_job(bot)
    [january] = amina.new_messages()
    assert "Lekestue januar" in january.text and "Babysang januar" not in january.text
    assert "Sjakk januar" in january.text


async def test_a_subscription_from_before_birth_years_keeps_its_groups(bot: BotHarness):
    """Stored age groups stay until the family answers /subscribe again."""
    bot.clock.set(JAN_MONDAY - timedelta(days=7))
    await import_file(bot.db, "familie.csv", FAMILY_CSV, bot.config.timezone, bot.clock())
    kari = bot.resident("Kari", language_code="nb")
    await kari.says("/start")
    await kari.presses("Norsk")
    await activities.subscribe(bot.db, kari.id, ["0-1"], bot.clock())
    kari.new_messages()
    bot.clock.set(JAN_MONDAY)
    await run_weekly_job(bot)
    [digest] = kari.new_messages()
    assert "Babysang januar" in digest.text and "Lekestue januar" not in digest.text

    # Answering again replaces the old groups with the child's birth year.
    await kari.says("/subscribe")
    await kari.presses("2024")
    await kari.presses("💾")
    sub = await activities.subscription(bot.db, kari.id)
    assert sub is not None and sub.age_groups == frozenset() and sub.birth_years == (2024,)


async def test_no_children_and_everything_end_the_question_at_once(bot: BotHarness):
    en = Catalogs().texts("en")
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await amina.says("/subscribe")
    await amina.presses(en._("👤 No children: activities for adults"))
    assert "Adults" in amina.last.text
    sub = await activities.subscription(bot.db, amina.id)
    assert sub is not None and sub.active and sub.age_groups == frozenset({"adults"})
    # Not in the conversation any more: a message is not read as years.
    await amina.says("/subscribe")
    await amina.says("/cancel")
    sub = await activities.subscription(bot.db, amina.id)
    assert sub is not None and sub.active and sub.step is None


# --- /activities, I'm going, calendar ---
async def test_activities_shows_the_coming_week_and_going_is_stored(bot: BotHarness):
    bot.clock.set(NOV_MONDAY)
    await import_calendar(bot, datetime(2026, 10, 5, tzinfo=UTC))
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    replies = await amina.says("/activities")
    assert len(replies) == 1
    text = replies[0].text
    assert "Babytreff" in text and "Leksehjelp" in text
    assert "Tuesday, November 24" in text and "Wednesday, November 25" in text
    assert "/subscribe" in text

    await amina.presses("1: I'm going")
    assert "See you" in bot.double.answered_callbacks[-1]["text"]
    tuesday = next(
        a
        for a in await activities.series_activities(bot.db, "babytreff@stovner")
        if a.starts_at.day == 24
    )
    assert await activities.going_residents(bot.db, tuesday.id) == [amina.id]
    await amina.presses("1: I'm going")
    assert "already" in bot.double.answered_callbacks[-1]["text"]
    assert await activities.going_residents(bot.db, tuesday.id) == [amina.id]

    # A forged button for a cancelled occurrence stores nothing.
    cancelled = next(
        a for a in await activities.series_activities(bot.db, "babytreff@stovner") if a.cancelled
    )
    await amina.presses_data(amina.last, f"act:go:{cancelled.id}")
    assert await activities.going_residents(bot.db, cancelled.id) == []


async def test_menu_button_and_calendar_file_with_time_zone(bot: BotHarness):
    bot.clock.set(NOV_MONDAY)
    await import_calendar(bot, datetime(2026, 10, 5, tzinfo=UTC))
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await amina.presses("Activities")
    replies = await amina.presses("1: Add to calendar")
    [document] = [m for m in replies if m.media_kind == "document"]
    assert document.filename == "babytreff.ics"
    calendar = icalendar.Calendar.from_ical(document.data)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Oslo"]
    event = calendar.walk("VEVENT")[0]
    assert event["DTSTART"].params["TZID"] == "Europe/Oslo"
    assert event["DTSTART"].dt.hour == 10 and event["SUMMARY"] == "Babytreff"


async def test_activities_when_nothing_is_on(bot: BotHarness):
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    replies = await amina.says("/activities")
    assert "no activities" in replies[0].text


# --- organisers and staff ---
async def test_organiser_proposal_approved_by_staff_and_then_listed(bot: BotHarness):
    bot.clock.set(NOV_MONDAY)
    kari = bot.staff[0]
    fatima = bot.resident("Fatima", language_code="en")
    await fatima.says("/start")
    await fatima.presses("English")
    await fatima.says("/propose")
    assert "Only registered organisers" in fatima.last.text

    bot.double.send_text(
        kari.user, f"/organiser_add {fatima.id} Røde Kors familiesenter", chat=bot.staff_chat
    )
    await bot.settle()
    assert bot.app is not None
    t = bot.app.bot_data.staff_texts()
    added = t._("{id} is an organiser now. They can send /propose to the bot.", id=fatima.id)
    assert added in bot.staff_messages()[-1].text

    await fatima.says("/propose")
    await fatima.says("Familiekafé")
    await fatima.says("26.11 17:00")
    await fatima.says("16:00")  # before the start: asked again
    assert "after the start" in fatima.last.text
    await fatima.says("19:00")
    await fatima.says("Haugenstua samfunnshus")
    await fatima.says("Middag og lek for hele familien.")
    await fatima.says("0-1, 2-5, 6-12")
    assert "Staff will look at it" in fatima.last.text

    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await amina.says("/activities")
    assert "Familiekafé" not in amina.last.text  # not listed before approval

    proposal = bot.staff_messages()[-1]
    assert "Familiekafé" in proposal.text and "Røde Kors" in proposal.text
    # A resident cannot approve.
    await amina.presses_data(proposal, proposal.button("✅"))
    await kari.presses("✅", proposal)
    assert "Familiekafé" in fatima.last.text  # the organiser is told

    await amina.says("/activities")
    assert "Familiekafé" in amina.last.text and "Haugenstua" in amina.last.text


async def test_arabic_organiser_answers_as_the_prompts_show_with_arabic_digits_and_commas(
    bot: BotHarness,
):
    """The Arabic prompt shows "0-1، 2-5": that answer, and times typed on an Arabic keyboard
    (١٧:٠٠), are understood instead of being asked for again and again."""
    bot.clock.set(NOV_MONDAY)
    kari = bot.staff[0]
    fatima = bot.resident("Fatima", language_code="ar")
    await fatima.says("/start")
    await fatima.presses("العربية")
    bot.double.send_text(kari.user, f"/organiser_add {fatima.id} Røde Kors", chat=bot.staff_chat)
    await bot.settle()

    await fatima.says("/propose")
    await fatima.says("مقهى العائلة")
    await fatima.says("٢٦.١١ ١٧:٠٠")
    assert "متى ينتهي" in fatima.last.text  # the start was understood
    await fatima.says("۱۹:۳۰")  # Extended Arabic-Indic digits, as Urdu and Dari keyboards type
    await fatima.says("هاوغنستوا")
    await fatima.says("-")
    assert "0-1، 2-5" in fatima.last.text  # the prompt itself shows the Arabic comma
    await fatima.says("0-1، 2-5؛ ١٣-١٨")
    assert "سيراجعه الموظفون" in fatima.last.text  # received, not asked again

    proposal = bot.staff_messages()[-1]
    assert "مقهى العائلة" in proposal.text
    await kari.presses("✅", proposal)
    [stored] = await activities.listed_between(bot.db, NOV_MONDAY, NOV_MONDAY + timedelta(days=7))
    assert stored.age_groups == frozenset({"0-1", "2-5", "13-18"})
    assert stored.starts_at == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    assert stored.ends_at == datetime(2026, 11, 26, 18, 30, tzinfo=UTC)


@pytest.mark.parametrize("language", list(SUPPORTED_LANGUAGES))
def test_the_age_example_in_every_language_is_accepted(language: str):
    """Whatever separator a translation puts between the example ages, the parser takes it."""
    t = Catalogs().texts(language)
    for prompt in (
        "Who is it for? Write one or more of: 0-1, 2-5, 6-12, 13-18, adults, or all.",
        "Write the ages like this: 0-1, 2-5 (or all).",
    ):
        example = re.search(r"0-1\W+2-5", t._(prompt))
        assert example, f"{language}: the example is missing from {t._(prompt)!r}"
        assert parse_age_groups(example.group(0)) == {"0-1", "2-5"}


async def test_staff_add_and_cancel_an_activity(bot: BotHarness):
    bot.clock.set(NOV_MONDAY)
    ola = bot.staff[1]
    for text in (
        "/activity_add",
        "Strikkekafé",
        "27.11 12:00",
        "14:00",
        "Stovner senter",
        "adults",
        "-",  # no limit on places
    ):
        bot.double.send_text(ola.user, text, chat=bot.staff_chat)
        await bot.settle()
    assert "Strikkekafé" in bot.staff_messages()[-1].text
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await amina.says("/activities")
    assert "Strikkekafé" in amina.last.text

    bot.double.send_text(ola.user, "/activity_cancel", chat=bot.staff_chat)
    await bot.settle()
    picker = bot.staff_messages()[-1]
    await ola.presses("Strikkekafé", picker)
    await amina.says("/activities")
    assert "no activities" in amina.last.text


async def test_staff_preview_of_the_digest_in_arabic(bot: BotHarness):
    bot.clock.set(NOV_MONDAY)
    await import_calendar(bot, datetime(2026, 10, 5, tzinfo=UTC))
    kari = bot.staff[0]
    bot.double.send_text(kari.user, "/digest ar", chat=bot.staff_chat)
    await bot.settle()
    preview = bot.staff_messages()[-1].text
    assert "لقاء الأطفال الرضع" in preview and "Leksehjelp" in preview


async def test_resident_cannot_use_staff_tools(bot: BotHarness):
    amina = bot.resident("Amina", language_code="en")
    replies = await amina.says("/digest")
    assert "only for staff" in replies[0].text


@pytest.mark.parametrize("language", ["nb", "ar"])
async def test_digest_send_function_with_the_delivery_bot(bot: BotHarness, language: str):
    """The job's code path without the JobQueue: a second call in the week sends nothing."""
    from bot.activities.digest import send_digest

    await import_calendar(bot, datetime(2026, 10, 5, tzinfo=UTC))
    from storage import residents

    await residents.touch(bot.db, bot.double.add_user("X").id, language, None, NOV_MONDAY)
    user_id = max(bot.double.users)
    await activities.subscribe(bot.db, user_id, ["all"], NOV_MONDAY)
    assert bot.app is not None
    async with delivery_bot(bot.config) as tg:
        _, first = await send_digest(tg, bot.db, bot.app.bot_data.catalogs, bot.config, NOV_MONDAY)
        _, second = await send_digest(
            tg, bot.db, bot.app.bot_data.catalogs, bot.config, NOV_MONDAY + timedelta(hours=2)
        )
    assert (first.sent, second.total) == (1, 0)


def test_weekly_job_is_scheduled_on_the_configured_weekday():
    """PTB counts Sunday as 0: Monday in BOT_DIGEST_AT must still mean Monday."""
    from bot.app import build_application
    from bot.config import Config

    for weekday, name in ((0, "mon"), (6, "sun")):
        app = build_application(Config(token="1:x", digest_weekday=weekday))
        assert app.job_queue is not None
        [job] = app.job_queue.get_jobs_by_name("weekly-digest")
        assert job.callback is weekly_digest
        trigger = str(job.job.trigger)
        assert f"day_of_week='{name}'" in trigger and "hour='9'" in trigger


async def test_public_channel_gets_the_full_list(bot: BotHarness):
    """BOT_CHANNEL_ID: the whole week, every age group, in the default language, no buttons."""
    import dataclasses

    from bot.activities.digest import send_digest

    channel = bot.double.add_channel("Aktiviteter i bydelen")
    await import_calendar(bot, datetime(2026, 10, 5, tzinfo=UTC))
    config = dataclasses.replace(bot.config, channel_id=channel.id)
    assert bot.app is not None
    async with delivery_bot(config) as tg:
        await send_digest(tg, bot.db, bot.app.bot_data.catalogs, config, NOV_MONDAY)
    posts = bot.double.messages_to(channel)
    assert posts, "the channel got the list"
    text = "\n".join(post.text for post in posts)
    assert "Babytreff" in text and "Leksehjelp" in text  # babies and schoolchildren alike
    assert "mandag" in text or "tirsdag" in text  # Norwegian dates
    assert all(not post.buttons for post in posts)
    # Under the list: the link to the bot, which shows the list in the reader's own language.
    link = f"https://t.me/{tg.username}?start=digest"
    assert any(f'<a href="{link}">' in (post.html or "") for post in posts)

    bot.clock.set(NOV_MONDAY)
    layla = bot.resident("Layla", language_code="ar")
    await layla.says("/start")
    await layla.presses("العربية")
    [listed] = await layla.says("/start digest")
    assert "لقاء الأطفال الرضع" in listed.text  # the baby meetup's Arabic title


# --- hostile and broken files ---
def _ics(*lines: str, uid: str = "x@stovner") -> bytes:
    body = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//test//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "SUMMARY:Leksehjelp",
        "DTSTART;TZID=Europe/Oslo:20261201T170000",
        *lines,
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(body) + "\r\n").encode()


def _hours_from_2027(count: int) -> list[str]:
    first = datetime(2027, 1, 1, 17, 0)
    return [(first + timedelta(hours=n)).strftime("%Y%m%dT%H%M%S") for n in range(count)]


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["RRULE:FREQ=DAILY;INTERVAL=0"], "INTERVAL must be between 1 and"),
        (["RRULE:FREQ=MINUTELY"], "daily, weekly, monthly or yearly"),
        (["RRULE:FREQ=SECONDLY;COUNT=100000000"], "daily, weekly, monthly or yearly"),
        (["RRULE:FREQ=DAILY;BYHOUR=1,2,3,4;BYMINUTE=0,30"], "one BYHOUR only"),
        (["RDATE:" + ",".join(_hours_from_2027(5000))], "more than 1000 dates in RDATE"),
        (["RDATE:2027010"], "the RDATE is not valid"),
        (["DURATION:PT1H", "DURATION:PT2H"], "more than one DURATION"),
        (["DURATION:P99999999W"], "DURATION must be between 0 and 31 days"),
        (["DURATION:P999999999999D"], "the DURATION is not valid"),
    ],
)
async def test_hostile_calendar_entries_get_a_clear_problem_not_a_freeze(
    bot: BotHarness, lines: list[str], problem: str
):
    summary = await import_file(bot.db, "k.ics", _ics(*lines), bot.config.timezone, bot.clock())
    assert summary.series == 0 and summary.added == 0
    [(line, found)] = summary.errors
    assert line == 4 and problem in str(found)


async def test_long_repeat_rules_are_bounded_and_still_imported(bot: BotHarness):
    # A huge COUNT or a far UNTIL is fine: only the coming months are expanded.
    for number, rule in enumerate(["FREQ=DAILY;COUNT=100000000", "FREQ=WEEKLY;UNTIL=99991231"]):
        data = _ics(f"RRULE:{rule}", "DTEND;TZID=Europe/Oslo:20261201T180000", uid=f"u{number}")
        summary = await import_file(bot.db, "k.ics", data, bot.config.timezone, bot.clock())
        assert summary.errors == [] and 0 < summary.added <= 200


def test_expansion_is_bounded_in_count_even_for_a_stored_rule():
    """A series stored before the checks existed (MINUTELY) cannot freeze the weekly job."""
    from bot.activities.importer import RowError, expand

    ical = _ics("RRULE:FREQ=MINUTELY").decode()
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(RowError, match="more than 1000 dates"):
        expand(ical, UTC, start, start + timedelta(days=180))


async def test_a_stored_unbounded_rule_does_not_stop_the_weekly_extension(bot: BotHarness):
    """A series stored before the bounds existed (MINUTELY) is skipped; the others go on."""
    from bot.activities.importer import extend_recurring

    now = bot.clock()
    await activities.save_series(
        bot.db, "old@stovner", "ics", [], now, ical=_ics("RRULE:FREQ=MINUTELY").decode()
    )
    weekly = _ics("RRULE:FREQ=WEEKLY", "DTEND;TZID=Europe/Oslo:20261201T180000", uid="good")
    summary = await import_file(bot.db, "k.ics", weekly, bot.config.timezone, now)
    assert summary.errors == []
    before = len(await activities.series_activities(bot.db, "good"))
    # Months later the weekly job expands the good series further, past the bad one.
    added = await extend_recurring(bot.db, bot.config.timezone, now + timedelta(days=60))
    assert added > 0
    assert len(await activities.series_activities(bot.db, "good")) == before + added
    assert await activities.series_activities(bot.db, "old@stovner") == []


async def test_broken_csv_files_get_clear_problems(bot: BotHarness):
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    # Excel's "Unicode text": UTF-16 with a BOM, tab-separated.
    utf16 = "title\tstart\nLeksehjelp\t2026-12-01 17:00\n".encode("utf-16")
    summary = await import_file(bot.db, "a.csv", utf16, bot.config.timezone, now)
    assert summary.errors == [] and summary.added == 1
    # A field longer than the csv module reads: the rows before it are kept, its line named.
    huge = ("title,start\nA,2026-12-02 17:00\n" + "x" * 131_100 + ",2026-12-03 17:00\n").encode()
    summary = await import_file(bot.db, "b.csv", huge, bot.config.timezone, now)
    assert summary.added == 1
    [(line, problem)] = summary.errors
    assert line == 3 and "cannot be read from here" in str(problem)


async def test_a_hostile_file_in_the_staff_chat_gets_an_answer_and_the_bot_goes_on(
    bot: BotHarness,
):
    kari = bot.staff[0]
    data = _ics("RRULE:FREQ=DAILY;INTERVAL=0")
    bot.double.send_document(kari.user, data, "kalender.ics", "text/calendar", chat=bot.staff_chat)
    await bot.settle()
    report = bot.staff_messages()[-1].text or ""
    nb = bot.app.bot_data.catalogs.texts("nb")  # type: ignore[union-attr]
    assert nb._("Line {line}: {problem}", line=4, problem="") in report
    assert nb._("the repeat rule's INTERVAL must be between 1 and {most}", most=1000) in report
    amina = bot.resident("Amina", language_code="en")
    assert await amina.says("/start")  # still answering


async def test_a_resumed_digest_waits_for_another_run_and_then_finishes(bot: BotHarness):
    """Resuming meets another run's delivery lock (an operator's `digest send`, or a dead
    instance's run on another machine until its lock goes stale): it looks again later, and
    then sends what is still pending, once."""
    from bot.activities import RESUME_JOB, resume_deliveries
    from bot.activities.digest import prepare_edition
    from storage import residents

    await import_calendar(bot, datetime(2026, 10, 5, tzinfo=UTC))
    reader = bot.resident("Reader")
    await residents.touch(bot.db, reader.id, "nb", None, NOV_MONDAY)
    await activities.subscribe(bot.db, reader.id, ["all"], NOV_MONDAY)
    assert bot.app is not None and bot.app.job_queue is not None
    await prepare_edition(bot.db, bot.app.bot_data.catalogs, bot.config, NOV_MONDAY)
    other_run = "elsewhere.example:4242:feedbeef"  # another machine, renewing its lock
    assert await outbox.acquire_lock(bot.db, other_run)

    bot.app.job_queue.run_once(resume_deliveries, when=0, name=RESUME_JOB)
    await bot.settle()
    assert reader.received == []
    [again] = bot.app.job_queue.get_jobs_by_name(RESUME_JOB + "-again")

    await outbox.release_lock(bot.db, other_run)
    await again.run(bot.app)
    await bot.settle()
    assert len(reader.received) == 1
    await again.run(bot.app)  # nothing is pending any more: nothing is sent again
    await bot.settle()
    assert len(reader.received) == 1
