"""Reading activities from iCalendar (.ics) and CSV files, and storing them.

Every source becomes iCalendar events first (a CSV row, a staff form and an organiser's
proposal too), so recurrence, time zones and cancellations work one way for all of them:
`recurring-ical-events` expands the rules, and the series' event text is stored so that a
rule without an end keeps being expanded as the weeks go by.

iCalendar: one series per UID; RRULE/EXDATE/RDATE, overridden occurrences (RECURRENCE-ID),
`STATUS:CANCELLED` on a series or an occurrence, and `METHOD:CANCEL` files are understood.
Fields beyond the standard ones are `X-AGE-GROUPS`, `X-LANGUAGES`, `X-PRICE`, `X-CAPACITY` (how
many places; none means no limit) and per-language
`X-TITLE-AR`, `X-DESCRIPTION-AR` (and so on). CSV columns are listed in `CSV_COLUMNS` and in
docs/activities-template.csv.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import html
import io
import logging
import re
import time as clock
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from bot.i18n import N_, SUPPORTED_LANGUAGES, Texts, ascii_digits
from storage import activities
from storage.activities import AGE_GROUPS, ImportCounts, Occurrence
from storage.db import Database, DatabaseErrors

log = logging.getLogger(__name__)

#: How far ahead recurring series are expanded (the weekly job expands further as time goes).
HORIZON = timedelta(days=180)
SINGLE_HORIZON = timedelta(days=3 * 365)
#: Past occurrences are left alone by an import.
PAST_MARGIN = timedelta(days=1)
DEFAULT_DURATION = timedelta(hours=1)
#: Bounds that keep a hostile or mistaken repeat rule from freezing the bot: an activity repeats
#: at most daily; a series has at most this many dates in the horizon (daily for half a year is
#: 181), at most this many RDATE/EXDATE values, and its expansion gets this much time.
ALLOWED_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
MAX_INTERVAL = 1000
MAX_OCCURRENCES = 1000
MAX_LISTED_DATES = 1000
EXPANSION_SECONDS = 2.0
#: The longest an activity may last (a summer camp, not a year).
MAX_DURATION = timedelta(days=31)

CSV_COLUMNS = (
    "uid",
    "title",
    "start",
    "end",
    "place",
    "description",
    "organiser",
    "category",
    "age_groups",
    "languages",
    "price",
    "capacity",
    "repeat",
    "cancelled",
)
# Column names are read in lower case (`title_ar`, `title_fa_af` for Dari's `title_fa_AF`).
TRANSLATED_COLUMNS = tuple(
    f"{name}_{language.lower()}"
    for language in SUPPORTED_LANGUAGES
    for name in ("title", "description")
)


def _ical_code(language: str) -> str:
    """A language code as iCalendar property names allow it: `X-TITLE-FA-AF` for Dari."""
    return language.upper().replace("_", "-")


_YES = {"yes", "ja", "true", "1", "x", "cancelled", "avlyst"}
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M")
_AGE_ALIASES = {"0-1": "0-1", "2-5": "2-5", "6-12": "6-12", "13-18": "13-18", "adults": "adults"}
_AGE_ALIASES.update({"voksne": "adults", "adult": "adults"})


@dataclass(frozen=True)
class Problem:
    """A problem in an imported file, worded for the staff member who made it: a catalog
    message (`N_`) and its values, shown in the staff's language (`text`) or, on the command
    line, in English (`str`)."""

    message: str
    values: tuple[tuple[str, object], ...] = ()
    #: The series (UID) it is about, when no line can be named.
    uid: str | None = None

    def __str__(self) -> str:
        text = self.message.format(**dict(self.values))
        return f"{self.uid}: {text}" if self.uid else text

    def text(self, t: Texts) -> str:
        """HTML in the language of `t` (values escaped)."""
        text = t._(self.message, **dict(self.values))
        return f"{html.escape(self.uid, quote=False)}: {text}" if self.uid else text


def problem(message: str, **values: object) -> Problem:
    return Problem(message, tuple(values.items()))


class RowError(ValueError):
    """A problem with one row or event (see `Problem`)."""

    def __init__(self, message: str, **values: object) -> None:
        self.problem = problem(message, **values)
        super().__init__(str(self.problem))


@dataclass
class SeriesData:
    """One series ready to store: its events (master and overrides) and where it came from."""

    uid: str
    source: str
    events: list[icalendar.Event]
    timezones: list[icalendar.Timezone] = field(default_factory=list)
    cancelled: bool = False
    #: `METHOD:CANCEL`: only the listed occurrences (or the whole series) are called off.
    cancel_only: bool = False


@dataclass
class ParseResult:
    series: list[SeriesData] = field(default_factory=list)
    #: (line number, problem)
    errors: list[tuple[int, Problem]] = field(default_factory=list)


@dataclass
class ImportSummary:
    series: int = 0
    added: int = 0
    updated: int = 0
    cancelled: int = 0
    errors: list[tuple[int, Problem]] = field(default_factory=list)


def is_calendar_file(filename: str) -> bool:
    return filename.lower().endswith((".ics", ".ical", ".ifb"))


def is_csv_file(filename: str) -> bool:
    return filename.lower().endswith((".csv", ".txt"))


# --- iCalendar ---
def _events(calendar: icalendar.Component) -> list[icalendar.Event]:
    """The calendar's events (the parser makes every VEVENT an `icalendar.Event`)."""
    return [c for c in calendar.walk("VEVENT") if isinstance(c, icalendar.Event)]


def _timezones(calendar: icalendar.Component) -> list[icalendar.Timezone]:
    return [c for c in calendar.walk("VTIMEZONE") if isinstance(c, icalendar.Timezone)]


def _value(event: icalendar.Event, name: str) -> object:
    """The Python value of a date, date-time or duration property (its `.dt`), None if absent.

    icalendar types a property as the union of every value type, so the caller checks
    which one it got."""
    prop = event.get(name)
    return None if prop is None else getattr(prop, "dt", None)


def parse_ics(data: bytes) -> ParseResult:
    """Group a calendar's events by UID; events without UID, start or title are reported."""
    result = ParseResult()
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, TypeError, IndexError, KeyError, RecursionError) as error:
        reason = str(error)[:200]
        result.errors.append(
            (1, problem(N_("not a readable calendar file ({reason})"), reason=reason))
        )
        return result
    text = data.decode("utf-8", errors="replace")
    begin_lines = [n for n, line in enumerate(text.splitlines(), 1) if line == "BEGIN:VEVENT"]
    cancel_method = str(calendar.get("METHOD", "")).upper() == "CANCEL"
    timezones = _timezones(calendar)
    by_uid: dict[str, list[icalendar.Event]] = {}
    for index, event in enumerate(_events(calendar)):
        line = begin_lines[index] if index < len(begin_lines) else 0
        uid = str(event.get("UID", "")).strip()
        if not uid:
            result.errors.append((line, problem(N_("the event has no UID"))))
            continue
        if event.get("DTSTART") is None:
            result.errors.append((line, problem(N_("the event has no start (DTSTART)"))))
            continue
        if not str(event.get("SUMMARY", "")).strip() and not cancel_method:
            result.errors.append((line, problem(N_("the event has no title (SUMMARY)"))))
            continue
        try:
            parse_age_groups(str(event.get("X-AGE-GROUPS", "")))
            check_event(event)
            parse_capacity(str(event.get("X-CAPACITY", "")))
        except RowError as error:
            result.errors.append((line, error.problem))
            continue
        by_uid.setdefault(uid, []).append(event)
    for uid, events in by_uid.items():
        master = next((e for e in events if e.get("RECURRENCE-ID") is None), None)
        cancelled = master is not None and str(master.get("STATUS", "")).upper() == "CANCELLED"
        result.series.append(
            SeriesData(uid, "ics", events, timezones, cancelled, cancel_only=cancel_method)
        )
    return result


#: What may stand between age groups: commas and semicolons in Latin, Arabic (، ؛) and CJK (、)
#: script, slashes and spaces. Arabic and Urdu keyboards type "0-1، 2-5", as the prompt shows.
_AGE_SEPARATORS = re.compile(r"[\s,;/،؛、]+")
#: Hyphens and dashes people type for a range ("0–1", "0‐1", "0−1").
_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")


def check_event(event: icalendar.Event) -> None:
    """Refuse what would crash or freeze the expansion: doubled or impossible times and
    durations, repeat rules more often than daily or with a zero interval, endless date lists.
    (A rule without an end is fine: only the coming months are expanded.) Raises RowError."""
    for name in ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID"):
        value = event.get(name)
        if value is None:
            continue
        if isinstance(value, list):
            raise RowError(N_("the event has more than one {field}"), field=name)
        try:
            moment = value.dt
        except Exception:  # icalendar raises several kinds for a broken value
            raise RowError(N_("the {field} is not valid"), field=name) from None
        if name == "DURATION" and (
            not isinstance(moment, timedelta) or not timedelta(0) <= moment <= MAX_DURATION
        ):
            raise RowError(
                N_("the DURATION must be between 0 and {days} days"), days=MAX_DURATION.days
            )
    if event.get("DTEND") is not None and event.get("DURATION") is not None:
        raise RowError(N_("the event has both DTEND and DURATION"))
    for rule in _as_list(event.get("RRULE")):
        check_rule(rule)
    for name in ("RDATE", "EXDATE"):
        try:
            count = sum(len(getattr(value, "dts", [value])) for value in _as_list(event.get(name)))
        except Exception:  # a broken date list
            raise RowError(N_("the {field} is not valid"), field=name) from None
        if count > MAX_LISTED_DATES:
            raise RowError(
                N_("the event lists more than {count} dates in {field}"),
                count=MAX_LISTED_DATES,
                field=name,
            )


def check_rule(rule: icalendar.vRecur) -> None:
    """A repeat rule an activity can have: at most daily, a sane interval, one time a day."""
    frequency = str((rule.get("FREQ") or [""])[0]).upper()
    if frequency not in ALLOWED_FREQUENCIES:
        raise RowError(
            N_(
                "the repeat rule must repeat daily, weekly, monthly or yearly (FREQ=WEEKLY),"
                " not {frequency}"
            ),
            frequency=frequency or "-",
        )
    for interval in rule.get("INTERVAL") or [1]:
        if not isinstance(interval, int) or not 1 <= interval <= MAX_INTERVAL:
            raise RowError(
                N_("the repeat rule's INTERVAL must be between 1 and {most}"), most=MAX_INTERVAL
            )
    for part in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        if len(rule.get(part) or []) > 1:
            raise RowError(
                N_("the repeat rule may give one {field} only (one time a day)"), field=part
            )


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parse_age_groups(value: str) -> frozenset[str]:
    """Age groups from a cell, an X-AGE-GROUPS field or an organiser's answer.

    Lenient where the intent is clear: any script's digits, any dash, Arabic commas.
    """
    groups = set()
    normalized = _DASHES.sub("-", ascii_digits(value)).strip().lower()
    for part in _AGE_SEPARATORS.split(normalized):
        if not part:
            continue
        if part in ("all", "alle"):
            return frozenset()
        if part not in _AGE_ALIASES:
            raise RowError(
                N_('unknown age group "{group}" (use {groups} or "all")'),
                group=part,
                groups=", ".join(AGE_GROUPS),
            )
        groups.add(_AGE_ALIASES[part])
    return frozenset(groups)


def parse_capacity(value: str) -> int | None:
    """How many places: a whole number above 0 (any script's digits); empty or "-" for no
    limit."""
    text = ascii_digits(value).strip()
    if text in ("", "-"):
        return None
    if not text.isdigit() or int(text) < 1:
        raise RowError(N_('the capacity "{value}" is not a number of places like 12'), value=value)
    return int(text)


# --- CSV ---
def parse_csv(data: bytes, tz: tzinfo) -> ParseResult:
    """One series per row. Bad rows are reported with their line number; good rows stay."""
    result = ParseResult()
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = {(name or "").strip().lower() for name in reader.fieldnames or []}
    missing = {"title", "start"} - columns
    if missing:
        columns_missing = ", ".join(sorted(missing))
        result.errors.append(
            (1, problem(N_("missing column(s): {columns}"), columns=columns_missing))
        )
        return result
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as error:  # e.g. a field longer than the csv module takes (128 KB)
            line = reader.line_num + 1  # the line that failed was not counted yet
            result.errors.append(
                (line, problem(N_("the file cannot be read from here ({reason})"), reason=error))
            )
            break
        line = reader.line_num
        cleaned = {
            (key or "").strip().lower(): (value or "").strip()
            for key, value in row.items()
            if isinstance(key, str)
        }
        if not any(cleaned.values()):
            continue
        try:
            result.series.append(_series_from_csv(cleaned, tz))
        except RowError as error:
            result.errors.append((line, error.problem))
    return result


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (what Excel's "Unicode text" writes), or cp1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    head = data[:200]
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4:
        return data.decode("utf-16-le", errors="replace")  # UTF-16 without a BOM
    if len(head) >= 4 and head[0::2].count(0) > len(head) // 4:
        return data.decode("utf-16-be", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # a spreadsheet saved on Windows


def _series_from_csv(row: dict[str, str], tz: tzinfo) -> SeriesData:
    title = row.get("title", "")
    if not title:
        raise RowError(N_("the title is empty"))
    start = parse_local_datetime(row.get("start", ""), tz, "start")
    end_text = row.get("end", "")
    if not end_text:
        end = start + DEFAULT_DURATION
    elif re.fullmatch(r"\d{1,2}[:.]\d{2}", end_text):
        hour, minute = (int(x) for x in re.split(r"[:.]", end_text))
        end = datetime.combine(start.date(), time(hour, minute), tzinfo=tz)
    else:
        end = parse_local_datetime(end_text, tz, "end")
    if end <= start:
        raise RowError(N_("the end is not after the start"))
    groups = parse_age_groups(row.get("age_groups", ""))
    languages = [code.strip().lower() for code in row.get("languages", "").split(",")]
    event = make_event(
        uid=row.get("uid") or _content_uid(title, start),
        title=title,
        start=start,
        end=end,
        place=row.get("place", ""),
        description=row.get("description", ""),
        organiser=row.get("organiser", ""),
        category=row.get("category", ""),
        age_groups=groups,
        languages=[code for code in languages if code],
        price=row.get("price", ""),
        capacity=parse_capacity(row.get("capacity", "")),
        translations={
            language: {
                name: row[f"{name}_{language.lower()}"]
                for name in ("title", "description")
                if row.get(f"{name}_{language.lower()}")
            }
            for language in SUPPORTED_LANGUAGES
        },
    )
    repeat = row.get("repeat", "")
    if repeat:
        try:
            rule = icalendar.vRecur.from_ical(repeat.upper().removeprefix("RRULE:"))
            event.add("RRULE", rule)
            icalendar.Event.from_ical(event.to_ical())
        except (ValueError, TypeError):
            raise RowError(
                N_('the repeat rule "{rule}" is not valid (e.g. FREQ=WEEKLY)'), rule=repeat[:100]
            ) from None
        check_rule(rule)
    cancelled = row.get("cancelled", "").lower() in _YES
    return SeriesData(str(event["UID"]), "csv", [event], cancelled=cancelled)


def parse_local_datetime(text: str, tz: tzinfo, what: str) -> datetime:
    """`2026-12-01 17:00` (or `01.12.2026 17:00`) in the district's time zone."""
    for pattern in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=tz)
        except ValueError:
            continue
    message = (
        N_('the start "{value}" is not a date and time like 2026-12-01 17:00')
        if what == "start"
        else N_('the end "{value}" is not a date and time like 2026-12-01 17:00')
    )
    raise RowError(message, value=text[:100])


def _content_uid(title: str, start: datetime) -> str:
    digest = hashlib.sha1(f"{title}|{start.isoformat()}".encode()).hexdigest()[:16]
    return f"csv-{digest}"


def make_event(
    *,
    uid: str,
    title: str,
    start: datetime,
    end: datetime,
    place: str = "",
    description: str = "",
    organiser: str = "",
    category: str = "",
    age_groups: Iterable[str] = (),
    languages: Iterable[str] = (),
    price: str = "",
    capacity: int | None = None,
    translations: dict[str, dict[str, str]] | None = None,
) -> icalendar.Event:
    """An iCalendar event from form or spreadsheet fields."""
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("SUMMARY", title)
    event.add("DTSTART", start)
    event.add("DTEND", end)
    event.add("DTSTAMP", start)
    for name, value in (
        ("LOCATION", place),
        ("DESCRIPTION", description),
        ("X-ORGANISER", organiser),
        ("CATEGORIES", category),
        ("X-AGE-GROUPS", ",".join(sorted(age_groups))),
        ("X-LANGUAGES", ",".join(languages)),
        ("X-PRICE", price),
        ("X-CAPACITY", str(capacity) if capacity else ""),
    ):
        if value:
            event.add(name, value)
    for language, fields in (translations or {}).items():
        for name, value in fields.items():
            if value:
                event.add(f"X-{name.upper()}-{_ical_code(language)}", value)
    return event


# --- expansion into occurrences ---
def series_calendar(series: SeriesData) -> str:
    """The text stored for a series: its time zones and events, enough to expand it again."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Stikk innom//activities//EN")
    calendar.add("VERSION", "2.0")
    for zone in series.timezones:
        calendar.add_component(zone)
    for event in series.events:
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical.decode("utf-8")


def expand(ical: str, tz: tzinfo, start: datetime, end: datetime) -> list[Occurrence]:
    """The occurrences of a stored series that start in [start, end).

    Bounded whatever the rule says: more than `MAX_OCCURRENCES` dates, or more than
    `EXPANSION_SECONDS` of work, raise RowError instead of freezing the bot.
    """
    calendar = icalendar.Calendar.from_ical(ical)
    found = []
    deadline = clock.monotonic() + EXPANSION_SECONDS
    for event in recurring_ical_events.of(calendar).after(start):
        occurrence = _occurrence(event, tz)
        if occurrence.starts_at >= end:
            break
        found.append(occurrence)
        if len(found) > MAX_OCCURRENCES:
            raise RowError(
                N_("the repeat rule makes more than {count} dates in the next {days} days"),
                count=MAX_OCCURRENCES,
                days=HORIZON.days,
            )
        if clock.monotonic() > deadline:
            raise RowError(N_("the repeat rule takes too long to work out; make it simpler"))
    return found


def _as_datetime(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0, 0), tzinfo=tz)  # an all-day event


def _occurrence(event: icalendar.Event, tz: tzinfo) -> Occurrence:
    first = _value(event, "DTSTART")
    if not isinstance(first, date):
        raise ValueError("the event has no start date (DTSTART)")  # parse_ics refused it
    start = _as_datetime(first, tz)
    last = _value(event, "DTEND")
    duration = _value(event, "DURATION")
    if isinstance(last, date):
        end = _as_datetime(last, tz)
    elif isinstance(duration, timedelta):
        end = start + duration
    else:
        end = start + (timedelta(days=1) if not isinstance(first, datetime) else DEFAULT_DURATION)
    recurrence = _value(event, "RECURRENCE-ID")
    original = _as_datetime(recurrence, tz) if isinstance(recurrence, date) else start
    translations: dict[str, dict[str, str]] = {}
    for language in SUPPORTED_LANGUAGES:
        for name in ("title", "description"):
            value = str(event.get(f"X-{name.upper()}-{_ical_code(language)}", "")).strip()
            if value:
                translations.setdefault(language, {})[name] = value
    categories = event.get("CATEGORIES")
    category = ""
    if categories is not None:
        first = categories[0] if isinstance(categories, list) else categories
        category = ", ".join(str(c) for c in getattr(first, "cats", [first]))
    organiser = str(event.get("X-ORGANISER", "")).strip()
    if not organiser and event.get("ORGANIZER") is not None:
        organizer = event["ORGANIZER"]
        organiser = str(organizer.params.get("CN", "")) or str(organizer).removeprefix("mailto:")
    return Occurrence(
        occurrence=original,
        starts_at=start,
        ends_at=end,
        title=str(event.get("SUMMARY", "")).strip(),
        description=str(event.get("DESCRIPTION", "")).strip(),
        place=str(event.get("LOCATION", "")).strip(),
        organiser=organiser,
        category=category,
        age_groups=parse_age_groups(str(event.get("X-AGE-GROUPS", ""))),
        languages=tuple(
            code.strip().lower()
            for code in str(event.get("X-LANGUAGES", "")).split(",")
            if code.strip()
        ),
        price=str(event.get("X-PRICE", "")).strip(),
        capacity=parse_capacity(str(event.get("X-CAPACITY", ""))),
        translations=translations,
        cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
    )


# --- storing ---
async def store_series(
    db: Database,
    series: SeriesData,
    tz: tzinfo,
    now: datetime,
    *,
    status: str = "listed",
    proposed_by: int | None = None,
) -> ImportCounts:
    """Expand a series over the coming months and store it (idempotent by UID)."""
    window_start, window_end = now - PAST_MARGIN, now + HORIZON
    if not any(e.get("RRULE") or e.get("RDATE") for e in series.events):
        window_end = now + SINGLE_HORIZON  # a one-off far ahead is still worth listing
    if series.cancel_only:
        return await _apply_cancel(db, series, tz, now)
    ical = series_calendar(series)
    occurrences = expand(ical, tz, window_start, window_end)
    if series.cancelled:
        status = "cancelled"
    counts = await activities.save_series(
        db,
        series.uid,
        series.source,
        occurrences,
        now,
        ical=ical,
        status=status,
        proposed_by=proposed_by,
        prune_from=window_start,
    )
    if series.cancelled:
        cancelled = await activities.cancel_series(db, series.uid, now)
        counts = ImportCounts(counts.added, counts.updated, counts.cancelled + cancelled)
    return counts


async def _apply_cancel(
    db: Database, series: SeriesData, tz: tzinfo, now: datetime
) -> ImportCounts:
    """A `METHOD:CANCEL` file: call off the named occurrences, or the whole series."""
    cancelled = 0
    for event in series.events:
        recurrence = event.get("RECURRENCE-ID")
        if recurrence is None:
            cancelled += await activities.cancel_series(db, series.uid, now)
        else:
            original = _as_datetime(recurrence.dt, tz)
            cancelled += int(await activities.cancel_occurrence(db, series.uid, original, now))
    return ImportCounts(cancelled=cancelled)


async def import_file(
    db: Database, filename: str, data: bytes, tz: ZoneInfo, now: datetime
) -> ImportSummary:
    """Import an .ics or .csv file: good entries are stored, bad ones reported by line."""
    if is_calendar_file(filename):
        parsed = parse_ics(data)
    elif is_csv_file(filename):
        parsed = parse_csv(data, tz)
    else:
        return ImportSummary(errors=[(0, problem(N_("send a .ics or .csv file")))])
    summary = ImportSummary(errors=list(parsed.errors))
    for series in parsed.series:
        try:
            counts = await store_series(db, series, tz, now)
        except DatabaseErrors:
            raise  # the database, not the file: not a problem to report by line
        except RowError as error:
            summary.errors.append((0, replace(error.problem, uid=series.uid[:100])))
            continue
        except Exception as error:  # a file can break the calendar libraries in many ways
            log.warning("a series could not be imported: %s", type(error).__name__)
            unreadable = problem(N_("the event could not be read"))
            summary.errors.append((0, replace(unreadable, uid=series.uid[:100])))
            continue
        summary.series += 1
        summary.added += counts.added
        summary.updated += counts.updated
        summary.cancelled += counts.cancelled
    summary.errors.sort(key=lambda error: error[0])
    return summary


async def extend_recurring(db: Database, tz: tzinfo, now: datetime) -> int:
    """Expand stored recurring series up to the horizon again; returns occurrences added."""
    added = 0
    for uid, source, ical in await activities.recurring_sources(db):
        calendar = icalendar.Calendar.from_ical(ical)
        events = _events(calendar)
        zones = _timezones(calendar)
        try:
            counts = await store_series(db, SeriesData(uid, source, events, zones), tz, now)
        except DatabaseErrors:
            raise
        except Exception as error:  # e.g. a rule stored before today's bounds existed
            # One series that cannot be expanded must not stop all the others.
            log.warning("a stored series could not be extended: %s", error)
            continue
        added += counts.added
    return added
