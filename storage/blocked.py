"""What a resident blocking the bot ends, by the `on_blocked` name of a broadcast row.

One explicit table instead of decorators that register on import: the delivery engine looks
the name up here and runs the handler in the transaction that marks the row blocked, so the
command line (which never imports the bot's features) finds the same handlers as the bot.
A feature that broadcasts to residents adds its name here.
"""

from __future__ import annotations

from storage import activities
from storage.outbox import BlockedHandler

HANDLERS: dict[str, BlockedHandler] = {
    "digest": activities.end_subscription_of_blocked,
}


def handler(name: str | None) -> BlockedHandler | None:
    """The handler for an `on_blocked` name; an unknown name is a programming error."""
    if name is None:
        return None
    if name not in HANDLERS:
        raise KeyError(f"no blocked handler named {name!r}; add it to storage/blocked.py")
    return HANDLERS[name]
