"""The steps of a case, as data: its status (`storage.cases.CaseStatus`, stored in
`cases.status`) moves only along `CASE`."""

from __future__ import annotations

from bot.steps import Flow, Move
from storage.cases import CaseStatus

CASE = Flow(
    "case",
    (
        Move(None, CaseStatus.OPEN, "/contact"),
        Move(CaseStatus.OPEN, CaseStatus.CLOSED, "/close, /cancel after writing, /deleteme"),
        Move(CaseStatus.OPEN, CaseStatus.CANCELLED, "/cancel before the first message"),
    ),
)
