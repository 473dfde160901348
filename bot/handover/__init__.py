"""Talk to a person: a resident's case becomes a forum topic in the staff chat.

    resident.py      /contact, the relay into the topic (an outbox sender), rating, "open a new
                     case?"
    staff_side.py    the relay back to the resident (an outbox sender), /close, /note,
                     /assign, /cases, /stats
    labels.py        /label: what a case is about, for the topic name and the figures
    reply_templates.py  /reply: a ready-made answer in the resident's language
    topics.py        creating (and re-creating) case topics, the header card
    office_hours.py  when staff are at work (plain rules, no Telegram)
    reminders.py     the repeating job: reminders for waiting cases
    availability.py  the start-up check of the staff chat

Kept light on import: the configuration imports `office_hours` from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import BotApplication


def register(app: BotApplication) -> None:
    from bot.handover import (
        availability,
        labels,
        moderation,
        reminders,
        reply_templates,
        resident,
        staff_side,
        topics,
        translation,
    )
    from bot.registry import add_case_header_part

    availability.register(app)
    # First in the header: the resident's earlier cases (other features add theirs after).
    add_case_header_part(app, topics.earlier_cases_part)
    resident.register(app)
    staff_side.register(app)
    labels.register(app)
    reply_templates.register(app)
    translation.register(app)
    reminders.register(app)
    moderation.register(app)
