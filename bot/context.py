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

from bot.i18n import Catalogs, Texts

if TYPE_CHECKING:
    from bot.bridge.translation import Translator
    from bot.config import Config
    from storage.db import Database

DeepLinkHandler = Callable[[Update, "BotContext", str], Awaitable[None]]
#: Offered a resident's message (not a command) in a private chat; returns True if it took it.
MessageConsumer = Callable[[Update, "BotContext"], Awaitable[bool]]
#: Asked before the bot writes to a resident unasked (a survey invitation): True while the
#: resident should not be disturbed (for example while a conversation with staff is open).
BusyCheck = Callable[["Database", int], Awaitable[bool]]
#: Run before a resident's data is erased, for what lives outside the database (a staff topic).
ForgetHook = Callable[["BotContext", int], Awaitable[None]]
#: Asked to end whatever flow the resident is in (on /cancel); returns True if one was ended.
CancelHook = Callable[[Update, "BotContext"], Awaitable[bool]]
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
    #: The current time. Tests replace it to be on a Saturday or on 17 May.
    clock: Callable[[], datetime]

    def __init__(self) -> None:
        self.clock = utc_now
        #: Deep-link payload prefixes (`/start tip`, `/start survey-x`) and their handlers.
        self.deep_links: dict[str, DeepLinkHandler] = {}
        #: Features that take free-form private messages, by priority (see bot/registry.py).
        self.message_consumers: list[tuple[int, str, MessageConsumer]] = []
        #: Features that take messages written in the staff chat (replies, topic messages).
        self.staff_message_consumers: list[tuple[int, str, MessageConsumer]] = []
        self.cancel_hooks: list[CancelHook] = []
        self.forget_hooks: list[ForgetHook] = []
        self.startup_hooks: list[StartupHook] = []
        #: Lines for the header of a new case topic (earlier cases, open tips), in order.
        self.case_header_parts: list[CaseHeaderPart] = []
        #: (name, check): a resident for whom any check says True gets no invitations now.
        self.busy_checks: list[tuple[str, BusyCheck]] = []
        #: (command, untranslated description, order) for the command menus.
        self.resident_commands: list[tuple[str, str, int]] = []
        self.staff_commands: list[tuple[str, str, int]] = []
        #: Features may keep small typed state here (e.g. caches); keys are module names.
        self.extras: dict[str, Any] = {}
        #: Machine translation with its cache (set at start by bot/bridge; without a
        #: translation server it answers from the cache or with a failure).
        self.translator: Translator | None = None


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """CallbackContext with typed shortcuts to the shared services."""

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
            if "query is too old" not in str(error).lower():
                raise


BotApplication = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], BotData, Any
]
