"""`python -m bot demo`: the real bot, a local Telegram and a browser page, on one machine.

The bot is built by the same `build_application` as `python -m bot run` and talks HTTP to the
embedded Bot API double on 127.0.0.1, so everything on the page is what a resident's or a staff
member's Telegram would show. Nothing leaves the machine: no token, no network.

    Demo.start()  ->  the double (a staff forum, staff, residents)
                  ->  a fresh database seeded with activities, the example survey, residents
                  ->  the bot (build_application + long polling), sharing the double's clock
                  ->  the page (sandbox.web) on http://127.0.0.1:PORT/
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import io
import logging
import shutil
import signal
import tempfile
import webbrowser
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from pathlib import Path

from bot.app import build_application, running
from bot.config import Config
from bot.context import BotApplication
from bot.i18n import SUPPORTED_LANGUAGES
from sandbox.clock import Clock
from sandbox.models import FakeChat, FakeUser
from sandbox.server import BotAPIDouble, application_idle_probe
from storage.db import PostgresLocation

log = logging.getLogger(__name__)

#: The checkout the demo runs from: the example survey is read from it (skipped if absent).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Residents on the page at start: (first name, Telegram language). One writes right to left.
RESIDENTS = (("Amina", "ar"), ("Ola", "nb"), ("Hodan", "so"))
STAFF_NAME = "Kari"
STAFF_CHAT_TITLE = "Bydel Stovner – staff"


class DemoError(Exception):
    """A problem the person starting the demo can fix (a port in use, a production database)."""


@dataclasses.dataclass
class Demo:
    """The running demo: its double, bot, clock and what the page shows."""

    config: Config
    double: BotAPIDouble
    clock: Clock
    staff_chat: FakeChat
    staff: FakeUser
    app: BotApplication | None = None
    url: str = ""

    @property
    def residents(self) -> list[FakeUser]:
        return [user for user in self.double.users.values() if user is not self.staff]

    def add_resident(self, name: str, language: str | None) -> FakeUser:
        """Someone new opens the bot; their Telegram app speaks `language`."""
        return self.double.add_user(name.strip()[:64] or "Resident", language_code=language)

    # ------------------------------------------------------------ time controls
    async def send_digest_now(self) -> None:
        """What the weekly job does on its day: send this week's digest (once per week)."""
        await self._run_job("weekly-digest")

    async def pass_next_activity(self) -> str | None:
        """Move the clock just past the end of the next activity, then ask for feedback as the
        repeating job would. Returns the activity's title, or None if none is coming."""
        from storage import activities

        assert self.app is not None
        now = self.clock()
        listed = await activities.listed_between(
            self.app.bot_data.db, now - timedelta(days=1), now + timedelta(days=14)
        )
        coming = [a for a in listed if a.ends_at > now]
        if not coming:
            return None
        activity = min(coming, key=lambda a: a.ends_at)
        self.clock.advance(activity.ends_at - now + timedelta(minutes=10))
        await self._run_job("survey-activity-feedback")
        return activity.title

    def office_is_open(self) -> bool:
        return self.config.hours.is_open(self.clock())

    def toggle_office(self) -> bool:
        """Move the clock to the next closing (or opening) of the office; returns whether it
        is open now."""
        now = self.clock()
        if self.office_is_open():
            step = now
            while self.config.hours.is_open(step):
                step += timedelta(minutes=15)
            self.clock.advance(step - now + timedelta(minutes=1))
        else:
            opening = self.config.hours.next_opening(now)
            if opening is not None:
                self.clock.advance(opening - now + timedelta(minutes=1))
        self.double.changed()
        return self.office_is_open()

    async def _run_job(self, name: str) -> None:
        assert self.app is not None and self.app.job_queue is not None
        for job in self.app.job_queue.get_jobs_by_name(name):
            await job.run(self.app)
        self.double.changed()


# ------------------------------------------------------------ the seed
def this_weeks_activities(now: datetime, config: Config) -> bytes:
    """A CSV in the shipped template's format (docs/activities-template.csv), dated in the
    coming days so the digest has something to show whenever the demo is started."""
    local = now.astimezone(config.timezone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = [
        ("demo-leksehjelp", "Leksehjelp", 1, "16:00", "18:00", "Stovner bibliotek",
         "Hjelp med lekser for barn og ungdom.", "Frivilligsentralen", "Læring", "6-12,13-18",
         "Homework help", "مساعدة في الواجبات المدرسية", "Caawimaad casharada"),
        ("demo-babytreff", "Babytreff", 2, "10:00", "11:30", "Stovner bibliotek",
         "Kaffe og lek for foreldre med baby.", "Helsestasjonen", "Møteplass", "0-1",
         "Baby meetup", "لقاء الأطفال الرضع", "Kulanka ilmaha"),
        ("demo-norskkafe", "Språkkafé", 3, "17:30", "19:00", "Stovner bydelshus",
         "Snakk norsk over en kopp te.", "Bydel Stovner", "Språk", "adults",
         "Language café", "مقهى اللغة", "Kafeega luqadda"),
        ("demo-familiedag", "Familiedag på torget", 5, "12:00", "15:00", "Stovner torg",
         "Aktiviteter for hele familien.", "Bydel Stovner", "Fest", "all",
         "Family day on the square", "يوم العائلة في الساحة", "Maalinta qoyska"),
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["uid", "title", "start", "end", "place", "description", "organiser", "category",
         "age_groups", "languages", "title_en", "title_ar", "title_so"]
    )  # fmt: skip
    for uid, title, offset, start, end, place, text, organiser, category, ages, *titles in rows:
        date = (day + timedelta(days=offset)).strftime("%Y-%m-%d")
        writer.writerow(
            [uid, title, f"{date} {start}", end, place, text, organiser, category, ages,
             "nb,en,ar,so", *titles]
        )  # fmt: skip
    return out.getvalue().encode()


async def seed(demo: Demo) -> None:
    """Fill a demo database: activities of the coming days, the example survey, and the
    residents as subscribers of the digest."""
    from bot.activities.importer import import_file
    from storage import activities, residents

    assert demo.app is not None
    db, config, now = demo.app.bot_data.db, demo.config, demo.clock()
    summary = await import_file(
        db, "demo-activities.csv", this_weeks_activities(now, config), config.timezone, now
    )
    if summary.errors:
        log.warning("demo activities: %s", summary.errors)
    survey_file = PROJECT_ROOT / "surveys" / "example.toml"
    if survey_file.is_file():
        from bot.surveys.management import load_survey

        await load_survey(db, survey_file.read_bytes(), config.default_language, now)
    replies_file = PROJECT_ROOT / "replies" / "example.toml"
    if replies_file.is_file():
        from bot.bridge.templates import parse_templates
        from storage import replies

        templates = parse_templates(replies_file.read_bytes(), config.staff_language)
        await replies.replace_all(db, templates, now)
    for user in demo.residents:
        language = user.language_code if user.language_code in SUPPORTED_LANGUAGES else "en"
        await residents.touch(db, user.id, language, user.first_name, now)
        await residents.set_language(db, user.id, language)
        await activities.subscribe(db, user.id, (activities.ALL,), now)


async def greet_residents(demo: Demo) -> None:
    """The seeded residents open the bot once, so their phones show where to start."""
    for user in demo.residents:
        demo.double.send_text(user, "/start")
    with contextlib.suppress(AssertionError):  # a slow machine: the page shows it later
        await demo.double.settle(timeout=30)


# ------------------------------------------------------------ running
def demo_config(
    base: Config,
    double: BotAPIDouble,
    database: Path,
    *,
    translation_url: str | None = None,
    transcription_url: str | None = None,
    **chats: int,
) -> Config:
    """The operator's settings (time zone, office hours, ...) pointed at the local double,
    and at the fake translation and transcription servers unless real ones are configured."""
    return dataclasses.replace(
        base,
        token=double.token,
        api_base_url=double.base_url,
        database=database,
        channel_id=None,
        staff_chat_id=chats["staff_chat_id"],
        admin_ids=frozenset({chats["admin_id"]}),
        translation_url=base.translation_url or translation_url,
        transcription_url=base.transcription_url or transcription_url,
    )


def check_database(database: Path | None, production: Path | PostgresLocation) -> None:
    """Never let the demo write into the bot's real database."""
    if database is None or not isinstance(production, Path):
        return
    if database.resolve() == production.resolve():
        raise DemoError(
            f"{database} is the bot's database (BOT_DATABASE); the demo needs a database of "
            "its own: leave out --database, or name another file"
        )


@contextlib.asynccontextmanager
async def started(
    base: Config, *, port: int, database: Path | None, language: str | None
) -> AsyncIterator[Demo]:
    """Start the double, the bot and the page; stop them all on exit."""
    from sandbox.web import serve

    check_database(database, base.database)
    if language is not None:
        base = dataclasses.replace(base, default_language=language)
    async with AsyncExitStack() as stack:
        if database is None:
            folder = Path(tempfile.mkdtemp(prefix="stikk-innom-demo-"))
            stack.callback(shutil.rmtree, folder, True)
            database = folder / "demo.sqlite3"
        double = await stack.enter_async_context(BotAPIDouble())
        # Telegram lets a bot send a resident a few messages in a row (a greeting and a
        # menu); the double's strict one-a-second private limit would only add pauses here.
        double.set_limits(private_burst=20)
        clock = Clock()
        double.clock = clock
        staff = double.add_user(STAFF_NAME, language_code="nb")
        staff_chat = double.add_supergroup(
            STAFF_CHAT_TITLE, is_forum=True, members=[staff], admins=[staff]
        )
        for name, code in RESIDENTS:
            double.add_user(name, language_code=code)
        # A visitor sees the language bridge at work: fake servers that mark each translation
        # with its direction ("[so->nb] ...") and hear every voice note as a fixed sentence.
        from sandbox.fake_translate import FakeTranslate
        from sandbox.fake_whisper import FakeWhisper

        translate = await stack.enter_async_context(FakeTranslate())
        whisper = await stack.enter_async_context(FakeWhisper())
        config = demo_config(
            base,
            double,
            database,
            staff_chat_id=staff_chat.id,
            admin_id=staff.id,
            translation_url=translate.url,
            transcription_url=whisper.url,
        )
        demo = Demo(config, double, clock, staff_chat, staff)
        demo.app = build_application(config, clock=clock)
        await stack.enter_async_context(running(demo.app, poll_timeout=10))
        double.idle_probe = application_idle_probe(demo.app)
        await seed(demo)
        await greet_residents(demo)
        demo.url = await stack.enter_async_context(serve(demo, port))
        yield demo


async def run(base: Config, *, port: int, database: Path | None, language: str | None,
              open_browser: bool) -> int:  # fmt: skip
    """Run until SIGINT (Ctrl-C) or SIGTERM; everything is stopped before returning 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with started(base, port=port, database=database, language=language) as demo:
        print(f"Stikk innom demo: {demo.url}  (a local Telegram; Ctrl-C stops it)", flush=True)
        if open_browser:
            await asyncio.to_thread(webbrowser.open, demo.url)
        await stop.wait()
        print("stopping the demo…", flush=True)
    return 0
