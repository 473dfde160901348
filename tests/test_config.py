"""Configuration: validated once, one clear line per problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Config, ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults():
    config = Config.from_env({"BOT_TOKEN": "123:abc"})
    assert config.api_root == "https://api.telegram.org"
    assert str(config.database) == "data/bot.sqlite3"
    assert config.staff_chat_id is None
    assert config.timezone.key == "Europe/Oslo"
    assert config.default_language == "nb"


def test_all_variables():
    config = Config.from_env(
        {
            "BOT_TOKEN": "123:abc",
            "BOT_API_BASE_URL": "http://127.0.0.1:8081/",
            "BOT_DATABASE": "/tmp/x.db",
            "BOT_STAFF_CHAT_ID": "-1001234",
            "BOT_TIMEZONE": "Europe/Warsaw",
            "BOT_DEFAULT_LANGUAGE": "en",
            "BOT_ADMIN_IDS": "1, 2 3",
        }
    )
    assert config.api_root == "http://127.0.0.1:8081"
    assert config.staff_chat_id == -1001234
    assert config.timezone.key == "Europe/Warsaw"
    assert config.default_language == "en"
    assert config.admin_ids == {1, 2, 3}


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "BOT_TOKEN"),
        ({"BOT_TOKEN": "nonsense"}, "BOT_TOKEN"),
        ({"BOT_TOKEN": "1:a", "BOT_STAFF_CHAT_ID": "staff"}, "BOT_STAFF_CHAT_ID"),
        ({"BOT_TOKEN": "1:a", "BOT_TIMEZONE": "Mars/Olympus"}, "BOT_TIMEZONE"),
        ({"BOT_TOKEN": "1:a", "BOT_DEFAULT_LANGUAGE": "de"}, "BOT_DEFAULT_LANGUAGE"),
        ({"BOT_TOKEN": "1:a", "BOT_API_BASE_URL": "ftp://x"}, "BOT_API_BASE_URL"),
        ({"BOT_TOKEN": "1:a", "BOT_ADMIN_IDS": "me"}, "BOT_ADMIN_IDS"),
    ],
)
def test_bad_configuration_names_the_variable(env, names):
    with pytest.raises(ConfigError, match=names):
        Config.from_env(env)


def _run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_without_token_exits_nonzero_naming_it():
    result = _run_cli("run", env={})
    assert result.returncode != 0
    assert "BOT_TOKEN" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_lists_subcommands():
    result = _run_cli("--help", env={})
    assert result.returncode == 0
    assert "run" in result.stdout


def test_digest_and_delivery_settings():
    from datetime import time

    from bot.config import Config

    base = {"BOT_TOKEN": "123:abc"}
    config = Config.from_env({**base, "BOT_DIGEST_AT": "sun 18:30", "BOT_CHANNEL_ID": "-1005"})
    assert (config.digest_weekday, config.digest_time) == (6, time(18, 30))
    assert config.channel_id == -1005 and config.delivery_rate == 25.0
    assert Config.from_env(base).digest_weekday == 0


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"BOT_DIGEST_AT": "someday 9"}, "BOT_DIGEST_AT"),
        ({"BOT_DIGEST_AT": "mon 25:00"}, "BOT_DIGEST_AT"),
        ({"BOT_DELIVERY_RATE": "31"}, "BOT_DELIVERY_RATE"),
        ({"BOT_DELIVERY_RATE": "0"}, "BOT_DELIVERY_RATE"),
        ({"BOT_CHANNEL_ID": "@channel"}, "BOT_CHANNEL_ID"),
    ],
)
def test_bad_digest_settings_name_the_variable(env, name):
    from bot.config import Config, ConfigError

    with pytest.raises(ConfigError, match=name):
        Config.from_env({"BOT_TOKEN": "123:abc", **env})


def test_delivery_rate_above_30_only_against_a_local_test_server():
    from bot.config import Config

    env = {"BOT_TOKEN": "123:abc", "BOT_DELIVERY_RATE": "300"}
    local = Config.from_env({**env, "BOT_API_BASE_URL": "http://127.0.0.1:8081"})
    assert local.delivery_rate == 300


def test_language_bridge_settings():
    config = Config.from_env(
        {
            "BOT_TOKEN": "123:abc",
            "BOT_TRANSLATION_URL": "http://127.0.0.1:5000/",
            "BOT_TRANSLATION_API_KEY": "lt-key",
            "BOT_STAFF_LANGUAGE": "EN",
            "BOT_TRANSCRIPTION_URL": "https://whisper.example.org/v1/",
            "BOT_TRANSCRIPTION_MODEL": "Systran/faster-whisper-small",
            "BOT_TRANSCRIPTION_API_KEY": "w-key",
        }
    )
    assert config.translation_url == "http://127.0.0.1:5000"
    assert config.translation_api_key == "lt-key"
    assert config.staff_language == "en"
    assert config.transcription_url == "https://whisper.example.org/v1"
    assert config.transcription_model == "Systran/faster-whisper-small"
    assert config.transcription_api_key == "w-key"
    # Keys never end up in a log line that prints the configuration.
    assert "lt-key" not in repr(config) and "w-key" not in repr(config)


def test_language_bridge_is_off_by_default():
    config = Config.from_env({"BOT_TOKEN": "123:abc"})
    assert config.translation_url is None and config.transcription_url is None
    assert config.staff_language == "nb"
    assert config.transcription_model == "whisper-1"
    assert config.translation_api_key is None and config.transcription_api_key is None


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"BOT_TRANSLATION_URL": "translate.local:5000"}, "BOT_TRANSLATION_URL"),
        ({"BOT_TRANSLATION_URL": "http://x/?key=1"}, "BOT_TRANSLATION_URL"),
        ({"BOT_TRANSCRIPTION_URL": "ftp://whisper/v1"}, "BOT_TRANSCRIPTION_URL"),
        ({"BOT_STAFF_LANGUAGE": "de"}, "BOT_STAFF_LANGUAGE"),
    ],
)
def test_bad_bridge_settings_name_the_variable(env, name):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({"BOT_TOKEN": "1:a", **env})


def test_webhook_settings():
    config = Config.from_env(
        {
            "BOT_TOKEN": "123:abc",
            "BOT_WEBHOOK_URL": "https://bot.bydel.example/telegram",
            "BOT_WEBHOOK_SECRET": "abc_DEF-123",
        }
    )
    assert config.webhook_url == "https://bot.bydel.example/telegram"
    assert config.webhook_path == "/telegram"
    assert config.webhook_listen == ("127.0.0.1", 8443)
    assert config.webhook_secret == "abc_DEF-123"
    assert "abc_DEF-123" not in repr(config)
    config = Config.from_env(
        {
            "BOT_TOKEN": "123:abc",
            "BOT_WEBHOOK_URL": "https://bot.bydel.example:8443/",
            "BOT_WEBHOOK_LISTEN": "[::1]:9000",
            "BOT_WEBHOOK_SECRET": "x",
        }
    )
    assert config.webhook_listen == ("::1", 9000)
    # Unset: long polling, as before.
    assert Config.from_env({"BOT_TOKEN": "123:abc"}).webhook_url is None


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"BOT_WEBHOOK_URL": "http://bot.example/hook", "BOT_WEBHOOK_SECRET": "x"}, "URL"),
        ({"BOT_WEBHOOK_URL": "https://bot.example:8080/", "BOT_WEBHOOK_SECRET": "x"}, "URL"),
        ({"BOT_WEBHOOK_URL": "https://bot.example/hook"}, "BOT_WEBHOOK_SECRET"),
        ({"BOT_WEBHOOK_URL": "https://bot.example/", "BOT_WEBHOOK_SECRET": "a b"}, "SECRET"),
        (
            {
                "BOT_WEBHOOK_URL": "https://bot.example/",
                "BOT_WEBHOOK_SECRET": "x",
                "BOT_WEBHOOK_LISTEN": "8443",
            },
            "BOT_WEBHOOK_LISTEN",
        ),
        ({"BOT_WEBHOOK_SECRET": "x"}, "BOT_WEBHOOK_SECRET"),
    ],
)
def test_bad_webhook_settings_name_the_variable(env, name):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({"BOT_TOKEN": "123:abc", **env})


def test_bot_database_accepts_a_postgresql_url():
    from storage.db import PostgresLocation

    config = Config.from_env(
        {"BOT_TOKEN": "123:abc", "BOT_DATABASE": "postgresql://stikk@db.example:5432/district"}
    )
    assert config.database == PostgresLocation("postgresql://stikk@db.example:5432/district")
    assert config.database.exists()


def test_a_password_in_the_postgresql_url_is_never_printed():
    from storage.db import PostgresLocation

    location = PostgresLocation("postgresql://stikk:s3cret@db.example/district")
    assert "s3cret" not in str(location)
    assert str(location) == "postgresql://stikk:***@db.example/district"


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("data/x.sqlite3", Path("data/x.sqlite3")),
        ("sqlite:///data/x.sqlite3", Path("data/x.sqlite3")),
        ("sqlite:////var/lib/stikk/bot.sqlite3", Path("/var/lib/stikk/bot.sqlite3")),
    ],
)
def test_a_path_or_sqlite_url_stays_sqlite(value: str, path: Path):
    config = Config.from_env({"BOT_TOKEN": "123:abc", "BOT_DATABASE": value})
    assert config.database == path


@pytest.mark.parametrize(
    "value", ["mysql://root@localhost/bot", "sqlite://data/x.sqlite3", "postgresql://"]
)
def test_an_unknown_database_url_is_refused(value: str):
    with pytest.raises(ConfigError, match="BOT_DATABASE"):
        Config.from_env({"BOT_TOKEN": "123:abc", "BOT_DATABASE": value})


def test_backup_of_a_postgresql_database_points_to_pg_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from bot.__main__ import main

    monkeypatch.setenv("BOT_DATABASE", "postgresql://stikk:s3cret@db.example/district")
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    assert main(["backup", str(tmp_path / "copy.sqlite3")]) == 1
    error = capsys.readouterr().err
    assert "pg_dump" in error and "s3cret" not in error
    assert not (tmp_path / "copy.sqlite3").exists()


def test_lease_seconds():
    base = {"BOT_TOKEN": "123:abc"}
    assert Config.from_env(base).lease_seconds == 30.0
    assert Config.from_env({**base, "BOT_LEASE_SECONDS": "5"}).lease_seconds == 5.0
    assert Config.from_env({**base, "BOT_LEASE_SECONDS": "90.5"}).lease_seconds == 90.5


@pytest.mark.parametrize("value", ["soon", "0", "-30", "2", "3601"])
def test_bad_lease_seconds_name_the_variable(value: str):
    with pytest.raises(ConfigError, match="BOT_LEASE_SECONDS"):
        Config.from_env({"BOT_TOKEN": "123:abc", "BOT_LEASE_SECONDS": value})
