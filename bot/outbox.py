"""The outbox: how a single message reaches Telegram and survives a crash or an outage.

A handler stores what happened and, in the same transaction where it can, a *task*: a row in
the `outbox` table naming a sender and its arguments. Then `send_pending` runs the due tasks
(right away, and again from a job every few seconds):

    # storage, inside the transaction that stores the question:
    await outbox.add_task(tx, "tip-question", f"tip-question:{question_id}",
                          {"question_id": question_id}, now, chat_id=resident_id)
    # the feature's register(app): the one function that sends it
    add_sender(app, "tip-question", send_question, on_given_up=question_not_delivered)
    # the handler, after the commit:
    await send_pending(context)

A sender `async def send(context, task) -> int | None` makes the Telegram calls and returns
the id of the message it sent (or None). It raises Telegram's errors; it does not catch them.
The runner asks `bot/telegram_errors.py` what an error means and applies one policy:

- flood control: the task (and the rest of this run) waits as long as Telegram asked;
- network trouble, timeouts, 5xx: back off (5 s, doubling, at most 30 min) and try again;
  after `DEFAULT_POLICY.max_attempts` tries the task is given up and recorded `failed`;
- a resident blocked the bot or deleted their account: recorded `blocked`, never retried;
  the staff chat refusing the bot is an operator's to fix, so such tasks are retried;
- a bad request: recorded `failed` at once (sending it again cannot help).

When a task ends without being sent, its `on_given_up(context, task, verdict)` hook may tell
someone (staff learn that their question did not reach the resident). A deleted forum topic
is the sender's to handle, with `in_topic` (shared by tips and cases): a new topic is made
and the message goes there.

Crash safety: a task is marked sent right after the sender returns, and a sender that makes
several calls (a tip card and its photos) records its own progress as it goes (the card's
message id), so a task tried again carries on instead of repeating. The window that cannot
be closed (Telegram's OK arrived, the process died before the commit) may repeat one message;
nothing is ever lost. One lock keeps the job and a handler from running the same task twice.

Broadcasts (the digest, survey invitations) share the table but are sent by the throttled
delivery engine, `bot/delivery.py`, with the same error classification.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from telegram import Message, ReplyParameters
from telegram.error import BadRequest, TelegramError

from bot.common import send
from bot.context import BotApplication, BotContext
from bot.processing import HANDLING_UPDATE
from bot.registry import add_startup_hook
from bot.telegram_errors import DEFAULT_POLICY, Outcome, RetryPolicy, Verdict, classify
from storage import outbox as store
from storage.db import Database, Transaction
from storage.outbox import STAFF_CHAT, Task

__all__ = [
    "STAFF_CHAT",
    "OutboxState",
    "Postpone",
    "RunReport",
    "Task",
    "add_sender",
    "enqueue",
    "in_topic",
    "send_pending",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How often the job sends what is due (retries after failures, work left by a crash).
RUN_EVERY = timedelta(seconds=10)

#: Makes the Telegram calls of one task; returns the id of the message sent (or None).
Sender = Callable[[BotContext, Task], Awaitable[int | None]]
#: Told when a task ends unsent (`blocked` or `failed`), to tell someone or record it.
GivenUpHook = Callable[[BotContext, Task, Verdict], Awaitable[None]]


class Postpone(Exception):
    """Raised by a sender whose task cannot go yet for a reason of the bot's own (the staff chat
    is switched off until a restart): tried again later, not counted as an attempt."""


@dataclass
class OutboxState:
    """Per application: the senders by kind, and one run at a time."""

    senders: dict[str, tuple[Sender, GivenUpHook | None]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: Set by every `send_pending` call: the run under way must look for due tasks again.
    more: bool = False
    policy: RetryPolicy = DEFAULT_POLICY


@dataclass
class RunReport:
    """What one run did, in tasks."""

    sent: int = 0
    blocked: int = 0
    failed: int = 0
    later: int = 0


def add_sender(
    app: BotApplication, kind: str, sender: Sender, *, on_given_up: GivenUpHook | None = None
) -> None:
    """Make `sender` the one function that sends tasks of `kind` (in a feature's register)."""
    senders = app.bot_data.outbox.senders
    if kind in senders:
        raise ValueError(f"outbox sender {kind!r} registered twice")
    senders[kind] = (sender, on_given_up)


async def enqueue(
    db: Database | Transaction,
    kind: str,
    key: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    chat_id: int = STAFF_CHAT,
) -> bool:
    """Store a task; pass the transaction that stores what it is about whenever there is one.

    `key` makes it unique (enqueueing it again adds nothing); `payload` holds ids, never text a
    person wrote (that stays in the feature's own tables, which privacy erasure knows).
    """
    return await store.add_task(db, kind, key, payload, now, chat_id=chat_id)


async def send_pending(context: BotContext) -> RunReport:
    """Send every due task, oldest first; stop early while Telegram is unwell.

    A handler does not wait for the sending: its update is done once its tasks are committed,
    and the run goes on as a task of the application (a job's call runs to the end). Were the
    handler to wait, a slow Telegram would keep its update unfinished, and an update the bot
    dies on while it waits counts as one more attempt at it (`bot/inbox.py`). If a run is
    under way already, it looks for due tasks again before it ends and takes the caller's
    task with it.
    """
    state = context.bot_data.outbox
    state.more = True
    if state.lock.locked():
        return RunReport()
    if HANDLING_UPDATE.get() and context.application.running:
        context.application.create_task(_send_all(context), name="outbox-run")
        return RunReport()
    return await _send_all(context)


async def _send_all(context: BotContext) -> RunReport:
    state = context.bot_data.outbox
    report = RunReport()
    tried: set[int] = set()
    async with state.lock:
        # Again while senders and other callers add tasks (a question's "sent" note, news to
        # each follower, a relay from another chat).
        while True:
            state.more = False
            tasks = [
                task
                for task in await store.due_tasks(context.db, context.now())
                if task.id not in tried
                # No staff chat configured: staff tasks wait (`python -m bot check` says so).
                and not (task.chat_id == STAFF_CHAT and context.config.staff_chat_id is None)
            ]
            if not tasks:
                if state.more:
                    continue
                return report
            for task in tasks:
                tried.add(task.id)
                if not await _run(context, state, task, report):
                    return report


async def _run(context: BotContext, state: OutboxState, task: Task, report: RunReport) -> bool:
    """Send one task and record the outcome; False if the rest of this run should wait."""
    entry = state.senders.get(task.kind)
    if entry is None:
        log.error("outbox task %s has no sender %r; it waits", task.id, task.kind)
        return True
    sender, on_given_up = entry
    try:
        message_id = await sender(context, task)
    except TelegramError as error:
        return await _failed(context, state, task, classify(error), on_given_up, report)
    except Postpone as reason:
        later = context.now() + timedelta(seconds=state.policy.cap)
        await store.task_later(context.db, task.id, str(reason), later, count=False)
        report.later += 1
        return True
    except Exception:  # a bug in a sender must not stop the others; it is retried, then given up
        log.exception("outbox sender %s failed on task %s", task.kind, task.id)
        verdict = Verdict(Outcome.RETRY, reason="the sender raised an exception")
        return await _failed(context, state, task, verdict, on_given_up, report)
    # Commit at once: this is the window in which a crash could send it twice.
    await store.task_sent(context.db, task.id, message_id, context.now())
    report.sent += 1
    return True


async def _failed(
    context: BotContext,
    state: OutboxState,
    task: Task,
    verdict: Verdict,
    on_given_up: GivenUpHook | None,
    report: RunReport,
) -> bool:
    now = context.now()
    log.warning("outbox task %s (%s): %s", task.id, task.kind, verdict.reason)
    if verdict.outcome is Outcome.WAIT:
        later = now + timedelta(seconds=verdict.wait)
        await store.task_later(context.db, task.id, verdict.reason, later, count=False)
        report.later += 1
        return False  # Telegram counts the bot, not the task: everything waits
    if verdict.final_for(task.chat_id):
        status = "blocked" if verdict.outcome is Outcome.BLOCKED else "failed"
        await _give_up(context, task, status, verdict, on_given_up)
        setattr(report, status, getattr(report, status) + 1)
        return True
    attempts = await store.task_later(
        context.db,
        task.id,
        verdict.reason,
        now + timedelta(seconds=state.policy.delay(task.attempts + 1)),
        count=True,
    )
    if state.policy.gives_up(attempts):
        await _give_up(context, task, "failed", verdict, on_given_up)
        report.failed += 1
        return True
    report.later += 1
    return False  # Telegram (or the staff chat) is unwell: the rest waits, in order


async def _give_up(
    context: BotContext,
    task: Task,
    status: str,
    verdict: Verdict,
    on_given_up: GivenUpHook | None,
) -> None:
    await store.task_ended(context.db, task.id, status, verdict.reason, context.now())
    log.warning("outbox task %s (%s) given up: %s", task.id, task.kind, status)
    if on_given_up is not None:
        try:
            await on_given_up(context, task, verdict)
        except Exception:
            log.exception("the given-up hook of %s failed on task %s", task.kind, task.id)


# --------------------------------------------------------------------------- forum topics
async def in_topic(
    current: Callable[[], Awaitable[int | None]],
    replace: Callable[[], Awaitable[int | None]],
    send: Callable[[int | None], Awaitable[T]],
) -> T:
    """Send into a forum topic; if staff deleted it, `replace()` makes a new one and the message
    goes there. The same for tip categories and cases: nothing is lost, nothing goes to a
    topic nobody sees. Other errors are raised to the runner."""
    thread = await current()
    try:
        return await send(thread)
    except BadRequest as error:
        if classify(error).outcome is not Outcome.TOPIC_GONE:
            raise
        log.warning("a staff topic was deleted; sending into a new one")
    return await send(await replace())


# --------------------------------------------------------------------------- staff notes
async def note_to_staff(
    db: Database | Transaction,
    key: str,
    text: str,
    now: datetime,
    *,
    thread_id: int | None = None,
    reply_to: int | None = None,
) -> bool:
    """Enqueue a short note of the bot's own (HTML from `Texts._`, no resident's words) for
    the staff chat: "sent to the resident", "not delivered". A deleted topic: General."""
    payload = {"text": text, "thread_id": thread_id, "reply_to": reply_to}
    return await enqueue(db, "staff-note", key, payload, now)


async def _send_staff_note(context: BotContext, task: Task) -> int | None:
    chat_id = context.config.staff_chat_id
    assert chat_id is not None
    reply_to = task.payload.get("reply_to")
    extra: dict[str, Any] = {}
    if reply_to is not None:
        extra["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)

    async def thread() -> int | None:
        return task.payload.get("thread_id")

    async def general() -> int | None:
        return None

    async def post(where: int | None) -> Message:
        return await send(context, chat_id, task.payload["text"], message_thread_id=where, **extra)

    message = await in_topic(thread, general, post)
    return message.message_id


# --------------------------------------------------------------------------- wiring
async def _job(context: BotContext) -> None:
    await send_pending(context)


async def _after_start(app: BotApplication) -> None:
    # A restart is a new chance: what waited for a back-off may go at once.
    waiting = await store.tasks_due_now(app.bot_data.db)
    if waiting:
        log.info("outbox: %d tasks waiting from before the start", waiting)


def register(app: BotApplication) -> None:
    """Before the features: they add their senders to the state made here."""
    app.bot_data.outbox = OutboxState()
    add_sender(app, "staff-note", _send_staff_note)
    add_startup_hook(app, _after_start)
    if app.job_queue is not None:
        app.job_queue.run_repeating(_job, interval=RUN_EVERY, first=1.0, name="outbox")
