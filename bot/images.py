"""Images sent as files lose their hidden data before staff see them, and hostile files cannot
hurt the bot while that happens.

A photo sent the normal way is re-encoded by Telegram, which drops its EXIF data (location,
camera, time). An image sent *as a file* arrives byte for byte, GPS position included, so the
bot downloads it, copies only the pixels into a fresh image with Pillow, and uploads that. Tips
and case messages both go through `clean_image`.

A file from a resident is hostile input: a 34-byte WebP can declare 13000 x 13000 pixels (an
"image bomb", gigabytes once decoded) and a damaged PNG makes Pillow raise almost any
exception. So the size is checked from the header before any pixel is decoded, every failure
becomes `None` (the caller tells staff the picture could not be opened), and the work runs in
a worker thread so the event loop keeps answering everybody else meanwhile.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

#: Image files we can clean. HEIC and others are refused with a hint to send a photo instead.
CLEANABLE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
#: Most pixels decoded: 48 megapixels covers every phone camera's full-size mode (about 150 MB
#: once decoded); a JPEG above it is decoded at a reduced scale, anything else is refused.
MAX_PIXELS = 48_000_000


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    extension: str  # jpg or png


def is_cleanable(mime_type: str | None) -> bool:
    return (mime_type or "").lower() in CLEANABLE_IMAGE_TYPES


def strip_metadata(data: bytes, mime_type: str | None = None) -> CleanImage | None:
    """Re-encode an image from its pixels only; None if it cannot be read safely.

    EXIF (GPS position, camera, time), XMP, IPTC and embedded thumbnails are all dropped: the
    new image is built from the decoded pixels and carries no `info`. The EXIF orientation is
    applied first, so the picture still shows the right way up. JPEG stays JPEG; other
    formats become PNG (lossless). Never raises: a damaged or oversized file gives None.
    """
    try:
        return _strip(data)
    except Exception as error:  # Pillow raises almost anything on damaged input
        log.warning("an image (%s) could not be read: %s", mime_type, type(error).__name__)
        return None


async def clean_image(data: bytes, mime_type: str | None = None) -> CleanImage | None:
    """`strip_metadata` in a worker thread: decoding a large picture takes seconds of CPU."""
    return await asyncio.to_thread(strip_metadata, data, mime_type)


def _strip(data: bytes) -> CleanImage | None:
    with Image.open(io.BytesIO(data)) as source:
        width, height = source.size  # from the header: nothing decoded yet
        if source.format == "JPEG" and width * height > MAX_PIXELS:
            # JPEG can decode at 1/2, 1/4 or 1/8 scale for almost nothing.
            scale = (width * height / MAX_PIXELS) ** 0.5
            source.draft("RGB", (int(width / scale), int(height / scale)))
            width, height = source.size
        if width * height > MAX_PIXELS or width < 1 or height < 1:
            log.warning("an image of %dx%d pixels was refused", width, height)
            return None
        source.seek(0)
        upright = ImageOps.exif_transpose(source)
        if upright is None:  # pragma: no cover - Pillow returns None only when in_place
            upright = source
        is_jpeg = source.format == "JPEG"
        mode = "RGB" if is_jpeg else ("RGBA" if "A" in upright.getbands() else "RGB")
        pixels = upright.convert(mode)
        clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if is_jpeg:
        clean.save(out, format="JPEG", quality=90, optimize=True)
        return CleanImage(out.getvalue(), "jpg")
    clean.save(out, format="PNG", optimize=True)
    return CleanImage(out.getvalue(), "png")
