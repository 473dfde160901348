"""The double's state: users, chats, files, queued updates, and what the bot has sent.

Tests build the world (users, groups, topics) and act as humans (send text, press buttons)
through this class; the HTTP layer in ``server.py`` and the Bot API methods in ``methods.py``
read and change the same state, so every effect is visible to assertions.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

from sandbox.clock import Clock
from sandbox.html import utf16_len
from sandbox.limits import FloodControl
from sandbox.models import Call, FakeChat, FakeUser, ForumTopic, SentMessage

_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")
_FILE_EXT = {
    "photo": ("photos", "jpg"),
    "document": ("documents", "bin"),
    "voice": ("voice", "oga"),
    "video": ("videos", "mp4"),
    "audio": ("music", "mp3"),
    "animation": ("animations", "mp4"),
    "video_note": ("video_notes", "mp4"),
    "sticker": ("stickers", "webp"),
}
#: Message fields that make up "content" (what copyMessage/forwardMessage carry over).
CONTENT_KEYS = (
    "text",
    "entities",
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
    "caption",
    "caption_entities",
)


@dataclass
class StoredFile:
    """Bytes of an uploaded or user-sent file, addressable by file_id and file_path."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None


ChatRef = FakeUser | FakeChat | int


class Where(TypedDict, total=False):
    """Where a human's message goes: a group (default: their private chat), topic, reply."""

    chat: FakeChat | None
    thread_id: int | None
    reply_to: dict[str, Any] | SentMessage | None


class World:
    """State shared by the HTTP server and the test-facing helpers."""

    def __init__(self, token: str = "123456:TEST", bot_username: str = "stikk_test_bot") -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        #: "Now" for ``date`` fields and time limits; share it with the bot, or move it.
        self.clock: Callable[[], datetime] = Clock()
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.files: dict[str, StoredFile] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # every message, raw
        self.sent: list[SentMessage] = []
        #: Called with every message the bot sends (benchmarks wait on these, not on polling).
        self.sent_listeners: list[Callable[[SentMessage], None]] = []
        #: Called after anything a chat shows has changed (a message arrived, was sent, edited
        #: or deleted, a topic changed, a button press was answered): the demo page listens.
        self.change_listeners: list[Callable[[], None]] = []
        self.calls: list[Call] = []
        self.errors: list[Call] = []
        self.answered_callbacks: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.chat_actions: list[dict[str, Any]] = []
        self.left_chats: list[int] = []
        self.deleted_messages: list[tuple[int, int]] = []
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.flood = FloodControl()
        self.flood_violations = 0
        self.updates: list[dict[str, Any]] = []  # queued and not yet acknowledged
        self._update_ids = itertools.count(1)
        self._user_ids = itertools.count(1_000_001)
        self._chat_seq = itertools.count(1)
        self._file_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._message_ids: dict[int, int] = {}
        self._sent_index: dict[tuple[int, int], SentMessage] = {}
        self._open_callbacks: dict[str, dict[str, Any]] = {}
        self._consumed: dict[int, set[int]] = {}
        self._wakeup: asyncio.Event | None = None

    # ----------------------------------------------------------------- the world
    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's own ``User`` object (``from`` of its messages, getMe)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Stikk innom",
            "username": self.bot_username,
        }

    def add_user(
        self,
        first_name: str = "Amina",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "nb",
    ) -> FakeUser:
        """Create a user who can talk to the bot (their private chat exists immediately)."""
        user = FakeUser(next(self._user_ids), first_name, last_name, username, language_code)
        self.users[user.id] = user
        return user

    def add_supergroup(
        self,
        title: str = "Staff",
        *,
        is_forum: bool = True,
        members: Sequence[FakeUser] = (),
        admins: Sequence[FakeUser] = (),
        creator: FakeUser | None = None,
        bot_is_admin: bool = True,
        bot_can_manage_topics: bool = True,
        username: str | None = None,
    ) -> FakeChat:
        """Create a supergroup the bot is already in (admin with topic rights by default)."""
        chat = FakeChat(
            id=-1_001_000_000_000 - next(self._chat_seq),
            type="supergroup",
            title=title,
            is_forum=is_forum,
            username=username,
            bot_status="administrator" if bot_is_admin else "member",
            bot_can_manage_topics=bot_is_admin and bot_can_manage_topics,
        )
        for user in members:
            chat.members[user.id] = "member"
        for user in admins:
            chat.members[user.id] = "administrator"
        if creator is not None:
            chat.members[creator.id] = "creator"
        self.chats[chat.id] = chat
        return chat

    def add_channel(self, title: str = "Channel", *, username: str | None = None) -> FakeChat:
        """Create a channel where the bot is an administrator."""
        chat = FakeChat(
            -1_001_000_000_000 - next(self._chat_seq), "channel", title, username=username
        )
        self.chats[chat.id] = chat
        return chat

    def block(self, user: FakeUser) -> None:
        """The user blocked the bot: sends to them now fail with 403."""
        user.blocked = True

    def unblock(self, user: FakeUser) -> None:
        """The user unblocked the bot again."""
        user.blocked = False

    def deactivate(self, user: FakeUser) -> None:
        """The user deleted their account: sends fail with "user is deactivated"."""
        user.deactivated = True

    def remove_member(self, chat: FakeChat, user: FakeUser) -> None:
        """The user left (or was removed from) the group; getChatMember then says "left"."""
        chat.members[user.id] = "left"

    def add_member(self, chat: FakeChat, user: FakeUser, status: str = "member") -> None:
        """Give a user a membership status in a group."""
        chat.members[user.id] = status

    def delete_topic(self, chat: FakeChat, thread_id: int) -> None:
        """A human deleted the topic in their client (with all its messages); the bot gets no
        notification."""
        self.remove_topic(chat, chat.topics[thread_id])

    def remove_topic(self, chat: FakeChat, topic: ForumTopic) -> None:
        """Delete a forum topic and every message in it, as Telegram does."""
        topic.deleted = True
        self.changed()
        for key, message in list(self.messages.items()):
            if key[0] == chat.id and message.get("message_thread_id") == topic.id:
                self.forget_message(key)

    def forget_message(self, key: tuple[int, int]) -> None:
        """A message is gone for everyone; a bot's message stays in ``sent``, marked deleted."""
        del self.messages[key]
        self.deleted_messages.append(key)
        if key in self._sent_index:
            self._sent_index[key].deleted = True
        self.changed()

    def close_topic(self, chat: FakeChat, thread_id: int, closed: bool = True) -> None:
        """A human closed (or reopened) the topic in their client."""
        chat.topics[thread_id].closed = closed

    def set_limits(
        self,
        *,
        global_per_second: float | None = 30,
        private_chat_per_second: float | None = 1,
        private_burst: int = 5,
        group_per_minute: float | None = 20,
        group_burst: int = 20,
        retry_after: int = 1,
        global_burst: int | None = None,
    ) -> None:
        """Reconfigure flood control (``None`` disables a limit); resets current counters.
        `global_burst` makes the global limit a token bucket (see `sandbox/limits.py`)."""
        self.flood = FloodControl(
            global_per_second,
            private_chat_per_second,
            private_burst,
            group_per_minute,
            group_burst,
            retry_after,
            global_burst,
        )

    def topics(self, chat: FakeChat) -> list[ForumTopic]:
        """All topics of a forum, including closed and deleted ones, in creation order."""
        return list(chat.topics.values())

    def file_bytes(self, file_id: str) -> bytes:
        """Content of a file the bot uploaded or a user sent."""
        return self.files[file_id].data

    def changed(self) -> None:
        """Tell the change listeners that what a chat shows has changed."""
        for listener in self.change_listeners:
            listener()

    # ----------------------------------------------------------------- helpers
    def chat_id_of(self, chat_or_user: ChatRef) -> int:
        """Accept a FakeUser (their private chat), a FakeChat or a raw id."""
        return chat_or_user if isinstance(chat_or_user, int) else chat_or_user.id

    def now(self) -> int:
        """Current Telegram ``date`` value."""
        return int(self.clock().timestamp())

    def advance(self, delta: timedelta | float) -> None:
        """Move the double's clock forward (a timedelta or seconds), e.g. past the 48 hours
        within which a bot may delete its messages."""
        if not isinstance(self.clock, Clock):
            raise TypeError("advance() needs a sandbox Clock; this double's clock is fixed")
        self.clock.advance(delta)

    def next_message_id(self, chat_id: int) -> int:
        """Message ids are per chat in private chats and supergroups, as in Telegram."""
        value = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = value
        return value

    def chat_dict(self, chat_id: int) -> dict[str, Any]:
        """``Chat`` object for a known chat id."""
        if chat_id in self.users:
            return self.users[chat_id].chat_dict()
        return self.chats[chat_id].chat_dict()

    def store_file(
        self, kind: str, data: bytes, *, mime_type: str | None = None, file_name: str | None = None
    ) -> StoredFile:
        """Keep bytes under a fresh file_id, so getFile and downloads work for them."""
        seq = next(self._file_seq)
        folder, ext = _FILE_EXT.get(kind, ("documents", "bin"))
        if file_name and "." in file_name:
            ext = file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"DBL{kind[:2].upper()}{seq:06d}{self.bot_id % 1000:03d}",
            file_unique_id=f"U{seq:06d}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{seq}.{ext}",
            mime_type=mime_type,
            file_name=file_name,
        )
        self.files[stored.file_id] = stored
        return stored

    def media_object(
        self, stored: StoredFile, kind: str, extra: dict[str, Any] | None = None
    ) -> Any:
        """The Telegram object for a file (a PhotoSize list for photos)."""
        extra = extra or {}
        base: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if kind == "photo":
            thumb = dict(base, width=90, height=67)
            thumb["file_unique_id"] += "s"
            return [thumb, dict(base, width=1280, height=960)]
        if stored.file_name and kind in ("document", "audio", "animation", "video"):
            base["file_name"] = stored.file_name
        if stored.mime_type and kind != "sticker":
            base["mime_type"] = stored.mime_type
        duration = int(extra.get("duration") or 3)
        if kind == "voice":
            base.update(duration=duration, mime_type=stored.mime_type or "audio/ogg")
        elif kind in ("video", "animation"):
            base.update(
                width=int(extra.get("width") or 640),
                height=int(extra.get("height") or 480),
                duration=duration,
            )
        elif kind == "audio":
            base["duration"] = duration
            for key in ("title", "performer"):
                if extra.get(key):
                    base[key] = extra[key]
        elif kind == "video_note":
            base.update(length=int(extra.get("length") or 240), duration=duration)
        elif kind == "sticker":
            base.update(width=512, height=512, is_animated=False, is_video=False, type="regular")
            if extra.get("emoji"):
                base["emoji"] = extra["emoji"]
        return base

    # ----------------------------------------------------------------- input (humans)
    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update for getUpdates; assigns ``update_id`` and wakes a long poll."""
        update["update_id"] = next(self._update_ids)
        self.updates.append(update)
        if self._wakeup is not None:
            self._wakeup.set()
        self.changed()
        return update

    def _incoming(
        self,
        user: FakeUser,
        content: dict[str, Any],
        *,
        chat: FakeChat | None = None,
        thread_id: int | None = None,
        reply_to: dict[str, Any] | SentMessage | None = None,
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        chat_id = chat.id if chat is not None else user.id
        message_id = self.next_message_id(chat_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": user.to_dict(),
            "chat": self.chat_dict(chat_id),
            "date": self.now(),
        }
        if chat is not None and thread_id:
            message["message_thread_id"] = thread_id
            if chat.is_forum:
                message["is_topic_message"] = True
        if isinstance(reply_to, SentMessage):
            reply_to = reply_to.raw
        if reply_to is not None:
            message["reply_to_message"] = _shallow(reply_to)
        elif chat is not None and chat.is_forum and thread_id:
            # Telegram marks a plain message in a topic as a reply to the topic's creation
            # service message; bots relaying "replies to the bot" must not be fooled by it.
            root = self.messages.get((chat_id, thread_id))
            if root is not None:
                message["reply_to_message"] = _shallow(root)
        if media_group_id:
            message["media_group_id"] = media_group_id
        message.update(content)
        self.messages[(chat_id, message_id)] = message
        self.queue_update({"message": message})
        return message

    def send_text(
        self,
        user: FakeUser,
        text: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A text message; a leading ``/command`` (or ``/command@bot``) gets its entity."""
        content: dict[str, Any] = {"text": text}
        entities = _command_entities(text) if entities is None else entities
        if entities:
            content["entities"] = entities
        return self._incoming(user, content, **where)

    def _media_message(
        self,
        user: FakeUser,
        kind: str,
        data: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
        file_name: str | None = None,
        extra: dict[str, Any] | None = None,
        where: Where | None = None,
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        stored = self.store_file(kind, data, mime_type=mime_type, file_name=file_name)
        content: dict[str, Any] = {kind: self.media_object(stored, kind, extra)}
        if kind == "animation":
            content["document"] = self.media_object(stored, "document")
        if caption:
            content["caption"] = caption
        return self._incoming(user, content, media_group_id=media_group_id, **(where or {}))

    def send_photo(
        self,
        user: FakeUser,
        data: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A photo (two PhotoSizes, largest last, like Telegram); bytes kept for getFile."""
        return self._media_message(
            user, "photo", data, caption, where=where, media_group_id=media_group_id
        )

    def send_document(
        self,
        user: FakeUser,
        data: bytes,
        filename: str,
        mime_type: str,
        *,
        caption: str | None = None,
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A file sent as a document."""
        return self._media_message(
            user, "document", data, caption, mime_type, filename, where=where
        )

    def send_voice(
        self,
        user: FakeUser,
        data: bytes = b"OggS\x00voice",
        *,
        duration: int = 3,
        caption: str | None = None,
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A voice note."""
        return self._media_message(
            user, "voice", data, caption, "audio/ogg", extra={"duration": duration}, where=where
        )

    def send_video(
        self,
        user: FakeUser,
        data: bytes = b"\x00\x00\x00\x18ftypmp42",
        *,
        duration: int = 5,
        caption: str | None = None,
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A video."""
        return self._media_message(
            user, "video", data, caption, "video/mp4", extra={"duration": duration}, where=where
        )

    def send_audio(
        self,
        user: FakeUser,
        data: bytes = b"ID3\x03audio",
        *,
        filename: str = "audio.mp3",
        duration: int = 60,
        caption: str | None = None,
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A music file."""
        return self._media_message(
            user,
            "audio",
            data,
            caption,
            "audio/mpeg",
            filename,
            extra={"duration": duration},
            where=where,
        )

    def send_animation(
        self,
        user: FakeUser,
        data: bytes = b"GIF89a",
        *,
        caption: str | None = None,
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A GIF; Telegram also fills ``document`` for backward compatibility."""
        return self._media_message(
            user, "animation", data, caption, "video/mp4", "animation.mp4", where=where
        )

    def send_video_note(
        self,
        user: FakeUser,
        data: bytes = b"\x00\x00\x00\x18ftypmp42",
        *,
        duration: int = 5,
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A round video message (no caption possible)."""
        return self._media_message(
            user, "video_note", data, extra={"duration": duration}, where=where
        )

    def send_sticker(
        self,
        user: FakeUser,
        data: bytes = b"RIFF\x00\x00\x00\x00WEBP",
        *,
        emoji: str = "👍",
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A sticker."""
        return self._media_message(user, "sticker", data, extra={"emoji": emoji}, where=where)

    def send_location(
        self, user: FakeUser, latitude: float, longitude: float, **where: Unpack[Where]
    ) -> dict[str, Any]:
        """A shared location."""
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._incoming(user, content, **where)

    def send_venue(
        self,
        user: FakeUser,
        latitude: float,
        longitude: float,
        title: str,
        address: str,
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A venue; Telegram also fills ``location``."""
        location = {"latitude": latitude, "longitude": longitude}
        venue = {"location": location, "title": title, "address": address}
        return self._incoming(user, {"venue": venue, "location": location}, **where)

    def send_contact(
        self,
        user: FakeUser,
        phone_number: str,
        first_name: str,
        *,
        last_name: str | None = None,
        contact_user_id: int | None = None,
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A shared contact (e.g. from a ``request_contact`` keyboard button)."""
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
        if last_name:
            contact["last_name"] = last_name
        if contact_user_id:
            contact["user_id"] = contact_user_id
        return self._incoming(user, {"contact": contact}, **where)

    def send_poll(
        self,
        user: FakeUser,
        question: str = "Poll?",
        options: Sequence[str] = ("Yes", "No"),
        **where: Unpack[Where],
    ) -> dict[str, Any]:
        """A poll created by the user."""
        poll = {
            "id": f"poll{next(self._callback_seq)}",
            "question": question,
            "options": [
                {"text": o, "voter_count": 0, "persistent_id": str(i)}
                for i, o in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
        return self._incoming(user, {"poll": poll}, **where)

    def send_dice(
        self, user: FakeUser, emoji: str = "🎲", value: int = 3, **where: Unpack[Where]
    ) -> dict[str, Any]:
        """A dice throw."""
        return self._incoming(user, {"dice": {"emoji": emoji, "value": value}}, **where)

    def send_album(
        self,
        user: FakeUser,
        photos: Sequence[bytes],
        *,
        caption: str | None = None,
        **where: Unpack[Where],
    ) -> list[dict[str, Any]]:
        """Several photos with one ``media_group_id``: one update each, caption on the first."""
        group_id = f"1{next(self._file_seq):017d}"
        return [
            self.send_photo(
                user, data, caption=caption if i == 0 else None, media_group_id=group_id, **where
            )
            for i, data in enumerate(photos)
        ]

    def edit_text(self, user: FakeUser, message: dict[str, Any], new_text: str) -> dict[str, Any]:
        """The user edited one of their text messages: queues an ``edited_message``."""
        edited = copy.deepcopy(message)
        edited["text"] = new_text
        edited.pop("entities", None)
        if _command_entities(new_text):
            edited["entities"] = _command_entities(new_text)
        edited["edit_date"] = self.now()
        self.messages[(edited["chat"]["id"], edited["message_id"])] = edited
        self.queue_update({"edited_message": edited})
        return edited

    def press(
        self, user: FakeUser, message: dict[str, Any] | SentMessage, callback_data: str
    ) -> dict[str, Any]:
        """The user pressed an inline button with ``callback_data`` (not checked: forgeable)."""
        raw = message.raw if isinstance(message, SentMessage) else message
        query: dict[str, Any] = {
            "id": f"{self.bot_id}{next(self._callback_seq):08d}",
            "from": user.to_dict(),
            "message": copy.deepcopy(raw),
            "chat_instance": str(abs(raw["chat"]["id"]) * 7 + 3),
            "data": callback_data,
        }
        self._open_callbacks[query["id"]] = query
        self.queue_update({"callback_query": query})
        return query

    def add_bot_to_chat(
        self, chat: FakeChat, by_user: FakeUser, *, as_admin: bool = False
    ) -> dict[str, Any]:
        """A human added the bot to a group: ``my_chat_member`` plus the service message."""
        old = self.member_dict(chat, self.bot_id)
        chat.bot_status = "administrator" if as_admin else "member"
        chat.bot_can_manage_topics = as_admin
        update = self.queue_update(
            {
                "my_chat_member": {
                    "chat": chat.chat_dict(),
                    "from": by_user.to_dict(),
                    "date": self.now(),
                    "old_chat_member": old,
                    "new_chat_member": self.member_dict(chat, self.bot_id),
                }
            }
        )
        if chat.type != "channel":
            self._incoming(by_user, {"new_chat_members": [self.bot_user]}, chat=chat)
        return update

    def member_dict(self, chat: FakeChat, user_id: int) -> dict[str, Any]:
        """``ChatMember`` of a user (or the bot) in a group, as getChatMember returns it."""
        if user_id == self.bot_id:
            user, status, can_topics = self.bot_user, chat.bot_status, chat.bot_can_manage_topics
        else:
            known = self.users.get(user_id)
            user = (
                known.to_dict()
                if known
                else {"id": user_id, "is_bot": False, "first_name": "Deleted Account"}
            )
            status, can_topics = chat.members.get(user_id, "left"), True
        if status == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if status == "administrator":
            rights = dict.fromkeys(
                [
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_pin_messages",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                ],
                True,
            )
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_promote_members": False,
                "can_manage_topics": can_topics,
                **rights,
            }
        if status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        return {"status": status, "user": user}

    # ----------------------------------------------------------------- output (the bot)
    def messages_to(
        self, chat_or_user: ChatRef, *, thread_id: int | None = None
    ) -> list[SentMessage]:
        """Messages the bot sent to a chat (optionally one topic), including deleted ones."""
        chat_id = self.chat_id_of(chat_or_user)
        return [
            m
            for m in self.sent
            if m.chat_id == chat_id and (thread_id is None or m.thread_id == thread_id)
        ]

    def calls_to(self, method: str) -> list[Call]:
        """All calls of one API method (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def sent_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """Look up a bot message by its chat and id."""
        return self._sent_index.get((chat_id, message_id))

    async def next_message(
        self,
        chat_or_user: ChatRef,
        *,
        thread_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - plain float API for test readability
        predicate: Callable[[SentMessage], bool] | None = None,
    ) -> SentMessage:
        """Wait for the next bot message to a chat that no earlier call has returned yet."""
        chat_id = self.chat_id_of(chat_or_user)
        consumed = self._consumed.setdefault(chat_id, set())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index, message in enumerate(self.sent):
                if (
                    index not in consumed
                    and message.chat_id == chat_id
                    and (thread_id is None or message.thread_id == thread_id)
                    and (predicate is None or predicate(message))
                ):
                    consumed.add(index)
                    return message
            if loop.time() >= deadline:
                recent = "\n  ".join(str(m) for m in self.messages_to(chat_id)[-5:]) or "none"
                errors = "\n  ".join(
                    f"{c.method}: {c.status} {c.description}" for c in self.errors[-3:]
                )
                raise AssertionError(
                    f"no new message to chat {chat_id}"
                    + (f" thread {thread_id}" if thread_id else "")
                    + f" within {timeout}s. Last messages to it:\n  {recent}"
                    + (f"\nRecent API errors:\n  {errors}" if errors else "")
                )
            await asyncio.sleep(0.01)


def _command_entities(text: str) -> list[dict[str, Any]]:
    """Telegram marks a leading ``/command`` (or ``/command@bot``) with a bot_command entity."""
    match = _COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


def _shallow(message: dict[str, Any]) -> dict[str, Any]:
    """A replied-to message as embedded by Telegram: without its own reply_to_message."""
    result = copy.deepcopy(message)
    result.pop("reply_to_message", None)
    return result


def scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
    """Key of ``commands``: canonical scope JSON and the language code ("" for default)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""
