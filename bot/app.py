"""Builds the python-telegram-bot Application from a `Config`: what `python -m bot run` starts
and what the tests drive. Lists every feature and the order their handlers are tried in."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, Defaults

from bot import (
    activities,
    announcements,
    bridge,
    fallback,
    guard,
    handover,
    inbox,
    onboarding,
    outbox,
    privacy,
    reports,
    scheduler_lease,
    staff_chat,
    surveys,
    tips,
)
from bot.commands import publish_commands
from bot.config import Config
from bot.context import BotApplication, BotContext, BotData
from bot.errors import on_error
from bot.i18n import Catalogs
from bot.processing import PerChatUpdateProcessor
from bot.transport import AiohttpRequest
from storage.db import Database

log = logging.getLogger(__name__)

#: Feature modules, each exposing `register(app)`. Order matters where handlers overlap.
FEATURES = (
    guard,
    onboarding,
    staff_chat,
    privacy,
    handover,
    tips,
    activities,
    surveys,
    bridge,
    reports,
    announcements,
)

#: Updates the bot asks Telegram for (others are never delivered).
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
]


def build_application(
    config: Config, *, clock: Callable[[], datetime] | None = None
) -> BotApplication:
    """Create the Application with every feature registered; nothing is started yet."""
    # httpx logs every request URL at INFO, and the URL contains the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    processor = PerChatUpdateProcessor(max_concurrent_updates=64)
    queue = inbox.DurableUpdateQueue()
    app: BotApplication = (
        ApplicationBuilder()
        .token(config.token)
        .update_queue(queue)
        .job_queue(scheduler_lease.LeasedJobQueue())
        .base_url(f"{config.api_root}/bot")
        .base_file_url(f"{config.api_root}/file/bot")
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .concurrent_updates(processor)
        .rate_limiter(
            AIORateLimiter(
                overall_max_rate=config.max_messages_per_second,
                overall_time_period=1,
                group_max_rate=config.group_messages_per_minute,
                group_time_period=60,
                max_retries=config.rate_limit_retries,
            )
        )
        .defaults(Defaults(tzinfo=config.timezone))
        .request(AiohttpRequest(connection_pool_size=16))
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    data = app.bot_data
    data.config = config
    data.catalogs = Catalogs(default_language=config.default_language)
    if clock is not None:
        data.clock = clock
    # First: updates a crash left unhandled are queued before anything else starts, and (on
    # PostgreSQL) the instance lock is taken, which the scheduler lease names.
    inbox.install(app, queue, processor)
    # Scheduled jobs run on the one instance that holds the lease (several share PostgreSQL).
    scheduler_lease.install(app)
    # Before the features: they add the senders of what they send (bot/outbox.py).
    outbox.register(app)
    for feature in FEATURES:
        feature.register(app)
    fallback.register(app)
    app.add_error_handler(on_error)
    return app


async def _post_init(app: BotApplication) -> None:
    app.bot_data.db = await Database.open(app.bot_data.config.database)
    await publish_commands(app)
    for hook in app.bot_data.startup_hooks:
        await hook(app)


async def _post_shutdown(app: BotApplication) -> None:
    if app.bot_data.translator is not None:
        await app.bot_data.translator.close()
    db = getattr(app.bot_data, "db", None)
    if db is not None:
        await db.close()


def update_processor(app: BotApplication) -> PerChatUpdateProcessor:
    processor = app.update_processor
    assert isinstance(processor, PerChatUpdateProcessor)
    return processor


def run(app: BotApplication) -> None:
    """Run the bot until SIGTERM or Ctrl-C: with a webhook when `BOT_WEBHOOK_URL` is set, else
    with long polling. Either way it finishes the updates in hand, stops the jobs and closes
    the database (post_shutdown) before it returns.

    Webhook mode relies on python-telegram-bot's own server (tornado): its handler awaits
    `update_queue.put(update)` before it answers, and our queue's `put` commits the update
    to the inbox (bot/inbox.py), so Telegram gets its 200 only for a stored update; a
    request without the right `X-Telegram-Bot-Api-Secret-Token` gets 403 before anything
    is read. setWebhook keeps what Telegram holds (`drop_pending_updates=False`).
    """
    config = app.bot_data.config
    if config.webhook_url is None:
        log.info("starting Stikk innom with long polling")
        app.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
        return
    host, port = config.webhook_listen
    log.info("starting Stikk innom with a webhook, listening on %s:%s", host, port)
    app.run_webhook(**_webhook_options(config))


def _webhook_options(config: Config) -> dict[str, Any]:
    host, port = config.webhook_listen
    return {
        "listen": host,
        "port": port,
        "url_path": config.webhook_path,
        "webhook_url": config.webhook_url,
        "allowed_updates": ALLOWED_UPDATES,
        "drop_pending_updates": False,
        "secret_token": config.webhook_secret,
    }


@asynccontextmanager
async def running(app: BotApplication, *, poll_timeout: int = 10) -> AsyncIterator[BotApplication]:
    """Run the bot inside an existing event loop (tests, benchmarks): long polling, or the
    webhook when the configuration has `webhook_url`.

    Mirrors what `Application.run_polling` / `run_webhook` do, including post_init and
    post_shutdown.
    """
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        assert app.updater is not None
        config = app.bot_data.config
        if config.webhook_url is not None:
            await app.updater.start_webhook(**_webhook_options(config))
        else:
            await app.updater.start_polling(
                poll_interval=0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES
            )
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            if app.post_stop:
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
