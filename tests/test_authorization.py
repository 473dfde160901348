"""Staff tools only for current members of the staff chat; administrative ones only for admins."""

from __future__ import annotations

from bot.i18n import Texts
from sandbox.models import FakeUser
from tests.harness import BotHarness

NOT_A_MEMBER = "Only members of the staff group can do this."


def staff_texts(bot: BotHarness) -> Texts:
    assert bot.app is not None
    return bot.app.bot_data.staff_texts()


async def _staff_says(bot: BotHarness, user: FakeUser, text: str) -> None:
    bot.double.send_text(user, text, chat=bot.staff_chat)
    await bot.settle()


async def test_staff_command_from_a_non_member_is_refused(bot: BotHarness):
    outsider = bot.double.add_user("Outsider")
    await _staff_says(bot, outsider, "/cases")
    replies = bot.staff_messages()
    assert replies, "a refusal is expected, not silence"
    assert replies[-1].text == staff_texts(bot)._(NOT_A_MEMBER)


async def test_a_removed_member_loses_access(bot: BotHarness):
    ola = bot.staff[1].user
    await _staff_says(bot, ola, "/cases")
    assert staff_texts(bot)._(NOT_A_MEMBER) not in bot.staff_messages()[-1].text
    bot.double.remove_member(bot.staff_chat, ola)
    bot.app.bot_data.staff_members.clear()  # the 5-minute cache has run out
    await _staff_says(bot, ola, "/cases")
    assert bot.staff_messages()[-1].text == staff_texts(bot)._(NOT_A_MEMBER)


async def test_administrative_command_needs_an_admin(bot: BotHarness):
    ola = bot.staff[1].user  # a member, not in BOT_ADMIN_IDS
    await _staff_says(bot, ola, "/survey_send something")
    assert bot.staff_messages()[-1].text == staff_texts(bot)._("Only administrators can do this.")


async def test_staff_command_in_a_private_chat_is_refused(bot: BotHarness):
    kari = bot.person(bot.staff[0].user)  # even staff members: staff tools live in the staff chat
    replies = await kari.says("/cases")
    assert bot.app is not None
    t = bot.app.bot_data.catalogs.texts("nb")  # Kari's own language
    assert replies[-1].text == t._("Sorry, this command is only for staff.")


async def test_staff_button_pressed_by_a_non_member_changes_nothing(bot: BotHarness):
    amina = bot.resident("Amina", language_code="so")
    await amina.says("/contact")
    await amina.says("Salaan, waxaan u baahanahay caawimo")
    card = next(m for m in bot.staff_messages() if m.buttons)
    outsider = bot.double.add_user("Outsider")
    data = card.buttons[0][1]
    bot.double.press(outsider, card.raw, data)
    await bot.settle()
    assert bot.double.answered_callbacks[-1]["show_alert"] is True
    only_staff = staff_texts(bot)._("Only staff can use this.")
    assert only_staff in bot.double.answered_callbacks[-1]["text"]
    assert all("Outsider" not in m.text for m in bot.staff_messages())
