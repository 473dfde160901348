"""Updates are handled concurrently, but in order within one conversation: a resident's chat,
or one topic of the staff forum (each case is its own conversation)."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update

from bot.processing import PerChatUpdateProcessor, _chat_key

STAFF_CHAT = {"id": -1001000000001, "type": "supergroup", "title": "Staff", "is_forum": True}
KARI = {"id": 7, "is_bot": False, "first_name": "Kari"}


def _update(update_id: int, chat: dict[str, Any], thread: int | None = None) -> Update:
    message: dict[str, Any] = {"message_id": update_id, "date": 0, "chat": chat, "from": KARI}
    message["text"] = "hei"
    if thread is not None:
        message.update(message_thread_id=thread, is_topic_message=True)
    return Update.de_json({"update_id": update_id, "message": message}, None)


def test_staff_topics_are_separate_conversations_private_chats_are_one_each() -> None:
    private = {"id": 42, "type": "private", "first_name": "Amina"}
    assert _chat_key(_update(1, private)) == _chat_key(_update(2, private)) == 42
    assert _chat_key(_update(3, STAFF_CHAT, 10)) == _chat_key(_update(4, STAFF_CHAT, 10))
    assert _chat_key(_update(5, STAFF_CHAT, 10)) != _chat_key(_update(6, STAFF_CHAT, 11))
    assert _chat_key(_update(7, STAFF_CHAT)) == STAFF_CHAT["id"]  # the general topic


async def test_two_topics_run_at_once_one_topic_runs_in_order() -> None:
    processor = PerChatUpdateProcessor()
    order: list[str] = []
    first_started = asyncio.Event()
    release = asyncio.Event()

    async def slow(name: str) -> None:
        order.append(f"{name} start")
        first_started.set()
        await release.wait()
        order.append(f"{name} end")

    async def quick(name: str) -> None:
        order.append(name)

    a = asyncio.create_task(processor.do_process_update(_update(1, STAFF_CHAT, 10), slow("a")))
    await first_started.wait()
    other_topic = processor.do_process_update(_update(2, STAFF_CHAT, 11), quick("b"))
    await asyncio.wait_for(other_topic, 1)  # not held up by topic 10
    same_topic = asyncio.create_task(
        processor.do_process_update(_update(3, STAFF_CHAT, 10), quick("c"))
    )
    await asyncio.sleep(0.01)
    assert order == ["a start", "b"]  # c waits for a
    release.set()
    await asyncio.gather(a, same_topic)
    assert order == ["a start", "b", "a end", "c"]


async def test_one_chat_flooding_does_not_take_every_slot() -> None:
    """500 updates from one resident, then one from another: the other is not stuck behind
    them (each update is dispatched the way python-telegram-bot does, one task apiece)."""
    processor = PerChatUpdateProcessor(max_concurrent_updates=8)
    flooder = {"id": 42, "type": "private", "first_name": "Flood"}
    other = {"id": 43, "type": "private", "first_name": "Amina"}
    done: list[int] = []

    async def handle(chat_id: int) -> None:
        await asyncio.sleep(0.001)
        done.append(chat_id)

    tasks = [
        asyncio.create_task(processor.process_update(_update(n, flooder), handle(42)))
        for n in range(1, 501)
    ]
    await asyncio.sleep(0)  # the flood is queued first
    tasks.append(asyncio.create_task(processor.process_update(_update(501, other), handle(43))))
    await asyncio.gather(*tasks)
    assert len(done) == 501
    assert done.index(43) < 20, "the other resident waited behind the flood"
    await processor.wait_idle()


async def test_admission_is_decided_on_arrival_in_order() -> None:
    processor = PerChatUpdateProcessor()
    private = {"id": 42, "type": "private", "first_name": "Amina"}
    allowed = iter([True, False, True])
    processor.admission = lambda update: next(allowed)
    seen: list[tuple[int, bool]] = []

    async def handle(update: Update) -> None:
        seen.append((update.update_id, processor.take_refusal(update)))

    updates = [_update(n, private) for n in (1, 2, 3)]
    await asyncio.gather(*(processor.process_update(u, handle(u)) for u in updates))
    assert seen == [(1, False), (2, True), (3, False)]
    assert not processor.take_refusal(updates[1]), "told once"
