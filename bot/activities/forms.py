"""Short guided forms for one activity: staff add one in the staff chat (`/activity_add`),
registered volunteer organisers propose one in their private chat (`/propose`).

The steps are data (`FormStep`, and a `Flow` per kind of form); the answers so far are kept
in the database (`activity_forms`), so a restart in the middle resumes at the same question.
The activity itself is stored only after the last answer. Each answer is checked at once and
a bad one is asked again with an example.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from bot.activities.importer import (
    RowError,
    SeriesData,
    make_event,
    parse_age_groups,
    parse_capacity,
    parse_local_datetime,
)
from bot.i18n import N_, Texts, ascii_digits
from bot.steps import Flow, Move
from storage.activities import FormRow

#: A form untouched this long is abandoned (a new /propose or /activity_add starts afresh).
FORM_TIMEOUT = timedelta(hours=6)


@dataclass(frozen=True)
class Step:
    key: str
    question: str
    #: Turns an answer into a stored value; raises ValueError for a bad answer.
    parse: Callable[[str, dict[str, Any], tzinfo, datetime], object]
    retry: str


def _title(text: str, _values: dict[str, Any], _tz: tzinfo, _now: datetime) -> str:
    text = text.strip()
    if not 2 <= len(text) <= 120:
        raise ValueError("title")
    return text


def parse_start(text: str, _values: dict[str, Any], tz: tzinfo, now: datetime) -> str:
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


def parse_end(text: str, values: dict[str, Any], tz: tzinfo, _now: datetime) -> str:
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


def _free_text(text: str, _values: dict[str, Any], _tz: tzinfo, _now: datetime) -> str:
    text = text.strip()
    if not text or len(text) > 1000:
        raise ValueError("text")
    return "" if text == "-" else text


def _ages(text: str, _values: dict[str, Any], _tz: tzinfo, _now: datetime) -> str:
    try:
        return ",".join(sorted(parse_age_groups(text)))
    except RowError:
        raise ValueError("ages") from None


def _capacity(text: str, _values: dict[str, Any], _tz: tzinfo, _now: datetime) -> str:
    try:
        places = parse_capacity(text)
    except RowError:
        raise ValueError("capacity") from None
    return str(places or "")


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

CAPACITY = Step(
    "capacity",
    N_("How many places are there? Write a number, or - if there is no limit."),
    _capacity,
    N_("Write the number of places, like 12, or - if there is no limit."),
)


class FormStep(StrEnum):
    """Stored in `activity_forms.step`: the question waiting for an answer."""

    TITLE = "title"
    START = "start"
    END = "end"
    PLACE = "place"
    DESCRIPTION = "description"
    AGES = "ages"
    CAPACITY = "capacity"


STEPS: dict[FormStep, Step] = {
    FormStep(step.key): step for step in (TITLE, START, END, PLACE, DESCRIPTION, AGES, CAPACITY)
}


def _linear(name: str, start: str, *steps: FormStep) -> Flow:
    """A form asks its questions in order; a good answer moves on, a bad one is asked again."""
    moves = [Move(None, steps[0], start)]
    moves += [Move(a, b, "answer") for a, b in itertools.pairwise(steps)]
    moves.append(Move(steps[-1], None, "saved"))
    return Flow(name, tuple(moves))


F = FormStep
FORMS: dict[str, Flow] = {
    "staff": _linear(
        "staff activity form",
        "/activity_add",
        F.TITLE,
        F.START,
        F.END,
        F.PLACE,
        F.AGES,
        F.CAPACITY,
    ),
    "organiser": _linear(
        "organiser proposal", "/propose", F.TITLE, F.START, F.END, F.PLACE, F.DESCRIPTION, F.AGES
    ),
}


def new_form(
    kind: str, telegram_id: int, chat_id: int, thread_id: int | None, now: datetime
) -> FormRow:
    """A form at its first question, to be stored with `storage.activities.save_form`."""
    first = FORMS[kind].first
    return FormRow(telegram_id, kind, chat_id, thread_id, first.value, {}, now)


def is_live(form: FormRow | None, now: datetime) -> bool:
    """A form untouched for `FORM_TIMEOUT` is abandoned: it takes no messages any more."""
    return form is not None and now - form.updated_at < FORM_TIMEOUT


def current_step(form: FormRow) -> Step:
    return STEPS[FormStep(form.step)]


def answer_form(
    form: FormRow, text: str, message_id: int, tz: tzinfo, now: datetime
) -> tuple[FormRow, Step | None, str | None]:
    """Take one answer. Returns (the form, next step, None), (the form, same step, retry
    text) or (the form, None, None) when the form is complete; store the form returned.

    The message whose answer was taken last, handled again (a crash cut the reply short), is
    not the answer to the next question: the next question is asked again, or, if it was the
    last answer, the form is complete again (its activity is stored under the same UID)."""
    step = current_step(form)
    if message_id == form.last_message:
        return form, (None if step.key in form.answers else step), None
    try:
        value = step.parse(text, form.answers, tz, now)
    except ValueError:
        return form, step, step.retry
    answers = {**form.answers, step.key: str(value)}
    following = FORMS[form.kind].following(FormStep(form.step))
    form = replace(
        form,
        answers=answers,
        step=following.value if following else form.step,
        updated_at=now,
        last_message=message_id,
    )
    return form, (STEPS[FormStep(following)] if following else None), None


def series_from_form(form: FormRow, organiser: str = "") -> SeriesData:
    values = form.answers
    prefix = "org" if form.kind == "organiser" else "staff"
    event = make_event(
        # The same form gives the same UID: storing it twice (after a crash) updates in place.
        uid=f"{prefix}-{form.telegram_id}-{form.last_message}",
        title=values["title"],
        start=datetime.fromisoformat(values["start"]),
        end=datetime.fromisoformat(values["end"]),
        place=values.get("place", ""),
        description=values.get("description", ""),
        organiser=organiser,
        age_groups=[code for code in values.get("ages", "").split(",") if code],
        capacity=int(values["capacity"]) if values.get("capacity") else None,
    )
    return SeriesData(str(event["UID"]), "organiser" if prefix == "org" else "staff", [event])


def ask(t: Texts, step: Step, retry: str | None = None) -> str:
    if retry:
        return t._(retry)
    return t._(step.question) + "\n" + t._("(Stop with /cancel)")
