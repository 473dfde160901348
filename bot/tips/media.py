"""What residents may attach to a tip. Images sent as files lose their hidden data before staff
see them (`bot.images`)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Message

from bot.images import CLEANABLE_IMAGE_TYPES

#: The Bot API lets bots download files up to 20 MB; larger ones cannot reach staff.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Pictures and recordings per tip: enough to show the problem, little enough for staff.
MAX_MEDIA_PER_TIP = 10


@dataclass(frozen=True)
class Attachment:
    """A file a resident sent, as the tip stores it."""

    kind: str  # photo, image, voice, video
    file_id: str
    size: int | None
    mime_type: str | None = None


class Unsupported(Exception):
    """The message carries something a tip cannot use; `reason` picks the answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # too_big, not_image, unsupported


def attachment_of(message: Message) -> Attachment | None:
    """The file in a message, if it is one a tip takes; raises `Unsupported` otherwise."""
    if message.photo:
        largest = message.photo[-1]
        found = Attachment("photo", largest.file_id, largest.file_size)
    elif message.document is not None:
        mime = (message.document.mime_type or "").lower()
        if mime not in CLEANABLE_IMAGE_TYPES:
            raise Unsupported("not_image")
        found = Attachment("image", message.document.file_id, message.document.file_size, mime)
    elif message.voice is not None:
        found = Attachment("voice", message.voice.file_id, message.voice.file_size)
    elif message.video is not None:
        found = Attachment("video", message.video.file_id, message.video.file_size)
    elif (
        message.sticker
        or message.game
        or message.poll
        or message.dice
        or message.contact
        or message.audio
        or message.animation
        or message.video_note
    ):
        raise Unsupported("unsupported")
    else:
        return None
    if found.size is not None and found.size > MAX_FILE_BYTES:
        raise Unsupported("too_big")
    return found
