"""The deployment examples (docs/deploy) stay in step with the run contract: an operator who
copies them gets settings the bot reads and a command it has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "docs" / "deploy"
SETTING = re.compile(r"\bBOT_[A-Z_]+\b")


def settings_read_by_the_bot() -> set[str]:
    return set(SETTING.findall((ROOT / "bot" / "config.py").read_text(encoding="utf-8")))


@pytest.mark.parametrize("example", sorted(p.name for p in DEPLOY.iterdir()))
def test_every_setting_an_example_names_is_one_the_bot_reads(example: str):
    named = set(SETTING.findall((DEPLOY / example).read_text(encoding="utf-8")))
    assert named <= settings_read_by_the_bot(), named - settings_read_by_the_bot()


def test_the_readme_names_only_settings_the_bot_reads():
    named = set(SETTING.findall((ROOT / "README.md").read_text(encoding="utf-8")))
    assert named <= settings_read_by_the_bot(), named - settings_read_by_the_bot()


@pytest.mark.parametrize("unit", ["stikk-innom.service", "stikk-innom@.service"])
def test_the_units_run_the_bot_and_stop_it_with_sigterm(unit: str, capsys):
    text = (DEPLOY / unit).read_text(encoding="utf-8")
    (command,) = re.findall(r"^ExecStart=\S+/python -m bot (\S+)$", text, re.MULTILINE)
    assert command == "run"
    assert "KillSignal=SIGTERM" in text
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0 and "run" in capsys.readouterr().out


def test_the_city_examples_balance_two_instances():
    caddy = (DEPLOY / "Caddyfile.city").read_text(encoding="utf-8")
    upstreams = re.search(r"reverse_proxy ((?:\S+:\d+ ?){2,}) \{", caddy)
    assert upstreams is not None and len(upstreams.group(1).split()) == 2
    unit = (DEPLOY / "stikk-innom@.service").read_text(encoding="utf-8")
    # Shared settings, and the instance's own listening address.
    assert "EnvironmentFile=/etc/stikk-innom/city.env" in unit
    assert "EnvironmentFile=/etc/stikk-innom/%i.env" in unit
    assert "BOT_WEBHOOK_LISTEN=" in unit and "postgresql://" in unit
