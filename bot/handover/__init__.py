"""Talk to a person: a resident's case becomes a forum topic in the staff chat.

    resident.py      /contact, the relay into the topic, rating, "open a new case?"
    staff_side.py    the relay back to the resident, /close, /note, /assign, /cases, /stats
    labels.py        /label: what a case is about, for the topic name and the figures
    topics.py        creating (and re-creating) case topics, the header card
    office_hours.py  when staff are at work (plain rules, no Telegram)
    reminders.py     the repeating job: reminders for waiting cases, retries of stuck relays
    availability.py  the start-up check of the staff chat

Kept light on import: the configuration imports `office_hours` from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import BotApplication
    from storage.db import Database


def register(app: BotApplication) -> None:
    from bot.handover import availability, labels, reminders, resident, staff_side, topics
    from bot.registry import add_busy_check, add_case_header_part

    availability.register(app)
    # No survey invitation interrupts a resident who is talking with staff.
    add_busy_check(app, "conversation with staff", _has_open_case)
    # First in the header: the resident's earlier cases (other features add theirs after).
    add_case_header_part(app, topics.earlier_cases_part)
    resident.register(app)
    staff_side.register(app)
    labels.register(app)
    reminders.register(app)


async def _has_open_case(db: Database, telegram_id: int) -> bool:
    from storage import cases

    return await cases.open_case_of(db, telegram_id) is not None
