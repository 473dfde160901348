"""The one place that understands Telegram's errors, and the one retry policy.

Every sender (the delivery engine for broadcasts, the outbox for everything else, and the
handlers that still send directly) asks `classify(error)` what an error means instead of
reading error texts itself:

    TelegramError
    ├── RetryAfter ............................ WAIT: flood control; wait, then the same again
    ├── Forbidden ............................. BLOCKED: blocked, deactivated, kicked
    ├── ChatMigrated .......................... FAILED
    └── NetworkError
        ├── BadRequest
        │   ├── "message thread not found",
        │   │   "topic deleted", TOPIC_DELETED,
        │   │   TOPIC_ID_INVALID .............. TOPIC_GONE: staff deleted a forum topic
        │   ├── "message is not modified",
        │   │   TOPIC_NOT_MODIFIED ............ NOT_MODIFIED: the edit is already there
        │   ├── "message can't be edited/
        │   │   deleted", "message to edit/
        │   │   delete not found", "query is
        │   │   too old" ...................... TOO_OLD: nothing left to change
        │   ├── "user is deactivated" ......... BLOCKED
        │   └── anything else ................. FAILED: sending it again cannot help
        └── TimedOut, 5xx, connection errors .. RETRY: back off and try again

A Forbidden from a group (the staff chat) is not a resident who left: the bot was removed or
lost its rights, which an operator fixes. `Verdict.final_for(chat_id)` says whether to stop.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

__all__ = [
    "Outcome",
    "RetryPolicy",
    "Verdict",
    "classify",
    "is_message_gone",
    "is_topic_gone",
    "retry_seconds",
]


class Outcome(enum.Enum):
    """What a failed request means for the message."""

    RETRY = "retry"
    WAIT = "wait"
    BLOCKED = "blocked"
    TOPIC_GONE = "topic_gone"
    NOT_MODIFIED = "not_modified"
    TOO_OLD = "too_old"
    FAILED = "failed"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    #: For WAIT: the seconds Telegram asked for.
    wait: float = 0.0
    #: Short and free of message text: safe to log and store.
    reason: str = ""

    def final_for(self, chat_id: int) -> bool:
        """True if trying again later cannot help this chat.

        A resident who blocked the bot stays blocked; a group that refuses the bot (removed,
        no rights) is fixed by an operator, so messages to it wait and are retried.
        """
        if self.outcome is Outcome.BLOCKED:
            return chat_id > 0
        return self.outcome in (Outcome.FAILED, Outcome.TOO_OLD, Outcome.NOT_MODIFIED)


_TOPIC_GONE = ("thread not found", "topic deleted", "topic_deleted", "topic_id_invalid")
_NOT_MODIFIED = ("is not modified", "not_modified")
_TOO_OLD = (
    "message can't be edited",
    "message can't be deleted",
    "message to edit not found",
    "message to delete not found",
    "query is too old",
)
_GONE_CHAT = ("user is deactivated",)


def classify(error: BaseException) -> Verdict:
    """What a Telegram error means for the message it came from (see the map above)."""
    reason = str(error)[:200]
    if isinstance(error, RetryAfter):
        return Verdict(Outcome.WAIT, wait=retry_seconds(error), reason=reason)
    if isinstance(error, Forbidden):
        return Verdict(Outcome.BLOCKED, reason=reason)
    if isinstance(error, ChatMigrated):
        return Verdict(Outcome.FAILED, reason=reason)
    if isinstance(error, BadRequest):  # a NetworkError subclass in PTB: test it first
        text = reason.lower()
        if any(mark in text for mark in _TOPIC_GONE):
            return Verdict(Outcome.TOPIC_GONE, reason=reason)
        if any(mark in text for mark in _NOT_MODIFIED):
            return Verdict(Outcome.NOT_MODIFIED, reason=reason)
        if any(mark in text for mark in _TOO_OLD):
            return Verdict(Outcome.TOO_OLD, reason=reason)
        if any(mark in text for mark in _GONE_CHAT):
            return Verdict(Outcome.BLOCKED, reason=reason)
        return Verdict(Outcome.FAILED, reason=reason)
    if isinstance(error, NetworkError | TelegramError):  # timeouts, 5xx, no connection
        return Verdict(Outcome.RETRY, reason=reason)
    raise TypeError(f"not a Telegram error: {type(error).__name__}")


def is_topic_gone(error: BaseException) -> bool:
    """Staff deleted the forum topic the message was meant for."""
    return isinstance(error, TelegramError) and classify(error).outcome is Outcome.TOPIC_GONE


def is_message_gone(error: BaseException) -> bool:
    """The message to edit or delete is not there any more (someone deleted it, or its
    topic): unlike "can't be deleted" (too old), there is nothing left to remove."""
    return (
        isinstance(error, TelegramError)
        and classify(error).outcome is Outcome.TOO_OLD
        and "not found" in str(error).lower()
    )


def retry_seconds(error: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds."""
    # `retry_after` turns from int into timedelta in a coming PTB version (and warns meanwhile);
    # the private timedelta is what PTB's own rate limiter reads.
    value: Any = getattr(error, "_retry_after", None)
    if value is None:
        value = error.retry_after
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


@dataclass(frozen=True)
class RetryPolicy:
    """Back-off for RETRY outcomes: `base`, doubling, at most `cap` seconds between tries;
    after `max_attempts` failed tries the message is given up and recorded as failed.

    Flood control (WAIT) is not an attempt: Telegram said when, and it will work then.
    """

    max_attempts: int = 16
    base: float = 5.0
    cap: float = 1800.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed try (1, 2, ...)."""
        return float(min(self.cap, self.base * 2 ** max(0, attempts - 1)))

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


#: The outbox's policy: about four hours of tries before a message is given up.
DEFAULT_POLICY = RetryPolicy()
