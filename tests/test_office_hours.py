"""Office hours, waiting times and case statistics: the plain rules behind the handover."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config, ConfigError
from bot.handover.office_hours import OfficeHours
from bot.handover.resident import closed_notice
from bot.handover.staff_side import format_duration, period_stats
from bot.i18n import Catalogs
from storage.cases import Case, CaseStatus

OSLO = ZoneInfo("Europe/Oslo")
HOURS = OfficeHours.parse("mon-fri 09:00-15:30", OSLO)


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (oslo(2026, 11, 25, 9, 0), True),  # Wednesday opening
        (oslo(2026, 11, 25, 15, 29), True),
        (oslo(2026, 11, 25, 15, 30), False),  # closing time
        (oslo(2026, 11, 25, 8, 59), False),
        (oslo(2026, 11, 28, 12, 0), False),  # Saturday
        (oslo(2027, 5, 17, 11, 0), False),  # Constitution Day, a Monday
        (oslo(2026, 12, 25, 10, 0), False),  # Christmas Day, a Friday
        (oslo(2026, 4, 2, 10, 0), False),  # Maundy Thursday
    ],
)
def test_open_or_closed(moment: datetime, is_open: bool):
    assert HOURS.is_open(moment) is is_open


def test_next_opening_skips_weekends_and_holidays():
    assert HOURS.next_opening(oslo(2026, 11, 28, 12, 0)) == oslo(2026, 11, 30, 9, 0)
    assert HOURS.next_opening(oslo(2027, 5, 17, 11, 0)) == oslo(2027, 5, 18, 9, 0)
    # Easter 2026: Thursday 2 April to Monday 6 April are closed.
    assert HOURS.next_opening(oslo(2026, 4, 1, 16, 0)) == oslo(2026, 4, 7, 9, 0)
    assert HOURS.next_opening(oslo(2026, 11, 25, 7, 0)) == oslo(2026, 11, 25, 9, 0)
    now = oslo(2026, 11, 25, 10, 0)
    assert HOURS.next_opening(now) == now


def test_office_time_counts_only_opening_hours():
    friday_afternoon = oslo(2026, 11, 27, 15, 0)
    monday_morning = oslo(2026, 11, 30, 10, 0)
    assert HOURS.office_time_between(friday_afternoon, monday_morning) == timedelta(minutes=90)
    assert HOURS.office_time_between(monday_morning, friday_afternoon) == timedelta(0)
    # Across daylight saving time (29 March 2026) an office day is still 6.5 hours.
    assert HOURS.office_time_between(oslo(2026, 3, 27, 9, 0), oslo(2026, 3, 31, 9, 0)) == (
        timedelta(hours=13)
    )


def test_several_spans_and_a_lunch_break():
    hours = OfficeHours.parse("mon-thu 09:00-11:30 12:00-15:30; fri 09:00-14:00", OSLO)
    assert not hours.is_open(oslo(2026, 11, 25, 11, 45))
    assert hours.next_opening(oslo(2026, 11, 25, 11, 45)) == oslo(2026, 11, 25, 12, 0)
    assert not hours.is_open(oslo(2026, 11, 27, 14, 30))
    assert OfficeHours.parse("mon,wed 10:00-12:00", OSLO).is_open(oslo(2026, 11, 25, 11, 0))


@pytest.mark.parametrize(
    "spec",
    ["", "mon-fri", "mon-fri 9-15", "fri-mon 09:00-15:00", "mon 15:00-09:00", "xyz 09:00-10:00"],
)
def test_bad_office_hours_are_a_config_error(spec: str):
    env = {"BOT_TOKEN": "1:a", "BOT_OFFICE_HOURS": spec or " ; "}
    with pytest.raises(ConfigError, match="BOT_OFFICE_HOURS"):
        Config.from_env(env)


def test_handover_settings_from_the_environment():
    config = Config.from_env(
        {
            "BOT_TOKEN": "1:a",
            "BOT_OFFICE_HOURS": "mon-fri 08:00-16:00",
            "BOT_TIMEZONE": "Europe/Warsaw",
            "BOT_REMINDER_AFTER_MINUTES": "45",
            "BOT_SIGN_STAFF_REPLIES": "yes",
        }
    )
    assert config.hours.is_open(datetime(2026, 11, 25, 7, 30, tzinfo=UTC))  # 08:30 in Warsaw
    assert config.hours.timezone.key == "Europe/Warsaw"
    assert config.reminder_after == timedelta(minutes=45)
    assert config.sign_staff_replies is True
    defaults = Config.from_env({"BOT_TOKEN": "1:a"})
    assert defaults.reminder_after == timedelta(hours=2) and not defaults.sign_staff_replies
    with pytest.raises(ConfigError, match="BOT_SIGN_STAFF_REPLIES"):
        Config.from_env({"BOT_TOKEN": "1:a", "BOT_SIGN_STAFF_REPLIES": "maybe"})
    with pytest.raises(ConfigError, match="BOT_REMINDER_AFTER_MINUTES"):
        Config.from_env({"BOT_TOKEN": "1:a", "BOT_REMINDER_AFTER_MINUTES": "0"})


def test_closed_notice_in_every_language():
    catalogs = Catalogs()
    saturday = oslo(2026, 11, 28, 12, 0)
    opening = HOURS.next_opening(saturday)
    expected = {
        "nb": "mandag 30. november",
        "en": "Monday, November 30",
        "pl": "poniedziałek, 30 listopada",
        "so": "Isniin",
        "ar": "الاثنين",
        "ur": "پیر",
    }
    for language, day in expected.items():
        text = closed_notice(catalogs.texts(language), opening, saturday, OSLO)
        assert day in text, language
    friday_evening = oslo(2026, 11, 27, 18, 0)
    nb = catalogs.texts("nb")
    assert "mandag" in closed_notice(nb, HOURS.next_opening(friday_evening), friday_evening, OSLO)
    early = oslo(2026, 11, 25, 7, 0)
    assert "i dag fra 09:00" in closed_notice(nb, HOURS.next_opening(early), early, OSLO)


def _case(**changes) -> Case:
    base = Case(
        id=1,
        resident_id=1,
        language="nb",
        anonymous=True,
        status=CaseStatus.CLOSED,
        opened_at=oslo(2026, 11, 20, 9, 0),
        topic_id=5,
        first_message_at=oslo(2026, 11, 20, 9, 0),
        waiting_since=None,
        reminded_at=None,
        first_staff_reply_at=None,
        assigned_to=None,
        assigned_name=None,
        closed_notice_for=None,
        closed_at=None,
        closed_by=None,
        rating=None,
    )
    return replace(base, **changes)


def test_period_stats_median_and_ratings():
    now = oslo(2026, 11, 25, 12, 0)
    start = oslo(2026, 11, 24, 9, 0)
    all_cases = [
        _case(first_message_at=start, first_staff_reply_at=start + timedelta(minutes=10)),
        _case(first_message_at=start, first_staff_reply_at=start + timedelta(minutes=30)),
        _case(first_message_at=start, first_staff_reply_at=start + timedelta(hours=5)),
        _case(first_message_at=start, closed_at=now, rating=5),
        _case(first_message_at=oslo(2026, 11, 1, 9, 0), closed_at=now, rating=2),
        _case(first_message_at=oslo(2026, 11, 1, 9, 0), status=CaseStatus.CANCELLED),
    ]
    week = period_stats(all_cases, now, 7)
    assert (week.opened, week.closed) == (4, 2)
    assert week.median_first_reply == timedelta(minutes=30)
    assert week.ratings == (5, 2) and week.average_rating == 3.5
    month = period_stats(all_cases, now, 30)
    assert month.opened == 6


def test_durations_read_naturally():
    nb = Catalogs().texts("nb")
    assert format_duration(nb, timedelta(minutes=5)) == "5 min"
    assert format_duration(nb, timedelta(hours=2, minutes=10)) == "2 t 10 min"
    assert format_duration(nb, timedelta(days=1, hours=3)) == "1 d 3 t"
