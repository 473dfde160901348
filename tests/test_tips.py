"""Tips and complaints, through the Telegram double: a resident reports, staff triage, the
resident hears back; duplicates, follow-up questions, exports and limits."""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import json
import logging
import struct
import threading
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image, ImageOps

from bot.i18n import Texts
from bot.images import clean_image, strip_metadata
from bot.tips import export
from bot.tips.status import label as status_label
from bot.tips.steps import TIP_DRAFT
from storage import privacy, residents, tip_drafts
from storage import tips as store
from storage.db import DatabaseLocation
from tests.harness import BotHarness, Person, make_harness, shown_to_staff
from tests.postgres import on_both_engines

# Two points about 40 m apart near Stovner senter, and one 1 km away.
STOVNER = (59.9617, 10.9232)
STOVNER_NEAR = (59.9620, 10.9236)
FAR_AWAY = (59.9707, 10.9232)


@pytest.fixture
async def bot(tmp_path: Path, database_location: DatabaseLocation) -> AsyncIterator[BotHarness]:
    """The usual bot, with residents who tap through a whole tip in a second. Real ones take a
    minute, which Telegram's one-message-a-second guide for private chats never notices; the
    staff group's limits stay as they are."""
    async for harness in make_harness(tmp_path, database=database_location):
        harness.double.set_limits(private_chat_per_second=None)
        yield harness


def texts(bot: BotHarness, language: str) -> Texts:
    assert bot.app is not None
    return bot.app.bot_data.catalogs.texts(language)


def jpeg(size: tuple[int, int] = (64, 48), *, gps: bool = False) -> bytes:
    """A small JPEG; with `gps`, EXIF carrying a camera model and a GPS position."""
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x0110] = "SecretCam 3000"  # camera model
        exif[0x8825] = {1: "N", 2: (59.0, 57.0, 42.0), 3: "E", 4: (10.0, 55.0, 24.0)}
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="JPEG")
    return out.getvalue()


async def report(
    bot: BotHarness,
    person: Person,
    *,
    topic: str = "Sports fields and playgrounds",
    text: str | None = "The swing is broken",
    location: tuple[float, float] | None = None,
    place: str | None = None,
    photo: bytes | None = None,
    show_name: bool = True,
    language: str = "en",
    same_as_offered: bool = False,
) -> None:
    """Walk through the whole flow as a resident would, pressing the visible buttons."""
    t = texts(bot, language)
    await person.says("/tip")
    await person.presses(t._(topic))
    if location:
        await person.does("send_location", *location)
    elif place:
        await person.says(place)
    else:
        await person.says("➡️ " + t._("Skip"))
    if same_as_offered:
        await person.presses(t._("No, send my tip"))
    if text:
        await person.says(text)
    if photo:
        await person.does("send_photo", photo)
    await person.presses(t._("Done, next step"))
    await person.presses(t._("Yes, show my name") if show_name else t._("No, keep me anonymous"))
    await person.presses(t._("Send the tip"))


async def seed_tip(
    bot: BotHarness,
    person: Person,
    *,
    topic: str = "sports",
    text: str = "The swing is broken",
    location: tuple[float, float] | None = None,
    place: str | None = None,
    show_name: bool = True,
) -> int:
    """A confirmed tip stored directly, for tests about what happens after the flow."""
    now = bot.clock()
    language = person.user.language_code or "nb"
    await residents.touch(bot.db, person.id, language, person.user.first_name, now)
    await tip_drafts.start_draft(bot.db, person.id, TIP_DRAFT.first, now, topic)
    latitude, longitude = location or (None, None)
    await tip_drafts.update_draft(
        bot.db,
        person.id,
        now,
        description=text,
        latitude=latitude,
        longitude=longitude,
        place_text=place,
        show_name=int(show_name),
        step="confirm",
    )
    tip_id = await tip_drafts.submit_draft(
        bot.db, person.id, language, person.user.first_name, None, now
    )
    assert tip_id is not None
    return tip_id


def cards(bot: BotHarness) -> list:
    return [m for m in bot.staff_messages() if m.text and m.text.startswith("📝 ")]


async def first_tip(bot: BotHarness) -> store.Tip:
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None
    return tip


# --------------------------------------------------------------------------- reporting
@on_both_engines
async def test_somali_tip_with_text_photo_and_location_reaches_the_category_topic(
    bot: BotHarness,
):
    so, en = texts(bot, "so"), texts(bot, "en")
    amina = bot.resident("Amina", language_code="so")
    replies = await amina.says("/tip")
    # The topics are offered in Somali, each with an icon.
    labels = [label for label, _ in replies[-1].buttons]
    assert any(so._("Sports fields and playgrounds") in label for label in labels)
    assert so._("Sports fields and playgrounds") != en._("Sports fields and playgrounds")
    await amina.presses(so._("Sports fields and playgrounds"))
    assert so._("📍 Where is it?") in amina.last.text
    assert amina.last.keyboard  # the "send my location" keyboard
    await amina.does("send_location", *STOVNER)
    describe = so._("Tell us what is wrong. Write a message, or send a voice message.")
    assert describe in amina.last.text
    await amina.says("Lulida garoonka waa jabtay <b>&")
    await amina.does("send_photo", jpeg())
    await amina.presses(so._("Done, next step"))
    await amina.presses(so._("Yes, show my name"))
    summary = amina.last.text
    assert so._("Send it to the district?") in summary and "Lulida garoonka" in summary
    # Nothing reaches staff before the resident confirms.
    assert cards(bot) == []
    replies = await amina.presses(so._("Send the tip"))
    thanks = "\n".join(m.text or "" for m in replies)
    assert "T-0001" in thanks and so._("✅ Thank you! We got your tip.") in thanks

    [topic] = bot.double.topics(bot.staff_chat)
    assert topic.name == "⚽ " + texts(bot, "nb")._("Sports fields and playgrounds")
    in_topic = bot.staff_messages(thread_id=topic.id)
    [card] = [m for m in in_topic if m.text and "T-0001" in m.text]
    assert "Lulida garoonka waa jabtay <b>&" in card.text  # shown as typed: escaped, not HTML
    assert "Soomaali" in card.text and "Amina" in card.text
    assert any(m.media_kind == "photo" for m in in_topic)
    [pin] = [m for m in in_topic if m.media_kind == "location"]
    assert (pin.latitude, pin.longitude) == STOVNER
    assert pin.reply_to_message_id == card.message_id
    staff_t = texts(bot, "nb")
    received, resolved = f"📥 {staff_t._('Received')}", f"✅ {staff_t._('Resolved')}"
    assert {label for label, _ in card.buttons} >= {received, resolved}

    # A second tip in the same category goes to the same topic; another category gets its own.
    ola = bot.resident("Ola", language_code="en")
    await report(bot, ola, location=FAR_AWAY)
    await report(bot, ola, topic="Walking paths and green areas", place="Stovnerskogen")
    assert len(bot.double.topics(bot.staff_chat)) == 2
    tip2 = await store.get_tip(bot.db, 2)
    assert tip2 is not None and tip2.staff_thread_id == topic.id


async def test_menu_button_and_deep_link_start_a_tip(bot: BotHarness):
    en = texts(bot, "en")
    john = bot.resident("John", language_code="en")
    await john.says("/start")
    await john.presses("English")
    await john.presses(en._("Report a tip or problem"))
    assert en._("📝 What is your tip about? Choose a topic:") in john.last.text
    # A poster's QR code can name the topic: t.me/<bot>?start=tip-paths
    await john.says("/start tip-paths")
    assert en._("Walking paths and green areas") in john.last.text
    draft = await tip_drafts.get_draft(bot.db, john.id)
    assert draft is not None and draft.category == "paths" and draft.step == "place"


@on_both_engines
async def test_anonymous_tip_does_not_show_the_name_to_staff(bot: BotHarness):
    leila = bot.resident("Leila", language_code="en")
    await report(bot, leila, show_name=False, place="Haugenstua station")
    [card] = cards(bot)
    assert "Leila" not in card.text
    assert "anonym" in card.text
    tip = await first_tip(bot)
    assert tip.reporter_name is None
    # Not in the exports either, nor the resident's Telegram id.
    for fmt in export.FORMATS:
        data = await export.export_bytes(bot.db, fmt, None, bot.config, texts(bot, "nb"))
        if fmt != "xlsx":
            assert b"Leila" not in data and str(leila.id).encode() not in data


async def test_city_topics_show_whose_job_it_is_and_may_still_be_sent(bot: BotHarness):
    en = texts(bot, "en")
    john = bot.resident("John", language_code="en")
    await john.says("/tip")
    replies = await john.presses(en._("Traffic and road safety"))
    note = replies[-1]
    assert "City of Oslo" in note.text
    assert any(url and url.startswith("https://") for _, url in note.buttons)
    await john.presses(en._("Send it to us anyway"))
    assert en._("📍 Where is it?") in john.last.text


async def test_empty_description_and_unsupported_content_get_clear_answers(bot: BotHarness):
    en = texts(bot, "en")
    john = bot.resident("John", language_code="en")
    await john.says("/tip")
    await john.presses(en._("Other"))
    await john.says("➡️ " + en._("Skip"))
    await john.presses(en._("Done, next step"))
    assert "write a few words or send a voice message" in john.last.text
    replies = await john.does("send_sticker")
    assert replies[-1].text == en._(
        "I can't use this in a tip. Please send text, a photo, a voice message or a place."
    )
    await john.does("send_poll")
    assert "I can't use this in a tip" in john.last.text
    await john.does("send_document", b"%PDF-1.4", "letter.pdf", "application/pdf")
    assert "send it as a photo" in john.last.text
    huge = b"\xff" * (20 * 1024 * 1024 + 1)
    await john.does("send_document", huge, "big.jpg", "image/jpeg")
    assert "too big" in john.last.text
    draft = await tip_drafts.get_draft(bot.db, john.id)
    assert draft is not None and draft.media == ()
    # A voice message alone is a description: people who write little can speak.
    await john.does("send_voice")
    await john.presses(en._("Done, next step"))
    assert "May the staff see your name (John)?" in john.last.text


async def test_cancel_mid_flow_sends_nothing(bot: BotHarness):
    en = texts(bot, "en")
    john = bot.resident("John", language_code="en")
    await john.says("/tip")
    await john.presses(en._("Buildings and physical upgrades"))
    replies = await john.says("/cancel")
    text = "\n".join(m.text or "" for m in replies)
    assert "OK, I stopped." in text
    assert any(m.reply_markup and m.reply_markup.get("remove_keyboard") for m in replies)
    assert await tip_drafts.get_draft(bot.db, john.id) is None
    assert bot.staff_messages() == []
    # Later messages are ordinary messages again.
    await john.says("hello")
    assert "Thank you for your message" in john.last.text


async def test_abandoned_draft_is_dropped_quietly(bot: BotHarness):
    en = texts(bot, "en")
    john = bot.resident("John", language_code="en")
    await john.says("/tip")
    await john.presses(en._("Other"))
    bot.clock.advance(timedelta(minutes=31))
    await john.says("this comes much later")
    assert "Thank you for your message" in john.last.text  # not taken as a place
    await john.presses(en._("Other"))
    assert en._("This tip is no longer open. You can start a new one.") in john.last.text
    # The job forgets it; nothing was ever sent to staff.
    from bot.tips import outbox_job

    assert bot.app is not None
    await outbox_job(_job_context(bot))
    assert await tip_drafts.get_draft(bot.db, john.id) is None
    assert bot.staff_messages() == []


def _job_context(bot: BotHarness):
    from bot.context import BotContext

    assert bot.app is not None
    return BotContext(bot.app)


async def test_flood_limit(bot: BotHarness):
    en = texts(bot, "en")
    john = bot.resident("John", language_code="en")
    for number in range(4):
        await seed_tip(bot, john, text=f"Problem {number}", place=f"Street {number}")
    await report(bot, john, text="Problem 5", place="Street 5")
    replies = await john.says("/tip")
    assert replies[-1].text == en._(
        "Thank you for all your tips! You can send {count} tips in one hour."
        " Please wait a little and try again.",
        count=5,
    )
    assert await store.count_recent_tips(bot.db, john.id, bot.clock() - timedelta(hours=1)) == 5
    bot.clock.advance(timedelta(minutes=61))
    await john.says("/tip")
    assert en._("📝 What is your tip about? Choose a topic:") in john.last.text


async def test_confirmed_tip_survives_a_failed_post_and_is_sent_once(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    bot.staff_chat.bot_status = "left"  # the staff chat refuses everything for a while
    await report(bot, john, place="Rommen")
    assert "T-0001" in "\n".join(m.text or "" for m in john.received)
    assert cards(bot) == []
    tip = await first_tip(bot)
    assert tip.posted_at is None  # stored, waiting for the staff chat
    bot.staff_chat.bot_status = "administrator"
    await bot.restart()
    from bot.tips import outbox_job

    await outbox_job(_job_context(bot))
    await outbox_job(_job_context(bot))
    assert len(cards(bot)) == 1


# --------------------------------------------------------------------------- staff side
async def test_each_status_button_tells_the_resident_and_followers_in_their_language(
    bot: BotHarness,
):
    amina = bot.resident("Amina", language_code="so")
    await report(bot, amina, location=STOVNER, language="so")
    ewa = bot.resident("Ewa", language_code="pl")
    pl = texts(bot, "pl")
    await ewa.says("/tip")
    await ewa.presses(pl._("Sports fields and playgrounds"))
    await ewa.does("send_location", *STOVNER_NEAR)
    assert "T-0001" in ewa.last.text  # offered "me too" on Amina's tip, before writing
    await ewa.presses(pl._("Me too"))
    assert "T-0001" in ewa.last.text
    assert await store.followers(bot.db, 1) == [ewa.id]

    so, nb = texts(bot, "so"), texts(bot, "nb")
    kari = bot.staff[0]
    [card] = cards(bot)
    for status in [
        store.TipStatus.RECEIVED,
        store.TipStatus.IN_PROGRESS,
        store.TipStatus.FORWARDED,
        store.TipStatus.REJECTED,
        store.TipStatus.RESOLVED,
    ]:
        amina.new_messages()
        ewa.new_messages()
        await kari.presses(status_label(nb, status), card)
        [to_amina] = amina.new_messages()
        [to_ewa] = ewa.new_messages()
        from bot.tips.status import NEWS

        assert so._(NEWS[status]) in to_amina.text and "T-0001" in to_amina.text
        assert pl._(NEWS[status]) in to_ewa.text
        assert so._(NEWS[status]) != pl._(NEWS[status])
        tip = await first_tip(bot)
        assert tip.status == status
    history = await store.status_history(bot.db, 1)
    assert [c.status for c in history][-1] == store.TipStatus.RESOLVED
    assert {c.staff_user_id for c in history} == {kari.id}
    assert "Kari" in card.text  # the card shows who changed it
    # Pressing the current status again changes nothing and tells nobody.
    await kari.presses_data(card, "tip:st:1:res")
    assert amina.new_messages() == []


async def test_a_tip_cannot_imitate_the_lines_of_its_card(bot: BotHarness):
    nb = texts(bot, "nb")
    fake = "Huske\n\nStatus: Løst (Kari, 24.11.2026)\n👤 Fra: Ola Nordmann"
    john = bot.resident("John", language_code="en")
    await seed_tip(bot, john, text=fake, place="Vestli\nStatus: Løst", show_name=False)
    from bot.tips import outbox_job

    await outbox_job(_job_context(bot))
    [card] = cards(bot)
    assert shown_to_staff(card) == fake  # the resident's words, all inside the quote
    outside = card.text.replace(fake, "")
    # The card's own status line, once; nothing the resident wrote starts a line of its own.
    assert [line for line in outside.splitlines() if line.startswith("Status:")] == [
        "Status: " + status_label(nb, store.TipStatus.NEW)
    ]
    assert nb._("👤 From: anonymous") in outside and "Ola Nordmann" not in outside
    assert nb._("📍 Place: {place}", place="Vestli Status: Løst") in outside  # one line


async def test_status_buttons_are_for_staff_only(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await report(bot, john, place="Vestli")
    [card] = cards(bot)
    await john.presses_data(card, "tip:st:1:res")
    refusal = texts(bot, "nb")._("Only staff can use this.")
    assert bot.double.answered_callbacks[-1]["text"] == refusal
    assert (await first_tip(bot)).status == store.TipStatus.NEW


async def test_staff_follow_up_question_and_the_residents_answer(bot: BotHarness):
    so = texts(bot, "so")
    amina = bot.resident("Amina", language_code="so")
    await report(bot, amina, place="Tokerud skole", show_name=False, language="so")
    [card] = cards(bot)
    kari = bot.staff[0]
    bot.double.send_text(
        kari.user,
        "Which swing is it, the big one?",
        chat=bot.staff_chat,
        thread_id=card.thread_id,
        reply_to=card,
    )
    await bot.settle()
    question = amina.last
    assert "Which swing is it, the big one?" in question.text and "T-0001" in question.text
    assert so._("Please answer here with a message.") in question.text
    assert any("✉️" in (m.text or "") for m in bot.staff_messages(thread_id=card.thread_id))

    # The resident just writes (no reply needed); it goes back under the card.
    replies = await amina.says("Kan weyn, agagaarka albaabka")
    assert so._("✅ Thank you! I gave your answer to the staff.") in replies[-1].text
    [relayed] = [
        m for m in bot.staff_messages(thread_id=card.thread_id) if m.text and "Kan weyn" in m.text
    ]
    assert relayed.reply_to_message_id == card.message_id
    assert "Amina" not in relayed.text  # still anonymous

    # A later message is not an answer any more; a reply to the question is.
    await amina.says("hello")
    assert so._("✅ Thank you! I gave your answer to the staff.") not in amina.last.text
    await amina.does("send_photo", jpeg(), reply_to=question)
    copies = [m for m in bot.staff_messages(thread_id=card.thread_id) if m.method == "copyMessage"]
    assert copies and copies[-1].reply_to_message_id == card.message_id


async def test_duplicate_hint_and_merge(bot: BotHarness):
    en = texts(bot, "en")
    first = bot.resident("Amina", language_code="so")
    await report(bot, first, location=STOVNER, language="so")
    second = bot.resident("John", language_code="en")
    await report(bot, second, location=STOVNER_NEAR, same_as_offered=True, text="Swing broken")
    # Far away, or another topic: no hint.
    third = bot.resident("Ola", language_code="en")
    await report(bot, third, location=FAR_AWAY)
    assert (await store.get_tip(bot.db, 3)).possible_duplicate_of is None  # type: ignore[union-attr]

    duplicate_card = next(m for m in cards(bot) if "T-0002" in m.text)
    assert "T-0001" in duplicate_card.text  # "possibly the same as T-0001"
    kari = bot.staff[0]
    second.new_messages()
    await kari.presses("T-0001", duplicate_card)
    merged = await store.get_tip(bot.db, 2)
    assert merged is not None and merged.status == store.TipStatus.MERGED
    assert merged.merged_into == 1
    assert second.id in await store.followers(bot.db, 1)
    [news] = second.new_messages()
    assert "T-0001" in news.text and "joined" in news.text
    assert duplicate_card.buttons == []  # the merged card has no buttons left
    # The merged reporter now hears about the original.
    original_card = next(m for m in cards(bot) if m.text.startswith("📝 T-0001"))
    await kari.presses_data(original_card, "tip:st:1:wip")
    assert en._("We are working on it now.") in second.last.text
    # A forged merge of unrelated tips is refused.
    await kari.presses_data(original_card, "tip:merge:3:1")
    assert (await store.get_tip(bot.db, 3)).status == store.TipStatus.NEW  # type: ignore[union-attr]


async def test_me_too_button_only_follows_the_tip_offered(bot: BotHarness):
    first = bot.resident("Amina", language_code="en")
    await seed_tip(bot, first, location=STOVNER)
    await seed_tip(bot, first, topic="other", location=FAR_AWAY, text="Other thing")
    john = bot.resident("John", language_code="en")
    await report(bot, john, location=STOVNER_NEAR, same_as_offered=True)
    await john.says("/tip")
    await john.presses_data(john.last, "tip:metoo:2")
    assert await store.followers(bot.db, 2) == []


# --------------------------------------------------------------------------- media
async def test_exif_is_removed_from_an_image_sent_as_a_file(bot: BotHarness):
    en = texts(bot, "en")
    original = jpeg((120, 80), gps=True)
    assert Image.open(io.BytesIO(original)).getexif()  # the test image does carry EXIF
    john = bot.resident("John", language_code="en")
    await john.says("/tip")
    await john.presses(en._("Walking paths and green areas"))
    await john.says("Stovnerskogen")
    await john.says("Fallen tree")
    await john.does("send_document", original, "IMG_0001.jpg", "image/jpeg")
    assert en._("📷 Thank you, I have it.") in john.last.text
    await john.presses(en._("Done, next step"))
    await john.presses(en._("No, keep me anonymous"))
    await john.presses(en._("Send the tip"))
    [document] = [m for m in bot.staff_messages() if m.media_kind == "document"]
    assert document.data is not None and document.data != original
    cleaned = Image.open(io.BytesIO(document.data))
    assert cleaned.size == (120, 80)
    assert not cleaned.getexif()
    assert b"Exif" not in document.data and b"SecretCam" not in document.data
    # The resident's original file was never passed on by its file id.
    sent_ids = {m.file_id for m in bot.staff_messages()}
    assert not sent_ids & {f for f, s in bot.double.files.items() if s.data == original}


def test_strip_metadata_keeps_pixels_and_transparency():
    image = Image.new("RGBA", (10, 10), (0, 128, 0, 100))
    out = io.BytesIO()
    image.save(out, format="PNG")
    clean = strip_metadata(out.getvalue(), "image/png")
    assert clean is not None and clean.extension == "png"
    assert Image.open(io.BytesIO(clean.data)).getpixel((5, 5)) == (0, 128, 0, 100)
    assert strip_metadata(b"not an image", "image/jpeg") is None


def broken_png() -> bytes:
    """A PNG whose EXIF block has a damaged TIFF header ('MM\\0t' for 'MM\\0*'): Pillow opens it,
    then raises SyntaxError while turning the picture upright."""
    exif = Image.Exif()
    exif[0x0112] = 3  # orientation: upside down, so the EXIF block is read
    raw = bytearray(exif.tobytes())
    raw[raw.index(b"MM") + 3] = ord("t")
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, format="PNG", exif=bytes(raw))
    return out.getvalue()


def png_bomb(width: int = 13000, height: int = 13000) -> bytes:
    """A 69-byte PNG that declares width x height pixels (169 million: gigabytes decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )


def test_damaged_images_give_none_instead_of_raising():
    # What used to escape from the old code and stop the outbox:
    with pytest.raises(SyntaxError), Image.open(io.BytesIO(broken_png())) as image:
        ImageOps.exif_transpose(image)
    assert strip_metadata(broken_png(), "image/png") is None
    assert strip_metadata(png_bomb(), "image/png") is None
    assert strip_metadata(b"\x89PNG\r\n\x1a\n", "image/png") is None


async def test_a_file_telegram_refuses_in_one_tip_does_not_hold_up_the_next(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    now = bot.clock()
    await residents.touch(bot.db, john.id, "en", "John", now)
    await tip_drafts.start_draft(bot.db, john.id, TIP_DRAFT.first, now, "sports")
    await tip_drafts.update_draft(bot.db, john.id, now, description="Broken", step="confirm")
    await tip_drafts.add_draft_media(bot.db, john.id, "voice", "no-such-file", None, now)
    assert await tip_drafts.submit_draft(bot.db, john.id, "en", "John", None, now) == 1
    amina = bot.resident("Amina", language_code="en")
    await seed_tip(bot, amina, text="Graffiti")
    from bot.tips import outbox_job

    await outbox_job(_job_context(bot))
    assert any("T-0002" in (m.text or "") for m in cards(bot))
    assert (await store.get_tip(bot.db, 2)).posted_at is not None  # type: ignore[union-attr]
    assert (await first_tip(bot)).posted_at is None  # tried again later


async def test_image_work_runs_off_the_event_loop(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING, logger="bot.images")
    assert await clean_image(png_bomb(), "image/png") is None
    [refused] = [r for r in caplog.records if "13000x13000" in r.getMessage()]
    assert refused.thread != threading.get_ident()  # decided in a worker thread


async def test_a_damaged_picture_in_one_tip_does_not_hold_up_other_tips_or_news(bot: BotHarness):
    en = texts(bot, "en")
    john = bot.resident("John", language_code="en")
    await john.says("/tip")
    await john.presses(en._("Walking paths and green areas"))
    await john.says("Stovnerskogen")
    await john.says("Fallen tree")
    await john.does("send_document", broken_png(), "tree.png", "image/png")
    await john.does("send_document", png_bomb(), "bomb.png", "image/png")
    await john.presses(en._("Done, next step"))
    await john.presses(en._("No, keep me anonymous"))
    await john.presses(en._("Send the tip"))
    placeholder = texts(bot, "nb")._(
        "⚠️ One picture could not be opened, so it was not forwarded."
    )
    assert [m.text for m in bot.staff_messages()].count(placeholder) == 2
    assert (await first_tip(bot)).posted_at is not None
    # The next tip and the status news go out as usual.
    amina = bot.resident("Amina", language_code="en")
    await report(bot, amina, place="Vestli")
    assert len(cards(bot)) == 2
    await bot.staff[0].presses(
        status_label(texts(bot, "nb"), store.TipStatus.IN_PROGRESS), cards(bot)[0]
    )
    assert "T-0001" in john.last.text
    # Nothing is left to retry, and the job sends nothing twice.
    before = len(bot.staff_messages())
    from bot.tips import outbox_job

    await outbox_job(_job_context(bot))
    assert len(bot.staff_messages()) == before
    assert not [m for m in bot.staff_messages() if m.media_kind == "document"]


# --------------------------------------------------------------------------- /mytips
async def test_mytips_lists_own_and_followed_tips_with_status(bot: BotHarness):
    so = texts(bot, "so")
    amina = bot.resident("Amina", language_code="so")
    replies = await amina.says("/mytips")
    assert replies[-1].text == so._(
        "You have not sent any tips yet. Press «Report a tip or problem» to send one."
    )
    await report(bot, amina, location=STOVNER, language="so")
    [card] = cards(bot)
    await bot.staff[0].presses_data(card, "tip:st:1:wip")
    await amina.says("/mytips")
    listing = amina.last.text
    assert "T-0001" in listing
    assert so._("Sports fields and playgrounds") in listing
    assert so._("In progress") in listing
    assert "2026" in listing  # the localized date
    john = bot.resident("John", language_code="en")
    await report(bot, john, location=STOVNER_NEAR, same_as_offered=True)
    # John wrote his own tip instead of "me too": he sees only his own tip.
    await john.says("/mytips")
    assert "T-0002" in john.last.text and "T-0001" not in john.last.text


# --------------------------------------------------------------------------- exports
async def _two_tips(bot: BotHarness) -> None:
    amina = bot.resident("Amina", language_code="so")
    await seed_tip(bot, amina, location=STOVNER, text='=HYPERLINK("http://x")')
    leila = bot.resident("Leila", language_code="ar")
    await seed_tip(bot, leila, place="Haugenstua", show_name=False)
    kari = bot.staff[0]
    await store.set_status(bot.db, 1, store.TipStatus.FORWARDED, kari.id, bot.clock())


async def test_csv_export(bot: BotHarness):
    await _two_tips(bot)
    data = await export.export_bytes(bot.db, "csv", None, bot.config, texts(bot, "nb"))
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [row["reference"] for row in table] == ["T-0001", "T-0002"]
    assert table[0]["name"] == "Amina" and table[1]["name"] == ""
    assert table[0]["status_code"] == "forwarded"
    assert table[0]["description"].startswith("'=")  # never a formula in a spreadsheet
    assert table[1]["place"] == "Haugenstua" and table[1]["language"] == "العربية"


async def test_xlsx_export_reads_back(bot: BotHarness):
    await _two_tips(bot)
    data = await export.export_bytes(bot.db, "xlsx", None, bot.config, texts(bot, "nb"))
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    values = list(sheet.values)
    header, first, second = values[0], values[1], values[2]
    row1 = dict(zip(header, first, strict=True))
    row2 = dict(zip(header, second, strict=True))
    assert row1["reference"] == "T-0001" and row1["topic_code"] == "sports"
    assert row1["latitude"] == pytest.approx(STOVNER[0])
    assert row1["description"] == '=HYPERLINK("http://x")'  # stored as text
    assert sheet.cell(row=2, column=header.index("description") + 1).data_type == "s"
    assert row2["name"] in (None, "")


async def test_control_characters_in_a_tip_do_not_break_the_xlsx_export(bot: BotHarness):
    amina = bot.resident("Amina", language_code="so")
    await seed_tip(bot, amina, text="Lampen\x07 er\x1b[31m knust\x00", place="Vei\x0b 3")
    data = await export.export_bytes(bot.db, "xlsx", None, bot.config, texts(bot, "nb"))
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    header, first = list(sheet.values)[:2]
    row = dict(zip(header, first, strict=True))
    assert row["description"] == "Lampen\ufffd er\ufffd[31m knust\ufffd"
    assert row["place"] == "Vei\ufffd 3"
    # The administrator's command posts the file (before, it answered nothing at all).
    await bot.staff[0].does("send_text", "/tipsexport xlsx", chat=bot.staff_chat)
    [document] = [m for m in bot.staff_messages() if m.media_kind == "document"]
    assert document.filename and document.filename.endswith(".xlsx")


async def test_open311_export(bot: BotHarness):
    await _two_tips(bot)
    data = await export.export_bytes(bot.db, "open311", None, bot.config, texts(bot, "nb"))
    requests = json.loads(data)
    first, second = requests
    assert first["service_request_id"] == "T-0001"
    assert first["status"] == "closed"  # forwarded
    assert first["service_code"] == "sports"
    assert (first["lat"], first["long"]) == STOVNER
    assert first["requested_datetime"].endswith("+01:00")  # Oslo time, with its offset
    assert second["status"] == "open" and second["address"] == "Haugenstua"
    assert second["lat"] is None and second["media_url"] is None
    for key in (
        "status_notes",
        "service_name",
        "description",
        "agency_responsible",
        "updated_datetime",
    ):
        assert key in first
    # --since filters by the day the tip was made.
    later = await export.export_bytes(
        bot.db, "open311", (bot.clock() + timedelta(days=1)).date(), bot.config, texts(bot, "nb")
    )
    assert json.loads(later) == []


async def test_export_command_posts_the_file_for_admins_only(bot: BotHarness):
    await _two_tips(bot)
    kari, ola = bot.staff
    bot.double.send_text(ola.user, "/tipsexport csv", chat=bot.staff_chat)
    await bot.settle()
    assert not [m for m in bot.staff_messages() if m.media_kind == "document"]
    bot.double.send_text(kari.user, "/tipsexport xlsx", chat=bot.staff_chat)
    await bot.settle()
    [document] = [m for m in bot.staff_messages() if m.media_kind == "document"]
    assert document.filename and document.filename.endswith(".xlsx")
    assert load_workbook(io.BytesIO(document.data or b"")).active.max_row == 3  # type: ignore[union-attr]


async def test_cli_export(bot: BotHarness, tmp_path, monkeypatch, capsysbinary):
    await _two_tips(bot)
    from bot.__main__ import main

    monkeypatch.setenv("BOT_DATABASE", str(bot.config.database))
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    target = tmp_path / "out" / "tips.xlsx"
    # The CLI runs its own event loop, as it does from a shell.
    run = functools.partial(asyncio.to_thread, main)
    assert await run(["tips", "export", "--format", "xlsx", "--output", str(target)]) == 0
    assert load_workbook(target).active.max_row == 3  # type: ignore[union-attr]
    assert await run(["tips", "export", "--format", "open311", "--since", "2026-11-25"]) == 0
    out = capsysbinary.readouterr().out
    assert [r["service_request_id"] for r in json.loads(out)] == ["T-0001", "T-0002"]
    with pytest.raises(SystemExit):
        await run(["tips", "export", "--since", "yesterday"])


# --------------------------------------------------------------------------- privacy
async def test_forgetting_a_resident_erases_their_tip_text_but_keeps_the_record(bot: BotHarness):
    amina = bot.resident("Amina", language_code="so")
    await report(bot, amina, location=STOVNER, language="so")
    exported = await privacy.export_resident(bot.db, amina.id)
    assert exported["tips"]["tips"][0]["reference"] == "T-0001"
    assert await privacy.forget_resident(bot.db, amina.id)
    tip = await first_tip(bot)
    assert tip.telegram_id is None and tip.description is None and tip.latitude is None
    assert tip.reporter_name is None and tip.media == ()
    assert tip.category == "sports"
    assert await store.open_tips_for(bot.db, amina.id) == []


async def test_open_tips_for_a_staff_case_header(bot: BotHarness):
    amina = bot.resident("Amina", language_code="en")
    await seed_tip(bot, amina, place="Vestli")
    await seed_tip(bot, amina, place="Rommen", topic="other")
    await store.set_status(bot.db, 1, store.TipStatus.RESOLVED, bot.staff[0].id, bot.clock())
    open_tips = await store.open_tips_for(bot.db, amina.id)
    assert [tip.reference for tip in open_tips] == ["T-0002"]


def test_distance_is_haversine():
    assert store.distance_m(*STOVNER, *STOVNER_NEAR) == pytest.approx(40, abs=5)
    assert store.distance_m(*STOVNER, *FAR_AWAY) == pytest.approx(1000, abs=5)
