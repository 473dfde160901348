"""A resident's first minutes: greeting, language, menu, help, privacy, and odd input."""

from __future__ import annotations

from bot.i18n import SUPPORTED_LANGUAGES, client_codes
from tests.harness import BotHarness
from tests.postgres import on_both_engines


@on_both_engines
async def test_norwegian_resident_is_greeted_and_gets_the_menu(bot: BotHarness):
    kari = bot.resident("Kari", language_code="nb")
    replies = await kari.says("/start")
    assert len(replies) == 1
    greeting = replies[0]
    assert bot.app is not None
    nb = bot.app.bot_data.catalogs.texts("nb")
    assert nb._("Hello! 👋 I am the digital contact point of your district.") in greeting.text
    assert nb._("Choose your language:") in greeting.text
    labels = [label for label, _ in greeting.buttons]
    for name in SUPPORTED_LANGUAGES.values():
        assert any(name in label for label in labels), f"{name} missing from {labels}"
    # The app's language is preselected.
    assert "✅ Norsk (bokmål)" in labels

    replies = await kari.presses("Norsk")
    texts = "\n".join(m.text for m in replies)
    assert "Vi lagrer bare det vi trenger" in texts  # the short privacy notice, once
    assert "Velkommen!" in replies[-1].text
    menu = [label for label, _ in replies[-1].buttons]
    assert any("Aktiviteter" in label for label in menu)
    assert any("Snakk med et menneske" in label for label in menu)


async def test_english_resident(bot: BotHarness):
    john = bot.resident("John", language_code="en-GB")
    await john.says("/start")
    assert "Choose your language" in john.last.text
    await john.presses("English")
    assert "Welcome!" in john.last.text


async def test_arabic_resident_reads_right_to_left(bot: BotHarness):
    layla = bot.resident("Layla", language_code="ar")
    await layla.says("/start")
    assert "مرحبًا" in layla.last.text
    assert "✅ العربية" in [label for label, _ in layla.last.buttons]
    await layla.presses("العربية")
    welcome = layla.last.text
    assert welcome.startswith("أهلًا")
    assert "Welcome" not in welcome


async def test_unknown_app_language_falls_back_to_default(bot: BotHarness):
    hans = bot.resident("Hans", language_code="de")
    await hans.says("/start")
    assert bot.app is not None
    assert bot.app.bot_data.catalogs.texts("nb")._("Choose your language:") in hans.last.text


@on_both_engines
async def test_language_switch_changes_every_later_answer(bot: BotHarness):
    ewa = bot.resident("Ewa", language_code="nb")
    await ewa.says("/start")
    await ewa.presses("Norsk")
    await ewa.says("/language")
    await ewa.presses("Polski")
    assert "Witaj!" in ewa.last.text
    await ewa.says("/help")
    assert "Mogę Ci pomóc" in ewa.last.text
    # The choice is stored, not held in memory: it survives a restart.
    await bot.restart()
    await ewa.says("/cancel")
    assert "Nie ma nic do zatrzymania" in ewa.last.text


async def test_privacy_says_what_is_stored_and_how_to_delete(bot: BotHarness):
    ali = bot.resident("Ali", language_code="so")
    await ali.says("/start")
    await ali.presses("Soomaali")
    await ali.says("/privacy")
    text = ali.last.text
    assert "Xogtaada" in text
    assert "/deleteme" in text and "/mydata" in text
    assert "365 maalmood" in text  # how long


async def test_cancel_with_nothing_to_cancel(bot: BotHarness):
    ola = bot.resident("Ola", language_code="nb")
    await ola.says("/start")
    await ola.presses("Norsk")
    await ola.says("/cancel")
    assert bot.app is not None
    assert bot.app.bot_data.catalogs.texts("nb")._("There is nothing to stop.") in ola.last.text
    assert ola.last.buttons  # and the menu, to go on from


async def test_unknown_command_gets_help_with_menu(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await john.says("/start")
    await john.presses("English")
    replies = await john.says("/frobnicate")
    assert len(replies) == 1
    assert "I don't know that command" in replies[0].text
    assert any("Activities" in label for label, _ in replies[0].buttons)


async def test_free_text_is_answered_never_silence(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    replies = await john.says("hello, is anyone there?")
    assert len(replies) == 1
    assert "Thank you for your message" in replies[0].text
    assert replies[0].buttons


async def test_sticker_gets_a_friendly_answer(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    replies = await john.does("send_sticker")
    assert len(replies) == 1 and "stickers" in replies[0].text


async def test_staff_command_from_a_resident_is_refused(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    replies = await john.says("/staff")
    assert len(replies) == 1
    assert "only for staff" in replies[0].text


async def test_staff_command_works_in_the_staff_chat(bot: BotHarness):
    kari = bot.staff[0]
    bot.double.send_text(kari.user, "/staff", chat=bot.staff_chat)
    await bot.settle()
    assert any("/staff" in m.text for m in bot.staff_messages())


async def test_forged_language_button_changes_nothing(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await john.says("/start")
    await john.presses_data(john.last, "lang:xx")
    assert bot.double.answered_callbacks[-1]["text"] == "This button does not work any more."
    await john.presses_data(john.last, "totally:unknown")
    assert bot.double.answered_callbacks[-1]["text"] == "This button does not work any more."


async def test_command_menus_are_set_for_every_language(bot: BotHarness):
    commands = bot.double.commands
    languages = {language for (_scope, language) in commands}
    for code in [code for language in SUPPORTED_LANGUAGES for code in client_codes(language)]:
        assert code in languages, f"no command menu for {code}"
    # Telegram takes two-letter ISO 639-1 codes only: Dari's menu is set for `fa`.
    assert all(len(code) == 2 for code in languages if code) and "no" in languages
    arabic = next(v for (s, lang), v in commands.items() if lang == "ar")
    assert {c["command"] for c in arabic} >= {"start", "help", "language", "privacy", "cancel"}
    assert any(c["description"] == "تغيير اللغة" for c in arabic)


async def test_deep_link_for_a_new_resident_asks_language_first(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await john.says("/start unknown-payload")
    assert "Choose your language" in john.last.text
    await john.presses("English")
    assert "Welcome!" in john.last.text
