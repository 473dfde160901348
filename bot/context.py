"""The typed context every handler receives: database, configuration, texts and clock.

Handlers reach shared services through `context.bot_data` attributes (a typed object), never
through string keys, so a typo is a type error rather than a `KeyError` at 3 a.m.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ExtBot

from bot.albums import AlbumMemory
from bot.i18n import Catalogs, Texts
from bot.telegram_errors import Outcome, classify

if TYPE_CHECKING:
    from bot.bridge.translation import Translator
    from bot.config import Config
    from bot.outbox import OutboxState
    from storage.db import Database

DeepLinkHandler = Callable[[Update, "BotContext", str], Awaitable[None]]
#: Run before a resident's data is erased, for what lives outside the database (a staff topic).
ForgetHook = Callable[["BotContext", int], Awaitable[None]]
#: Run once at start, after the database is open (checks of the staff chat, schedules).
StartupHook = Callable[["BotApplication"], Awaitable[None]]
#: Adds lines to the header card of a new staff case: given the bot's shared data, the resident's
#: Telegram id and the staff's texts, returns HTML lines built with `Texts._` (e.g. open tips).
CaseHeaderPart = Callable[["BotData", int, Texts], Awaitable[list[str]]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class BotData:
    """Shared services, created once per application (PTB instantiates it without arguments)."""

    config: Config
    db: Database
    catalogs: Catalogs
    #: The outbox's senders by kind and its run lock (bot/outbox.py).
    outbox: OutboxState
    #: The current time. Tests replace it to be on a Saturday or on 17 May.
    clock: Callable[[], datetime]

    def __init__(self) -> None:
        self.clock = utc_now
        #: Deep-link payload prefixes (`/start tip`, `/start survey-x`) and their handlers.
        self.deep_links: dict[str, DeepLinkHandler] = {}
        self.forget_hooks: list[ForgetHook] = []
        self.startup_hooks: list[StartupHook] = []
        #: Lines for the header of a new case topic (earlier cases, open tips), in order.
        self.case_header_parts: list[CaseHeaderPart] = []
        #: (command, untranslated description, order) for the command menus.
        self.resident_commands: list[tuple[str, str, int]] = []
        self.staff_commands: list[tuple[str, str, int]] = []
        #: Staff chat membership checked lately: user id -> (monotonic time, is a member).
        self.staff_members: dict[int, tuple[float, bool]] = {}
        #: Features may keep small typed state here (e.g. caches); keys are module names.
        self.extras: dict[str, Any] = {}
        #: Albums already answered, for every feature (bot/albums.py).
        self.albums = AlbumMemory()
        #: Machine translation with its cache (set at start by bot/bridge; without a
        #: translation server it answers from the cache or with a failure).
        self.translator: Translator | None = None

    def staff_texts(self) -> Texts:
        """Texts for the staff chat: staff read the district's default language."""
        return self.catalogs.texts(self.config.default_language)


class BotContext(CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], BotData]):
    """CallbackContext with typed shortcuts to the shared services.

    `ExtBot[int]`: the bot's rate limiter (AIORateLimiter) takes an int per request.
    """

    @property
    def config(self) -> Config:
        return self.bot_data.config

    @property
    def db(self) -> Database:
        return self.bot_data.db

    def now(self) -> datetime:
        return self.bot_data.clock()

    def texts(self, language: str | None) -> Texts:
        return self.bot_data.catalogs.texts(language)

    def staff_texts(self) -> Texts:
        """Texts for the staff chat (see `BotData.staff_texts`)."""
        return self.bot_data.staff_texts()

    async def ack(self, update: Update, text: str | None = None, *, alert: bool = False) -> None:
        """Answer a button press once (Telegram refuses a second answer to the same query).

        A press that waited while the bot was down is too old to answer; that is not an error.
        """
        query = update.callback_query
        if query is None or self.__dict__.get("_acked"):
            return
        self.__dict__["_acked"] = True
        try:
            await query.answer(text, show_alert=alert)
        except BadRequest as error:
            if classify(error).outcome is not Outcome.TOO_OLD:
                raise

    async def ack_stale(self, update: Update, t: Texts) -> None:
        """Answer a press on a button whose moment has passed (the tip was sent, the survey
        closed, the case ended): one wording everywhere."""
        await self.ack(update, t._("This button does not work any more."))


BotApplication = Application[ExtBot[int], BotContext, dict[Any, Any], dict[Any, Any], BotData, Any]
