"""Scheduled jobs run on one instance at a time: the one holding the "scheduler" lease.

Every JobQueue job (the weekly digest, reminders, retention, the weekly summary, notices,
announcements, the outbox runner, ...) goes through `LeasedJobQueue.job_callback`, which skips
the run unless this instance holds the lease (storage/lease.py). Nothing else changes for the
jobs: they are written as if they were alone, and on one database they are.

On PostgreSQL, where several instances may share the database, the lease expires
`BOT_LEASE_SECONDS` (default 30 s) after its holder last renewed it, and the holder renews it
every third of that (10 s). The lease also names the holder's instance lock
(storage/chat_locks.py, `Database.instance`), which the server frees the moment the holder's
process dies. Every instance that does not hold the lease asks for it every second
(`WATCH_JOB`), and at every job run. So when the holder dies:
- its process died on a machine the server still reaches (a crash, SIGKILL, the OOM killer):
  another instance takes the lease over within a second, and a restarted instance at its
  start, without waiting for the lease to expire;
- its whole machine vanished (the server learns only when TCP keepalive gives up), or it held
  no instance lock: another instance takes the lease over once it expired, within the lease
  and a second.
A clean stop releases the lease at once (taken within a second). An instance trusts its own
lease for at most one renewal interval since it last renewed it, far less than the lease, so
on the expiry rule two instances never both think they hold it (their clocks must agree to
within the rest, as NTP keeps them). An instance whose instance lock vanishes while it lives
(that connection cut) looks dead to the others, which take the lease over at once. It stops
trusting its lease as soon as it hears of the loss (`ChatLocks.on_lost`), and at its next
renewal at the latest: the two may both run jobs for up to a renewal interval. The jobs are
harmless to run twice, and broadcasts are guarded by the delivery lock, which does not count
on the instance lock alone (storage/outbox.py).

A skipped interval run is not made up for: it runs again soon on the holder, and the jobs look
at what is due, not at when they last ran. A skipped daily, weekly or one-off run is tried
again once after the lease and one renewal interval, so that the weekly digest still goes out
when its holder died just before it was due (`try_again_after_takeover`). And what a dead
holder left half done is picked up the moment another instance takes the lease over: jobs
registered with `run_on_takeover` (a digest it was sending, updates it had not handled) run
then, not only at an instance's start.

On SQLite the database has one instance by construction: the lease is always held, and no
statement is run for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from telegram.ext import Job, JobQueue

from bot.context import BotApplication, BotContext
from bot.registry import add_startup_hook
from storage import lease
from storage.db import Database, DatabaseErrors
from storage.outbox import new_lock_owner

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
#: The lease expires this long after its last renewal (the jobs of a holder that vanished
#: with its machine stop this long); the default of `BOT_LEASE_SECONDS`.
TTL_SECONDS = 30.0
#: How often the holder renews it (and how long it trusts a renewal): a third of the lease.
RENEW_EVERY_SECONDS = TTL_SECONDS / 3
#: The job that keeps the lease renewed; it runs on every instance.
RENEW_JOB = "scheduler-lease"
#: The job that takes the lease over as soon as its holder is found dead; it runs on every
#: instance, and asks the database only where the lease is not held (or must be renewed).
WATCH_JOB = "scheduler-lease-watch"
#: How often an instance without the lease asks for it (at most a renewal interval).
WATCH_EVERY_SECONDS = 1.0
#: A job's callback (what `run_once` takes).
JobCallback = Callable[[BotContext], Coroutine[Any, Any, None]]
#: The name of a skipped run's second chance (see `try_again_after_takeover`).
TAKEOVER_SUFFIX = "-after-takeover"


class SchedulerLease:
    """This instance's view of the scheduler lease."""

    def __init__(
        self,
        owner: str | None = None,
        ttl: float = TTL_SECONDS,
        renew_every: float = RENEW_EVERY_SECONDS,
    ) -> None:
        self.owner = owner or new_lock_owner()
        self.ttl = ttl
        self.renew_every = renew_every
        self.held = False
        self._renewed_at = float("-inf")  # time.monotonic() of the last successful renewal
        #: The instance lock named at the last renewal (`Database.instance` then).
        self._named: int | None = None
        #: Called when this instance comes to hold the lease it did not hold before.
        self.on_gained: Callable[[], None] | None = None
        self._renewing = asyncio.Lock()

    async def holds(self, db: Database | None) -> bool:
        """Whether this instance may run scheduled jobs now (renewing the lease if due).

        Trusted without asking for one renewal interval, unless the instance lock named with
        the lease was lost meanwhile: the others may then take the lease over at once.
        """
        if db is None or db.dialect != "postgresql":
            return True
        if (
            self.held
            and db.instance == self._named
            and time.monotonic() - self._renewed_at < self.renew_every
        ):
            return True
        return await self.renew(db)

    async def renew(self, db: Database) -> bool:
        """Take or keep the lease; on a database error this instance stops counting on it.

        One renewal at a time: the renewal job and a job checking the lease may ask at once,
        and the lease is gained (`on_gained`) once, not once per asker.
        """
        async with self._renewing:
            was_held = self.held
            instance = db.instance
            try:
                self.held = await lease.acquire(
                    db, LEASE_NAME, self.owner, self.ttl, instance=instance
                )
            except DatabaseErrors as error:
                log.error("the scheduler lease could not be renewed (%s)", error)
                self.held = False
            if self.held:
                self._renewed_at = time.monotonic()
                self._named = instance
            if self.held != was_held:
                log.info(
                    "scheduled jobs %s on this instance (%s)",
                    "run" if self.held else "no longer run",
                    self.owner,
                )
                if self.held and self.on_gained is not None:
                    self.on_gained()
            return self.held

    async def release(self, db: Database) -> None:
        if not self.held:
            return
        self.held = False
        try:
            await lease.release(db, LEASE_NAME, self.owner)
        except DatabaseErrors as error:
            log.error("the scheduler lease could not be released (%s); it expires", error)


class LeasedJobQueue(JobQueue[BotContext]):
    """A JobQueue whose jobs run only on the instance that holds the scheduler lease."""

    def __init__(self) -> None:
        super().__init__()
        self._on_takeover: list[tuple[JobCallback, str]] = []
        self.lease = SchedulerLease()

    @property
    def lease(self) -> SchedulerLease:
        return self._lease

    @lease.setter
    def lease(self, lease: SchedulerLease) -> None:
        lease.on_gained = self._taken_over
        self._lease = lease

    def run_on_takeover(self, callback: JobCallback, name: str) -> None:
        """Run `callback` as a one-off job whenever this instance takes the lease over from
        another (not at its own start, where the start-up jobs run anyway)."""
        self._on_takeover.append((callback, name))

    def _taken_over(self) -> None:
        if not self.scheduler.running:
            return  # taken at start, before the jobs run: the start-up jobs do this
        for callback, name in self._on_takeover:
            self.run_once(callback, when=0, name=name + TAKEOVER_SUFFIX)

    @staticmethod
    async def job_callback(job_queue: JobQueue[Any], job: Job[Any]) -> None:
        application = job_queue.application
        if isinstance(job_queue, LeasedJobQueue) and job.name not in (RENEW_JOB, WATCH_JOB):
            db = getattr(application.bot_data, "db", None)
            if not await job_queue.lease.holds(db):
                log.debug("job %s skipped: another instance runs the scheduled jobs", job.name)
                job_queue.try_again_after_takeover(job)
                return
        await job.run(application)

    def try_again_after_takeover(self, job: Job[Any]) -> None:
        """A daily, weekly or one-off run skipped here comes again once the lease could have
        changed hands: were its holder dead, the run would otherwise wait a day or a week.

        The job then runs only if this instance took the lease over; the jobs are written to
        run twice harmlessly (this week's edition once; what is due, once). A repeating
        interval job needs nothing: its next run comes soon anyway.
        """
        trigger = getattr(job.job, "trigger", None)  # None for a Job not (yet) scheduled
        name = job.name or ""
        if isinstance(trigger, IntervalTrigger) or name.endswith(TAKEOVER_SUFFIX):
            return
        self.run_once(
            job.callback,
            when=self.lease.ttl + self.lease.renew_every,
            data=job.data,
            name=name + TAKEOVER_SUFFIX,
            chat_id=job.chat_id,
            user_id=job.user_id,
        )

    async def stop(self, wait: bool = True) -> None:
        """Stop, then hand the lease over (another instance need not wait for it to expire)."""
        await super().stop(wait)
        db = getattr(self.application.bot_data, "db", None)
        if db is not None and db.dialect == "postgresql":
            await self.lease.release(db)


async def _renew(context: BotContext) -> None:
    queue = context.job_queue
    if isinstance(queue, LeasedJobQueue):
        await queue.lease.renew(context.db)


async def _watch(context: BotContext) -> None:
    """Take the lease over the moment its holder is found dead (see the module docstring);
    on the holder, nothing but a look at the clock (and a renewal if due)."""
    queue = context.job_queue
    if isinstance(queue, LeasedJobQueue):
        await queue.lease.holds(context.db)


async def _start_renewing(app: BotApplication) -> None:
    """Start-up hook: on PostgreSQL take the lease now and keep it renewed.

    It runs after bot/inbox.py's hook has taken this instance's instance lock (bot/app.py
    installs the inbox first), so that a restarted instance takes over at once a lease its
    killed predecessor left behind, and names its own instance lock with it. Without an
    instance lock (its connection failed) the lease works on the expiry rule alone.
    """
    queue = app.job_queue
    if isinstance(queue, LeasedJobQueue) and app.bot_data.db.dialect == "postgresql":
        await queue.lease.renew(app.bot_data.db)
        every = queue.lease.renew_every
        queue.run_repeating(_renew, interval=every, first=every, name=RENEW_JOB)
        check = min(WATCH_EVERY_SECONDS, every)
        queue.run_repeating(_watch, interval=check, first=check, name=WATCH_JOB)


def run_on_takeover(app: BotApplication, callback: JobCallback, name: str) -> None:
    """See `LeasedJobQueue.run_on_takeover`; nothing without a `LeasedJobQueue`."""
    queue = app.job_queue
    if isinstance(queue, LeasedJobQueue):
        queue.run_on_takeover(callback, name)


def install(app: BotApplication) -> None:
    """Keep the scheduler lease renewed in an Application built with a `LeasedJobQueue`, for
    as long as `BOT_LEASE_SECONDS` says."""
    queue = app.job_queue
    if isinstance(queue, LeasedJobQueue):
        seconds = app.bot_data.config.lease_seconds
        queue.lease = SchedulerLease(queue.lease.owner, ttl=seconds, renew_every=seconds / 3)
    add_startup_hook(app, _start_renewing)
