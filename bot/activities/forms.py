"""Short guided forms for one activity: staff add one in the staff chat (`/activity_add`),
registered volunteer organisers propose one in their private chat (`/propose`).

The answers so far are kept in memory (`user_data`): a restart in the middle costs the writer
the few answers given, and nothing is stored until the last one. Each answer is checked at
once and a bad one is asked again with an example.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from bot.activities.importer import (
    RowError,
    SeriesData,
    make_event,
    parse_age_groups,
    parse_local_datetime,
)
from bot.i18n import N_, Texts, ascii_digits

FORM_KEY = "activity_form"


@dataclass(frozen=True)
class Step:
    key: str
    question: str
    #: Turns an answer into a stored value; raises ValueError for a bad answer.
    parse: Callable[[str, dict, tzinfo, datetime], object]
    retry: str


def _title(text: str, _values: dict, _tz: tzinfo, _now: datetime) -> str:
    text = text.strip()
    if not 2 <= len(text) <= 120:
        raise ValueError("title")
    return text


def parse_start(text: str, _values: dict, tz: tzinfo, now: datetime) -> str:
    """`2026-12-01 17:00`, `01.12.2026 17:00` or `1.12 17:00` (this year or the next), in any
    script's digits."""
    text = ascii_digits(text).strip()
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.? (\d{1,2})[:.](\d{2})", text)
    if match:
        day, month, hour, minute = (int(x) for x in match.groups())
        local_now = now.astimezone(tz)
        try:
            start = datetime(local_now.year, month, day, hour, minute, tzinfo=tz)
        except ValueError:
            raise ValueError("start") from None
        if start < local_now - timedelta(days=1):
            start = start.replace(year=start.year + 1)
    else:
        try:
            start = parse_local_datetime(text, tz, "start")
        except RowError:
            raise ValueError("start") from None
    if start < now:
        raise ValueError("start")
    return start.isoformat()


def parse_end(text: str, values: dict, tz: tzinfo, _now: datetime) -> str:
    """An end time (`19:30`) on the same day as the start."""
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", ascii_digits(text).strip())
    if not match:
        raise ValueError("end")
    start = datetime.fromisoformat(values["start"])
    try:
        end = datetime.combine(start.date(), time(int(match[1]), int(match[2])), tzinfo=tz)
    except ValueError:
        raise ValueError("end") from None
    if end <= start:
        raise ValueError("end")
    return end.isoformat()


def _free_text(text: str, _values: dict, _tz: tzinfo, _now: datetime) -> str:
    text = text.strip()
    if not text or len(text) > 1000:
        raise ValueError("text")
    return "" if text == "-" else text


def _ages(text: str, _values: dict, _tz: tzinfo, _now: datetime) -> str:
    try:
        return ",".join(sorted(parse_age_groups(text)))
    except RowError:
        raise ValueError("ages") from None


TITLE = Step("title", N_("What is the activity called?"), _title, N_("Please write a short name."))
START = Step(
    "start",
    N_("When does it start? Write the date and time, for example: 1.12 17:00"),
    parse_start,
    N_("I did not understand the time. Write it like this: 1.12 17:00"),
)
END = Step(
    "end",
    N_("When does it end? Write the time, for example: 19:00"),
    parse_end,
    N_("Write the end time like this: 19:00 (after the start)."),
)
PLACE = Step(
    "place",
    N_("Where is it? Write the place or address."),
    _free_text,
    N_("Please write the place."),
)
DESCRIPTION = Step(
    "description",
    N_("Describe it in one or two short sentences (or write - to skip)."),
    _free_text,
    N_("Please write a short description, or - to skip."),
)
AGES = Step(
    "ages",
    N_("Who is it for? Write one or more of: 0-1, 2-5, 6-12, 13-18, adults, or all."),
    _ages,
    N_("Write the ages like this: 0-1, 2-5 (or all)."),
)

FORMS: dict[str, tuple[Step, ...]] = {
    "staff": (TITLE, START, END, PLACE, AGES),
    "organiser": (TITLE, START, END, PLACE, DESCRIPTION, AGES),
}


def start_form(user_data: dict, kind: str, chat_id: int, thread_id: int | None) -> Step:
    user_data[FORM_KEY] = {
        "kind": kind,
        "step": 0,
        "values": {},
        "chat_id": chat_id,
        "thread_id": thread_id,
    }
    return FORMS[kind][0]


def open_form(user_data: dict | None, chat_id: int) -> dict | None:
    form = (user_data or {}).get(FORM_KEY)
    return form if form and form["chat_id"] == chat_id else None


def answer_form(
    form: dict, text: str, tz: tzinfo, now: datetime
) -> tuple[Step | None, str | None]:
    """Take one answer. Returns (next step, None), (same step, retry text) or (None, None)
    when the form is complete."""
    steps = FORMS[form["kind"]]
    step = steps[form["step"]]
    try:
        form["values"][step.key] = step.parse(text, form["values"], tz, now)
    except ValueError:
        return step, step.retry
    form["step"] += 1
    if form["step"] >= len(steps):
        return None, None
    return steps[form["step"]], None


def series_from_form(form: dict, organiser: str = "") -> SeriesData:
    values = form["values"]
    prefix = "org" if form["kind"] == "organiser" else "staff"
    event = make_event(
        uid=f"{prefix}-{uuid.uuid4().hex[:12]}",
        title=values["title"],
        start=datetime.fromisoformat(values["start"]),
        end=datetime.fromisoformat(values["end"]),
        place=values.get("place", ""),
        description=values.get("description", ""),
        organiser=organiser,
        age_groups=[code for code in values.get("ages", "").split(",") if code],
    )
    return SeriesData(str(event["UID"]), "organiser" if prefix == "org" else "staff", [event])


def ask(t: Texts, step: Step, retry: str | None = None) -> str:
    if retry:
        return t._(retry)
    return t._(step.question) + "\n" + t._("(Stop with /cancel)")
