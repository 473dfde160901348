"""Drive the real bot through the Telegram test double, the way residents and staff would.

    async def test_x(bot):
        amina = bot.resident("Amina", language_code="so")
        await amina.says("/start")
        await amina.presses("Soomaali")
        assert "Soo dhawoow" in amina.last.text

`bot` runs the real python-telegram-bot Application (polling, handlers, SQLite) against the
double over HTTP. Nothing of the project is mocked; only time can be moved (`bot.clock`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.app import build_application, running, update_processor
from bot.config import Config
from bot.context import BotApplication
from sandbox import BotAPIDouble, application_idle_probe
from sandbox.clock import Clock
from sandbox.models import FakeChat, FakeUser, SentMessage

#: Wednesday 25 November 2026, 10:00 in Oslo: inside office hours unless a test moves the clock.
DEFAULT_NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class FakeClock(Clock):
    """The tests' clock: starts at `DEFAULT_NOW` and runs at real speed from there. The bot and
    the double share it, so message dates and Telegram's time limits move with it."""

    def __init__(self, start: datetime = DEFAULT_NOW) -> None:
        super().__init__(start)


@dataclass
class Person:
    """A resident or staff member talking to the bot through the double."""

    harness: BotHarness
    user: FakeUser
    seen: int = 0

    @property
    def double(self) -> BotAPIDouble:
        return self.harness.double

    @property
    def id(self) -> int:
        return self.user.id

    # --- what the bot sent to this person's private chat ---
    # ("received", not "inbox": the inbox is the bot's table of updates from Telegram)
    @property
    def received(self) -> list[SentMessage]:
        return self.double.messages_to(self.user)

    @property
    def last(self) -> SentMessage:
        received = self.received
        assert received, f"{self.user.first_name} has received nothing"
        return received[-1]

    def new_messages(self) -> list[SentMessage]:
        """Messages received since the last call (or since the person was created)."""
        received = self.received
        fresh = received[self.seen :]
        self.seen = len(received)
        return fresh

    def last_with_button(self, text: str) -> SentMessage:
        for message in reversed(self.received):
            if any(text in label for label, _ in message.buttons):
                return message
        raise AssertionError(f"no message to {self.user.first_name} has a button {text!r}")

    # --- what the person does; each waits until the bot has handled it ---
    async def says(self, text: str, **kwargs: Any) -> list[SentMessage]:
        self.double.send_text(self.user, text, **kwargs)
        return await self._settled()

    async def presses(
        self, button_text: str, message: SentMessage | None = None
    ) -> list[SentMessage]:
        message = message or self.last_with_button(button_text)
        self.double.press(self.user, message.raw, message.button(button_text))
        return await self._settled()

    async def presses_data(self, message: SentMessage, data: str) -> list[SentMessage]:
        """Press a button with arbitrary callback_data (a forged or outdated button)."""
        self.double.press(self.user, message.raw, data)
        return await self._settled()

    async def does(self, method: str, *args: Any, **kwargs: Any) -> list[SentMessage]:
        """Any other input the double can make, e.g. `does("send_photo", jpeg)`."""
        getattr(self.double, method)(self.user, *args, **kwargs)
        return await self._settled()

    async def _settled(self) -> list[SentMessage]:
        await self.harness.settle()
        return self.new_messages()


@dataclass
class BotHarness:
    double: BotAPIDouble
    config: Config
    clock: FakeClock
    staff_chat: FakeChat
    staff: list[Person] = field(default_factory=list)
    app: BotApplication | None = None
    _stack: AsyncExitStack | None = None

    def resident(self, first_name: str = "Amina", **kwargs: Any) -> Person:
        return Person(self, self.double.add_user(first_name, **kwargs))

    def person(self, user: FakeUser) -> Person:
        return Person(self, user)

    async def start(self) -> None:
        self.app = build_application(self.config, clock=self.clock)
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(running(self.app, poll_timeout=1))
        processor = update_processor(self.app)
        app_idle = application_idle_probe(self.app)
        self.double.idle_probe = lambda: processor.in_flight == 0 and app_idle()
        await self.settle()

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
        self.app = None

    async def restart(self) -> None:
        """Stop the bot and start a new one on the same database, as after a redeploy."""
        await self.stop()
        await self.start()

    async def settle(self) -> None:
        await self.double.settle()

    @property
    def db(self):
        assert self.app is not None
        return self.app.bot_data.db

    # --- the staff chat ---
    def staff_messages(self, thread_id: int | None = None) -> list[SentMessage]:
        return self.double.messages_to(self.staff_chat, thread_id=thread_id)


async def make_harness(tmp_path: Path, **config_overrides: Any) -> AsyncIterator[BotHarness]:
    async with BotAPIDouble() as double:
        staff_users = [double.add_user("Kari", language_code="nb"), double.add_user("Ola")]
        staff_chat = double.add_supergroup(
            "Bydel staff", is_forum=True, members=staff_users, admins=staff_users[:1]
        )
        settings: dict[str, Any] = {
            "token": double.token,
            "api_base_url": double.base_url,
            "database": tmp_path / "bot.sqlite3",
            "staff_chat_id": staff_chat.id,
            "admin_ids": frozenset({staff_users[0].id}),
        }
        settings.update(config_overrides)
        if settings.get("webhook_url"):
            # The reverse proxy in front of the bot: the public URL reaches its listener.
            host, port = settings.get("webhook_listen", ("127.0.0.1", 8443))
            public = urlsplit(settings["webhook_url"])
            double.route_webhook(f"{public.scheme}://{public.netloc}", f"http://{host}:{port}")
        clock = FakeClock()
        double.clock = clock
        harness = BotHarness(
            double=double, config=Config(**settings), clock=clock, staff_chat=staff_chat
        )
        harness.staff = [Person(harness, user) for user in staff_users]
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()


def shown_to_staff(message: SentMessage) -> str:
    """What staff read in a message: a resident's words inside the quote the relay puts them
    in (`bot.handover.marking`), or the whole text of anything else."""
    text = message.text or ""
    for entity in message.entities:
        if entity["type"] == "blockquote":
            units = text.encode("utf-16-le")
            start, end = 2 * entity["offset"], 2 * (entity["offset"] + entity["length"])
            return units[start:end].decode("utf-16-le")
    return text
