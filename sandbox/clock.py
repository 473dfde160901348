"""The double's notion of time, shared with the bot under test.

Telegram's limits that depend on time (a bot may delete a message only within 48 hours of
sending it) are checked against this clock, and message dates come from it. Tests and the demo
move it forward instead of waiting; handing the same clock to `build_application` keeps the
bot's idea of "now" and Telegram's in step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Real time plus an offset: runs at real speed from whatever moment it was set to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0)
        if start is not None:
            self.set(start)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (aware datetime); time keeps running from there."""
        self._offset = moment - datetime.now(UTC)

    def advance(self, delta: timedelta | float) -> None:
        """Move forward by a timedelta or a number of seconds."""
        self._offset += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
