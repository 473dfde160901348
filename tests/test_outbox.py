"""The outbox: what Telegram's errors mean, one retry policy, and messages that survive an
outage, a deleted forum topic or a restart in the middle of sending, for tips and cases alike.

The end-to-end tests drive the real bot against the Bot API double; `outage()` makes the
double answer 502 Bad Gateway to every send, as Telegram does while it is down.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.context import BotContext
from bot.outbox import STAFF_CHAT, Task, add_sender, enqueue, send_pending
from bot.telegram_errors import Outcome, RetryPolicy, classify, is_topic_gone
from storage import cases
from storage import outbox as outbox_store
from storage import tips as store
from storage.db import DatabaseLocation
from tests.harness import BotHarness, Person, make_harness, shown_to_staff
from tests.test_tips import cards, jpeg, report, texts


@pytest.fixture
async def bot(tmp_path: Path, database_location: DatabaseLocation) -> AsyncIterator[BotHarness]:
    async for harness in make_harness(tmp_path, database=database_location):
        harness.double.set_limits(private_chat_per_second=None)
        yield harness


def job_context(bot: BotHarness) -> BotContext:
    assert bot.app is not None
    return BotContext(bot.app)


async def task_row(bot: BotHarness, key: str):
    row = await bot.db.fetchone(
        "SELECT status, attempts, error, next_attempt_at FROM outbox WHERE edition = ?", (key,)
    )
    assert row is not None, key
    return row


# --------------------------------------------------------------------------- the classifier
@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (RetryAfter(7), Outcome.WAIT),
        (Forbidden("Forbidden: bot was blocked by the user"), Outcome.BLOCKED),
        (Forbidden("Forbidden: user is deactivated"), Outcome.BLOCKED),
        (BadRequest("Bad Request: user is deactivated"), Outcome.BLOCKED),
        (BadRequest("Bad Request: message thread not found"), Outcome.TOPIC_GONE),
        (BadRequest("Bad Request: TOPIC_DELETED"), Outcome.TOPIC_GONE),
        (BadRequest("Bad Request: topic deleted"), Outcome.TOPIC_GONE),
        (BadRequest("Bad Request: TOPIC_ID_INVALID"), Outcome.TOPIC_GONE),
        (
            BadRequest("Bad Request: message is not modified: specified new message content"),
            Outcome.NOT_MODIFIED,
        ),
        (BadRequest("Bad Request: message can't be edited"), Outcome.TOO_OLD),
        (BadRequest("Bad Request: message can't be deleted for everyone"), Outcome.TOO_OLD),
        (BadRequest("Bad Request: message to delete not found"), Outcome.TOO_OLD),
        (
            BadRequest("Bad Request: query is too old and response timeout expired"),
            Outcome.TOO_OLD,
        ),
        (BadRequest("Bad Request: TOPIC_NOT_MODIFIED"), Outcome.NOT_MODIFIED),
        (BadRequest("Bad Request: chat not found"), Outcome.FAILED),
        (BadRequest("Bad Request: message to copy not found"), Outcome.FAILED),
        (ChatMigrated(-100123), Outcome.FAILED),
        (TimedOut(), Outcome.RETRY),
        (NetworkError("Bad Gateway"), Outcome.RETRY),
    ],
)
def test_classify_knows_what_each_error_means(error: Exception, outcome: Outcome):
    assert classify(error).outcome is outcome
    assert is_topic_gone(error) == (outcome is Outcome.TOPIC_GONE)


def test_flood_control_says_how_long_to_wait():
    assert classify(RetryAfter(7)).wait == 7.0


def test_blocked_is_final_for_a_resident_but_not_for_the_staff_chat():
    verdict = classify(Forbidden("Forbidden: bot was kicked from the supergroup chat"))
    assert verdict.final_for(4242) is True
    assert verdict.final_for(-100123) is False
    assert verdict.final_for(STAFF_CHAT) is False
    assert classify(TimedOut()).final_for(4242) is False
    assert classify(BadRequest("Bad Request: can't parse entities")).final_for(-1) is True


def test_retry_policy_backs_off_and_gives_up():
    policy = RetryPolicy(max_attempts=4, base=2.0, cap=5.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 5.0, 5.0]
    assert not policy.gives_up(3) and policy.gives_up(4)


def test_classify_refuses_what_is_not_from_telegram():
    with pytest.raises(TypeError):
        classify(ValueError("boom"))


# --------------------------------------------------------------------------- the runner
async def test_runner_waits_for_flood_control_backs_off_and_gives_up_with_a_record(
    bot: BotHarness,
):
    """A sender that fails the way Telegram does: each outcome is recorded as the policy says."""
    assert bot.app is not None
    errors = {
        "flood": RetryAfter(30),
        "outage": NetworkError("Bad Gateway"),
        "bad": BadRequest("Bad Request: can't parse entities"),
        "blocked": Forbidden("Forbidden: bot was blocked by the user"),
    }
    given_up: list[str] = []

    async def failing(context: BotContext, task: Task) -> int | None:
        if task.payload["what"] not in errors:
            return 99  # Telegram took it
        raise errors[task.payload["what"]]

    async def record(context: BotContext, task: Task, verdict) -> None:
        given_up.append(f"{task.payload['what']}:{verdict.outcome.value}")

    add_sender(bot.app, "test-failing", failing, on_given_up=record)
    context = job_context(bot)
    now = bot.clock()
    for what in errors:
        await enqueue(bot.db, "test-failing", f"t:{what}", {"what": what}, now, chat_id=4242)
        await send_pending(context)  # one at a time: a wait or a back-off stops the run

    flood = await task_row(bot, "t:flood")
    assert flood["status"] == "pending" and flood["attempts"] == 0  # not counted as a try
    waits = datetime.fromisoformat(flood["next_attempt_at"]) - now
    assert timedelta(seconds=30) <= waits < timedelta(seconds=31)  # as long as Telegram asked
    outage = await task_row(bot, "t:outage")
    assert outage["status"] == "pending" and outage["attempts"] == 1
    assert (await task_row(bot, "t:bad"))["status"] == "failed"
    blocked = await task_row(bot, "t:blocked")
    assert blocked["status"] == "blocked" and "blocked by the user" in blocked["error"]
    assert given_up == ["bad:failed", "blocked:blocked"]

    # Flood control over, the waiting task goes; the outage goes on: after the last try the
    # task is given up, with the error on record.
    del errors["flood"]
    policy = bot.app.bot_data.outbox.policy
    for _ in range(policy.max_attempts):
        bot.clock.advance(timedelta(seconds=policy.cap + 1))
        await send_pending(context)
    outage = await task_row(bot, "t:outage")
    assert outage["status"] == "failed" and outage["attempts"] == policy.max_attempts
    assert outage["error"] == "Bad Gateway"
    assert given_up[-1] == "outage:retry"  # the hook learns what the last error meant
    assert (await task_row(bot, "t:flood"))["status"] == "sent"


async def test_a_caller_does_not_wait_behind_a_run_and_its_task_goes_with_that_run(
    bot: BotHarness,
):
    """While one run waits for Telegram, a handler's `send_pending` returns at once (its update
    is done), and the run under way sends the handler's task before it ends."""
    assert bot.app is not None
    telegram_answers = asyncio.Event()
    sent: list[str] = []

    async def slow(context: BotContext, task: Task) -> int | None:
        if task.payload["what"] == "first":
            await telegram_answers.wait()
        sent.append(task.payload["what"])
        return 99

    add_sender(bot.app, "test-slow", slow)
    context = job_context(bot)
    now = bot.clock()
    await enqueue(bot.db, "test-slow", "t:first", {"what": "first"}, now, chat_id=4242)
    running = asyncio.create_task(send_pending(context))
    await asyncio.sleep(0.05)
    assert not running.done()  # waiting for Telegram

    await enqueue(bot.db, "test-slow", "t:second", {"what": "second"}, now, chat_id=4343)
    report = await asyncio.wait_for(send_pending(context), 5)
    assert report.sent == 0 and sent == []  # did not wait, sent nothing itself
    telegram_answers.set()
    first_run = await asyncio.wait_for(running, 5)
    assert sent == ["first", "second"] and first_run.sent == 2
    assert (await task_row(bot, "t:second"))["status"] == "sent"


async def test_enqueueing_the_same_key_twice_adds_nothing(bot: BotHarness):
    now = bot.clock()
    assert await enqueue(bot.db, "staff-note", "note:1", {"text": "x"}, now) is True
    assert await enqueue(bot.db, "staff-note", "note:1", {"text": "x"}, now) is False
    with pytest.raises(ValueError, match="broadcast"):
        await outbox_store.add_task(bot.db, "text", "note:2", {}, now)


# --------------------------------------------------------------------------- outages
async def test_staff_question_is_sent_once_after_an_outage(bot: BotHarness):
    so = texts(bot, "so")
    amina = bot.resident("Amina", language_code="so")
    await report(bot, amina, place="Tokerud skole", language="so")
    [card] = cards(bot)
    before = len(amina.received)
    bot.double.outage()  # Telegram answers 502 to everything the bot sends
    bot.double.send_text(
        bot.staff[0].user,
        "Which swing is it?",
        chat=bot.staff_chat,
        thread_id=card.thread_id,
        reply_to=card,
    )
    await bot.settle()
    assert bot.double.outage_refused >= 1
    assert len(amina.received) == before, "nothing arrives while Telegram is down"
    [task] = await bot.db.fetchall(
        "SELECT status, attempts FROM outbox WHERE kind = 'tip-question'"
    )
    assert task["status"] == "pending" and task["attempts"] >= 1  # stored, not lost

    bot.double.end_outage()
    bot.clock.advance(timedelta(minutes=5))
    await send_pending(job_context(bot))
    await bot.settle()
    questions = [m for m in amina.received if m.text and "Which swing is it?" in m.text]
    assert len(questions) == 1
    assert so._("Please answer here with a message.") in questions[0].text
    notes = [m for m in bot.staff_messages(card.thread_id) if "✉️" in (m.text or "")]
    assert len(notes) == 1

    # Later runs and a restart send nothing again.
    await send_pending(job_context(bot))
    await bot.restart()
    await send_pending(job_context(bot))
    await bot.settle()
    assert len([m for m in amina.received if m.text and "Which swing is it?" in m.text]) == 1
    assert len([m for m in bot.staff_messages(card.thread_id) if "✉️" in (m.text or "")]) == 1
    # The resident's answer still finds the question.
    await amina.says("The big one")
    assert so._("✅ Thank you! I gave your answer to the staff.") in amina.last.text


async def test_question_to_a_resident_who_blocked_the_bot_is_recorded_and_staff_told(
    bot: BotHarness,
):
    nb = texts(bot, "nb")
    john = bot.resident("John", language_code="en")
    await report(bot, john, place="Vestli")
    [card] = cards(bot)
    bot.double.block(john.user)
    bot.double.send_text(
        bot.staff[0].user,
        "Where exactly?",
        chat=bot.staff_chat,
        thread_id=card.thread_id,
        reply_to=card,
    )
    await bot.settle()
    texts_in_topic = [m.text or "" for m in bot.staff_messages(card.thread_id)]
    assert nb._("The resident has blocked the bot and did not get the question.") in (
        texts_in_topic
    )
    [task] = await bot.db.fetchall("SELECT status FROM outbox WHERE kind = 'tip-question'")
    assert task["status"] == "blocked"
    bot.double.unblock(john.user)
    bot.clock.advance(timedelta(hours=1))
    await send_pending(job_context(bot))
    assert not any("Where exactly?" in (m.text or "") for m in john.received), "never retried"


async def test_tip_card_waits_out_an_outage_of_the_staff_chat(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    bot.double.outage(chats=(bot.staff_chat.id,))
    await report(bot, john, place="Rommen")
    assert "T-0001" in "\n".join(m.text or "" for m in john.received)  # told: it is stored
    assert cards(bot) == []
    bot.double.end_outage()
    bot.clock.advance(timedelta(minutes=1))
    await send_pending(job_context(bot))
    await send_pending(job_context(bot))
    assert len(cards(bot)) == 1


# --------------------------------------------------------------------------- deleted topics
async def _tip_topic_deleted(bot: BotHarness, person: Person) -> tuple[int, int]:
    """A tip's category topic is deleted by staff; the next tip of that category goes where?"""
    await report(bot, person, place="Vestli")
    [first] = cards(bot)
    assert first.thread_id is not None
    bot.double.delete_topic(bot.staff_chat, first.thread_id)
    await report(bot, person, place="Romsås", text="Another broken swing")
    second = [m for m in cards(bot) if "T-0002" in (m.text or "")]
    assert len(second) == 1
    return first.thread_id, second[0].thread_id  # type: ignore[return-value]


async def _case_topic_deleted(bot: BotHarness, person: Person) -> tuple[int, int]:
    """A case's topic is deleted by staff; the resident's next message goes where?"""
    await person.says("/start")
    await person.presses("English")
    await person.says("/contact")
    await person.says("Hello")
    old = bot.double.topics(bot.staff_chat)[-1].id
    bot.double.delete_topic(bot.staff_chat, old)
    await person.says("Are you there?")
    copies = [m for m in bot.staff_messages() if shown_to_staff(m) == "Are you there?"]
    assert len(copies) == 1
    case = await cases.open_case_of(bot.db, person.id)
    assert case is not None and case.topic_id == copies[0].thread_id
    return old, copies[0].thread_id  # type: ignore[return-value]


@pytest.mark.parametrize("scenario", [_tip_topic_deleted, _case_topic_deleted])
async def test_deleted_topic_is_replaced_the_same_way_for_tips_and_cases(
    bot: BotHarness, scenario
):
    john = bot.resident("John", language_code="en")
    old, new = await scenario(bot, john)
    topics = {topic.id: topic for topic in bot.double.topics(bot.staff_chat)}
    assert topics[old].deleted
    assert new != old and new in topics and not topics[new].deleted
    # Nothing was given up or left waiting.
    rows = await bot.db.fetchall(
        "SELECT kind, status FROM outbox WHERE payload IS NOT NULL AND status != 'sent'"
    )
    assert [tuple(row) for row in rows] == []


async def test_answer_to_a_question_goes_to_a_new_topic_when_the_old_one_was_deleted(
    bot: BotHarness,
):
    amina = bot.resident("Amina", language_code="so")
    await report(bot, amina, place="Tokerud skole", language="so")
    [card] = cards(bot)
    bot.double.send_text(
        bot.staff[0].user,
        "Which swing?",
        chat=bot.staff_chat,
        thread_id=card.thread_id,
        reply_to=card,
    )
    await bot.settle()
    assert card.thread_id is not None
    bot.double.delete_topic(bot.staff_chat, card.thread_id)
    await amina.says("The big one")
    [relayed] = [m for m in bot.staff_messages() if "The big one" in (m.text or "")]
    assert relayed.thread_id != card.thread_id
    assert not bot.double.topics(bot.staff_chat)[-1].deleted


# --------------------------------------------------------------------------- restarts
async def test_restart_in_the_middle_of_a_tip_sends_nothing_twice(bot: BotHarness):
    """The card went out, the photo failed (Telegram down); after a restart only the photo
    goes, once."""
    john = bot.resident("John", language_code="en")
    bot.double.outage(methods=("sendphoto",))
    await report(bot, john, place="Rommen", photo=jpeg())
    assert len(cards(bot)) == 1
    assert not [m for m in bot.staff_messages() if m.method == "sendPhoto"]
    tip = await store.get_tip(bot.db, 1)
    assert tip is not None and tip.posted_at is None and tip.staff_card_message_id is not None
    bot.double.end_outage()
    await bot.restart()
    await send_pending(job_context(bot))
    await send_pending(job_context(bot))
    await bot.settle()
    assert len(cards(bot)) == 1
    assert len([m for m in bot.staff_messages() if m.method == "sendPhoto"]) == 1
    assert (await store.get_tip(bot.db, 1)).posted_at is not None  # type: ignore[union-attr]


# --------------------------------------------------------------------------- case replies
async def test_staff_reply_in_a_case_waits_out_an_outage_and_arrives_once(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await john.says("/start")
    await john.presses("English")
    await john.says("/contact")
    await john.says("Hello")
    thread = bot.double.topics(bot.staff_chat)[-1].id
    bot.double.outage(chats=(john.id,))  # Telegram fails for the resident's chat only
    await bot.staff[0].does("send_text", "We are on it", chat=bot.staff_chat, thread_id=thread)
    assert not [m for m in john.received if m.text == "We are on it"]
    bot.double.end_outage()
    bot.clock.advance(timedelta(minutes=1))
    await send_pending(job_context(bot))
    await bot.restart()
    await send_pending(job_context(bot))
    await bot.settle()
    assert len([m for m in john.received if m.text == "We are on it"]) == 1
    row = await bot.db.fetchone("SELECT status, payload FROM outbox WHERE kind = 'case-reply'")
    assert row["status"] == "sent" and row["payload"] == "{}"  # nothing written is kept


async def test_staff_reply_to_a_resident_who_blocked_the_bot_is_reported_in_the_topic(
    bot: BotHarness,
):
    nb = texts(bot, "nb")
    john = bot.resident("John", language_code="en")
    await john.says("/start")
    await john.presses("English")
    await john.says("/contact")
    await john.says("Hello")
    thread = bot.double.topics(bot.staff_chat)[-1].id
    bot.double.block(john.user)
    await bot.staff[0].does("send_text", "We are on it", chat=bot.staff_chat, thread_id=thread)
    notice = nb._("Not delivered: the resident has blocked the bot or deleted their account.")
    assert [m.text for m in bot.staff_messages(thread)].count(notice) == 1
    row = await bot.db.fetchone("SELECT status FROM case_messages WHERE direction = 'out'")
    assert row["status"] == "failed"


async def test_case_message_waits_while_the_staff_chat_is_broken_and_goes_after_the_fix(
    bot: BotHarness,
):
    john = bot.resident("John", language_code="en")
    await john.says("/start")
    await john.presses("English")
    await john.says("/contact")
    bot.staff_chat.bot_can_manage_topics = False  # someone took the bot's right to make topics
    await john.says("Is anyone there?")
    assert bot.double.topics(bot.staff_chat) == []
    [task] = await bot.db.fetchall("SELECT status FROM outbox WHERE kind = 'case-relay'")
    assert task["status"] == "pending"  # stored and waiting, not given up
    bot.staff_chat.bot_can_manage_topics = True  # the operator fixed it and restarted
    await bot.restart()
    await send_pending(job_context(bot))
    await send_pending(job_context(bot))
    await bot.settle()
    assert [shown_to_staff(m) for m in bot.staff_messages()].count("Is anyone there?") == 1


# --------------------------------------------------------------------------- the upgrade
async def test_upgrade_turns_unsent_work_into_tasks_and_keeps_broadcast_rows(tmp_path: Path):
    from storage.db import Database, _migrations

    before = [m for m in _migrations() if m[0] < 9]
    path = tmp_path / "old.sqlite3"
    db = await Database.open(path, migrations=before)
    now = "2026-11-25T09:00:00+00:00"
    await db.execute(
        "INSERT INTO tips (id, telegram_id, category, language, created_at, updated_at)"
        " VALUES (1, 77, 'sports', 'en', ?, ?), (2, 77, 'sports', 'en', ?, ?)",
        (now, now, now, now),
    )
    await db.execute("UPDATE tips SET posted_at = ? WHERE id = 2", (now,))
    await db.execute(
        "INSERT INTO outbox (edition, chat_id, kind, text, created_at)"
        " VALUES ('digest-2026-W48', 77, 'text', 'Hei', ?)",
        (now,),
    )
    await db.close()

    db = await Database.open(path)
    try:
        tasks = await db.fetchall(
            "SELECT edition, kind, status FROM outbox WHERE payload IS NOT NULL"
        )
        assert [tuple(row) for row in tasks] == [("tip-card:1", "tip-card", "pending")]
        broadcast = await outbox_store.pending(db, "digest-2026-W48")
        assert [(row.chat_id, row.text) for row in broadcast] == [(77, "Hei")]
    finally:
        await db.close()
