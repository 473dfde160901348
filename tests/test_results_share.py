""" "You said, we did": everyone who answered a survey hears what came of it, in their language."""

from __future__ import annotations

import pytest

from bot.surveys.management import load_survey
from tests.harness import BotHarness, Person

BENCHES = b"""
slug = "benches"
anonymous = true
[title]
nb = "Benker i parken"
en = "Benches in the park"
so = "Kuraasta beerta"
pl = "Lawki w parku"
[[questions]]
id = "more"
kind = "smiley"
[questions.text]
nb = "Trenger vi flere benker?"
en = "Do we need more benches?"
so = "Ma u baahannahay kuraas badan?"
pl = "Czy potrzeba wiecej lawek?"
"""


@pytest.fixture(autouse=True)
def quick_hands(bot: BotHarness) -> None:
    bot.double.set_limits(private_burst=50)


async def answers(bot: BotHarness, name: str, language: str, label: str, smiley: str) -> Person:
    person = bot.resident(name, language_code=language)
    await person.says("/start")
    await person.presses(label)
    await person.says("/start survey-benches")
    await person.presses(smiley)
    person.new_messages()
    return person


async def share(bot: BotHarness, text: str, who: int = 0) -> list[str]:
    before = len(bot.staff_messages())
    bot.double.send_text(bot.staff[who].user, text, chat=bot.staff_chat)
    await bot.settle()
    return [m.text or "" for m in bot.staff_messages()[before:]]


def texts(bot: BotHarness, language: str):
    assert bot.app is not None
    return bot.app.bot_data.catalogs.texts(language)


async def test_participants_hear_the_results_in_their_language_once(bot: BotHarness):
    await load_survey(bot.db, BENCHES, "nb", bot.clock())
    ali = await answers(bot, "Ali", "so", "Soomaali", "😄")
    ewa = await answers(bot, "Ewa", "pl", "Polski", "🙂")
    outsider = bot.resident("Nora", language_code="nb")
    await outsider.says("/start")
    await outsider.presses("Norsk")
    outsider.new_messages()

    replies = await share(bot, "/results_share benches Vi setter opp fire nye benker i mai.")
    nb = texts(bot, "nb")
    assert replies[0] == nb.n_(
        "Sharing the results of {slug} with {count} resident.",
        "Sharing the results of {slug} with {count} residents.",
        2,
        slug="benches",
    )
    done = "Results shared: {sent}. Blocked the bot: {blocked}. Failed: {failed}."
    assert replies[-1] == nb._(done, sent=2, blocked=0, failed=0)

    for person, language, title, question in [
        (ali, "so", "Kuraasta beerta", "Ma u baahannahay kuraas badan?"),
        (ewa, "pl", "Lawki w parku", "Czy potrzeba wiecej lawek?"),
    ]:
        [message] = person.new_messages()
        t = texts(bot, language)
        heading = t._("📣 <b>You said, we did: {title}</b>", title=title)
        assert heading.replace("<b>", "").replace("</b>", "") in message.text
        average = "4,5" if language == "pl" else "4.5"  # the language's own decimal sign
        assert t._("{question}: {average} of 5", question=question, average=average) in (
            message.text
        )
        assert "Vi setter opp fire nye benker i mai." in message.text  # the staff's own words
        assert "<b>" in (message.html or "")
    assert outsider.new_messages() == [], "only those who answered"

    again = await share(bot, "/results_share benches Once more")
    assert again == [
        nb._("The results of {slug} were shared already; nobody gets them twice.", slug="benches")
    ]
    assert ali.new_messages() == [] and ewa.new_messages() == []


async def test_wrong_use_gets_a_clear_answer(bot: BotHarness):
    nb = texts(bot, "nb")
    [usage] = await share(bot, "/results_share benches")
    assert "/results_share park-2026" in usage
    [unknown] = await share(bot, "/results_share nothing Some text")
    assert unknown == nb._("There is no survey called {slug}.", slug="nothing")
