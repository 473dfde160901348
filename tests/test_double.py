"""Tests of the Bot API double itself, driven by the real PTB client.

Every integration test trusts the double to behave like Telegram, so its strictness (HTML
parsing, limits, 403/429 answers, topics) and its synchronisation helpers are tested here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox import BotAPIDouble, application_idle_probe, parse_html, utf16_len


@pytest.fixture
async def tg() -> AsyncIterator[BotAPIDouble]:
    async with BotAPIDouble() as double:
        yield double


@pytest.fixture
async def bot(tg: BotAPIDouble) -> AsyncIterator[Bot]:
    async with Bot(
        tg.token, base_url=f"{tg.base_url}/bot", base_file_url=f"{tg.base_url}/file/bot"
    ) as client:
        yield client


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Knapp", callback_data=data)]])


# ---------------------------------------------------------------- HTML parsing
async def test_valid_nested_html_becomes_text_and_utf16_entities(
    tg: BotAPIDouble, bot: Bot
) -> None:
    user = tg.add_user()
    html = (
        '😀 <b>fet <i>kursiv &lt;x&gt;</i></b> <a href="https://ex.no/?a=1&amp;b=2">lenke</a> '
        '<pre><code class="language-python">x = 1</code></pre><tg-spoiler>s</tg-spoiler>'
        '<span class="tg-spoiler">t</span><blockquote expandable>q</blockquote>&#65;&#x42;&quot;'
        '<u>u</u><s>s</s><code>c</code><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    message = await bot.send_message(user.id, html, parse_mode="HTML")
    assert message.text == ('😀 fet kursiv <x> lenke x = 1stqAB"usc👍')
    kinds = {(e.type, e.offset, e.length) for e in message.entities}
    assert ("bold", 3, 14) in kinds  # the emoji counts as two UTF-16 units
    assert ("italic", 7, 10) in kinds
    assert ("pre", 24, 5) in kinds
    assert ("code", 24, 5) not in kinds  # <pre><code class> folds into one entity
    assert ("expandable_blockquote", 31, 1) in kinds
    assert ("custom_emoji", 38, 2) in kinds
    link = next(e for e in message.entities if e.type == "text_link")
    assert link.url == "https://ex.no/?a=1&b=2"
    assert next(e for e in message.entities if e.type == "pre").language == "python"
    sent = tg.sent[-1]
    assert sent.html == html and sent.text == message.text and sent.parse_mode == "HTML"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("ab <c", "Unclosed start tag at byte offset 3"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("Tom & Jerry", "Unsupported HTML entity at byte offset 4"),
        ("&nbsp;", "Unsupported HTML entity at byte offset 0"),
        ("æ <script>", 'Unsupported start tag "script" at byte offset 3'),
        ('<a href="x>y', "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_invalid_html_is_rejected_like_telegram(
    tg: BotAPIDouble, bot: Bot, html: str, expected: str
) -> None:
    user = tg.add_user()
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(user.id, html, parse_mode="HTML")
    assert tg.errors[-1].status == 400
    description = tg.errors[-1].description or ""
    assert description.startswith(f"Bad Request: can't parse entities: {expected}")
    assert tg.sent == []


def test_parse_html_without_server() -> None:
    assert parse_html("a &amp; <b>b</b>") == (
        "a & b",
        [{"offset": 4, "length": 1, "type": "bold"}],
    )
    assert parse_html("plain > text") == ("plain > text", [])
    assert utf16_len("😀a") == 3


# ---------------------------------------------------------------- limits
async def test_text_length_is_counted_after_parsing_in_utf16(tg: BotAPIDouble, bot: Bot) -> None:
    user = tg.add_user()
    await bot.send_message(user.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(user.id, "😀" * 2048)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(user.id, "😀" * 2048 + "a")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(user.id, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(user.id, b"img", caption="&lt;" * 1025, parse_mode="HTML")
    await bot.send_photo(user.id, b"img", caption="&lt;" * 1024, parse_mode="HTML")
    assert [m.method for m in tg.messages_to(user)] == ["sendMessage", "sendMessage", "sendPhoto"]
    assert [c.description for c in tg.errors] == [
        "Bad Request: message is too long",
        "Bad Request: message text is empty",
        "Bad Request: message caption is too long",
    ]


async def test_callback_data_and_url_buttons_are_validated(tg: BotAPIDouble, bot: Bot) -> None:
    user = tg.add_user()
    await bot.send_message(user.id, "ok", reply_markup=keyboard("x" * 64))
    for data in ("x" * 65, "æ" * 33):
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(user.id, "no", reply_markup=keyboard(data))
    bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("L", url="javascript:alert(1)")]])
    with pytest.raises(BadRequest, match=r"(?i)wrong http url"):
        await bot.send_message(user.id, "no", reply_markup=bad_url)
    assert len(tg.sent) == 1
    assert tg.sent[0].button("Knapp") == "x" * 64
    assert tg.errors[0].description == "Bad Request: BUTTON_DATA_INVALID"


async def test_blocked_deactivated_and_unknown_chats(tg: BotAPIDouble, bot: Bot) -> None:
    blocked, gone = tg.add_user("B"), tg.add_user("G")
    tg.block(blocked)
    tg.deactivate(gone)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(blocked.id, "hei")
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(gone.id, "hei")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hei")
    assert [c.status for c in tg.errors] == [403, 403, 400]
    tg.unblock(blocked)
    await bot.send_message(blocked.id, "hei igjen")
    assert [m.text for m in tg.messages_to(blocked)] == ["hei igjen"]


async def test_global_flood_limit_answers_429_with_retry_after(tg: BotAPIDouble, bot: Bot) -> None:
    tg.set_limits(
        global_per_second=3, private_chat_per_second=None, group_per_minute=None, retry_after=7
    )
    users = [tg.add_user(str(i)) for i in range(4)]
    for user in users[:3]:
        await bot.send_message(user.id, "x")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(users[3].id, "x")
    assert "Retry in 7 seconds" in str(caught.value)
    assert tg.flood_violations == 1
    assert tg.errors[-1].status == 429 and tg.errors[-1].retry_after == 7
    assert tg.errors[-1].description == "Too Many Requests: retry after 7"


async def test_global_bucket_refuses_a_burst_but_not_an_even_pace(tg: BotAPIDouble) -> None:
    """With `global_burst` the global limit is a rate with a tolerance (a token bucket):
    evenly paced sends at exactly the rate pass, a burst beyond the tolerance does not."""
    clock = [0.0]
    tg.set_limits(
        global_per_second=100, global_burst=3, private_chat_per_second=None, group_per_minute=None
    )
    tg.flood.now = lambda: clock[0]
    # 300 sends at exactly 100/s, each arriving up to 15 ms early or late (so some overtake
    # others: the server sees them in the order they arrive).
    jitter = [0.0, 0.015, -0.015, 0.01, -0.01]
    arrivals = sorted(1.0 + i / 100 + jitter[i % len(jitter)] for i in range(300))
    for i, arrival in enumerate(arrivals):
        clock[0] = arrival
        assert tg.flood.allow(1000 + i), f"send {i} refused"
    # A burst: three go, the fourth is refused.
    clock[0] += 1.0
    assert [tg.flood.allow(5000 + i) for i in range(4)] == [True, True, True, False]


async def test_private_chat_bucket_allows_a_burst_then_refills(tg: BotAPIDouble, bot: Bot) -> None:
    tg.set_limits(global_per_second=None, private_chat_per_second=20, private_burst=2)
    user, other = tg.add_user(), tg.add_user("Other")
    await bot.send_message(user.id, "1")
    await bot.send_message(user.id, "2")
    with pytest.raises(RetryAfter):
        await bot.send_message(user.id, "3")
    await bot.send_message(other.id, "other chat has its own bucket")
    await asyncio.sleep(0.1)
    await bot.send_message(user.id, "3 again")
    assert [m.text for m in tg.messages_to(user)] == ["1", "2", "3 again"]
    assert tg.flood_violations == 1


# ---------------------------------------------------------------- topics
async def test_forum_topic_lifecycle(tg: BotAPIDouble, bot: Bot) -> None:
    staff = tg.add_user("Staff")
    group = tg.add_supergroup(admins=[staff])
    topic = await bot.create_forum_topic(group.id, "Amina (#12)")
    await bot.send_message(group.id, "ny sak", message_thread_id=topic.message_thread_id)
    [sent] = tg.messages_to(group, thread_id=topic.message_thread_id)
    assert sent.raw["is_topic_message"] is True and sent.text == "ny sak"
    assert [t.name for t in tg.topics(group)] == ["Amina (#12)"]

    incoming = tg.send_text(staff, "svar", chat=group, thread_id=topic.message_thread_id)
    assert incoming["is_topic_message"] is True
    assert incoming["reply_to_message"]["forum_topic_created"]["name"] == "Amina (#12)"

    await bot.close_forum_topic(group.id, topic.message_thread_id)
    with pytest.raises(BadRequest, match="Topic_not_modified"):
        await bot.close_forum_topic(group.id, topic.message_thread_id)
    tg.delete_topic(group, topic.message_thread_id)
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(group.id, "borte", message_thread_id=topic.message_thread_id)
    assert tg.topics(group)[0].deleted and tg.topics(group)[0].closed


async def test_topic_rights_and_non_forum_groups(tg: BotAPIDouble, bot: Bot) -> None:
    plain = tg.add_supergroup("Plain", is_forum=False)
    no_rights = tg.add_supergroup("No rights", bot_can_manage_topics=False)
    with pytest.raises(BadRequest, match="The chat is not a forum"):
        await bot.create_forum_topic(plain.id, "x")
    with pytest.raises(BadRequest, match="Not enough rights to create a topic"):
        await bot.create_forum_topic(no_rights.id, "x")
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(plain.id, "x", message_thread_id=5)
    assert tg.topics(no_rights) == [] and tg.sent == []


# ---------------------------------------------------------------- members
async def test_chat_member_statuses(tg: BotAPIDouble, bot: Bot) -> None:
    admin, member, outsider = tg.add_user("A"), tg.add_user("M"), tg.add_user("O")
    group = tg.add_supergroup(members=[member], admins=[admin])
    assert (await bot.get_chat_member(group.id, admin.id)).status == "administrator"
    assert (await bot.get_chat_member(group.id, member.id)).status == "member"
    assert (await bot.get_chat_member(group.id, outsider.id)).status == "left"
    me = await bot.get_chat_member(group.id, tg.bot_id)
    assert me.status == "administrator" and me.can_manage_topics is True
    tg.remove_member(group, member)
    assert (await bot.get_chat_member(group.id, member.id)).status == "left"
    admins = await bot.get_chat_administrators(group.id)
    assert {a.user.id for a in admins} == {admin.id, tg.bot_id}
    assert await bot.get_chat_member_count(group.id) == 2


# ---------------------------------------------------------------- files, edits, copies
async def test_uploaded_and_user_sent_files_can_be_read_back(tg: BotAPIDouble, bot: Bot) -> None:
    user = tg.add_user()
    message = await bot.send_photo(user.id, b"\x89PNG-bytes", caption="bilde")
    sent = tg.sent[-1]
    assert sent.media_kind == "photo" and sent.text == "bilde"
    assert tg.file_bytes(message.photo[-1].file_id) == b"\x89PNG-bytes" == sent.data
    incoming = tg.send_document(user, b"%PDF-1.4", "skjema.pdf", "application/pdf")
    file = await bot.get_file(incoming["document"]["file_id"])
    assert file.file_path and file.file_path.endswith(".pdf")
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4"
    await bot.send_document(user.id, b"csv;data", filename="eksport.csv")
    assert tg.sent[-1].filename == "eksport.csv" and tg.sent[-1].data == b"csv;data"


async def test_media_group_and_copy_into_topic(tg: BotAPIDouble, bot: Bot) -> None:
    user = tg.add_user()
    group = tg.add_supergroup()
    topic = await bot.create_forum_topic(group.id, "Sak")
    album = tg.send_album(user, [b"one", b"two"], caption="to bilder")
    assert album[0]["media_group_id"] == album[1]["media_group_id"]
    copied = await bot.copy_message(
        group.id, user.id, album[0]["message_id"], message_thread_id=topic.message_thread_id
    )
    sent = tg.sent[-1]
    assert sent.message_id == copied.message_id and sent.method == "copyMessage"
    assert sent.media_kind == "photo" and sent.data == b"one" and sent.text == "to bilder"
    assert sent.thread_id == topic.message_thread_id
    await bot.send_media_group(group.id, [InputMediaPhoto(b"a"), InputMediaPhoto(b"b")])
    group_ids = {m.media_group_id for m in tg.sent[-2:]}
    assert len(group_ids) == 1 and None not in group_ids
    with pytest.raises(BadRequest, match="Message to copy not found"):
        await bot.copy_message(group.id, user.id, 999)


async def test_edits_keep_history_and_reject_no_op(tg: BotAPIDouble, bot: Bot) -> None:
    user = tg.add_user()
    message = await bot.send_message(
        user.id, "<b>v1</b>", parse_mode="HTML", reply_markup=keyboard("a")
    )
    await bot.edit_message_text("v2", user.id, message.message_id, reply_markup=keyboard("b"))
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("v2", user.id, message.message_id, reply_markup=keyboard("b"))
    await bot.edit_message_text("v3", user.id, message.message_id)  # no markup: keyboard gone
    sent = tg.sent[0]
    assert sent.text == "v3" and sent.buttons == [] and "reply_markup" not in sent.raw
    assert [h["text"] for h in sent.history] == ["v1", "v2"]
    assert sent.history[0]["html"] == "<b>v1</b>"
    await bot.delete_message(user.id, message.message_id)
    assert sent.deleted
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("v4", user.id, message.message_id)


async def test_commands_are_stored_per_scope_and_language(tg: BotAPIDouble, bot: Bot) -> None:
    from telegram import BotCommand, BotCommandScopeAllPrivateChats

    await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    await bot.set_my_commands(
        [BotCommand("hjelp", "Hjelp")], scope=BotCommandScopeAllPrivateChats()
    )
    assert tg.commands[('{"type": "default"}', "en")] == [
        {"command": "start", "description": "Start"}
    ]
    assert tg.commands[('{"type": "all_private_chats"}', "")][0]["command"] == "hjelp"
    assert [c.command for c in await bot.get_my_commands(language_code="en")] == ["start"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


# ---------------------------------------------------------------- protocol details
async def test_token_unknown_method_and_json_body(tg: BotAPIDouble) -> None:
    user = tg.add_user()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{tg.base_url}/bot1:WRONG/getMe") as response:
            assert response.status == 401
            assert (await response.json())["description"] == "Unauthorized"
        async with http.post(f"{tg.base_url}/bot{tg.token}/sendTelepathy") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        url = f"{tg.base_url}/bot{tg.token}/sendMessage"
        async with http.post(url, json={"chat_id": user.id, "text": "123"}) as response:
            body = await response.json()
    assert body["ok"] is True and body["result"]["text"] == "123"
    assert tg.sent[-1].text == "123"


async def test_long_poll_wakes_on_queued_update_and_offset_acknowledges(
    tg: BotAPIDouble, bot: Bot
) -> None:
    user = tg.add_user()
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    queued = tg.send_text(user, "/start@stikk_test_bot")
    updates = await asyncio.wait_for(poll, 3)
    assert time.monotonic() - started < 3
    assert [u.message.text for u in updates] == ["/start@stikk_test_bot"]
    assert updates[0].message.entities[0].type == "bot_command"
    assert updates[0].message.entities[0].length == len(queued["text"])
    assert tg.updates  # delivered but not yet acknowledged
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert tg.updates == []


async def test_callback_answer_is_recorded_once(tg: BotAPIDouble, bot: Bot) -> None:
    user = tg.add_user()
    await bot.send_message(user.id, "Velg", reply_markup=keyboard("pick:1"))
    query = tg.press(user, tg.sent[0], "forged:data")
    assert query["data"] == "forged:data" and query["message"]["message_id"] == 1
    await bot.answer_callback_query(query["id"], text="Takk", show_alert=True)
    assert tg.answered_callbacks[0]["text"] == "Takk"
    assert tg.answered_callbacks[0]["show_alert"] is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query["id"])


# ---------------------------------------------------------------- a real Application
@pytest.fixture
async def app(tg: BotAPIDouble) -> AsyncIterator[Application]:
    application = (
        ApplicationBuilder()
        .token(tg.token)
        .base_url(f"{tg.base_url}/bot")
        .base_file_url(f"{tg.base_url}/file/bot")
        .build()
    )

    async def slow_echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await asyncio.sleep(0.4)  # silent for a while: settle() must see the handler at work
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("ok")
        await update.callback_query.edit_message_text(f"valgt {update.callback_query.data}")

    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, slow_echo))
    application.add_handler(CallbackQueryHandler(on_button))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=5)
        tg.idle_probe = application_idle_probe(application)
        yield application
        await application.updater.stop()
        await application.stop()


async def test_settle_waits_for_a_slow_handler(tg: BotAPIDouble, app: Application) -> None:
    user = tg.add_user()
    tg.send_text(user, "hei")
    await tg.settle()
    assert [m.text for m in tg.messages_to(user)] == ["echo: hei"]
    tg.send_text(user, "/ukjent")  # no handler: settle must still return, nothing sent
    await tg.settle()
    assert len(tg.messages_to(user)) == 1
    assert (await tg.next_message(user)).text == "echo: hei"
    with pytest.raises(AssertionError, match="no new message"):
        await tg.next_message(user, timeout=0.2)


async def test_settle_waits_for_a_due_job(tg: BotAPIDouble, app: Application) -> None:
    user = tg.add_user()

    async def remind(context: ContextTypes.DEFAULT_TYPE) -> None:
        await asyncio.sleep(0.3)
        await context.bot.send_message(user.id, "reminder")

    assert app.job_queue is not None
    app.job_queue.run_once(remind, when=0)
    await tg.settle()
    assert [m.text for m in tg.messages_to(user)] == ["reminder"]


async def test_button_press_round_trip(tg: BotAPIDouble, app: Application) -> None:
    user = tg.add_user()
    await app.bot.send_message(user.id, "Velg", reply_markup=keyboard("A"))
    tg.press(user, tg.sent[0], tg.sent[0].button("Knapp"))
    await tg.settle()
    assert tg.sent[0].text == "valgt A"
    assert tg.answered_callbacks[0]["text"] == "ok"


async def test_settle_reports_what_is_pending(tg: BotAPIDouble) -> None:
    tg.send_text(tg.add_user(), "nobody polls")
    with pytest.raises(AssertionError, match="not yet acknowledged"):
        await tg.settle(timeout=0.3)


async def test_every_kind_of_user_message_parses_in_ptb(tg: BotAPIDouble, bot: Bot) -> None:
    user = tg.add_user("Ola", last_name="N", username="ola")
    group = tg.add_supergroup(members=[user])
    first = tg.send_text(user, "hei")
    tg.send_photo(user, b"p", caption="c", reply_to=first)
    tg.send_document(user, b"d", "a.txt", "text/plain")
    tg.send_voice(user)
    tg.send_video(user)
    tg.send_audio(user)
    tg.send_animation(user)
    tg.send_video_note(user)
    tg.send_sticker(user)
    tg.send_location(user, 59.91, 10.75)
    tg.send_venue(user, 59.91, 10.75, "Bydelshuset", "Gata 1")
    tg.send_contact(user, "+4712345678", "Ola", contact_user_id=user.id)
    tg.send_poll(user)
    tg.send_dice(user)
    tg.edit_text(user, first, "hei igjen")
    tg.add_bot_to_chat(group, user)
    updates = await bot.get_updates(timeout=0)
    kinds = [
        next(
            k
            for k in (
                "text",
                "photo",
                "animation",
                "document",
                "voice",
                "video",
                "audio",
                "video_note",
                "sticker",
                "venue",
                "location",
                "contact",
                "poll",
                "dice",
                "new_chat_members",
            )
            if getattr(u.effective_message, k, None)
        )
        for u in updates
        if u.effective_message is not None
    ]
    assert kinds == [
        "text",
        "photo",
        "document",
        "voice",
        "video",
        "audio",
        "animation",
        "video_note",
        "sticker",
        "location",
        "venue",
        "contact",
        "poll",
        "dice",
        "text",
        "new_chat_members",
    ]
    assert updates[1].message is not None and updates[1].message.reply_to_message is not None
    assert updates[1].message.reply_to_message.text == "hei"
    assert updates[14].edited_message is not None and updates[14].edited_message.edit_date
    assert updates[15].my_chat_member is not None
    assert updates[15].my_chat_member.new_chat_member.status == "member"


async def test_every_kind_of_bot_message_parses_in_ptb(tg: BotAPIDouble, bot: Bot) -> None:
    user = tg.add_user()
    channel = tg.add_channel(username="bydel")
    tg.set_limits(private_chat_per_second=None)  # default burst of 5 per chat is too small here
    sends = [
        bot.send_voice(user.id, b"OggS"),
        bot.send_video(user.id, b"mp4", caption="v"),
        bot.send_audio(user.id, b"ID3"),
        bot.send_animation(user.id, b"GIF89a"),
        bot.send_video_note(user.id, b"mp4"),
        bot.send_sticker(user.id, b"RIFF"),
        bot.send_location(user.id, 59.9, 10.7),
        bot.send_venue(user.id, 59.9, 10.7, "Huset", "Gata 1"),
        bot.send_contact(user.id, "+47", "Ola"),
        bot.send_dice(user.id),
        bot.send_message("@bydel", "til kanalen"),
    ]
    for coroutine in sends:
        message = await coroutine
        assert message.message_id == tg.sent[-1].message_id
    assert [m.media_kind for m in tg.sent[:10]] == [
        "voice", "video", "audio", "animation", "video_note", "sticker", "location", "venue",
        "contact", "dice",
    ]  # fmt: skip
    assert tg.sent[6].latitude == 59.9 and tg.sent[6].longitude == 10.7
    assert tg.sent[-1].chat_id == channel.id and "sender_chat" in tg.sent[-1].raw
    forwarded = await bot.forward_message(user.id, user.id, tg.sent[1].message_id)
    assert forwarded.forward_origin is not None and forwarded.video is not None


async def test_clock_controls_dates_and_left_chats_refuse_sends(
    tg: BotAPIDouble, bot: Bot
) -> None:
    tg.clock = lambda: datetime.fromtimestamp(1_700_000_000.7, UTC)
    user = tg.add_user()
    group = tg.add_supergroup()
    assert tg.send_text(user, "hei")["date"] == 1_700_000_000
    message = await bot.send_message(group.id, "hallo")
    assert message.date.timestamp() == 1_700_000_000
    assert await bot.leave_chat(group.id)
    assert tg.left_chats == [group.id]
    with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
        await bot.send_message(group.id, "igjen")


# ---------------------------------------------------------------- deleting, as Telegram allows
async def test_bot_deletes_only_within_48_hours_but_edits_later(
    tg: BotAPIDouble, bot: Bot
) -> None:
    user = tg.add_user()
    fresh = await bot.send_message(user.id, "ny")
    old = await bot.send_message(user.id, "gammel")
    tg.advance(timedelta(hours=47, minutes=59))
    assert await bot.delete_message(user.id, fresh.message_id)
    tg.advance(timedelta(minutes=1))
    with pytest.raises(BadRequest, match="can't be deleted"):
        await bot.delete_message(user.id, old.message_id)
    assert tg.sent_message(user.id, old.message_id).deleted is False
    await bot.edit_message_text("fjernet", chat_id=user.id, message_id=old.message_id)
    assert tg.sent_message(user.id, old.message_id).text == "fjernet"
    assert tg.deleted_messages == [(user.id, fresh.message_id)]


async def test_clock_is_shared_with_a_bot_and_moves_message_dates(tg: BotAPIDouble) -> None:
    start = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    tg.clock.set(start)  # type: ignore[attr-defined]
    tg.advance(3600)
    user = tg.add_user()
    date = tg.send_text(user, "hei")["date"]
    assert start.timestamp() + 3600 <= date < start.timestamp() + 3660


async def test_deleting_a_topic_removes_all_its_messages(tg: BotAPIDouble, bot: Bot) -> None:
    staff = tg.add_user("Kari")
    group = tg.add_supergroup(members=[staff])
    topic = await bot.create_forum_topic(group.id, "Sak 12")
    thread = topic.message_thread_id
    card = await bot.send_message(group.id, "kort", message_thread_id=thread)
    human = tg.send_text(staff, "svar", chat=group, thread_id=thread)
    other = await bot.send_message(group.id, "generelt")
    tg.advance(timedelta(days=30))  # far too old to delete one by one
    with pytest.raises(BadRequest, match="can't be deleted"):
        await bot.delete_message(group.id, card.message_id)
    with pytest.raises(BadRequest, match="can't be deleted"):
        await bot.delete_message(group.id, thread)  # the topic's creation message
    assert await bot.delete_forum_topic(group.id, thread)
    assert tg.sent_message(group.id, card.message_id).deleted
    assert (group.id, human["message_id"]) in tg.deleted_messages
    assert not tg.sent_message(group.id, other.message_id).deleted
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(group.id, "igjen", message_thread_id=thread)
    with pytest.raises(BadRequest, match="not found"):
        await bot.edit_message_text("endret", chat_id=group.id, message_id=card.message_id)
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.delete_forum_topic(group.id, thread)
