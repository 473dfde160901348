"""Failover: two instances in webhook mode behind a load balancer, on one PostgreSQL database.

The instance that runs the scheduled jobs (the scheduler lease's holder) is killed with
SIGKILL in the middle of the weekly digest. The other one takes the jobs over and finishes the
digest: every subscriber gets it exactly once, within Telegram's limits, and every update the
residents sent before, during and after the kill (some of them stored, but not yet answered,
by the instance that was killed) is answered exactly once, each resident's in the order sent.

Real processes (`python -m bot run`) against the Telegram double, which plays the load
balancer (`route_webhook` with two addresses: round robin, skipping an instance that refuses
the connection). The lease is the default `BOT_LEASE_SECONDS` (30 s): the killed holder's
instance lock is gone at once, so the other instance takes the jobs over long before the
lease could expire. So does an instance restarted after a kill (the second test), at its
start.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.activities.digest import edition_name, prepare_edition
from bot.config import Config
from bot.i18n import Catalogs
from bot.scheduler_lease import LEASE_NAME, TTL_SECONDS
from sandbox import BotAPIDouble
from sandbox.models import SentMessage
from storage import activities, lease, outbox, residents
from storage.activities import Occurrence
from storage.db import Database, PostgresLocation
from tests.postgres import fresh_database
from tests.test_webhook import free_port

pytestmark = [pytest.mark.postgresql, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "https://stikk.example/telegram/updates"
SECRET = "failover-secret"
SUBSCRIBERS = 240
#: Subscribers who also write to the bot, once in each of the four phases.
WRITERS = 40
#: Telegram stalls after this many digests (40 %); the holder is killed while it waits.
STALL_AFTER = 96
RATE = 30  # digests per second: Telegram's own limit
#: The default lease; the holder renews it every third of that, so after a kill it expires
#: no sooner than two thirds of it later. A takeover before then did not wait for it.
LEASE_SECONDS = TTL_SECONDS
#: Each phase's command; answers must come once each, in this order per resident.
PHASES = ("/help", "/privacy", "/help", "/privacy")


async def wait_until(condition: Callable[[], bool], what: str, within: float = 30) -> None:
    try:
        async with asyncio.timeout(within):
            while not condition():  # noqa: ASYNC110 (polls the double and the processes)
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None


async def db_wait_until(
    condition: Callable[[], Awaitable[object]], what: str, within: float = 30
) -> None:
    """`wait_until` for a condition that asks the database."""
    try:
        async with asyncio.timeout(within):
            while not await condition():  # noqa: ASYNC110 (polls the database)
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None


async def lease_expiry(db: Database) -> float:
    """When the scheduler lease expires, as its holder last renewed it (wall-clock seconds)."""
    heartbeat = await db.fetchval(
        "SELECT heartbeat FROM delivery_lock WHERE name = ?", (LEASE_NAME,)
    )
    return float(heartbeat) + LEASE_SECONDS


def _plain(html_text: str) -> str:
    return re.sub(r"<[^>]+>", "", html_text)


class Answers:
    """What the bot said to one chat, sorted into the kinds this test expects."""

    def __init__(self, catalogs: Catalogs) -> None:
        self.prefixes: dict[str, str] = {}
        for language in ("nb", "ar"):
            t = catalogs.texts(language)
            self.prefixes[t._("I can help you with this:")] = "/help"
            self.prefixes[_plain(t._("<b>Your data</b>"))] = "/privacy"
            self.prefixes[_plain(t._("📅 <b>Activities in the coming week</b>"))] = "digest"

    def kind(self, message: SentMessage) -> str:
        text = message.text or ""
        for prefix, kind in self.prefixes.items():
            if text.startswith(prefix):
                return kind
        return f"unexpected: {text[:40]!r}"


async def instance(env: dict[str, str], port: int, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=ROOT,
            env={**env, "BOT_WEBHOOK_LISTEN": f"127.0.0.1:{port}"},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )


async def prepare(location: PostgresLocation, users: list, now: datetime) -> str:
    """Subscribers, one activity next week, and this week's edition written into the outbox
    (the weekly job's first step): the holder's start-up job then sends it."""
    db = await Database.open(location)
    try:
        start = now + timedelta(days=1)
        occurrence = Occurrence(start, start, start + timedelta(hours=1), "Babytreff")
        await activities.save_series(db, "babytreff", "staff", [occurrence], now)
        for i, user in enumerate(users):
            await residents.touch(db, user.id, "nb" if i % 2 else "ar", None, now)
            await activities.subscribe(db, user.id, ["all"], now)
        catalogs = Catalogs(default_language="nb")
        return await prepare_edition(db, catalogs, Config(token="1:x"), now)
    finally:
        await db.close()


def bot_env(
    double: BotAPIDouble, location: PostgresLocation, staff_chat_id: int
) -> dict[str, str]:
    """The instances' configuration: webhook mode, the default lease."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_TOKEN": double.token,
        "BOT_API_BASE_URL": double.base_url,
        "BOT_DATABASE": location.url,
        "BOT_STAFF_CHAT_ID": str(staff_chat_id),
        "BOT_DELIVERY_RATE": str(RATE),
        "BOT_MAX_MESSAGES_PER_SECOND": "10",
        "BOT_WEBHOOK_URL": PUBLIC_URL,
        "BOT_WEBHOOK_SECRET": SECRET,
    }


async def test_the_other_instance_finishes_the_digest_of_a_killed_one_and_loses_no_update(
    tmp_path: Path,
):
    async for location in fresh_database():
        await _failover(tmp_path, location)


async def _failover(tmp_path: Path, location: PostgresLocation) -> None:
    async with BotAPIDouble() as double:
        staff = double.add_user("Kari")
        staff_chat = double.add_supergroup("Bydel staff", members=[staff], admins=[staff])
        users = [double.add_user(f"R{i}", language_code="nb") for i in range(SUBSCRIBERS)]
        writers = users[:WRITERS]
        # Telegram's shape of limits: one delivery at RATE and both instances' answers fit;
        # two deliveries at once would not.
        double.set_limits(global_per_second=55, private_chat_per_second=1, private_burst=3)
        now = datetime.now(UTC)
        edition = await prepare(location, users, now)
        assert edition == edition_name(now, Config(token="1:x"))

        ports = [free_port(), free_port()]
        double.route_webhook(
            "https://stikk.example", *(f"http://127.0.0.1:{port}" for port in ports)
        )
        env = bot_env(double, location, staff_chat.id)
        answers = Answers(Catalogs(default_language="nb"))
        # Telegram stalls after the writers' first answers and STALL_AFTER digests (the digest
        # starts 5 s after the instances, long after the first answers).
        double.hold_sends(after=WRITERS + STALL_AFTER)
        logs = [tmp_path / "one.log", tmp_path / "two.log"]
        processes = [await instance(env, port, log) for port, log in zip(ports, logs, strict=True)]
        db = await Database.open(location)
        async with _cleaned_up(double, db, processes, logs):
            await _run(double, db, processes, staff_chat, users, writers, answers, edition)


@asynccontextmanager
async def _cleaned_up(
    double: BotAPIDouble,
    db: Database,
    processes: list[asyncio.subprocess.Process],
    logs: list[Path],
) -> AsyncIterator[None]:
    """Around a test's run: on failure the instances' logs are printed; always, Telegram stops
    stalling, every instance still alive is killed and the database closed."""
    try:
        yield
    except BaseException:
        for log in logs:
            if log.exists():
                print(f"--- {log.name}\n{log.read_text()[-4000:]}")
        raise
    finally:
        double.release_sends()
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await db.close()


async def _run(
    double: BotAPIDouble,
    db: Database,
    processes: list[asyncio.subprocess.Process],
    staff_chat,
    users: list,
    writers: list,
    answers: Answers,
    edition: str,
) -> None:
    def kinds(user) -> list[str]:
        return [answers.kind(m) for m in double.messages_to(user)]

    def digests() -> int:
        return sum(1 for user in users if "digest" in kinds(user))

    def answered(phase: int) -> bool:
        wanted = list(PHASES[: phase + 1])
        return all(
            sorted(k for k in kinds(user) if k != "digest") == sorted(wanted) for user in writers
        )

    sent_updates: list[int] = []

    def write(phase: int) -> list[int]:
        for user in writers:
            double.send_text(user, PHASES[phase])
        ids = [update["update_id"] for update in double.updates[-len(writers) :]]
        sent_updates.extend(ids)
        return ids

    def acknowledged(ids: list[int]) -> bool:
        waiting = {update["update_id"] for update in double.updates}
        return not waiting.intersection(ids)

    async def handled(ids: list[int]) -> bool:
        count = await db.fetchval(
            "SELECT COUNT(*) FROM inbox WHERE handled_at IS NOT NULL"
            f" AND update_id IN ({','.join('?' * len(ids))})",
            ids,
        )
        return int(count) == len(ids)

    # Both instances are up and have set the webhook; one of them holds the lease.
    await wait_until(
        lambda: sum(call.method == "setWebhook" for call in double.calls) == 2,
        "both instances set the webhook",
    )
    await db_wait_until(lambda: lease.holder(db, LEASE_NAME), "an instance holds the lease")
    owner = await lease.holder(db, LEASE_NAME)
    assert owner is not None
    pid = int(owner.split(":")[1])  # storage.outbox.new_lock_owner: host:pid:random
    [holder] = [p for p in processes if p.pid == pid]
    [other] = [p for p in processes if p.pid != pid]

    # Phase 1, before the digest: every writer's update is answered.
    first = write(0)
    await wait_until(lambda: answered(0), "the first updates are answered")
    await db_wait_until(lambda: handled(first), "the first updates are marked handled")

    # The holder sends the digest; Telegram stalls at 40 %. Everything Telegram accepted is
    # committed as sent (waiting on the database, not on a guess of how long that takes).
    await wait_until(lambda: double.held > 0, "Telegram stalls in the middle of the digest")

    async def committed() -> bool:
        return (await outbox.counts(db, edition)).sent == digests()

    await db_wait_until(committed, "the digests sent so far are committed")
    before_kill = digests()
    assert SUBSCRIBERS * 0.2 <= before_kill <= SUBSCRIBERS * 0.6, before_kill

    # Phase 2, during the stall: updates reach both instances and are stored; their answers
    # wait at Telegram. Then the holder is killed: those it had stored are left unhandled.
    second = write(1)
    await wait_until(lambda: acknowledged(second), "the second updates are stored")
    hook = double.webhook
    assert hook is not None
    routed = dict(hook.answered_by)
    assert len({routed[update_id] for update_id in second}) == 2, "both instances got some"
    # The test keeps the lease's row locked over the kill, so that the other instance takes
    # the lease over only once Telegram's stall has ended: the double then answers every
    # request it held at once (the dead instance's are dropped), a burst a real Telegram,
    # counting requests as they arrive, would not see, and which beside the rest of the
    # digest would exceed its limits.
    async with db.transaction() as tx:
        heartbeat = await tx.fetchval(
            "SELECT heartbeat FROM delivery_lock WHERE name = ? FOR UPDATE", (LEASE_NAME,)
        )
        # The lease expires no sooner than this (it cannot be renewed before the kill now).
        expires = float(heartbeat) + LEASE_SECONDS
        holder.kill()  # SIGKILL: no cleanup, no lease released
        assert await holder.wait() == -signal.SIGKILL
        await asyncio.sleep(0.5)  # the double sees the dead instance's connections close
        double.release_sends()  # the dead instance's waiting requests are dropped unprocessed
        await wait_until(lambda: double.held == 0, "the held requests are answered or dropped")
        await asyncio.sleep(1.0)  # Telegram's one-second window forgets that burst

    # Phase 3, just after the kill: the load balancer skips the dead instance.
    third = write(2)
    await wait_until(lambda: acknowledged(third), "the third updates are stored")

    # The other instance takes the scheduled jobs over (before the lease could expire: the
    # dead one's instance lock is gone), finishes the digest and answers the updates the dead
    # one had stored.
    async def taken_over() -> bool:
        now_holder = await lease.holder(db, LEASE_NAME)
        return now_holder is not None and now_holder.split(":")[1] == str(other.pid)

    await db_wait_until(taken_over, "the other instance holds the lease", expires - time.time())
    assert time.time() < expires

    # Phase 4, during the rest of the digest.
    write(3)
    await wait_until(lambda: digests() == SUBSCRIBERS, "every subscriber has the digest")
    await wait_until(lambda: answered(3), "every update is answered")
    await db_wait_until(lambda: handled(sent_updates), "every update is marked handled")
    await wait_until(
        lambda: any("sendt" in (m.text or "") for m in double.messages_to(staff_chat)),
        "the digest's summary reaches the staff chat",
    )

    # Exactly once: one digest per subscriber, one answer per update, in order.
    for user in users:
        assert kinds(user).count("digest") == 1, (user.id, kinds(user))
    for user in writers:
        # In the order sent, also where the dead instance had stored the second update and
        # the survivor received the third (it handles the chat's waiting update first).
        assert [k for k in kinds(user) if k != "digest"] == list(PHASES), kinds(user)
    assert not [
        m for user in users for m in double.messages_to(user) if "unexpected" in answers.kind(m)
    ]
    # Within Telegram's limits throughout: never a 429.
    assert double.flood_violations == 0
    assert not [call for call in double.calls if call.status == 429]
    # The records agree: every row sent, every update stored once and handled.
    counts = await outbox.counts(db, edition)
    assert (counts.sent, counts.pending) == (SUBSCRIBERS, 0)
    rows = await db.fetchall("SELECT update_id, handled_at FROM inbox ORDER BY update_id")
    assert [row["update_id"] for row in rows] == sorted(sent_updates)
    assert all(row["handled_at"] is not None for row in rows)
    # The survivor holds the lease, and reported the rest of the digest to staff once.
    assert (await lease.holder(db, LEASE_NAME) or "").split(":")[1] == str(other.pid)
    summaries = [m.text or "" for m in double.messages_to(staff_chat) if "sendt" in (m.text or "")]
    assert len(summaries) == 1, summaries
    assert f"{SUBSCRIBERS - before_kill} sendt" in summaries[0]

    # The survivor stops cleanly.
    other.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(other.wait(), 30) == 0


async def test_a_restarted_instance_takes_the_jobs_over_from_its_killed_self_at_once(
    tmp_path: Path,
):
    """One instance, killed in the middle of the digest and started again (what systemd
    does): the new process holds the lease from its start, though its predecessor's has most
    of its time to run, and finishes the digest, each subscriber's once."""
    async for location in fresh_database():
        async with BotAPIDouble() as double:
            staff = double.add_user("Kari")
            staff_chat = double.add_supergroup("Bydel staff", members=[staff], admins=[staff])
            users = [double.add_user(f"R{i}", language_code="nb") for i in range(RESTART_USERS)]
            double.set_limits(global_per_second=55, private_chat_per_second=1, private_burst=3)
            now = datetime.now(UTC)
            edition = await prepare(location, users, now)
            port = free_port()
            double.route_webhook("https://stikk.example", f"http://127.0.0.1:{port}")
            env = bot_env(double, location, staff_chat.id)
            double.hold_sends(after=RESTART_USERS // 3)
            logs = [tmp_path / "first.log", tmp_path / "restarted.log"]
            processes = [await instance(env, port, logs[0])]
            db = await Database.open(location)
            async with _cleaned_up(double, db, processes, logs):
                await _restart(double, db, env, port, logs, processes, users, edition)


#: Subscribers in the restart test (a third get the digest before the kill).
RESTART_USERS = 60


async def _restart(
    double: BotAPIDouble,
    db: Database,
    env: dict[str, str],
    port: int,
    logs: list[Path],
    processes: list[asyncio.subprocess.Process],
    users: list,
    edition: str,
) -> None:
    def digests() -> int:
        return sum(len(double.messages_to(user)) for user in users)

    def webhooks_set() -> int:
        return sum(call.method == "setWebhook" for call in double.calls)

    async def holder_pid() -> str | None:
        owner = await lease.holder(db, LEASE_NAME)
        return None if owner is None else owner.split(":")[1]

    [first] = processes
    await wait_until(lambda: double.held > 0, "Telegram stalls in the middle of the digest")
    assert await holder_pid() == str(first.pid)
    expires = await lease_expiry(db)
    first.kill()  # SIGKILL: no cleanup, no lease released
    assert await first.wait() == -signal.SIGKILL
    await asyncio.sleep(0.5)  # the double sees the dead instance's connections close
    double.release_sends()  # the dead instance's waiting requests are dropped unprocessed
    sent_before = (await outbox.counts(db, edition)).sent
    assert 0 < sent_before < len(users)

    restarted = await instance(env, port, logs[1])
    processes.append(restarted)
    # Its start-up took the lease (before it set the webhook), long before it expires.
    await wait_until(lambda: webhooks_set() == 2, "the restarted instance sets the webhook")
    assert await holder_pid() == str(restarted.pid)
    assert time.time() < expires
    # And it runs the jobs: the start-up job finishes the digest.
    await wait_until(lambda: digests() == len(users), "every subscriber has the digest")
    assert all(len(double.messages_to(user)) == 1 for user in users)
    counts = await outbox.counts(db, edition)
    assert (counts.sent, counts.pending) == (len(users), 0)
    assert double.flood_violations == 0
    restarted.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(restarted.wait(), 30) == 0
