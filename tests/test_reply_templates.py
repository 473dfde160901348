"""Reply templates: the TOML file staff write, its checks, loading it from the command line, and
picking the text a resident gets (human-written, else machine-translated, else a fallback)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bridge.templates import (
    MAX_TEXT,
    TemplateFileError,
    TemplateText,
    check_telegram_html,
    choose_template_text,
    parse_templates,
)
from bot.bridge.translation import LibreTranslateClient, Translator
from sandbox.fake_translate import FakeTranslate
from storage import replies
from storage.db import Database, DatabaseLocation
from storage.replies import ReplyTemplate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "replies" / "example.toml"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_location: DatabaseLocation) -> AsyncIterator[Database]:
    database = await Database.open(database_location)
    yield database
    await database.close()


def problems_of(source: str, staff_language: str = "nb") -> list[str]:
    with pytest.raises(TemplateFileError) as caught:
        parse_templates(source, staff_language)
    return caught.value.problems


def test_the_shipped_example_is_valid_and_leaves_polish_to_the_machine():
    templates = parse_templates(EXAMPLE.read_bytes(), "nb")
    by_key = {template.key: template for template in templates}
    assert list(by_key) == ["opening-hours", "send-photo", "come-by", "forwarded"]
    assert all("ur" in template.texts for template in templates)
    assert "pl" not in by_key["come-by"].texts
    assert by_key["opening-hours"].label == "Åpningstider"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('[hours\nnb = "x"', "the file is not valid TOML"),
        ('[hours]\nen = "Open 9-15"', "hours: needs a text in nb (BOT_STAFF_LANGUAGE)"),
        ('[hours]\nnb = "Åpent"\nde = "Offen"', "hours.de: unknown language code; use nb, en"),
        ('[hours]\nnb = ""', 'hours.nb: must be a text in quotes, like nb = "..."'),
        ('[hours]\nnb = "x"\nlabel = "' + "y" * 41 + '"', "hours.label: is longer than 40"),
        ("[hours]\nnb = 'Ma & ti'", "hours.nb: bad HTML: a & must be written &amp;"),
        ("[hours]\nnb = '<b>Åpent'", "hours.nb: bad HTML: <b> is never closed"),
        ("[hours]\nnb = 'Åpent<br>9-15'", "hours.nb: bad HTML: Telegram has no <br>"),
        ("[hours]\nnb = '<div>x</div>'", "hours.nb: bad HTML: Telegram does not know the tag"),
        ("[hours]\nnb = 'a < b'", "hours.nb: bad HTML: a < must be written &lt;"),
        ("[hours]\nnb = '<b><i>x</b></i>'", "hours.nb: bad HTML: </b> closes a tag"),
        (f"[hours]\nnb = '{'å' * (MAX_TEXT + 1)}'", "hours.nb: too long for Telegram: 3501"),
        ('[Opening]\nnb = "x"', "[Opening]: a template's name is small letters"),
        ('hours = "x"', "hours: write it as a table"),
        ("# nothing yet\n", "the file has no templates"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_sentence(source, expected):
    problems = problems_of(source)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_every_problem_is_listed_at_once():
    problems = problems_of('[a]\nen = "x"\n\n[b]\nnb = "x &"\nxx = "y"\n')
    assert len(problems) == 3, problems


def test_the_staff_language_decides_which_text_is_required():
    assert problems_of('[a]\nnb = "Hei"', staff_language="en")[0].startswith(
        "a: needs a text in en"
    )
    assert parse_templates('[a]\nen = "Hi"', "en")[0].texts == {"en": "Hi"}


def test_telegram_html_that_is_fine():
    assert (
        check_telegram_html('<b>Åpent</b> &amp; <a href="https://oslo.kommune.no">x</a>') is None
    )
    assert check_telegram_html("9 > 8 &lt; 10 &#128512;") is None
    assert check_telegram_html("<blockquote expandable>x</blockquote>") is None


async def test_loading_replaces_the_list(db):
    first = parse_templates(EXAMPLE.read_bytes(), "nb")
    summary = await replies.replace_all(db, first, NOW)
    assert (summary.added, summary.updated, summary.removed) == (4, 0, 0)
    second = parse_templates('[forwarded]\nnb = "Sendt videre."\n\n[new]\nnb = "Ny."', "nb")
    summary = await replies.replace_all(db, second, NOW)
    assert (summary.added, summary.updated, summary.removed) == (1, 1, 3)
    stored = await replies.all_templates(db)
    assert [t.key for t in stored] == ["forwarded", "new"]
    assert stored[0].texts == {"nb": "Sendt videre."}
    assert await replies.get(db, "new") == ReplyTemplate("new", "New", {"nb": "Ny."})


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOT_DATABASE": str(tmp_path / "cli.sqlite3")}
    env.pop("BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "replies", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_replies_load_from_the_command_line(tmp_path):
    loaded = run_cli(tmp_path, "load", str(EXAMPLE))
    assert loaded.returncode == 0, loaded.stderr
    assert "4 reply templates loaded (4 new, 0 updated, 0 removed)" in loaded.stdout
    assert "come-by: nb, en, ar, so, ur" in loaded.stdout
    listed = run_cli(tmp_path, "list")
    assert listed.stdout.splitlines()[0].split("\t") == [
        "opening-hours",
        "Åpningstider",
        "nb, en, ar, so, ur, pl",
    ]


def test_a_bad_file_saves_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[hours]\nen = "Open"\nnb = "Ma & ti"\n', encoding="utf-8")
    result = run_cli(tmp_path, "load", str(bad))
    assert result.returncode == 1
    assert f"{bad}: hours.nb: bad HTML: a & must be written &amp;" in result.stderr
    assert "Nothing was saved." in result.stderr
    assert "no reply templates" in run_cli(tmp_path, "list").stdout


# --- the text a resident gets ---
TEMPLATE = ReplyTemplate(
    "come-by",
    "Kom innom",
    {
        "nb": "Kom innom på <b>kontoret</b> &amp; ta med legitimasjon.",
        "en": "Come by the <b>office</b> &amp; bring ID.",
        "ur": "براہ کرم <b>دفتر</b> تشریف لائیں۔",
    },
)


async def test_human_text_where_the_file_has_it(db):
    chosen = await choose_template_text(TEMPLATE, "ur", Translator(None, db), "nb")
    assert chosen == TemplateText("براہ کرم <b>دفتر</b> تشریف لائیں۔", False, "ur")


async def test_machine_translation_where_it_has_not(db):
    async with FakeTranslate() as server:
        client = LibreTranslateClient(server.url)
        translator = Translator(client, db)
        try:
            chosen = await choose_template_text(TEMPLATE, "pl", translator, "nb")
            again = await choose_template_text(TEMPLATE, "pl", translator, "nb")
        finally:
            await client.close()
    # The plain text is translated (so the answer cannot break the HTML) and escaped again.
    assert server.translations()[0]["q"] == "Kom innom på kontoret & ta med legitimasjon."
    assert chosen == TemplateText(
        "[nb-&gt;pl] Kom innom på kontoret &amp; ta med legitimasjon.", True, "pl"
    )
    assert check_telegram_html(chosen.text) is None
    assert again == chosen and server.count("/translate") == 1  # templates are cached too


async def test_with_the_translator_down_english_then_the_staff_language(db):
    async with FakeTranslate() as server:
        server.mode = "error"
        client = LibreTranslateClient(server.url)
        try:
            chosen = await choose_template_text(TEMPLATE, "so", Translator(client, db), "nb")
        finally:
            await client.close()
    assert chosen == TemplateText(TEMPLATE.texts["en"], False, "en")
    norwegian_only = ReplyTemplate("x", "X", {"nb": "Hei"})
    assert await choose_template_text(norwegian_only, "so", None, "nb") == TemplateText(
        "Hei", False, "nb"
    )
