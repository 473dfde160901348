"""Configuration from the environment, validated once at start.

Operators script against these variable names (the run contract), so they never change; new
settings are added beside them. Every problem is reported as one line naming the variable, so a
misconfigured deployment fails at start instead of misbehaving later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.handover.office_hours import DEFAULT_OFFICE_HOURS, OfficeHours
from bot.i18n import SUPPORTED_LANGUAGES
from storage.db import DatabaseLocation, parse_location

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class ConfigError(ValueError):
    """A configuration problem, worded for the operator who has to fix it."""


@dataclass(frozen=True)
class ReminderRule:
    """`BOT_ACTIVITY_REMINDER`: `-1d 18:00` (at 18:00 one day before, local time) or `-2h`,
    `-90m` (that long before the start)."""

    days: int = 0
    at: time | None = None
    before: timedelta = timedelta(0)

    def due(self, starts_at: datetime, tz: tzinfo) -> datetime:
        """When the reminder of an activity starting then goes out (never after the start)."""
        if self.at is None:
            return starts_at - self.before
        day = starts_at.astimezone(tz).date() - timedelta(days=self.days)
        return min(datetime.combine(day, self.at, tzinfo=tz), starts_at)

    @property
    def reach(self) -> timedelta:
        """How far ahead of an activity its reminder can be due."""
        return timedelta(days=self.days + 1) + self.before


DEFAULT_REMINDER = ReminderRule(days=1, at=time(18, 0))


@dataclass(frozen=True)
class Config:
    """Everything the bot needs to know about its deployment."""

    token: str
    api_base_url: str = "https://api.telegram.org"
    #: An SQLite file (a Path) or a PostgreSQL database (storage.db.PostgresLocation).
    database: DatabaseLocation = Path("data/bot.sqlite3")
    staff_chat_id: int | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Oslo"))
    default_language: str = "nb"
    admin_ids: frozenset[int] = frozenset()
    log_level: str = "INFO"
    # Telegram allows about 30 messages/s overall and 20/min into one group; the rate limiter
    # keeps the bot below that. Raised only for benchmarks against the test double.
    max_messages_per_second: float = 25.0
    group_messages_per_minute: float = 20.0
    rate_limit_retries: int = 3
    #: Broadcasts (digest, survey invitations): messages per second, at most 30 (Telegram).
    delivery_rate: float = 25.0
    #: When the weekly digest goes out: weekday (0 = Monday) and local time.
    digest_weekday: int = 0
    digest_time: time = time(9, 0)
    #: When the weekly summary reaches the staff chat (weekday 0 = Monday, local time); None: off.
    weekly_summary: tuple[int, time] | None = (0, time(8, 0))
    #: Optional public channel that gets the full activity list each week.
    channel_id: int | None = None
    #: Ask residents who said "I'm going" how an activity was, after it ended.
    activity_feedback: bool = True
    #: Days after a tip is resolved when its people are asked "is it fixed?"; None: never.
    fixed_check_days: int | None = 14
    #: When residents going to an activity are reminded of it (None: no reminders).
    activity_reminder: ReminderRule | None = DEFAULT_REMINDER
    #: Days after which finished cases and tips lose their personal data.
    retention_days: int = 365
    #: When staff answer (None: the default, Monday-Friday 09:00-15:30 in `timezone`).
    office_hours: OfficeHours | None = None
    #: Office time a resident may wait for a staff reply before the case topic gets a reminder.
    reminder_after: timedelta = timedelta(minutes=120)
    #: Add the staff member's first name under replies to residents.
    sign_staff_replies: bool = False
    #: A resident's messages relayed into their case per minute; more are not relayed (notice).
    case_flood_per_minute: int = 20
    #: Days without a message on either side after which an open case is closed (notice).
    case_auto_close_days: int = 14
    #: Root of a LibreTranslate-compatible server (None: no machine translation).
    translation_url: str | None = None
    translation_api_key: str | None = field(default=None, repr=False)
    #: The language staff read and write; residents' words are translated into it.
    staff_language: str = "nb"
    #: Base of an OpenAI-compatible speech-to-text API, including /v1 (None: no transcripts).
    transcription_url: str | None = None
    transcription_model: str = "whisper-1"
    transcription_api_key: str | None = field(default=None, repr=False)
    #: The public HTTPS URL Telegram posts updates to (None: long polling).
    webhook_url: str | None = None
    #: Where the webhook server listens (behind the HTTPS reverse proxy): host and port.
    webhook_listen: tuple[str, int] = ("127.0.0.1", 8443)
    #: Telegram sends it in X-Telegram-Bot-Api-Secret-Token; requests without it get 403.
    webhook_secret: str | None = field(default=None, repr=False)
    #: Several instances on PostgreSQL: the scheduler lease expires this long after its last
    #: renewal (renewed every third of it); a dead holder's jobs are taken over that soon.
    lease_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.office_hours is None:
            hours = OfficeHours.parse(DEFAULT_OFFICE_HOURS, self.timezone)
            object.__setattr__(self, "office_hours", hours)

    @property
    def hours(self) -> OfficeHours:
        """The office hours (always set after construction)."""
        assert self.office_hours is not None
        return self.office_hours

    @property
    def webhook_path(self) -> str:
        """The path of `webhook_url`: what the reverse proxy passes on to the bot."""
        assert self.webhook_url is not None
        return urlsplit(self.webhook_url).path or "/"

    @property
    def api_root(self) -> str:
        """The Bot API root without a trailing slash."""
        return self.api_base_url.rstrip("/")

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, require_token: bool = True
    ) -> Config:
        """Build and validate the configuration; raise `ConfigError` naming the bad variable.

        Offline subcommands (exports, backups) pass `require_token=False`.
        """
        env = os.environ if env is None else env
        token = env.get("BOT_TOKEN", "").strip()
        if not token and require_token:
            raise ConfigError(
                "BOT_TOKEN is not set: get a token from @BotFather and set BOT_TOKEN"
            )
        if token and not _TOKEN_RE.match(token):
            raise ConfigError("BOT_TOKEN does not look like a bot token (expected 123456:ABC...)")

        base_url = env.get("BOT_API_BASE_URL", "").strip() or cls.api_base_url
        if not re.match(r"^https?://[^\s/]+", base_url):
            raise ConfigError(f"BOT_API_BASE_URL must be an http(s) URL, got {base_url!r}")

        tz_name = env.get("BOT_TIMEZONE", "").strip() or "Europe/Oslo"
        try:
            timezone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"BOT_TIMEZONE {tz_name!r} is not a known time zone") from None

        language = (env.get("BOT_DEFAULT_LANGUAGE", "").strip() or "nb").lower()
        if language not in SUPPORTED_LANGUAGES:
            raise ConfigError(
                f"BOT_DEFAULT_LANGUAGE {language!r} is not one of {', '.join(SUPPORTED_LANGUAGES)}"
            )

        hours_spec = env.get("BOT_OFFICE_HOURS", "").strip() or DEFAULT_OFFICE_HOURS
        try:
            office_hours = OfficeHours.parse(hours_spec, timezone)
        except ValueError as error:
            raise ConfigError(f"BOT_OFFICE_HOURS: {error}") from None

        digest_weekday, digest_time = parse_digest_at(env.get("BOT_DIGEST_AT", ""))
        weekly_summary = parse_weekly_summary(env.get("BOT_WEEKLY_SUMMARY", ""))
        webhook_url, webhook_listen, webhook_secret = _webhook(env)

        return cls(
            token=token,
            api_base_url=base_url.rstrip("/"),
            database=_database(env),
            staff_chat_id=_optional_int(env, "BOT_STAFF_CHAT_ID"),
            timezone=timezone,
            default_language=language,
            admin_ids=_int_set(env, "BOT_ADMIN_IDS"),
            log_level=_log_level(env),
            max_messages_per_second=_positive_float(env, "BOT_MAX_MESSAGES_PER_SECOND", 25.0),
            group_messages_per_minute=_positive_float(env, "BOT_GROUP_MESSAGES_PER_MINUTE", 20.0),
            delivery_rate=_delivery_rate(env, base_url),
            digest_weekday=digest_weekday,
            digest_time=digest_time,
            weekly_summary=weekly_summary,
            channel_id=_channel(env),
            activity_feedback=_on_off(env, "BOT_ACTIVITY_FEEDBACK", True),
            activity_reminder=parse_activity_reminder(env.get("BOT_ACTIVITY_REMINDER", "")),
            retention_days=int(_positive_float(env, "BOT_RETENTION_DAYS", 365)),
            fixed_check_days=parse_fixed_check_days(env.get("BOT_FIXED_CHECK_DAYS", "")),
            office_hours=office_hours,
            reminder_after=timedelta(
                minutes=_positive_float(env, "BOT_REMINDER_AFTER_MINUTES", 120.0)
            ),
            sign_staff_replies=_flag(env, "BOT_SIGN_STAFF_REPLIES"),
            case_flood_per_minute=int(_positive_float(env, "BOT_CASE_FLOOD_PER_MINUTE", 20)),
            case_auto_close_days=int(_positive_float(env, "BOT_CASE_AUTO_CLOSE_DAYS", 14)),
            translation_url=_service_url(env, "BOT_TRANSLATION_URL"),
            translation_api_key=env.get("BOT_TRANSLATION_API_KEY", "").strip() or None,
            staff_language=_staff_language(env),
            transcription_url=_service_url(env, "BOT_TRANSCRIPTION_URL"),
            transcription_model=env.get("BOT_TRANSCRIPTION_MODEL", "").strip() or "whisper-1",
            transcription_api_key=env.get("BOT_TRANSCRIPTION_API_KEY", "").strip() or None,
            webhook_url=webhook_url,
            webhook_listen=webhook_listen,
            webhook_secret=webhook_secret,
            lease_seconds=_lease_seconds(env),
        )


def _database(env: Mapping[str, str]) -> DatabaseLocation:
    try:
        return parse_location(env.get("BOT_DATABASE", "").strip() or "data/bot.sqlite3")
    except ValueError as error:
        raise ConfigError(f"BOT_DATABASE: {error}") from None


def _optional_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number (a chat id such as -1001234567890)") from None


def _int_set(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name, "").strip()
    if not raw:
        return frozenset()
    try:
        return frozenset(int(part) for part in re.split(r"[,\s]+", raw) if part)
    except ValueError:
        raise ConfigError(f"{name} must be a comma-separated list of Telegram user ids") from None


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false")


def _log_level(env: Mapping[str, str]) -> str:
    level = (env.get("BOT_LOG_LEVEL", "").strip() or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("BOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    return level


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DIGEST_AT_RE = re.compile(r"^([a-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})$")


def parse_digest_at(raw: str) -> tuple[int, time]:
    """`mon 09:00` -> (0, 09:00); weekday 0 is Monday (as in Python, unlike PTB's run_daily)."""
    return _weekday_time(raw, "BOT_DIGEST_AT", "mon 09:00")


def parse_weekly_summary(raw: str) -> tuple[int, time] | None:
    """`mon 08:00` (the default) -> (0, 08:00); `off` -> None."""
    if raw.strip().lower() in _OFF:
        return None
    return _weekday_time(raw, "BOT_WEEKLY_SUMMARY", "mon 08:00")


def parse_fixed_check_days(raw: str) -> int | None:
    """`14` (the default) -> 14; `off` -> None (nobody is asked "is it fixed?")."""
    raw = raw.strip().lower()
    if raw in _OFF:
        return None
    if not raw:
        return 14
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"BOT_FIXED_CHECK_DAYS must be a number of days or off, got {raw!r}")
    return int(raw)


def _weekday_time(raw: str, name: str, default: str) -> tuple[int, time]:
    raw = raw.strip().lower() or default
    match = _DIGEST_AT_RE.match(raw)
    problem = f"{name} must be a weekday and a time, such as {default!r}"
    if not match or match.group(1) not in _WEEKDAYS:
        raise ConfigError(f"{problem}; got {raw!r}")
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise ConfigError(f"{problem}; got {raw!r}")
    return _WEEKDAYS.index(match.group(1)), time(hour, minute)


_REMINDER_RE = re.compile(r"^-\s*(\d{1,3})\s*(d|h|m|min)(?:\s+(\d{1,2}):(\d{2}))?$")


def parse_activity_reminder(raw: str) -> ReminderRule | None:
    """`-1d 18:00` (the default), `-2d` (two days before the start), `-2h`, `-30m`; `off`
    -> None."""
    raw = raw.strip().lower()
    if not raw:
        return DEFAULT_REMINDER
    if raw in _OFF:
        return None
    match = _REMINDER_RE.match(raw)
    problem = f"BOT_ACTIVITY_REMINDER must be like '-1d 18:00', '-2h' or 'off'; got {raw!r}"
    if not match:
        raise ConfigError(problem)
    amount, unit, hour, minute = match.groups()
    if hour is None:
        minutes = int(amount) * {"d": 24 * 60, "h": 60}.get(unit, 1)
        return ReminderRule(before=timedelta(minutes=minutes))
    if unit != "d" or int(hour) > 23 or int(minute) > 59:
        raise ConfigError(problem)
    return ReminderRule(days=int(amount), at=time(int(hour), int(minute)))


def _delivery_rate(env: Mapping[str, str], base_url: str) -> float:
    """Messages per second for broadcasts; Telegram allows 30. Only a Bot API server on this
    machine (a test double, a benchmark) may be driven faster."""
    rate = _positive_float(env, "BOT_DELIVERY_RATE", 25.0)
    local = urlsplit(base_url).hostname in {"127.0.0.1", "localhost", "::1"}
    if rate > 30 and not local:
        raise ConfigError("BOT_DELIVERY_RATE must be at most 30 (Telegram's limit per second)")
    return rate


#: BOT_LEASE_SECONDS bounds: renewed every second at least (a shorter lease is lost to one
#: slow database round trip), and taken over within the hour at most.
LEASE_SECONDS_RANGE = (3.0, 3600.0)


def _lease_seconds(env: Mapping[str, str]) -> float:
    """How long the scheduler lease outlives its holder's last renewal (bot/scheduler_lease.py)."""
    seconds = _positive_float(env, "BOT_LEASE_SECONDS", 30.0)
    low, high = LEASE_SECONDS_RANGE
    if not low <= seconds <= high:
        raise ConfigError(
            f"BOT_LEASE_SECONDS must be between {low:.0f} and {high:.0f} seconds, got {seconds:g}"
        )
    return seconds


def _channel(env: Mapping[str, str]) -> int | None:
    raw = env.get("BOT_CHANNEL_ID", "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError("BOT_CHANNEL_ID must be a channel id such as -1001234567890") from None


_ON = {"on", "true", "yes", "1"}
_OFF = {"off", "false", "no", "0"}


def _on_off(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _ON:
        return True
    if raw in _OFF:
        return False
    raise ConfigError(f"{name} must be on or off, got {raw!r}")


def _service_url(env: Mapping[str, str], name: str) -> str | None:
    """An optional http(s) URL of an outside service, without a trailing slash."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Not echoed: a URL may carry a password.
        raise ConfigError(f"{name} must be an http(s) URL such as http://127.0.0.1:5000")
    if parts.query or parts.fragment:
        raise ConfigError(f"{name} must be a plain URL, without ? or #")
    return raw.rstrip("/")


def _staff_language(env: Mapping[str, str]) -> str:
    language = (env.get("BOT_STAFF_LANGUAGE", "").strip() or "nb").lower()
    if language not in SUPPORTED_LANGUAGES:
        raise ConfigError(
            f"BOT_STAFF_LANGUAGE {language!r} is not one of {', '.join(SUPPORTED_LANGUAGES)}"
        )
    return language


#: Telegram accepts webhooks on these ports only.
WEBHOOK_PORTS = frozenset({443, 80, 88, 8443})
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _webhook(env: Mapping[str, str]) -> tuple[str | None, tuple[str, int], str | None]:
    """BOT_WEBHOOK_URL, BOT_WEBHOOK_LISTEN and BOT_WEBHOOK_SECRET; none set: long polling."""
    url = env.get("BOT_WEBHOOK_URL", "").strip()
    listen = env.get("BOT_WEBHOOK_LISTEN", "").strip()
    secret = env.get("BOT_WEBHOOK_SECRET", "").strip()
    if not url:
        if listen or secret:
            name = "BOT_WEBHOOK_LISTEN" if listen else "BOT_WEBHOOK_SECRET"
            raise ConfigError(f"{name} is set but BOT_WEBHOOK_URL is not: set both or neither")
        return None, Config.webhook_listen, None
    parts = urlsplit(url)
    try:
        port = parts.port or 443
    except ValueError:
        port = 0
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            "BOT_WEBHOOK_URL must be the public https URL Telegram calls, such as"
            " https://bot.example.no/telegram (no ? or #)"
        )
    if port not in WEBHOOK_PORTS:
        raise ConfigError("BOT_WEBHOOK_URL: Telegram calls only the ports 443, 80, 88 and 8443")
    if not secret:
        raise ConfigError(
            "BOT_WEBHOOK_SECRET is not set: with BOT_WEBHOOK_URL it is required (1-256"
            " characters of A-Z, a-z, 0-9, _ and -), so that only Telegram can send updates"
        )
    if not _SECRET_RE.match(secret):
        # Not echoed: it is a secret.
        raise ConfigError("BOT_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    return url, _listen(listen or "127.0.0.1:8443"), secret


def _listen(raw: str) -> tuple[str, int]:
    """`127.0.0.1:8443`, `0.0.0.0:8443` or `[::1]:8443` -> (host, port)."""
    host, _, port = raw.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"BOT_WEBHOOK_LISTEN must be a host and a port, such as 127.0.0.1:8443; got {raw!r}"
        )
    return host, int(port)
