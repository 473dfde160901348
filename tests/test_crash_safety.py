"""`python -m bot run` killed with SIGKILL again and again while residents report tips and
answer a survey, residents and staff write to each other in open cases, and a digest goes out;
after every
restart on the same database the bot carries on, and in the end:

- every tip a resident was told was received (the "T-0042" thanks reached them) is in the
  database, and its card reached the staff chat exactly once;
- every answer a resident was told was received (the next question or the thanks reached
  them) is in the database, and every survey was finished: no tap was lost;
- every message of an open case reached the other side exactly once, also after restarts;
- every subscriber got the digest exactly once;
- nobody got any message twice.

How the kills are made deterministic: each round lets a seeded random number of sends (and
copies) through, then the double holds every further one, as if Telegram stalled. The residents
stop, the test waits until no other request was made for `QUIET` seconds (so the bot has
recorded every answer Telegram gave it) and kills the bot. Held requests are dropped: Telegram
never saw them. This closes the one window no bot can close (Telegram accepted a message and
the bot died before recording that), so the test can demand "nothing twice" without flaking;
what happens in that window is documented in bot/inbox.py and bot/delivery.py.

`CRASH_KILLS` (default 20) sets the number of kills; `CRASH_SEED` the first seed.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.activities.digest import build_edition, edition_name
from bot.config import Config
from bot.delivery import enqueue
from bot.i18n import Catalogs
from bot.surveys.management import load_survey
from sandbox import BotAPIDouble
from sandbox.models import FakeChat, FakeUser
from storage import activities, residents
from storage.activities import Occurrence
from storage.db import Database, DatabaseLocation
from tests.harness import shown_to_staff
from tests.postgres import bot_database

ROOT = Path(__file__).resolve().parent.parent
KILLS = int(os.environ.get("CRASH_KILLS", "20"))
FIRST_SEED = int(os.environ.get("CRASH_SEED", "1"))
#: No request for this long before a kill: the bot has committed what Telegram answered.
QUIET = 0.4
SURVEY_TAKERS = 6
TIP_WRITERS = 4
CASES = 3
SUBSCRIBERS = 40

SURVEY = """
slug = "crash"
anonymous = false
title = "Nabolaget"
[[questions]]
id = "mood"
kind = "smiley"
text = "Hvordan har du det i nabolaget?"
[[questions]]
id = "often"
kind = "choice"
text = "Hvor ofte er du ute?"
options = [{ id = "daily", text = "Hver dag" }, { id = "rarely", text = "Sjelden" }]
[[questions]]
id = "wish"
kind = "text"
text = "Hva ønsker du deg?"
"""
QUESTIONS = ("mood", "often", "wish")


@dataclass
class SurveyTaker:
    """A resident who goes through the survey, one step after each answer of the bot."""

    user: FakeUser
    seen: int = 0
    waiting: str | None = None  # what they did last and wait for an answer to
    confirmed: list[str] = field(default_factory=list)  # questions whose answer was confirmed
    done: bool = False

    def step(self, double: BotAPIDouble) -> None:
        inbox = double.messages_to(self.user)
        if self.waiting is not None and len(inbox) == self.seen:
            return
        fresh, self.seen = inbox[self.seen :], len(inbox)
        last = fresh[-1] if fresh else None
        text = last.text or "" if last else ""
        expected = {"start": "1/3", "mood": "2/3", "often": "3/3", "wish": "Tusen takk"}
        if self.waiting in QUESTIONS and expected[self.waiting] in text:
            # The next question (or the thanks) came: the resident knows the bot has the answer.
            self.confirmed.append(self.waiting)
        if self.waiting == "wish":
            self.done = True
            return
        self.waiting = None
        if last is None:
            double.send_text(self.user, "/start survey-crash")
            self.waiting = "start"
        elif "3/3" in (last.text or ""):
            double.send_text(self.user, f"Mer lys i parken, hilsen {self.user.first_name}")
            self.waiting = "wish"
        elif any((data or "").startswith("sv:a:") for _, data in last.buttons):
            question = "mood" if "1/3" in (last.text or "") else "often"
            data = next(d for _, d in last.buttons if (d or "").startswith("sv:a:"))
            double.press(self.user, last.raw, data)
            self.waiting = question


NB = Catalogs(default_language="nb").texts("nb")
#: A tip as a resident writes it: (what they do, what the bot's answer must contain).
TIP_STEPS = (
    ("say", "/tip", NB._("Sports fields and playgrounds")),
    ("press", NB._("Sports fields and playgrounds"), NB._("📍 Where is it?")),
    (
        "say",
        "➡️ " + NB._("Skip"),
        NB._("Tell us what is wrong. Write a message, or send a voice message."),
    ),
    ("say", "{name} melder: huska er knust", NB._("Done, next step")),
    ("press", NB._("Done, next step"), NB._("Yes, show my name")),
    ("press", NB._("Yes, show my name"), NB._("Send the tip")),
    ("press", NB._("Send the tip"), NB._("✅ Thank you! We got your tip.")),
)


@dataclass
class TipWriter:
    """A resident who reports a tip, one step after each answer of the bot."""

    user: FakeUser
    step_no: int = 0
    seen: int = 0
    acted: bool = False
    done: bool = False

    def step(self, double: BotAPIDouble) -> None:
        inbox = double.messages_to(self.user)
        if self.acted:
            fresh, self.seen = inbox[self.seen :], len(inbox)
            expected = TIP_STEPS[self.step_no][2]
            if not any(expected in (m.text or "") or _has_button(m, expected) for m in fresh):
                return  # still waiting for the answer this step needs
            self.acted = False
            self.step_no += 1
            if self.step_no == len(TIP_STEPS):
                self.done = True
                return
        kind, what, _ = TIP_STEPS[self.step_no]
        self.seen = len(inbox)
        if kind == "say":
            double.send_text(self.user, what.format(name=self.user.first_name))
        else:
            message = next(m for m in reversed(inbox) if _has_button(m, what))
            double.press(self.user, message.raw, message.button(what))
        self.acted = True


def _is_card(message) -> bool:
    return (message.text or "").startswith("📝 ") and "T-" in message.text


def _has_button(message, label: str) -> bool:
    return any(label in text for text, _ in message.buttons)


@dataclass
class CaseTalk:
    """A resident with an open case and the staff member answering in its topic."""

    resident: FakeUser
    topic_id: int
    written: list[str] = field(default_factory=list)
    replied: list[str] = field(default_factory=list)

    def step(self, double: BotAPIDouble, staff: FakeUser, staff_chat: FakeChat, rng) -> None:
        if rng.random() < 0.5:
            text = f"{self.resident.first_name} skriver {len(self.written)}"
            double.send_text(self.resident, text)
            self.written.append(text)
        else:
            text = f"Svar {len(self.replied)} til {self.resident.first_name}"
            double.send_text(staff, text, chat=staff_chat, thread_id=self.topic_id)
            self.replied.append(text)


class Crashes:
    """The double, the database and the bot process that is started and killed."""

    def __init__(self, double: BotAPIDouble, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.double = double
        self.env = env
        self.bot: asyncio.subprocess.Process | None = None
        self.digest: asyncio.subprocess.Process | None = None

    async def _start(self, *args: str) -> asyncio.subprocess.Process:
        log = open(self.log_path, "ab")  # noqa: SIM115, ASYNC230 (the process writes to it)
        log.write(f"=== {' '.join(args)}\n".encode())
        log.flush()
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )

    async def start_bot(self) -> None:
        self.bot = await self._start("run")
        await self.until(lambda: self.double.polling, "the bot to poll")

    async def start_digest(self) -> None:
        self.digest = await self._start("digest", "send")

    async def kill(self) -> None:
        for process in (self.bot, self.digest):
            if process is not None and process.returncode is None:
                process.kill()  # SIGKILL: no cleanup, no finally blocks
                await process.wait()
        if self.bot is not None:
            assert self.bot.returncode == -9, await self._stderr(self.bot)
        self.bot = self.digest = None

    async def stop_bot(self) -> str:
        assert self.bot is not None
        self.bot.terminate()
        await asyncio.wait_for(self.bot.wait(), 30)
        assert self.bot.returncode == 0, self.log()[-3000:]
        return self.log()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def _stderr(self, process: asyncio.subprocess.Process) -> str:
        return self.log()[-3000:]

    async def until(self, condition, what: str, details=None, timeout: float = 30) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not condition():
            if self.bot is not None and self.bot.returncode is not None:
                raise AssertionError(f"the bot died: {await self._stderr(self.bot)}")
            if time.monotonic() > deadline:
                extra = f": {details()}" if details is not None else ""
                raise AssertionError(f"timed out waiting for {what}{extra}")
            await asyncio.sleep(0.02)


async def _prepare(database: DatabaseLocation, survey_takers, subscribers, now: datetime) -> None:
    """Residents who chose their language, a survey, an activity and this week's digest."""
    db = await Database.open(database)
    await load_survey(db, SURVEY, "nb", now)
    start = now + timedelta(days=1)
    await activities.save_series(
        db,
        "leksehjelp",
        "staff",
        [Occurrence(start, start, start + timedelta(hours=2), "Leksehjelp", place="Stovner")],
        now,
    )
    for user in [*survey_takers, *subscribers]:
        await residents.touch(db, user.id, "nb", user.first_name, now)
        await residents.set_language(db, user.id, "nb")
    for user in subscribers:
        await activities.subscribe(db, user.id, ["all"], now)
    config = Config(token="1:x")
    edition = await build_edition(db, Catalogs(default_language="nb"), config, now)
    await enqueue(db, edition_name(now, config), edition.items, now)
    await db.close()


async def test_bot_killed_again_and_again_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, database_location: DatabaseLocation
):
    async with BotAPIDouble() as double:
        staff = double.add_user("Kari")
        staff_chat = double.add_supergroup(
            "Bydel staff", is_forum=True, members=[staff], admins=[staff]
        )
        # Telegram's shape of limits, scaled up together with the bot's rates: test residents
        # and staff write faster than people (and a restarted bot forgets what it sent).
        double.set_limits(
            private_burst=1000,
            private_chat_per_second=1000,
            group_per_minute=6000,
            group_burst=100,
        )
        takers = [
            SurveyTaker(double.add_user(f"Svar{i}", language_code="nb"))
            for i in range(SURVEY_TAKERS)
        ]
        writers = [
            TipWriter(double.add_user(f"Tips{i}", language_code="nb")) for i in range(TIP_WRITERS)
        ]
        subscribers = [double.add_user(f"Abo{i}", language_code="nb") for i in range(SUBSCRIBERS)]
        callers = [double.add_user(f"Sak{i}", language_code="nb") for i in range(CASES)]
        database = database_location
        await _prepare(
            database, [t.user for t in [*takers, *writers]], subscribers, datetime.now(UTC)
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
        env.update(
            BOT_TOKEN=double.token,
            BOT_API_BASE_URL=double.base_url,
            BOT_DATABASE=bot_database(database),
            BOT_STAFF_CHAT_ID=str(staff_chat.id),
            BOT_DELIVERY_RATE="30",
            BOT_GROUP_MESSAGES_PER_MINUTE="3000",
            BOT_OFFICE_HOURS="mon-sun 00:00-23:59",
        )
        crashes = Crashes(double, env, tmp_path / "bot.log")

        # Before the kills: the residents open their cases (a topic each).
        await crashes.start_bot()
        talks = []
        for caller in callers:
            double.send_text(caller, "/contact")
            await crashes.until(lambda c=caller: double.messages_to(c), "the case to open")
            double.send_text(caller, f"{caller.first_name} skriver først")
            await crashes.until(
                lambda c=caller: len(double.topics(staff_chat)) == callers.index(c) + 1,
                "the case topic",
            )
            topic = double.topics(staff_chat)[-1]
            talks.append(
                CaseTalk(caller, topic.id, written=[f"{caller.first_name} skriver først"])
            )
        await crashes.until(
            lambda: all(_in_topic(double, staff_chat, t.topic_id, t.written[0]) for t in talks),
            "the first messages in the topics",
        )
        digest_started = False

        outcomes = Counter()
        for seed in range(FIRST_SEED, FIRST_SEED + KILLS):
            rng = random.Random(seed)
            if crashes.bot is None:
                await crashes.start_bot()
            double.hold_sends(after=rng.randint(2, 12), methods=("send", "copy"))
            if not digest_started or rng.random() < 0.5:
                await crashes.start_digest()
                digest_started = True
            # The residents and staff act until Telegram stalls (or for at most 3 s).
            deadline = time.monotonic() + 3
            while double.held == 0 and time.monotonic() < deadline:
                for actor in [*takers, *writers]:
                    if not actor.done:
                        actor.step(double)
                if rng.random() < 0.3:
                    rng.choice(talks).step(double, staff, staff_chat, rng)
                await asyncio.sleep(rng.uniform(0.005, 0.05))
            outcomes["held" if double.held else "not held"] += 1
            await crashes.until(lambda: double.quiet_for >= QUIET, "a quiet moment")
            await crashes.kill()
            await asyncio.sleep(0.2)  # the double notices the closed connections
            double.release_sends()

        # The last restart: everything left is finished, and the cases still relay.
        await crashes.start_bot()
        await crashes.start_digest()
        for talk in talks:
            talk.step(double, staff, staff_chat, _Always(0.0))  # the resident writes
            talk.step(double, staff, staff_chat, _Always(1.0))  # staff answer
        deadline = time.monotonic() + 30
        actors = [*takers, *writers]
        while not all(actor.done for actor in actors) and time.monotonic() < deadline:
            for actor in actors:
                if not actor.done:
                    actor.step(double)
            await asyncio.sleep(0.02)
        await crashes.until(
            lambda: all(not _missing(double, staff_chat, t) for t in talks),
            "every case message",
            lambda: [_missing(double, staff_chat, t) for t in talks],
        )
        await crashes.until(
            lambda: all(len(double.messages_to(u)) >= 1 for u in subscribers), "the digest"
        )
        await crashes.until(
            lambda: len([m for m in double.messages_to(staff_chat) if _is_card(m)]) >= TIP_WRITERS,
            "the tip cards",
        )
        assert crashes.digest is not None
        await asyncio.wait_for(crashes.digest.wait(), 30)
        await crashes.until(lambda: double.quiet_for >= QUIET, "the bot to be done")
        log = await crashes.stop_bot()

        print(f"\n{KILLS} kills from seed {FIRST_SEED}: {dict(outcomes)}")
        # Nothing lost: every survey finished, every confirmed answer stored.
        stuck = [a.user.first_name for a in [*takers, *writers] if not a.done]
        assert not stuck, f"residents left without an answer: {stuck}: " + repr(
            [
                [(m.text or "")[:50] for m in double.messages_to(a.user)]
                for a in [*takers, *writers]
                if not a.done
            ]
        )
        unconfirmed = [t.user.first_name for t in takers if len(t.confirmed) < len(QUESTIONS)]
        print(f"survey takers without every confirmation: {unconfirmed}")
        db = await Database.open(database)
        try:
            for taker in takers:
                stored = {
                    row[0]
                    for row in await db.fetchall(
                        "SELECT q.key FROM survey_answers a"
                        " JOIN survey_responses r ON r.token = a.response_token"
                        " JOIN survey_questions q ON q.id = a.question_id"
                        " WHERE r.resident_id = ?",
                        (taker.user.id,),
                    )
                }
                # Every answer given is stored, confirmed or not (the inbox replays taps).
                assert stored == set(QUESTIONS), (taker.user.first_name, stored)
            for writer in writers:
                [thanks] = [
                    m.text
                    for m in double.messages_to(writer.user)
                    if NB._("✅ Thank you! We got your tip.") in (m.text or "")
                ]
                number = int(re.search(r"T-(\d{4})", thanks or "").group(1))  # type: ignore[union-attr]
                stored_tip = await db.fetchone(
                    "SELECT telegram_id, description FROM tips WHERE id = ?", (number,)
                )
                assert stored_tip is not None and tuple(stored_tip) == (
                    writer.user.id,
                    f"{writer.user.first_name} melder: huska er knust",
                )
                cards = [
                    m
                    for m in double.messages_to(staff_chat)
                    if (m.text or "").startswith("📝 ") and f"T-{number:04d}" in m.text
                ]
                assert len(cards) == 1, (number, len(cards))
            pending = await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
            assert pending == 0
            unhandled = await db.fetchval("SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL")
            assert unhandled == 0
        finally:
            await db.close()
        # Nothing twice: in no chat did the bot say the same thing twice.
        for user in [*(a.user for a in [*takers, *writers]), *subscribers, *callers]:
            texts = Counter(m.text for m in double.messages_to(user))
            twice = {text: n for text, n in texts.items() if n > 1}
            assert not twice, (user.first_name, twice)
        for talk in talks:
            in_topic = Counter(
                shown_to_staff(m) for m in double.messages_to(staff_chat, thread_id=talk.topic_id)
            )
            for text in talk.written:
                assert in_topic[text] == 1, (text, in_topic[text])
            got = Counter(m.text for m in double.messages_to(talk.resident))
            for text in talk.replied:
                assert got[text] == 1, (text, got[text])
        assert double.token not in log
        assert "given up" not in log


class _Always:
    """A stand-in for the random generator that always draws the same number."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def _in_topic(double: BotAPIDouble, chat: FakeChat, topic_id: int, text: str) -> bool:
    return any(shown_to_staff(m) == text for m in double.messages_to(chat, thread_id=topic_id))


def _missing(double: BotAPIDouble, chat: FakeChat, talk: CaseTalk) -> list[str]:
    """Messages of the case not (yet) on the other side."""
    in_topic = {shown_to_staff(m) for m in double.messages_to(chat, thread_id=talk.topic_id)}
    at_resident = {m.text for m in double.messages_to(talk.resident)}
    return [text for text in talk.written if text not in in_topic] + [
        text for text in talk.replied if text not in at_resident
    ]
