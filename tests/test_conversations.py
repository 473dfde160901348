"""What a resident is in the middle of (bot/conversations.py): which conversation takes a
message when two are active, invitations held back while a resident is busy, flows resumed
after a restart, and the diagrams of the flows in docs/ARCHITECTURE.md."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.activities.forms import FORMS, answer_form, new_form, series_from_form
from bot.activities.subscribing import SUBSCRIBE
from bot.announcements.staff import ANNOUNCE
from bot.conversations import RESIDENT_CONVERSATIONS
from bot.handover.steps import CASE
from bot.i18n import Catalogs, Texts
from bot.steps import StepError
from bot.surveys.answering import SURVEY_SESSION
from bot.surveys.management import load_survey
from bot.tips.staff_form import STAFF_TIP
from bot.tips.steps import TIP_DRAFT, TipStep
from storage import activities
from storage import tips as tip_store
from tests.harness import BotHarness, Person

#: Monday 23 November 2026, 09:00 in Oslo: office hours.
NOV_MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
EXAMPLE_SURVEY = Path(__file__).parent.parent / "surveys" / "example.toml"
ARCHITECTURE = Path(__file__).parent.parent / "docs" / "ARCHITECTURE.md"


def texts(language: str) -> Texts:
    return Catalogs(default_language="nb").texts(language)


async def newcomer(bot: BotHarness, name: str, language: str = "en") -> Person:
    person = bot.resident(name, language_code=language)
    person.double.set_limits(private_burst=20)
    await person.says("/start")
    await person.presses({"en": "English", "nb": "Norsk"}[language])
    person.new_messages()
    return person


async def organiser(bot: BotHarness, name: str = "Fatima") -> Person:
    person = await newcomer(bot, name)
    await activities.add_organiser(bot.db, person.id, "Røde Kors familiesenter", None, bot.clock())
    return person


async def staff_says(bot: BotHarness, text: str, who: int = 0) -> list:
    before = len(bot.staff_messages())
    bot.double.send_text(bot.staff[who].user, text, chat=bot.staff_chat)
    await bot.settle()
    return bot.staff_messages()[before:]


# --------------------------------------------------------------------------- restarts
async def test_a_proposal_goes_on_after_a_restart(bot: BotHarness):
    bot.clock.set(NOV_MONDAY)
    fatima = await organiser(bot)
    await fatima.says("/propose")
    await fatima.says("Familiekafé")
    assert "When does it start?" in fatima.last.text

    await bot.restart()  # a redeploy in the middle of the form

    await fatima.says("26.11 17:00")
    assert "When does it end?" in fatima.last.text
    await fatima.says("19:00")
    await fatima.says("Haugenstua samfunnshus")
    await fatima.says("Middag og lek for hele familien.")
    await fatima.says("0-1, 2-5")
    assert "Staff will look at it" in fatima.last.text
    proposal = bot.staff_messages()[-1]
    assert "Familiekafé" in proposal.text and "Haugenstua" in proposal.text
    assert await activities.form_of(bot.db, fatima.id) is None  # finished: nothing left


async def test_the_staff_activity_form_goes_on_after_a_restart(bot: BotHarness):
    bot.clock.set(NOV_MONDAY)
    await staff_says(bot, "/activity_add")
    await staff_says(bot, "Strikkekafé")
    await bot.restart()
    for answer in ("27.11 12:00", "14:00", "Stovner senter", "adults", "12"):
        await staff_says(bot, answer)
    assert "Strikkekafé" in bot.staff_messages()[-1].text
    listed = await activities.listed_between(
        bot.db, datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC)
    )
    assert [(a.title, a.capacity) for a in listed] == [("Strikkekafé", 12)]


# --------------------------------------------------------------------------- busy
async def test_no_survey_invitation_in_the_middle_of_a_proposal(bot: BotHarness):
    bot.clock.set(NOV_MONDAY)
    await load_survey(bot.db, EXAMPLE_SURVEY.read_bytes(), "nb", bot.clock())
    fatima = await organiser(bot)
    john = await newcomer(bot, "John")
    for person in (fatima, john):
        await activities.subscribe(bot.db, person.id, ["all"], bot.clock())

    await fatima.says("/propose")
    await fatima.says("Familiekafé")
    fatima.new_messages()
    await staff_says(bot, "/survey_send park-2026")
    assert len(john.new_messages()) == 1  # John is not busy: invited
    assert fatima.new_messages() == []  # held back: she is answering the form

    # Her next message is still the form's answer, not lost to anything else.
    await fatima.says("26.11 17:00")
    assert "When does it end?" in fatima.last.text
    for answer in ("19:00", "Haugenstua", "-", "all"):
        await fatima.says(answer)
    assert "Staff will look at it" in fatima.last.text

    # Once the form is done she is not busy: the next sending invites her (and nobody twice).
    fatima.new_messages()
    await staff_says(bot, "/survey_send park-2026")
    invitation = fatima.new_messages()
    assert len(invitation) == 1 and "What do you think of the park?" in invitation[0].text
    assert john.new_messages() == []


# --------------------------------------------------------------------------- precedence
async def test_a_tip_being_written_takes_the_message_before_an_open_case(bot: BotHarness):
    bot.clock.set(NOV_MONDAY)
    names = [c.name for c in RESIDENT_CONVERSATIONS]
    assert names.index("tip draft") < names.index("case with staff")
    en = texts("en")
    amina = await newcomer(bot, "Amina")
    await amina.says("/contact")
    await amina.says("Hello, I have a question about school")
    [case_topic] = bot.double.topics(bot.staff_chat)

    # Both are active now: the case, and the tip she starts.
    await amina.says("/tip")
    await amina.presses(en._("Sports fields and playgrounds"))
    await amina.says("➡️ " + en._("Skip"))
    replies = await amina.says("The swing is broken")
    assert en._("✍️ Thank you, I have your text.") in replies[-1].text
    in_case = [m.text or "" for m in bot.staff_messages(thread_id=case_topic.id)]
    assert not any("The swing is broken" in text for text in in_case)

    await amina.presses(en._("Done, next step"))
    await amina.presses(en._("No, keep me anonymous"))
    await amina.presses(en._("Send the tip"))
    tip = await tip_store.get_tip(bot.db, 1)
    assert tip is not None and tip.description == "The swing is broken"

    # The tip is sent: the case is the only conversation left and takes the next message.
    await amina.says("Are you still there?")
    in_case = [m.text or "" for m in bot.staff_messages(thread_id=case_topic.id)]
    assert any("Are you still there?" in text for text in in_case)


# --------------------------------------------------------------------------- city's job
async def test_a_description_written_after_the_citys_job_note_is_taken(bot: BotHarness):
    en = texts("en")
    john = await newcomer(bot, "John")
    await john.says("/tip")
    await john.presses(en._("Littering and waste"))
    assert any(label.endswith(en._("Send it to us anyway")) for label, _ in john.last.buttons)

    # He does not press «Send it to us anyway»: he simply writes what is wrong.
    replies = await john.says("Lots of rubbish by the bus stop")
    said = "\n".join(m.text or "" for m in replies)
    assert en._("Please press one of the buttons above, or /cancel to stop.") not in said
    assert en._("✍️ Thank you, I have your text.") in said
    assert en._("📍 Where is it?") in said

    await john.says("Stovner senter")
    # The text is there already: more may be added, or «Done».
    assert en._("✍️ Thank you, I have your text.") in john.last.text
    await john.presses(en._("Done, next step"))
    await john.presses(en._("Yes, show my name"))
    assert "Lots of rubbish by the bus stop" in john.last.text  # the summary
    await john.presses(en._("Send the tip"))
    tip = await tip_store.get_tip(bot.db, 1)
    assert tip is not None
    assert (tip.category, tip.description, tip.place_text) == (
        "littering",
        "Lots of rubbish by the bus stop",
        "Stovner senter",
    )


# --------------------------------------------------------------------------- diagrams
def test_the_architecture_diagrams_are_the_transition_tables():
    """Each flow's diagram in docs/ARCHITECTURE.md is generated from its table (copy the
    output of `Flow.diagram()` there after changing a table)."""
    document = ARCHITECTURE.read_text(encoding="utf-8")
    blocks = re.findall(r"```mermaid\n(.*?)\n```", document, flags=re.S)
    for flow in (TIP_DRAFT, *FORMS.values(), SURVEY_SESSION, CASE, STAFF_TIP, SUBSCRIBE, ANNOUNCE):
        assert flow.diagram() in blocks, f"the diagram of the {flow.name} is out of date"


def test_the_conversations_are_listed_in_architecture_in_their_order():
    document = ARCHITECTURE.read_text(encoding="utf-8")
    section = document.split("## Conversations", 1)[1]
    positions = [section.find(f"**{c.name}**") for c in RESIDENT_CONVERSATIONS]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)


# --------------------------------------------------------------------------- tables
def test_a_move_the_table_does_not_have_is_refused():
    assert TIP_DRAFT.first == TipStep.CATEGORY
    assert TIP_DRAFT.allows(TipStep.EXTERNAL, TipStep.PLACE)
    with pytest.raises(StepError):
        TIP_DRAFT.check(TipStep.CONFIRM, TipStep.CATEGORY)


def test_an_answer_handled_twice_is_taken_once():
    """After a crash the same message comes again: it is not the next question's answer."""
    now = NOV_MONDAY
    form = new_form("staff", 7, -100, None, now)
    form, step, retry = answer_form(form, "Strikkekafé", 11, UTC, now)
    assert step is not None and step.key == "start" and retry is None
    again, step_again, retry = answer_form(form, "Strikkekafé", 11, UTC, now)
    assert again == form and step_again == step and retry is None
    answers = ((12, "27.11 12:00"), (13, "14:00"), (14, "Stovner senter"), (15, "adults"))
    for message_id, text in answers:
        form, step, _ = answer_form(form, text, message_id, UTC, now)
    form, step, _ = answer_form(form, "-", 16, UTC, now)
    assert step is None  # complete
    first_uid = series_from_form(form).uid
    form, step, _ = answer_form(form, "-", 16, UTC, now)
    assert step is None and series_from_form(form).uid == first_uid  # stored in place
