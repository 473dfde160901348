"""Every export subcommand behaves alike: text to standard output by default, `--output FILE`
writes a file, and binary formats (XLSX) refuse to run without `--output`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.__main__ import main
from storage.db import DatabaseLocation
from tests.postgres import bot_database

EXAMPLE = Path(__file__).resolve().parent.parent / "surveys" / "example.toml"


@pytest.fixture
def database(database_location: DatabaseLocation, monkeypatch: pytest.MonkeyPatch) -> str:
    path = bot_database(database_location)
    monkeypatch.setenv("BOT_DATABASE", path)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    assert main(["surveys", "load", str(EXAMPLE)]) == 0
    return path


def test_survey_results_as_csv_go_to_standard_output(database, capsysbinary, tmp_path):
    capsysbinary.readouterr()
    assert main(["surveys", "results", "park-2026"]) == 0
    out = capsysbinary.readouterr().out.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(out)))
    assert header[:4] == ["response", "language", "started_on", "finished"]
    assert not list(tmp_path.glob("park-2026.*")), "nothing is written into the current folder"
    assert not list(Path.cwd().glob("park-2026.*"))


@pytest.mark.parametrize("command", [["surveys", "results", "park-2026"], ["tips", "export"]])
def test_binary_formats_need_an_output_file(database, capsys, command):
    assert main([*command, "--format", "xlsx"]) == 2
    assert "--output" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["surveys", "results", "park-2026"], ["tips", "export"]])
def test_output_writes_the_file_and_reports_on_standard_error(database, capsys, tmp_path, command):
    target = tmp_path / "out" / "export.xlsx"
    assert main([*command, "--format", "xlsx", "--output", str(target)]) == 0
    captured = capsys.readouterr()
    assert str(target) in captured.err and captured.out == ""
    assert load_workbook(target).active is not None


def test_help_says_where_exports_go(capsys):
    for command in (["surveys", "results", "--help"], ["tips", "export", "--help"]):
        with pytest.raises(SystemExit):
            main(command)
        assert "required for xlsx" in " ".join(capsys.readouterr().out.split())
