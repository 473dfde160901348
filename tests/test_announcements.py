"""Announcements: /announce in the staff chat with a preview in every audience language and a
confirmation, the residents' opt-out, scheduled ones picked up by the job, and the command
line (`python -m bot announce send FILE.toml`)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.activities.render import AGE_GROUP_LABELS
from bot.announcements.cli import AnnouncementFileError, parse_file
from bot.bridge.translation import LibreTranslateClient, Translator
from bot.i18n import Catalogs
from sandbox.fake_translate import FakeTranslate
from sandbox.models import SentMessage
from storage import activities
from storage import announcements as store
from tests.harness import BotHarness, Person

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def quick_hands(bot: BotHarness) -> None:
    bot.double.set_limits(private_burst=50)


async def family(bot: BotHarness, name: str, language: str, label: str, year: int) -> Person:
    person = bot.resident(name, language_code=language)
    await person.says("/start")
    await person.presses(label)
    await person.says("/subscribe")
    await person.presses(str(year))
    await person.presses("💾")
    person.new_messages()
    return person


async def staff_says(bot: BotHarness, text: str) -> list[SentMessage]:
    before = len(bot.staff_messages())
    bot.double.send_text(bot.staff[0].user, text, chat=bot.staff_chat)
    await bot.settle()
    return bot.staff_messages()[before:]


async def staff_presses(bot: BotHarness, label: str) -> list[SentMessage]:
    before = len(bot.staff_messages())
    message = next(
        m for m in reversed(bot.staff_messages()) if any(label in b for b, _ in m.buttons)
    )
    bot.double.press(bot.staff[0].user, message.raw, message.button(label))
    await bot.settle()
    return bot.staff_messages()[before:]


async def test_an_announcement_to_parents_of_babies_in_three_languages(bot: BotHarness):
    bot.clock.set(NOW)
    nb = Catalogs().texts("nb")
    kari = await family(bot, "Kari", "nb", "Norsk", 2026)
    layla = await family(bot, "Layla", "ar", "العربية", 2026)
    ewa = await family(bot, "Ewa", "pl", "Polski", 2025)
    nils = await family(bot, "Nils", "nb", "Norsk", 2018)  # a schoolchild: not a baby
    assert bot.app is not None
    async with FakeTranslate() as server:
        client = LibreTranslateClient(server.url)
        bot.app.bot_data.translator = Translator(client, bot.db)
        try:
            await staff_says(bot, "/announce")
            await staff_says(
                bot, "Vaksinasjon for babyer i morgen kl. 10.\nar: تطعيم للرضع غدا الساعة 10."
            )
            await staff_presses(bot, nb._(AGE_GROUP_LABELS["0-1"]))
            await staff_presses(bot, nb._("Next"))
            preview = await staff_presses(bot, nb._("Now"))
        finally:
            await client.close()
            bot.app.bot_data.translator = None
    said = "\n".join(m.text or "" for m in preview)
    assert "3" in said.split("\n")[0]  # three residents get it
    # Each audience language as its readers will see it, and how it was written.
    assert "Norsk" in said and "العربية" in said and "Polski" in said
    assert nb._("written by staff") in said and nb._("machine translation") in said
    assert "[nb->pl] Vaksinasjon for babyer" in said
    # Nothing is sent before the confirmation.
    assert kari.new_messages() == [] and layla.new_messages() == []

    await staff_presses(bot, nb._("✅ Send"))
    [to_kari] = kari.new_messages()
    assert "Vaksinasjon for babyer i morgen" in to_kari.text
    [to_layla] = layla.new_messages()
    assert "تطعيم للرضع غدا" in to_layla.text
    [to_ewa] = ewa.new_messages()
    pl = Catalogs().texts("pl")
    assert (
        "[nb->pl] Vaksinasjon" in to_ewa.text and pl._("Translated by a machine.") in to_ewa.text
    )
    assert nils.new_messages() == []
    summary = bot.staff_messages()[-1].text
    assert (
        nb._(
            "📣 Announcement {number}: {sent} sent, {blocked} blocked, {failed} failed.",
            number=1,
            sent=3,
            blocked=0,
            failed=0,
        )
        == summary
    )

    # Ewa stops announcements with the button under it; the weekly list stays.
    await ewa.presses(pl._("🔕 Stop announcements"), to_ewa)
    assert await store.stopped(bot.db, ewa.id)
    assert (await activities.subscription(bot.db, ewa.id)).active  # type: ignore[union-attr]

    # A second announcement, sent later by the job: Ewa does not get it, Kari does.
    await staff_says(bot, "/announce")
    await staff_says(bot, "Babysang er flyttet til biblioteket.")
    await staff_presses(bot, nb._(AGE_GROUP_LABELS["0-1"]))
    await staff_presses(bot, nb._("Next"))
    await staff_says(bot, "2026-12-08 12:00")
    await staff_presses(bot, nb._("✅ Send"))
    assert kari.new_messages() == []  # its time has not come
    bot.clock.set(NOW + timedelta(days=1, hours=3))
    assert bot.app is not None
    job = bot.app.job_queue.get_jobs_by_name("announcements")[0]
    await job.run(bot.app)
    await bot.settle()
    [second] = kari.new_messages()
    assert "Babysang er flyttet" in second.text
    assert ewa.new_messages() == [] and nils.new_messages() == []
    # Nothing twice: the job again sends nothing.
    await job.run(bot.app)
    await bot.settle()
    assert kari.new_messages() == []

    # Ewa starts them again with the command.
    await ewa.says("/announcements on")
    assert not await store.stopped(bot.db, ewa.id)


async def test_a_wrong_time_gets_a_clear_answer_and_drop_ends_it(bot: BotHarness):
    bot.clock.set(NOW)
    nb = Catalogs().texts("nb")
    await staff_says(bot, "/announce")
    await staff_says(bot, "Husk møtet.")
    await staff_presses(bot, nb._("Next"))
    [reply] = await staff_says(bot, "i morgen ettermiddag")
    assert "2026-12-02 09:00" in reply.text
    await staff_presses(bot, nb._("🗑 Drop"))
    assert await store.draft_of(bot.db, bot.staff[0].user.id) is None
    assert await send_due_count(bot) == 0


async def send_due_count(bot: BotHarness) -> int:
    assert bot.app is not None
    return len(await store.due(bot.db, bot.clock()))


# --- the command line ---
def test_the_example_file_is_valid(bot: BotHarness):
    parsed = parse_file((ROOT / "announcements" / "example.toml").read_text(), bot.config)
    assert set(parsed.texts) == {"nb", "en", "ar"} and parsed.audience.ages == {"0-1"}
    assert parsed.send_at is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('[texts]\nen = "Hi"\n', "needs the staff language (nb)"),
        ('[texts]\nnb = "Hei"\nxx = "?"\n', "xx: not a language"),
        ('[texts]\nnb = "Hei"\n[audience]\nages = ["0-2"]\n', "unknown age group 0-2"),
        ('send_at = "tomorrow"\n[texts]\nnb = "Hei"\n', "send_at:"),
        ('[texts]\nnb = ""\n', "nb: the text is empty"),
        ("[texts\n", "not valid TOML"),
    ],
)
def test_a_bad_file_gets_a_clear_sentence(bot: BotHarness, source: str, expected: str):
    with pytest.raises(
        AnnouncementFileError, match=expected.replace("(", r"\(").replace(")", r"\)")
    ):
        parse_file(source, bot.config)


async def run_cli(bot: BotHarness, *args: str) -> tuple[int, str, str]:
    """The command as an operator runs it, against the Telegram double over HTTP."""
    env = {
        **os.environ,
        "BOT_TOKEN": bot.config.token,
        "BOT_API_BASE_URL": bot.config.api_base_url,
        "BOT_DATABASE": str(bot.config.database),
        "BOT_STAFF_CHAT_ID": str(bot.config.staff_chat_id),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    await bot.settle()
    return process.returncode or 0, out.decode(), err.decode()


async def test_announce_send_from_the_command_line(bot: BotHarness, tmp_path: Path):
    bot.clock.set(datetime.now(UTC))
    year = bot.clock().year
    kari = await family(bot, "Kari", "nb", "Norsk", year)
    john = await family(bot, "John", "en", "English", year)
    nils = await family(bot, "Nils", "nb", "Norsk", year - 9)

    bad = tmp_path / "bad.toml"
    bad.write_text('[texts]\nen = "Hello"\n', encoding="utf-8")
    code, _, err = await run_cli(bot, "announce", "send", str(bad))
    assert code == 1 and "needs the staff language (nb)" in err and "Nothing was" in err
    assert await store.get(bot.db, 1) is None

    code, out, err = await run_cli(
        bot, "announce", "send", str(ROOT / "announcements" / "example.toml")
    )
    assert code == 0, err
    assert "announcement 1: 2 sent, 0 blocked, 0 failed" in out
    [to_kari] = kari.new_messages()
    assert "Vaksinasjon for babyer" in to_kari.text
    [to_john] = john.new_messages()
    assert "Vaccination for babies" in to_john.text
    assert nils.new_messages() == []
