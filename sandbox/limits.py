"""Telegram-like flood control.

Telegram answers 429 when a bot sends too fast: roughly 30 messages per second overall, about
one per second per private chat (with a short burst allowed) and 20 per minute per group. The
bot must survive this (PTB's rate limiter, retries), so the double enforces the same shape of
limits, with parameters tests can tighten or switch off.

The global limit is by default a sliding window: at most `global_per_second` sends in any
second, measured on arrival. No sender can meet that exactly at the limit: the network moves
arrivals a few milliseconds either way, and any send that arrives a little early completes a
window. Telegram's own words are "not more than 30 messages per second or so". With
`global_burst` set, the global limit is a token bucket instead (GCRA, as in network policing
and nginx's limit_req): `global_burst` sends may arrive at once, refilled at
`global_per_second`. A sender paced evenly at exactly the rate passes however its arrivals
jitter, up to `global_burst / global_per_second` seconds; a sender that bursts is refused.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    """A token bucket: ``capacity`` sends at once, refilled at ``rate`` tokens per second."""

    capacity: float
    rate: float
    tokens: float
    stamp: float

    def peek(self, now: float) -> bool:
        """Whether `take` would succeed now (nothing is taken)."""
        return min(self.capacity, self.tokens + (now - self.stamp) * self.rate) >= 1

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class FloodControl:
    """Decides whether one more send to ``chat_id`` is allowed right now."""

    global_per_second: float | None = 30
    private_chat_per_second: float | None = 1
    private_burst: int = 5
    group_per_minute: float | None = 20
    group_burst: int = 20
    retry_after: int = 1
    #: None: the sliding window; a number: a token bucket of that many (see the module).
    global_burst: int | None = None
    now: Callable[[], float] = time.monotonic
    _window: deque[float] = field(default_factory=deque)
    _buckets: dict[int, _Bucket] = field(default_factory=dict)
    _global_bucket: _Bucket | None = None

    def allow(self, chat_id: int) -> bool:
        """Record a send attempt; False means the double must answer 429."""
        now = self.now()
        if self.global_per_second is not None and self.global_burst is not None:
            if self._global_bucket is None:
                capacity = float(self.global_burst)
                self._global_bucket = _Bucket(capacity, self.global_per_second, capacity, now)
            bucket = self._bucket(chat_id, now)
            if not self._global_bucket.peek(now):
                return False
            if bucket is not None and not bucket.take(now):
                return False
            return self._global_bucket.take(now)
        if self.global_per_second is not None:
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= math.ceil(self.global_per_second):
                return False
        bucket = self._bucket(chat_id, now)
        if bucket is not None and not bucket.take(now):
            return False
        if self.global_per_second is not None:
            self._window.append(now)
        return True

    def _bucket(self, chat_id: int, now: float) -> _Bucket | None:
        if chat_id > 0:
            if self.private_chat_per_second is None:
                return None
            capacity, rate = float(self.private_burst), float(self.private_chat_per_second)
        else:
            if self.group_per_minute is None:
                return None
            capacity, rate = float(self.group_burst), self.group_per_minute / 60.0
        bucket = self._buckets.get(chat_id)
        if bucket is None or bucket.capacity != capacity or bucket.rate != rate:
            bucket = _Bucket(capacity, rate, capacity, now)
            self._buckets[chat_id] = bucket
        return bucket
