"""Children's ages that grow: a family gives birth years once, and the digest works out the
age groups on the day it is sent, so a baby moves from 0–1 to 2–5 without anybody asking.

The age is the one the child has or reaches in the send date's year (year minus birth year):
families give a year, not a date, and a child who turns two this year is a toddler this year.
Plain functions, no Telegram and no storage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from storage.activities import ADULTS, ALL

#: The age groups of children, by the ages they hold (storage/activities.py AGE_GROUPS).
CHILD_GROUPS: tuple[tuple[str, int, int], ...] = (
    ("0-1", 0, 1),
    ("2-5", 2, 5),
    ("6-12", 6, 12),
    ("13-18", 13, 18),
)
#: How many birth years /subscribe offers as buttons (this year and the ones before).
YEARS_OFFERED = 18


def age_in(birth_year: int, today: date) -> int:
    return today.year - birth_year


def group_of(birth_year: int, today: date) -> str | None:
    """The age group of a child born in `birth_year` on `today`; None once they are grown up
    (their family still gets what it chose besides) or for a year still to come."""
    age = age_in(birth_year, today)
    for code, low, high in CHILD_GROUPS:
        if low <= age <= high:
            return code
    return None


def groups_on(fixed: frozenset[str], birth_years: Iterable[int], today: date) -> frozenset[str]:
    """A subscription's age groups on `today`: what does not grow plus each child's group.

    A family whose children have all grown up gets the adults' activities.
    """
    years = list(birth_years)
    groups = set(fixed)
    groups.update(code for year in years if (code := group_of(year, today)) is not None)
    if years and not groups:
        groups.add(ADULTS)
    return frozenset(groups)


def offered_years(today: date) -> list[int]:
    """The birth years /subscribe offers as buttons, newest first."""
    return [today.year - offset for offset in range(YEARS_OFFERED)]


_YEAR = re.compile(r"(?<!\d)(\d{4}|\d{2})(?!\d)")


def parse_years(text: str, today: date) -> tuple[list[int], list[str]]:
    """Birth years typed by a family ("2019 2022", "2019, 2022", "19 og 22"): (years, wrong).

    Two digits are read as this century. A year in the future or more than 18 years back is
    "wrong" (the family is told), not silently dropped. Eastern Arabic and Persian digits count.
    """
    text = _western_digits(text)
    years: list[int] = []
    wrong: list[str] = []
    for match in _YEAR.finditer(text):
        raw = match.group(1)
        year = int(raw) + 2000 if len(raw) == 2 else int(raw)
        if today.year - YEARS_OFFERED < year <= today.year:
            if year not in years:
                years.append(year)
        else:
            wrong.append(raw)
    return years, wrong


def _western_digits(text: str) -> str:
    return text.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789"))


__all__ = ["ADULTS", "ALL", "age_in", "group_of", "groups_on", "offered_years", "parse_years"]
