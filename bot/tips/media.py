"""What residents may attach to a tip, and how images sent as files lose their hidden data.

A photo sent the normal way is re-encoded by Telegram, which drops its EXIF data (location,
camera, time). An image sent *as a file* arrives byte for byte, GPS position included, so the
bot downloads it, copies only the pixels into a fresh image with Pillow, and uploads that.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from telegram import Message

#: The Bot API lets bots download files up to 20 MB; larger ones cannot reach staff.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Image files we can clean. HEIC and others are refused with a hint to send a photo instead.
CLEANABLE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
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


def strip_metadata(data: bytes, mime_type: str | None) -> tuple[bytes, str]:
    """Re-encode an image from its pixels only; returns (bytes, file extension).

    EXIF (GPS position, camera, time), XMP, IPTC and embedded thumbnails are all dropped: the
    new image is built from the decoded pixels and carries no `info`. The EXIF orientation is
    applied first, so the picture still shows the right way up. JPEG stays JPEG; other
    formats become PNG (lossless). Raises ValueError for data Pillow cannot read.
    """
    try:
        with Image.open(io.BytesIO(data)) as source:
            source.seek(0)
            upright = ImageOps.exif_transpose(source)
            if upright is None:  # pragma: no cover - Pillow returns None only when in_place
                upright = source
            is_jpeg = source.format == "JPEG"
            mode = "RGB" if is_jpeg else ("RGBA" if "A" in upright.getbands() else "RGB")
            pixels = upright.convert(mode)
            clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"unreadable image ({mime_type})") from error
    out = io.BytesIO()
    if is_jpeg:
        clean.save(out, format="JPEG", quality=90, optimize=True)
        return out.getvalue(), "jpg"
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue(), "png"
