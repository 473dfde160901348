"""Talk to a person: a resident's case becomes a topic in the staff forum, and back again."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from bot.context import BotContext
from bot.handover.reminders import remind_waiting_cases
from bot.handover.topics import language_name
from bot.i18n import Texts
from bot.outbox import send_pending
from sandbox.models import SentMessage
from storage import cases, privacy
from storage.db import DatabaseLocation
from tests.harness import BotHarness, Person, make_harness, shown_to_staff
from tests.postgres import on_both_engines

OSLO = ZoneInfo("Europe/Oslo")
JPEG = b"\xff\xd8\xff\xe0 a photo of a broken street lamp"
STAFF_JPEG = b"\xff\xd8\xff\xe0 a map to the office"


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)


async def start(person: Person, language_button: str) -> None:
    # A conversation sends a resident a few messages in a row, which Telegram allows; the
    # double's strict one-per-second private limit would only add retry pauses here.
    person.double.set_limits(private_burst=20)
    await person.says("/start")
    await person.presses(language_button)


async def open_case(bot: BotHarness, person: Person, first_message: str = "Hello") -> int:
    """The resident asks for a person and writes; returns the case topic's thread id."""
    before = len(bot.double.topics(bot.staff_chat))
    await person.says("/contact")
    await person.says(first_message)
    topics = bot.double.topics(bot.staff_chat)
    assert len(topics) == before + 1, "the first message should create the case topic"
    return topics[-1].id


async def staff_says(bot: BotHarness, thread_id: int, text: str, who: int = 0) -> None:
    await bot.staff[who].does("send_text", text, chat=bot.staff_chat, thread_id=thread_id)


def quoted(message: SentMessage) -> str | None:
    """The words inside a message's blockquote (how a resident's text reaches staff), if any."""
    return shown_to_staff(message) if message.entities else None


def topic_texts(bot: BotHarness, thread_id: int) -> list[str]:
    """What staff read in a topic: a resident's quoted words, or the whole text of a notice."""
    return [shown_to_staff(m) for m in bot.staff_messages(thread_id)]


def staff_texts(bot: BotHarness) -> Texts:
    """The texts staff read (the district's default language)."""
    assert bot.app is not None
    return bot.app.bot_data.staff_texts()


def resident_texts(bot: BotHarness, language: str) -> Texts:
    assert bot.app is not None
    return bot.app.bot_data.catalogs.texts(language)


def plain(html: str) -> str:
    """A catalog text as Telegram shows it: without its HTML tags."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def reminder_context(bot: BotHarness) -> BotContext:
    assert bot.app is not None
    return BotContext(bot.app)


@on_both_engines
async def test_case_in_urdu_with_texts_and_photos_both_ways(bot: BotHarness):
    amina = bot.resident("Amina", language_code="ur")
    await start(amina, "اردو")
    replies = await amina.says("/contact")
    assert "یہاں" in replies[0].text  # the invitation to write, in Urdu
    assert any("نام" in label for label, _ in replies[0].buttons)  # show my name?
    assert bot.double.topics(bot.staff_chat) == [], "no topic before the first real message"

    question = "السلام علیکم، میرے گھر کے سامنے لیمپ ٹوٹا ہوا ہے"
    replies = await amina.says(question)
    [topic] = bot.double.topics(bot.staff_chat)
    assert topic.name.startswith("S-0001 · urdu")
    assert "Amina" not in topic.name  # anonymous unless she allows her name
    header, relayed = bot.staff_messages(topic.id)[:2]
    t = staff_texts(bot)
    assert plain(t._("💬 <b>Case {number}</b>", number="S-0001")) in header.text
    assert t._("Language: {language}", language=language_name(t, "ur")) in header.text
    assert t._("Earlier cases: none") in header.text
    assert relayed.method == "sendMessage" and quoted(relayed) == question
    assert "forward_origin" not in relayed.raw
    assert len(replies) == 1 and "شکریہ" in replies[0].text  # "thank you", in Urdu

    await amina.does("send_photo", JPEG, caption="یہ دیکھیں")
    photo = bot.staff_messages(topic.id)[-1]
    assert photo.media_kind == "photo" and photo.data == JPEG and quoted(photo) == "یہ دیکھیں"

    await staff_says(bot, topic.id, "Hei! Vi sender noen i morgen.")
    answer = amina.last
    assert answer.text == "Hei! Vi sender noen i morgen." and answer.method == "copyMessage"
    assert "Kari" not in answer.text and "forward_origin" not in answer.raw

    await bot.staff[0].does(
        "send_photo", STAFF_JPEG, caption="Kart", chat=bot.staff_chat, thread_id=topic.id
    )
    assert amina.last.media_kind == "photo" and amina.last.data == STAFF_JPEG

    case = await cases.by_topic(bot.db, topic.id)
    assert case is not None and case.language == "ur" and case.first_staff_reply_at is not None


async def test_voice_video_document_location_and_album_reach_the_topic(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    await john.does("send_voice")
    await john.does("send_video")
    await john.does(
        "send_document", b"%PDF-1.4 letter", filename="letter.pdf", mime_type="application/pdf"
    )
    await john.does("send_location", 59.94, 10.87)
    replies = await john.does("send_album", [JPEG, STAFF_JPEG, JPEG])
    kinds = [m.media_kind for m in bot.staff_messages(thread)[2:]]
    assert kinds == ["voice", "video", "document", "location", "photo", "photo", "photo"]
    assert replies == [], "the resident is not answered for every message"


async def test_html_in_messages_arrives_literally_both_ways(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john, "<b>x</b> & co")
    relayed = bot.staff_messages(thread)[1]
    assert quoted(relayed) == "<b>x</b> & co"
    assert [e["type"] for e in relayed.entities] == ["blockquote"]
    await staff_says(bot, thread, "<i>y</i> & <3")
    assert john.last.text == "<i>y</i> & <3" and john.last.entities == []


async def test_note_stays_with_staff(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    seen = len(john.received)
    await staff_says(bot, thread, "/note He sounded worried, call him on Monday")
    assert len(john.received) == seen, "a note must never reach the resident"
    assert "Notat lagret" in topic_texts(bot, thread)[-1]
    case = await cases.by_topic(bot.db, thread)
    assert case is not None
    assert await cases.notes(bot.db, case.id) == ["He sounded worried, call him on Monday"]
    await staff_says(bot, thread, "/note")
    assert "Skriv notatet etter kommandoen" in topic_texts(bot, thread)[-1]
    assert len(john.received) == seen


async def test_close_asks_for_a_rating_and_a_new_message_offers_a_new_case(bot: BotHarness):
    amina = bot.resident("Amina", language_code="so")
    await start(amina, "Soomaali")
    thread = await open_case(bot, amina, "Waxaan u baahanahay caawimo")
    await staff_says(bot, thread, "Vi har fikset det.")
    await staff_says(bot, thread, "/close")

    rating = amina.last
    assert [label for label, _ in rating.buttons] == ["😞", "🙁", "😐", "🙂", "😄"]
    [topic] = bot.double.topics(bot.staff_chat)
    assert topic.closed and topic.name.startswith("✅ S-0001")
    t = staff_texts(bot)
    closed = t._("✅ Case {number} closed by {name}.", number="S-0001", name="Kari")
    assert any(closed in text for text in topic_texts(bot, thread))

    # Someone else's forged press changes nothing.
    mallory = bot.resident("Mallory", language_code="en")
    await mallory.says("/start")
    await mallory.presses_data(rating, rating.button("😄"))
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.rating is None

    await amina.presses("🙂")
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.rating == 4 and case.status == "closed"
    rated = t._("The resident rated the help: {score} of 5 {face}", score=4, face="🙂")
    assert rated in topic_texts(bot, thread)[-1]

    # Staff writing in the closed topic reach nobody.
    seen = len(amina.received)
    await staff_says(bot, thread, "En ting til")
    assert len(amina.received) == seen
    not_sent = staff_texts(bot)._("This case is closed. The resident did not get this message.")
    assert not_sent in topic_texts(bot, thread)[-1]

    replies = await amina.says("Mar kale ayaan qabaa su'aal")
    assert len(replies) == 1 and replies[0].buttons, "asked whether to open a new case"
    assert len(bot.double.topics(bot.staff_chat)) == 1
    # Forged data (another message id) passes nothing on and opens nothing.
    await amina.presses_data(replies[0], "case:new:1")
    assert bot.double.answered_callbacks[-1]["text"] == "Badhankan mar dambe ma shaqeeyo."
    assert len(bot.double.topics(bot.staff_chat)) == 1
    await amina.presses(replies[0].buttons[0][0])
    topics = bot.double.topics(bot.staff_chat)
    assert len(topics) == 2 and topics[1].name.startswith("S-0002")
    new_topic = topic_texts(bot, topics[1].id)
    assert "Tidligere saker: 1 (S-0001)" in new_topic[0]
    assert new_topic[1] == "Mar kale ayaan qabaa su'aal"


async def test_deleted_topic_is_recreated_and_nothing_is_lost(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    old = await open_case(bot, john)
    bot.double.delete_topic(bot.staff_chat, old)
    await john.says("Are you there?")
    topics = bot.double.topics(bot.staff_chat)
    assert len(topics) == 2 and topics[0].deleted and not topics[1].deleted
    new = topics[1].id
    texts = topic_texts(bot, new)
    assert "slettet" in texts[0] and texts[-1] == "Are you there?"
    case = await cases.open_case_of(bot.db, john.id)
    assert case is not None and case.topic_id == new
    await staff_says(bot, new, "Yes, here!")
    assert john.last.text == "Yes, here!"


async def test_overdue_case_gets_one_reminder_in_office_time(bot: BotHarness):
    bot.clock.set(oslo(2026, 11, 25, 10, 0))  # Wednesday
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    context = reminder_context(bot)
    bot.clock.advance(timedelta(minutes=90))
    assert await remind_waiting_cases(context) == 0
    bot.clock.advance(timedelta(minutes=40))
    assert await remind_waiting_cases(context) == 1
    reminder = topic_texts(bot, thread)[-1]
    t = staff_texts(bot)
    waiting = "⏰ Case {number} is waiting for an answer: {time} since the resident wrote."
    assert t._(waiting, number="S-0001", time="2 t 10 min") in reminder
    assert t._("Nobody has taken it yet.") in reminder
    bot.clock.advance(timedelta(minutes=30))
    assert await remind_waiting_cases(context) == 0, "one reminder per wait"

    # A staff reply ends the wait; a new wait can be reminded again, counting office time.
    await staff_says(bot, thread, "Looking into it")
    bot.clock.set(oslo(2026, 11, 25, 14, 30))
    await john.says("Thanks, waiting")
    bot.clock.set(oslo(2026, 11, 25, 20, 0))
    assert await remind_waiting_cases(context) == 0  # 1 h until closing at 15:30
    bot.clock.set(oslo(2026, 11, 26, 9, 55))
    assert await remind_waiting_cases(context) == 0  # 1 h 55 min of office time
    bot.clock.set(oslo(2026, 11, 26, 10, 5))
    assert await remind_waiting_cases(context) == 1
    # The text up to the wait itself, then the whole hours of it.
    before_time = t._(waiting, number="S-0001", time="\0").split("\0")[0]
    assert before_time + "19 t" in topic_texts(bot, thread)[-1], "the whole wait is shown"


async def test_evening_messages_are_not_overdue_outside_office_hours(bot: BotHarness):
    bot.clock.set(oslo(2026, 11, 27, 15, 0))  # Friday afternoon
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    await open_case(bot, john)
    context = reminder_context(bot)
    bot.clock.set(oslo(2026, 11, 29, 20, 0))  # Sunday evening: only 30 min of office time
    assert await remind_waiting_cases(context) == 0
    bot.clock.set(oslo(2026, 11, 30, 10, 31))
    assert await remind_waiting_cases(context) == 1


async def test_saturday_gets_one_closed_notice_and_messages_still_arrive(bot: BotHarness):
    bot.clock.set(oslo(2026, 11, 28, 12, 0))  # Saturday
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    replies = await john.says("/contact")
    [notice] = [m.text for m in replies if "closed" in m.text]
    assert "Staff will answer you on Monday, November 30 from 9:00" in notice
    replies = await john.says("My heating is broken")
    assert [m.text for m in replies] == ["Thank you, your message is saved."]
    replies = await john.says("It is very cold")
    assert replies == [], "the notice comes once per closed period, not for every message"
    [topic] = bot.double.topics(bot.staff_chat)
    assert topic_texts(bot, topic.id)[-2:] == ["My heating is broken", "It is very cold"]
    # The next closed period (Monday evening) gets a notice again.
    bot.clock.set(oslo(2026, 11, 30, 18, 0))
    replies = await john.says("Hello?")
    assert any("tomorrow from 9:00" in m.text for m in replies)


async def test_17_may_is_a_holiday(bot: BotHarness):
    bot.clock.set(oslo(2027, 5, 17, 11, 0))  # a Monday, but Constitution Day
    kari = bot.resident("Kari", language_code="nb")
    await start(kari, "Norsk")
    replies = await kari.says("/contact")
    t = resident_texts(bot, "nb")
    assert replies[-1].text == t._(
        "Our office is closed now. Staff will answer you tomorrow from {time}."
        " Your message is saved.",
        time="09:00",
    )
    replies = await kari.says("Hei, jeg trenger hjelp med et skjema")
    assert [m.text for m in replies] == [t._("Thank you, your message is saved.")]
    [topic] = bot.double.topics(bot.staff_chat)
    assert topic_texts(bot, topic.id)[-1] == "Hei, jeg trenger hjelp med et skjema"


async def test_relay_survives_a_restart(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    await bot.restart()
    await john.says("Still there after your update?")
    assert topic_texts(bot, thread)[-1] == "Still there after your update?"
    await staff_says(bot, thread, "Yes, all good")
    assert john.last.text == "Yes, all good"
    assert len(bot.double.topics(bot.staff_chat)) == 1


async def test_cases_and_stats_for_staff(bot: BotHarness):
    bot.clock.set(oslo(2026, 11, 25, 9, 0))
    john = bot.resident("John", language_code="en")
    ewa = bot.resident("Ewa", language_code="pl")
    await start(john, "English")
    await start(ewa, "Polski")
    john_topic = await open_case(bot, john)
    ewa_topic = await open_case(bot, ewa, "Dzień dobry")
    bot.clock.advance(timedelta(minutes=30))
    await staff_says(bot, john_topic, "Hi John")
    bot.clock.advance(timedelta(minutes=45))

    await bot.staff[1].does("send_text", "/cases", chat=bot.staff_chat)
    overview = bot.staff_messages()[-1]
    t = staff_texts(bot)
    assert plain(t._("<b>Open cases: {count}</b>", count=2)) in overview.text
    lines = overview.text.splitlines()
    waiting = t._("waiting {time}", time="1 t 15 min")
    assert lines[1].startswith(f"S-0002 · {waiting} · {t._('nobody yet')}")  # longest wait first
    assert lines[2].startswith(f"S-0001 · {t._('answered')}")
    links = [e["url"] for e in overview.entities if e["type"] == "text_link"]
    assert links[0].endswith(f"/{ewa_topic}")

    await bot.staff[1].presses(t._("🙋 I'll take it"), bot.staff_messages(ewa_topic)[0])
    taken = t._("🙋 {name} takes case {number}.", name="Ola", number="S-0002")
    assert taken in topic_texts(bot, ewa_topic)[-1]
    await staff_says(bot, john_topic, "/close")
    await john.presses("😄")

    await bot.staff[0].does("send_text", "/stats", chat=bot.staff_chat)
    stats = bot.staff_messages()[-1].text
    week, month = stats.split(plain(t._("<b>Last {days} days</b>", days=30)))
    assert t._("Opened: {count}", count=2) in week and t._("Closed: {count}", count=1) in week
    assert t._("Median time to first reply: {time}", time="30 min") in week
    assert t._("Rating: {average} of 5 ({count} answers)", average="5.0", count=1) in week
    assert t._("Opened: {count}", count=2) in month

    # Half a year later the cases are out of both windows.
    bot.clock.advance(timedelta(days=180))
    await bot.staff[0].does("send_text", "/stats", chat=bot.staff_chat)
    assert t._("Opened: {count}", count=0) in bot.staff_messages()[-1].text


async def test_staff_commands_from_residents_are_refused(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    for command in ("/close", "/note secret", "/assign", "/cases", "/stats"):
        replies = await john.says(command)
        assert [m.text for m in replies] == ["Sorry, this command is only for staff."]
    assert topic_texts(bot, thread)[-1] == "Hello", "refused commands are not relayed"
    case = await cases.open_case_of(bot.db, john.id)
    assert case is not None and case.is_open

    # In the staff chat but outside a case topic, /close explains itself.
    await bot.staff[0].does("send_text", "/close", chat=bot.staff_chat)
    assert "inne i et saksemne" in bot.staff_messages()[-1].text


async def test_a_resident_never_reaches_another_resident(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    amina = bot.resident("Amina", language_code="en")
    await start(john, "English")
    await start(amina, "English")
    john_topic = await open_case(bot, john, "from John")
    amina_topic = await open_case(bot, amina, "from Amina")
    amina_seen = len(amina.received)
    await staff_says(bot, john_topic, "for John only")
    assert john.last.text == "for John only"
    assert len(amina.received) == amina_seen
    assert "from John" not in topic_texts(bot, amina_topic)
    # A stranger posting in a case topic's chat from outside the staff chat reaches nobody.
    outsider_group = bot.double.add_supergroup("Other group", members=[john.user])
    await john.does("send_text", "hi", chat=outsider_group, thread_id=john_topic)
    assert john.last.text == "for John only"


async def test_resident_may_show_their_first_name(bot: BotHarness):
    amina = bot.resident("Amina", language_code="en")
    await start(amina, "English")
    thread = await open_case(bot, amina)
    await amina.presses("Yes, show my name")
    [topic] = bot.double.topics(bot.staff_chat)
    assert topic.id == thread and topic.name == "S-0001 · engelsk · Amina"
    assert bot.double.answered_callbacks[-1]["text"] == "OK, staff will see your first name."


async def test_open_tips_extension_point_adds_lines_to_the_header(bot: BotHarness):
    async def open_tips(data, resident_id: int, t: Texts) -> list[str]:
        return [t._("Earlier cases: {count} ({numbers})", count=0, numbers="T-0007 <open>")]

    assert bot.app is not None
    bot.app.bot_data.case_header_parts.append(open_tips)
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    header = topic_texts(bot, thread)[0]
    assert "Tidligere saker: ingen" in header and "T-0007 <open>" in header


async def test_signed_replies_when_configured(tmp_path: Path, database_location: DatabaseLocation):
    async for bot in make_harness(tmp_path, database=database_location, sign_staff_replies=True):
        john = bot.resident("John", language_code="en")
        await start(john, "English")
        thread = await open_case(bot, john)
        await staff_says(bot, thread, "We will call you")
        assert john.last.text == "We will call you\n\n— Kari"
        await bot.staff[1].does(
            "send_photo", STAFF_JPEG, caption="Map", chat=bot.staff_chat, thread_id=thread
        )
        assert john.last.media_kind == "photo" and john.last.text == "Map\n\n— Ola"


async def test_without_a_staff_chat_residents_get_a_polite_answer(
    tmp_path: Path, database_location: DatabaseLocation
):
    async for bot in make_harness(tmp_path, database=database_location, staff_chat_id=None):
        john = bot.resident("John", language_code="en")
        await start(john, "English")
        replies = await john.says("/contact")
        assert "cannot talk to a person here right now" in replies[0].text
        assert await cases.open_case_of(bot.db, john.id) is None


async def test_staff_chat_without_topics_is_reported_and_handover_switched_off(
    bot: BotHarness, caplog
):
    bot.staff_chat.is_forum = False
    await bot.restart()
    assert any("not a supergroup with Topics" in r.message for r in caplog.records)
    amina = bot.resident("Amina", language_code="ar")
    await start(amina, "العربية")
    replies = await amina.says("/contact")
    assert "لا يمكنك التحدث مع شخص هنا الآن" in replies[0].text  # in Arabic, not an error
    assert await cases.open_case_of(bot.db, amina.id) is None


async def test_cancel_ends_the_case_and_tells_staff(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    await john.says("/cancel")
    assert "OK, I stopped." in john.last.text
    assert "avsluttet samtalen" in topic_texts(bot, thread)[-1]
    assert bot.double.topics(bot.staff_chat)[0].closed
    replies = await john.says("one more thing")
    assert replies[0].buttons, "offered a new case"


@on_both_engines
async def test_forget_resident_keeps_the_numbers_but_not_the_person(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    await staff_says(bot, thread, "/note private detail")
    exported = await privacy.export_resident(bot.db, john.id)
    assert exported["cases"]["S-0001"]["staff_notes"] == ["private detail"]
    assert await privacy.forget_resident(bot.db, john.id)
    assert await privacy.export_resident(bot.db, john.id) == {}
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.resident_id is None and case.status == "cancelled"
    assert await cases.notes(bot.db, case.id) == []
    # Staff writing in the orphaned topic reach nobody, and nothing breaks.
    await staff_says(bot, thread, "Hello?")
    not_sent = staff_texts(bot)._("This case is closed. The resident did not get this message.")
    assert not_sent in topic_texts(bot, thread)[-1]


async def test_expired_cases_lose_the_link_to_the_resident(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    await staff_says(bot, thread, "/close")
    touched = await privacy.expire(bot.db, datetime.now(UTC) + timedelta(days=400))
    assert touched >= 1
    case = await cases.by_topic(bot.db, thread)
    assert case is not None and case.resident_id is None and case.status == "closed"


async def test_replies_keep_their_thread_both_ways(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john, "First question")
    await john.says("Second question")
    first_copy = bot.staff_messages(thread)[1]
    await bot.staff[0].does(
        "send_text",
        "About your first question",
        chat=bot.staff_chat,
        thread_id=thread,
        reply_to=first_copy,
    )
    first_original = next(
        m
        for m in bot.double.messages.values()
        if m.get("text") == "First question" and m["chat"]["id"] == john.id
    )
    assert john.last.reply_to_message_id == first_original["message_id"]
    await john.does("send_text", "Thanks!", reply_to=john.last)
    assert bot.staff_messages(thread)[-1].reply_to_message_id is not None


async def test_a_message_that_could_not_be_relayed_is_retried(bot: BotHarness):
    bot.clock.set(oslo(2026, 11, 25, 10, 0))
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    bot.staff_chat.bot_status = "left"  # someone removed the bot from the staff group
    await john.says("Is anyone reading this?")
    assert topic_texts(bot, thread)[-1] == "Hello"
    bot.staff_chat.bot_status = "administrator"  # and it was added back
    bot.clock.advance(timedelta(minutes=2))
    await send_pending(reminder_context(bot))  # the outbox retries it, not the reminders
    assert topic_texts(bot, thread)[-1] == "Is anyone reading this?"
    await send_pending(reminder_context(bot))
    assert topic_texts(bot, thread).count("Is anyone reading this?") == 1, "delivered once"


def gps_jpeg() -> bytes:
    """A real JPEG whose EXIF names a camera and a GPS position (Stovner)."""
    exif = Image.Exif()
    exif[0x0110] = "SecretCam 3000"  # camera model
    exif[0x0132] = "2026:11:25 09:12:00"  # when it was taken
    exif[0x8825] = {1: "N", 2: (59.0, 57.0, 42.0), 3: "E", 4: (10.0, 55.0, 24.0)}
    out = io.BytesIO()
    Image.new("RGB", (90, 60), (10, 120, 200)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


async def test_a_gps_tagged_jpeg_sent_as_a_file_reaches_staff_without_exif(bot: BotHarness):
    original = gps_jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # it does carry GPS
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    await john.does("send_document", original, "IMG_2001.jpg", "image/jpeg", caption="Here")
    document = bot.staff_messages(thread)[-1]
    assert document.media_kind == "document" and document.data is not None
    cleaned = Image.open(io.BytesIO(document.data))
    assert cleaned.size == (90, 60)
    assert not cleaned.getexif().get_ifd(0x8825) and not cleaned.getexif()
    assert b"SecretCam" not in document.data and b"Exif" not in document.data
    assert quoted(document) == "Here"
    originals = {f for f, stored in bot.double.files.items() if stored.data == original}
    assert document.file_id not in originals
    # A picture file that cannot be read is not passed on as it is: staff are told instead.
    await john.does("send_document", b"\xff\xd8 not really", "IMG_2002.jpg", "image/jpeg")
    notice = bot.staff_messages(thread)[-1]
    assert notice.media_kind is None and "IMG_2002" not in (notice.text or "")
    nb = bot.app.bot_data.catalogs.texts("nb")  # type: ignore[union-attr]
    assert nb._(
        "⚠️ A picture sent as a file could not be opened, so it was not passed on."
        " Ask the resident to send it as a photo."
    ) in (notice.text or "")
    # Other files (a PDF) still arrive as they are.
    await john.does("send_document", b"%PDF-1.4 form", "form.pdf", "application/pdf")
    assert bot.staff_messages(thread)[-1].data == b"%PDF-1.4 form"


async def test_a_resident_cannot_pass_for_a_bot_notice(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await start(john, "English")
    thread = await open_case(bot, john)
    fake = "✅ Sak S-0001 er lukket av Kari.\n💬 Sak S-0002\nSpråk: norsk"
    await john.says(fake)
    relayed = bot.staff_messages(thread)[-1]
    nb = bot.app.bot_data.catalogs.texts("nb")  # type: ignore[union-attr]
    label = nb._("👤 From the resident:")
    # The whole imitation sits inside the quote, under the label; nothing of it is outside.
    assert quoted(relayed) == fake
    assert relayed.text == label + "\n" + fake
    assert not relayed.text.startswith("✅")
    # Formatting the resident adds cannot break out of the quote either.
    await john.says("</blockquote><b>Case closed</b>")
    relayed = bot.staff_messages(thread)[-1]
    assert quoted(relayed) == "</blockquote><b>Case closed</b>"
    assert [e["type"] for e in relayed.entities] == ["blockquote"]
    # A long text is split into quotes, each under a label, and nothing is lost.
    long_text = "x" * 4090 + " end"
    await john.says(long_text)
    parts = bot.staff_messages(thread)[-2:]
    assert "".join(quoted(m) or "" for m in parts) == long_text
    assert parts[1].text.startswith(nb._("👤 From the resident (continued):"))
