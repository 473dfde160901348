"""Outside calls made out of line, so that no message waits behind a slow translation server.

An outbox sender that needs a translation (or a transcript) calls `result_of(context, task,
work)`. The first time, `work` starts as a background task and the sender postpones its task;
the outbox goes on with the next one at once (another resident's message is relayed while the
translation server thinks). When `work` is done, its result is kept in memory, the task is made
due again and the outbox runs: this time `result_of` returns the result and the sender posts.

The result lives in memory only: after a restart the task is simply tried again, and the
translation comes from the cache (or the server) once more. Nothing is lost either way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot import outbox
from bot.context import BotContext
from storage import outbox as outbox_store

log = logging.getLogger(__name__)

T = TypeVar("T")

_RESULTS = "bridge.results"
_RUNNING = "bridge.running"


async def result_of(context: BotContext, task: outbox.Task, work: Callable[[], Awaitable[T]]) -> T:
    """The result of `work` for `task`; raises `outbox.Postpone` until it is there."""
    extras = context.bot_data.extras
    results: dict[str, Any] = extras.setdefault(_RESULTS, {})
    running: set[str] = extras.setdefault(_RUNNING, set())
    if task.key in results:
        return results.pop(task.key)  # type: ignore[no-any-return]
    if task.key not in running:
        running.add(task.key)
        context.application.create_task(_run(context, task.key, work, results, running))
    raise outbox.Postpone("waiting for an outside service")


async def _run(
    context: BotContext,
    key: str,
    work: Callable[[], Awaitable[Any]],
    results: dict[str, Any],
    running: set[str],
) -> None:
    try:
        results[key] = await work()
    except Exception:
        # The clients return failures as values; this is a bug. The task is tried again later.
        log.exception("out-of-line work for %s failed", key.partition(":")[0])
        return
    finally:
        running.discard(key)
    # Under the outbox's lock: the sender's Postpone is recorded before the task is made due.
    async with context.bot_data.outbox.lock:
        await outbox_store.make_due(context.db, key, context.now())
    await outbox.send_pending(context)
