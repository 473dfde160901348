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
