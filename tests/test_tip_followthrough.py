"""Tips staff make (from a conversation, for a visitor at the office) and "is it fixed?" after a
tip was resolved: what the resident described becomes a tracked tip, a walk-in visitor counts
in the same export and figures, and a "no" opens a resolved tip again."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.config import ConfigError, parse_fixed_check_days
from bot.context import BotContext
from bot.i18n import Texts
from bot.reports import render
from bot.tips.fixed import ask_if_fixed
from bot.tips.staff_form import STAFF_TIP
from sandbox.models import SentMessage
from storage import privacy, reports, staff_tips
from storage import tips as store
from storage.tips import TipStatus
from tests.harness import BotHarness, Person

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 64


@pytest.fixture(autouse=True)
def quick_hands(bot: BotHarness) -> None:
    bot.double.set_limits(private_burst=50)


def staff_texts(bot: BotHarness) -> Texts:
    assert bot.app is not None
    return bot.app.bot_data.catalogs.texts(bot.config.default_language)


def resident_texts(bot: BotHarness, language: str) -> Texts:
    assert bot.app is not None
    return bot.app.bot_data.catalogs.texts(language)


async def staff_does(bot: BotHarness, method: str, *args, thread: int | None = None, **kwargs):
    before = len(bot.staff_messages(thread))
    await bot.staff[0].does(method, *args, chat=bot.staff_chat, thread_id=thread, **kwargs)
    return bot.staff_messages(thread)[before:]


async def staff_presses(bot: BotHarness, message: SentMessage, label: str) -> list[SentMessage]:
    before = len(bot.staff_messages(message.thread_id))
    await bot.staff[0].presses(label, message)
    return bot.staff_messages(message.thread_id)[before:]


async def open_case(bot: BotHarness) -> tuple[Person, int]:
    """Amina (Somali) tells staff about a broken swing, with a photo and the place."""
    amina = bot.resident("Amina", language_code="so")
    await amina.says("/start")
    await amina.presses("Soomaali")
    await amina.says("/contact")
    await amina.says("The swing at the playground is broken")
    await amina.does("send_photo", JPEG)
    await amina.does("send_location", 59.9139, 10.7522)
    return amina, bot.double.topics(bot.staff_chat)[-1].id


def in_case_topic(bot: BotHarness, thread: int, kind: str) -> SentMessage:
    """The copy of the resident's message of `kind` (text, photo, location) in the topic."""
    for message in bot.staff_messages(thread):
        if kind in message.raw and not message.reply_markup:
            return message
    raise AssertionError(f"no {kind} in the case topic")


async def test_a_case_becomes_a_tip_and_its_reference_reaches_the_resident(bot: BotHarness):
    amina, thread = await open_case(bot)
    t = staff_texts(bot)
    relayed_to_amina = len(amina.received)
    [header] = [m for m in bot.staff_messages(thread) if m.buttons]
    category_question = (await staff_presses(bot, header, t._("📝 Make a tip")))[-1]
    assert category_question.text.startswith(t._("Which category is the tip about?"))

    prompt = await staff_presses(bot, category_question, t._("Sports fields and playgrounds"))
    assert t._("Reply to the resident's messages here to take their words and photos.") in (
        prompt[-1].text or ""
    )
    # Staff take the resident's own words and photo by replying to them in the topic.
    words, photo = in_case_topic(bot, thread, "text"), in_case_topic(bot, thread, "photo")
    await staff_does(bot, "send_text", "this", thread=thread, reply_to=words)
    added = await staff_does(bot, "send_text", "and this", thread=thread, reply_to=photo)
    assert added[-1].text == t._("Added. Send more, or press «Done, next step».")
    assert len(amina.received) == relayed_to_amina  # nothing of this went to the resident

    place = await staff_presses(bot, added[-1], t._("Done, next step"))
    summary = await staff_does(
        bot, "send_text", "here", thread=thread, reply_to=in_case_topic(bot, thread, "location")
    )
    assert t._("📍 Place: see the map pin") in (summary[-1].text or "")
    assert place[-1].text == t._(
        "Where is it? Write the place, send a location, or reply to the resident's location."
    )
    saved = await staff_presses(bot, summary[-1], t._("Save the tip"))
    assert saved[0].text is not None and saved[0].text.startswith(
        t._("✅ Tip {reference} saved.", reference="T-0001")
    )

    tip = await store.get_tip(bot.db, 1)
    assert tip is not None
    assert (tip.telegram_id, tip.category, tip.source) == (amina.id, "sports", "case")
    assert tip.description == "The swing at the playground is broken"
    assert [item.kind for item in tip.media] == ["photo"] and tip.has_location
    assert tip.posted_at is not None  # the card is in the category's topic
    so = resident_texts(bot, "so")
    assert so._("Your number is <b>{reference}</b>.", reference="T-0001").replace(
        "<b>", ""
    ).replace("</b>", "") in (amina.last.text or "")

    # Status news reaches her like for any tip.
    card = next(m for m in bot.staff_messages() if m.message_id == tip.staff_card_message_id)
    await bot.staff[0].presses(t._("In progress"), card)
    assert so._("We are working on it now.") in (amina.last.text or "")


async def test_a_walk_in_tip_counts_in_the_export_and_the_figures(bot: BotHarness):
    t = staff_texts(bot)
    [question] = await staff_does(bot, "send_text", "/tip_new")
    await staff_presses(bot, question, t._("Littering and waste"))
    await staff_does(bot, "send_text", "Full bins behind the library every weekend")
    await staff_presses(bot, bot.staff_messages()[-1], t._("Done, next step"))
    [summary] = await staff_does(bot, "send_text", "Biblioteket, Tøyen")
    assert t._("📍 Place: {place}", place="Biblioteket, Tøyen") in (summary.text or "")
    saved = (await staff_presses(bot, summary, t._("Save the tip")))[0]
    assert "?start=claim-" in (saved.text or "")

    tip = await store.get_tip(bot.db, 1)
    assert tip is not None and tip.telegram_id is None and tip.source == "walk-in"

    await staff_does(bot, "send_text", "/tipsexport csv")
    [document] = [m for m in bot.staff_messages() if m.media_kind == "document"]
    [row] = list(csv.DictReader(io.StringIO((document.data or b"").decode("utf-8-sig"))))
    assert (row["reference"], row["source"], row["topic_code"]) == (
        "T-0001",
        "walk-in",
        "littering",
    )

    today = bot.clock().astimezone(bot.config.timezone).date()
    period = reports.Period.of_days(today, today, bot.config.timezone)
    figures = await reports.figures(bot.db, period)
    assert figures.tips_by_source == {"walk-in": 1} and figures.tips_total == 1
    report = render.markdown(t, figures, "Stikk innom")
    assert f"| {render.plain(t._('at the office'))} | 1 |" in report


async def test_a_walk_in_visitor_claims_the_tip_once_and_gets_its_news(bot: BotHarness):
    t = staff_texts(bot)
    [question] = await staff_does(bot, "send_text", "/tip_new")
    await staff_presses(bot, question, t._("Other"))
    await staff_does(bot, "send_text", "The stairs at the school are icy")
    await staff_presses(bot, bot.staff_messages()[-1], t._("Done, next step"))
    [summary] = await staff_presses(bot, bot.staff_messages()[-1], t._("Skip"))
    saved = (await staff_presses(bot, summary, t._("Save the tip")))[0]
    code = (saved.text or "").split("start=claim-")[1].split()[0]

    visitor = bot.resident("Oksana", language_code="uk")
    await visitor.says(f"/start claim-{code}")
    await visitor.presses("Українська")  # a new resident chooses a language first
    uk = resident_texts(bot, "uk")
    assert "T-0001" in (visitor.last.text or "")
    assert uk._("📝 We made a tip from what you told us: {topic}.", topic=uk._("Other")) in (
        visitor.last.text or ""
    )
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None and tip.telegram_id == visitor.id

    someone = bot.resident("Eve", language_code="en")
    await someone.says(f"/start claim-{code}")
    await someone.presses("English")
    en = resident_texts(bot, "en")
    assert someone.last.text == en._(
        "This link does not work any more. Ask at the office for a new one."
    )


async def resolved_tip_with_follower(bot: BotHarness) -> tuple[Person, Person, int]:
    """Amina reports a broken bench; Bilal follows it; staff mark it resolved."""
    amina = bot.resident("Amina", language_code="en")
    await amina.says("/start")
    await amina.presses("English")
    await amina.says("/tip")
    await amina.presses("Walking paths")
    await amina.says("➡️ Skip")
    await amina.says("The bench by the pond is broken")
    await amina.presses("Done, next step")
    await amina.presses("No, keep me anonymous")
    await amina.presses("Send the tip")
    bilal = bot.resident("Bilal", language_code="en")
    await bilal.says("/start")
    await bilal.presses("English")
    assert await store.follow(bot.db, 1, bilal.id, bot.clock())
    t = staff_texts(bot)
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None
    card = next(m for m in bot.staff_messages() if m.message_id == tip.staff_card_message_id)
    await bot.staff[0].presses(t._("Resolved"), card)
    return amina, bilal, tip.staff_card_message_id or 0


async def test_is_it_fixed_no_reopens_the_tip_and_tells_staff(bot: BotHarness):
    amina, bilal, card_id = await resolved_tip_with_follower(bot)
    en = resident_texts(bot, "en")
    context = BotContext(bot.app)

    bot.clock.advance(timedelta(days=13))
    assert await ask_if_fixed(context) == 0  # not yet

    bot.clock.advance(timedelta(days=1, minutes=1))
    assert await ask_if_fixed(context) == 2  # the reporter and the follower
    await bot.settle()
    assert await ask_if_fixed(context) == 0  # once per person per resolution
    question = amina.last_with_button(en._("No, not fixed"))
    assert "T-0001" in (question.text or "")
    assert bilal.last_with_button(en._("Yes, it is fixed"))

    await bilal.presses(en._("Yes, it is fixed"))
    assert bilal.last.text == en._("Thank you for your answer!")
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None and tip.status == TipStatus.RESOLVED

    before = len(bilal.received)
    no = question.button(en._("No, not fixed"))
    await amina.presses(en._("No, not fixed"), question)
    assert not question.buttons  # one tap: the buttons are gone
    assert amina.last.text == en._("Thank you. We opened the tip again and told the staff.")
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None and tip.status == TipStatus.REOPENED
    history = [change.status for change in await store.status_history(bot.db, 1)]
    assert history == [TipStatus.RESOLVED, TipStatus.REOPENED]
    # Bilal hears the news; Amina was answered already and gets no second message.
    assert [m.text for m in bilal.received[before:]][-1].endswith(
        en._("Someone told us it is not fixed. We are looking at it again.")
    )
    t = staff_texts(bot)
    [note] = [
        m
        for m in bot.staff_messages(tip.staff_thread_id)
        if m.reply_to_message_id == card_id and "🔁" in (m.text or "")
    ]
    assert note.text == t._(
        "🔁 {reference}: a resident says it is not fixed. The tip is open again.",
        reference="T-0001",
    )

    # A second press changes nothing; the figures count the reopening and both answers.
    await amina.presses_data(question, no)
    assert len(await store.status_history(bot.db, 1)) == 2
    today = bot.clock().astimezone(bot.config.timezone).date()
    period = reports.Period.of_days(today, today, bot.config.timezone)
    figures = await reports.figures(bot.db, period)
    assert figures.tips_reopened == 1
    assert figures.fixed_answers == {"no": 1, "yes": 1}


async def test_only_the_person_asked_can_answer(bot: BotHarness):
    amina, _, _ = await resolved_tip_with_follower(bot)
    bot.clock.advance(timedelta(days=15))
    assert await ask_if_fixed(BotContext(bot.app)) == 2
    await bot.settle()
    en = resident_texts(bot, "en")
    question = amina.last_with_button(en._("No, not fixed"))
    eve = bot.resident("Eve", language_code="en")
    await eve.says("/start")
    await eve.presses("English")
    await eve.presses_data(question, question.button(en._("No, not fixed")))
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None and tip.status == TipStatus.RESOLVED


def test_fixed_check_days_is_a_number_or_off():
    assert parse_fixed_check_days("") == 14
    assert parse_fixed_check_days("7") == 7
    assert parse_fixed_check_days("off") is None
    with pytest.raises(ConfigError):
        parse_fixed_check_days("two weeks")


def test_the_staff_tip_flow_ends_only_by_saving():
    assert STAFF_TIP.allows("confirm", None)
    assert not STAFF_TIP.allows("describe", None)


async def test_a_staff_message_handled_twice_is_taken_once(bot: BotHarness):
    now = bot.clock()
    await staff_tips.start_form(bot.db, 1, bot.staff_chat.id, None, None, "describe", now)
    assert await staff_tips.add_to_form(bot.db, 1, 41, now, words="Icy stairs")
    assert not await staff_tips.add_to_form(bot.db, 1, 41, now, words="Icy stairs")
    assert await staff_tips.add_to_form(bot.db, 1, 42, now, media=("photo", "f1", None))
    form = await staff_tips.form_of(bot.db, 1)
    assert form is not None and form.description == "Icy stairs" and form.count("photo") == 1


async def test_answers_to_is_it_fixed_are_the_residents_data(bot: BotHarness):
    amina, _, _ = await resolved_tip_with_follower(bot)
    bot.clock.advance(timedelta(days=15))
    assert await ask_if_fixed(BotContext(bot.app)) == 2
    await bot.settle()
    await amina.presses(resident_texts(bot, "en")._("Yes, it is fixed"))
    data = await privacy.export_resident(bot.db, amina.id)
    assert data["staff_tips"]["is_it_fixed"][0]["answer"] == "yes"
    await privacy.forget_resident(bot.db, amina.id)
    assert "staff_tips" not in await privacy.export_resident(bot.db, amina.id)


async def test_a_first_start_does_not_ask_about_tips_resolved_long_ago(bot: BotHarness):
    await resolved_tip_with_follower(bot)
    bot.clock.advance(timedelta(days=40))
    assert await ask_if_fixed(BotContext(bot.app)) == 0
