"""One answer per album: Telegram delivers an album as one message per photo, each with the same
`media_group_id`, and the resident should read "thank you" once, not five times.

One bounded memory for every feature (tips, cases): the oldest albums are forgotten first, and
forgetting costs at worst one repeated "thank you" (an album's messages arrive within seconds).
It lives in memory on purpose: a restart loses nothing that matters.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import BotData

#: Albums remembered at most.
ALBUM_MEMORY = 1000


class AlbumMemory:
    """The albums answered lately, oldest first; never more than `size`."""

    def __init__(self, size: int = ALBUM_MEMORY) -> None:
        self.size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    def first(self, media_group_id: str) -> bool:
        """True the first time an album is seen (answer it), False for its other messages."""
        if media_group_id in self._seen:
            self._seen.move_to_end(media_group_id)
            return False
        self._seen[media_group_id] = None
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)


def first_of_album(data: BotData, media_group_id: str | None) -> bool:
    """True for a message outside any album and for the first message of an album."""
    return media_group_id is None or data.albums.first(media_group_id)
