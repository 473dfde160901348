"""Staff follow a case through: labels say what it is about, and a case can be handed to a
colleague, who is then named in the topic and mentioned in reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.context import BotContext
from bot.handover.reminders import remind_waiting_cases
from bot.i18n import Texts
from storage import cases
from tests.harness import BotHarness, Person

UNKNOWN = (
    "I do not know this colleague yet. Reply to one of their messages with /assign,"
    " or ask them to write /assign here themselves."
)


@pytest.fixture(autouse=True)
def quick_hands(bot: BotHarness) -> None:
    bot.double.set_limits(private_burst=50)


def staff_texts(bot: BotHarness) -> Texts:
    assert bot.app is not None
    return bot.app.bot_data.catalogs.texts(bot.config.default_language)


async def open_case(bot: BotHarness, name: str = "Amina") -> tuple[Person, int]:
    person = bot.resident(name, language_code="en")
    await person.says("/start")
    await person.presses("English")
    await person.says("/contact")
    await person.says("The path by the school is dark at night")
    return person, bot.double.topics(bot.staff_chat)[-1].id


async def in_topic(
    bot: BotHarness, thread: int, text: str, who: int = 0, **kwargs: Any
) -> list[str]:
    before = len(bot.staff_messages(thread))
    await bot.staff[who].does("send_text", text, chat=bot.staff_chat, thread_id=thread, **kwargs)
    return [m.text or "" for m in bot.staff_messages(thread)[before:]]


def topic_name(bot: BotHarness, thread: int) -> str:
    [topic] = [t for t in bot.double.topics(bot.staff_chat) if t.id == thread]
    return topic.name


def command_and_mention(text: str, mention: str) -> list[dict[str, Any]]:
    command = text.split()[0]
    return [
        {"type": "bot_command", "offset": 0, "length": len(command)},
        {"type": "mention", "offset": text.index(mention), "length": len(mention)},
    ]


async def test_labels_show_in_the_topic_name_and_in_stats(bot: BotHarness):
    _, thread = await open_case(bot)
    t = staff_texts(bot)

    [reply] = await in_topic(bot, thread, "/label paths #Lys")
    assert reply.startswith(t._("🏷 Labels of {number}: {labels}", number="S-0001", labels=""))
    assert "#paths #lys" in reply
    assert topic_name(bot, thread).endswith(" · #paths #lys")

    [reply] = await in_topic(bot, thread, "/label -lys what?!")
    assert "#lys" not in reply
    assert t._("Not a label (one word, without spaces): {words}", words="what?!") in reply
    assert topic_name(bot, thread).endswith(" · #paths")

    [reply] = await in_topic(bot, thread, "/label")
    assert "/label -traffic" in reply and "littering" in reply  # how to, and the categories

    await bot.staff[0].does("send_text", "/stats", chat=bot.staff_chat)
    assert "#paths 1" in (bot.staff_messages()[-1].text or "")

    await bot.staff[0].does("send_text", "/label paths", chat=bot.staff_chat)
    assert bot.staff_messages()[-1].text == t._("Use this command inside a case topic.")


async def test_a_case_is_given_to_a_colleague_who_is_named_and_reminded(bot: BotHarness):
    kari, ola = bot.staff
    ola.user.username = "ola_bydel"
    amina, thread = await open_case(bot)
    t = staff_texts(bot)

    # The bot has not seen Ola yet: it cannot know who @ola_bydel is.
    text = "/assign @ola_bydel"
    [reply] = await in_topic(bot, thread, text, entities=command_and_mention(text, "@ola_bydel"))
    assert reply == t._(UNKNOWN)
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.assigned_to is None

    await ola.does("send_text", "/cases", chat=bot.staff_chat)  # any staff command
    [reply] = await in_topic(bot, thread, text, entities=command_and_mention(text, "@ola_bydel"))
    assert reply == t._(
        "🙋 {name} gave case {number} to {colleague}.",
        name="Kari",
        number="S-0001",
        colleague="Ola",
    )
    given = bot.staff_messages(thread)[-1]
    assert [e["user"]["id"] for e in given.entities if e["type"] == "text_mention"] == [ola.id]
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.assigned_to == ola.id
    assert "🙋 Ola" in topic_name(bot, thread)

    # Ola replies to one of Kari's messages with /assign: Kari gets it back.
    kari_message = bot.double.send_text(
        kari.user, "I can call her tomorrow", chat=bot.staff_chat, thread_id=thread
    )
    await bot.settle()
    await in_topic(bot, thread, "/assign", who=1, reply_to=kari_message)
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.assigned_to == kari.id
    assert "🙋 Kari" in topic_name(bot, thread)

    # The resident writes again and waits: the reminder mentions Kari, so she is notified.
    await amina.says("Hello? Is anybody there?")
    bot.clock.advance(timedelta(hours=3))
    assert await remind_waiting_cases(BotContext(bot.app)) == 1
    reminder = bot.staff_messages(thread)[-1]
    assert t._("Taken by {name}.", name="Kari") in (reminder.text or "")
    mentioned = [e["user"]["id"] for e in reminder.entities if e["type"] == "text_mention"]
    assert mentioned == [kari.id]


async def test_only_staff_members_can_be_given_a_case(bot: BotHarness):
    _, thread = await open_case(bot)
    outsider = bot.double.add_user("Eve", username="eve")
    text = "/assign @eve"
    [reply] = await in_topic(bot, thread, text, entities=command_and_mention(text, "@eve"))
    assert reply == staff_texts(bot)._(UNKNOWN)
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.assigned_to is None
    assert outsider.id not in {case.assigned_to}
