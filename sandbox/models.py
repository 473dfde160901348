"""Plain data objects of the double's world and of what the bot did.

They are deliberately simple dataclasses so that tests can read them without knowing the HTTP
protocol, while ``raw`` fields keep the exact Telegram JSON for assertions that need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ApiError(Exception):
    """An error answer, raised inside a method handler and turned into Telegram's JSON."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def bad_request(text: str) -> ApiError:
    """Most validation errors are 400 with a "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {text}")


@dataclass(eq=False)
class FakeUser:
    """A Telegram user; their private chat with the bot has the same id, as in Telegram."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "nb"
    blocked: bool = False
    deactivated: bool = False

    @property
    def private_chat_id(self) -> int:
        """Telegram uses the user id as the id of the private chat with them."""
        return self.id

    def to_dict(self) -> dict[str, Any]:
        """The ``User`` object as Telegram serialises it (absent fields omitted)."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_dict(self) -> dict[str, Any]:
        """The private ``Chat`` object embedded in messages."""
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class ForumTopic:
    """A forum topic; ``deleted`` topics stay listed so tests can see what happened."""

    id: int
    name: str
    icon_color: int = 7322096
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False

    @property
    def message_thread_id(self) -> int:
        """Alias matching the Bot API field name."""
        return self.id

    def to_dict(self) -> dict[str, Any]:
        """The ``ForumTopic`` object returned by createForumTopic."""
        data: dict[str, Any] = {
            "message_thread_id": self.id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data


@dataclass(eq=False)
class FakeChat:
    """A group, supergroup or channel (negative id, ``-100…`` for supergroups/channels)."""

    id: int
    type: str
    title: str
    is_forum: bool = False
    username: str | None = None
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    bot_status: str = "administrator"
    bot_can_manage_topics: bool = True
    topics: dict[int, ForumTopic] = field(default_factory=dict)

    def chat_dict(self) -> dict[str, Any]:
        """The ``Chat`` object embedded in messages."""
        data: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
        if self.is_forum:
            data["is_forum"] = True
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class Call:
    """One HTTP call of the bot, kept so tests can assert on protocol-level behaviour."""

    method: str
    params: dict[str, Any]
    status: int = 0
    result: Any = None
    description: str | None = None
    retry_after: int | None = None
    at: float = 0.0

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300


@dataclass
class SentMessage:
    """A message the bot sent successfully, updated in place by later edits."""

    message_id: int
    chat_id: int
    method: str
    raw: dict[str, Any]
    thread_id: int | None = None
    text: str | None = None
    html: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    media_kind: str | None = None
    file_id: str | None = None
    filename: str | None = None
    mime_type: str | None = None
    data: bytes | None = None
    latitude: float | None = None
    longitude: float | None = None
    reply_to_message_id: int | None = None
    media_group_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons as a flat list of ``(text, callback_data or url)``."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            (b.get("text", ""), b.get("callback_data", b.get("url"))) for row in rows for b in row
        ]

    @property
    def keyboard(self) -> list[str]:
        """Reply-keyboard button texts (flat), for ``ReplyKeyboardMarkup`` messages."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [b if isinstance(b, str) else b.get("text", "") for row in rows for b in row]

    def button(self, text_substring: str) -> str:
        """The callback_data (or url) of the first button whose text contains the substring."""
        for text, value in self.buttons:
            if text_substring in text and value is not None:
                return value
        raise AssertionError(
            f"no button containing {text_substring!r} in message {self.message_id}: "
            f"{self.buttons!r}"
        )

    def __str__(self) -> str:
        body = self.text if self.text is not None else f"<{self.media_kind}>"
        where = f"{self.chat_id}" + (f"/{self.thread_id}" if self.thread_id else "")
        return f"#{self.message_id}@{where} {self.method}: {body!r} {self.buttons or ''}"


@dataclass
class UploadedPart:
    """A file part of a multipart request (an ``InputFile`` on the PTB side)."""

    filename: str | None
    data: bytes = field(repr=False)
    content_type: str | None = None

    def __repr__(self) -> str:
        return f"UploadedPart({self.filename!r}, {len(self.data)} bytes, {self.content_type!r})"
