"""Tip statuses as people read them: short labels, and the news a resident gets on a change."""

from __future__ import annotations

from bot.i18n import N_, Texts
from storage.tips import TipStatus

LABELS: dict[TipStatus, str] = {
    TipStatus.NEW: N_("New"),
    TipStatus.RECEIVED: N_("Received"),
    TipStatus.IN_PROGRESS: N_("In progress"),
    TipStatus.RESOLVED: N_("Resolved"),
    TipStatus.FORWARDED: N_("Forwarded to another agency"),
    TipStatus.REJECTED: N_("Rejected"),
    TipStatus.MERGED: N_("Merged with another tip"),
    TipStatus.REOPENED: N_("Opened again"),
}

ICONS: dict[TipStatus, str] = {
    TipStatus.NEW: "🆕",
    TipStatus.RECEIVED: "📥",
    TipStatus.IN_PROGRESS: "🔧",
    TipStatus.RESOLVED: "✅",
    TipStatus.FORWARDED: "↗️",
    TipStatus.REJECTED: "⛔",
    TipStatus.MERGED: "🔗",
    TipStatus.REOPENED: "🔁",
}

#: What a resident is told when their tip (or one they follow) gets this status.
NEWS: dict[TipStatus, str] = {
    TipStatus.RECEIVED: N_("We have received it and will look at it."),
    TipStatus.IN_PROGRESS: N_("We are working on it now."),
    TipStatus.RESOLVED: N_("It is done. Thank you for telling us!"),
    TipStatus.FORWARDED: N_(
        "We sent it to the agency that is responsible for it. They will follow it up."
    ),
    TipStatus.REJECTED: N_("We cannot do anything about it this time. Thank you for telling us."),
    TipStatus.REOPENED: N_("Someone told us it is not fixed. We are looking at it again."),
}

#: Staff buttons: short codes keep callback data well under Telegram's 64 bytes.
BUTTON_CODES: dict[str, TipStatus] = {
    "rcv": TipStatus.RECEIVED,
    "wip": TipStatus.IN_PROGRESS,
    "res": TipStatus.RESOLVED,
    "fwd": TipStatus.FORWARDED,
    "rej": TipStatus.REJECTED,
}
CODE_OF = {status: code for code, status in BUTTON_CODES.items()}


def label(t: Texts, status: TipStatus) -> str:
    return f"{ICONS[status]} {t._(LABELS[status])}"


def open311_status(status: TipStatus) -> str:
    """GeoReport v2 knows only `open` and `closed`."""
    return "open" if status.is_open else "closed"
