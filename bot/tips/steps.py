"""The steps of writing a tip, as data: where a draft can be and how it moves on.
`bot/tips/drafting.py` moves a draft only along `TIP_DRAFT`; which button works in which step
is listed with the buttons (`bot/tips/buttons.py`, `BUTTONS`).
"""

from __future__ import annotations

from enum import StrEnum

from bot.steps import Flow, Move


class TipStep(StrEnum):
    """Stored in `tip_drafts.step`."""

    CATEGORY = "category"  # choose a category (buttons)
    EXTERNAL = "external"  # the category is the city's job: report there, or to us anyway
    PLACE = "place"  # where: the phone's location, a typed place, or skip
    SIMILAR = "similar"  # an open tip nearby: "me too" or "no, send my tip"
    DESCRIBE = "describe"  # text, voice, photos; then "Done"
    IDENTITY = "identity"  # may staff see the name?
    CONFIRM = "confirm"  # the summary: "Send the tip"


S = TipStep
TIP_DRAFT = Flow(
    "tip draft",
    (
        Move(None, S.CATEGORY, "/tip, menu, link"),
        Move(S.CATEGORY, S.PLACE, "category"),
        Move(S.CATEGORY, S.EXTERNAL, "category that is the city's job"),
        Move(S.EXTERNAL, S.PLACE, "send it to us anyway, or a description"),
        Move(S.EXTERNAL, S.EXTERNAL, "another category of the city"),
        Move(S.PLACE, S.EXTERNAL, "another category of the city"),
        Move(S.PLACE, S.PLACE, "another category"),
        Move(S.PLACE, S.SIMILAR, "an open tip nearby"),
        Move(S.PLACE, S.DESCRIBE, "place or skip"),
        Move(S.SIMILAR, S.DESCRIBE, "no, send my tip"),
        Move(S.SIMILAR, None, "me too"),
        Move(S.DESCRIBE, S.DESCRIBE, "skip again"),
        Move(S.DESCRIBE, S.IDENTITY, "done"),
        Move(S.IDENTITY, S.IDENTITY, "done again"),
        Move(S.IDENTITY, S.CONFIRM, "name or anonymous"),
        Move(S.CONFIRM, S.CONFIRM, "name or anonymous again"),
        Move(S.CONFIRM, None, "send the tip"),
    ),
)

#: Steps in which the resident's messages are what the draft asks for (a place, text, media).
DESCRIBING = frozenset({S.PLACE, S.DESCRIBE})


def step_of(value: str) -> TipStep:
    return TipStep(value)
