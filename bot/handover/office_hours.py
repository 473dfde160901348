"""When staff are at work: weekly opening hours, closed on public holidays.

Plain functions without Telegram, so the rules ("is it open now?", "when do we open next?",
"how much office time has this resident waited?") are tested directly. Written as
`mon-fri 09:00-15:30`; several parts separated by `;` (`mon-thu 09:00-15:30; fri 09:00-14:00`),
a lunch break as two spans (`mon-fri 09:00-11:30 12:00-15:30`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_OFFICE_HOURS = "mon-fri 09:00-15:30"
_SPAN_RE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
#: Looking further ahead than this for an opening means the hours are effectively never open.
_HORIZON_DAYS = 400


@cache
def _public_holidays(country: str) -> holidays.HolidayBase:
    # The object fills in further years on demand when a date is looked up.
    return holidays.country_holidays(country)


@dataclass(frozen=True)
class OfficeHours:
    """Opening spans per weekday (0 = Monday) in a time zone, closed on public holidays."""

    spans: tuple[tuple[int, time, time], ...]
    timezone: ZoneInfo
    holiday_country: str = "NO"

    @classmethod
    def parse(cls, spec: str, timezone: ZoneInfo, holiday_country: str = "NO") -> OfficeHours:
        """Read `mon-fri 09:00-15:30`; raise ValueError with a message an operator understands."""
        spans: list[tuple[int, time, time]] = []
        for part in filter(None, (p.strip() for p in spec.lower().split(";"))):
            words = part.split()
            if len(words) < 2:
                raise ValueError(f"{part!r} needs days and times, like 'mon-fri 09:00-15:30'")
            days = _parse_days(words[0])
            for word in words[1:]:
                start, end = _parse_span(word)
                spans.extend((day, start, end) for day in days)
        if not spans:
            raise ValueError(
                "no opening hours given, expected something like 'mon-fri 09:00-15:30'"
            )
        return cls(tuple(sorted(spans)), timezone, holiday_country)

    def is_holiday(self, day: date) -> bool:
        return day in _public_holidays(self.holiday_country)

    def _day_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if self.is_holiday(day):
            return []
        return [
            (
                datetime.combine(day, start, tzinfo=self.timezone),
                datetime.combine(day, end, tzinfo=self.timezone),
            )
            for weekday, start, end in self.spans
            if weekday == day.weekday()
        ]

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.timezone)
        return any(start <= local < end for start, end in self._day_spans(local.date()))

    def next_opening(self, moment: datetime) -> datetime | None:
        """The first moment at or after `moment` when the office is open (None: never)."""
        local = moment.astimezone(self.timezone)
        for offset in range(_HORIZON_DAYS):
            for start, end in self._day_spans(local.date() + timedelta(days=offset)):
                if end > local:
                    return max(start, local)
        return None

    def office_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How much of the time from `start` to `end` fell within opening hours."""
        if end <= start:
            return timedelta(0)
        first = start.astimezone(self.timezone).date()
        last = end.astimezone(self.timezone).date()
        total = timedelta(0)
        day = first
        while day <= last:
            for open_at, close_at in self._day_spans(day):
                overlap = min(end, close_at) - max(start, open_at)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total


def _parse_days(word: str) -> list[int]:
    result: list[int] = []
    for item in word.split(","):
        first, _, last = item.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{item!r} is not a day or range of days (mon, tue, ... sun)")
        start, stop = DAYS.index(first), DAYS.index(last or first)
        if stop < start:
            raise ValueError(f"{item!r}: the range must go forward, like mon-fri")
        result.extend(range(start, stop + 1))
    return result


def _parse_span(word: str) -> tuple[time, time]:
    match = _SPAN_RE.match(word)
    if not match:
        raise ValueError(f"{word!r} is not a time span like 09:00-15:30")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError:
        raise ValueError(f"{word!r} is not a valid time span") from None
    if end <= start:
        raise ValueError(f"{word!r}: the end must be after the start")
    return start, end
