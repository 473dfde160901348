"""How every export subcommand reads its dates and writes its file, so they all behave alike.

    python -m bot tips export --format csv > tips.csv        # text: standard output
    python -m bot surveys results park --format xlsx --output park.xlsx   # binary: --output

Text formats go to standard output unless `--output FILE` is given, so they can be piped;
binary formats (XLSX) need `--output`, because spreadsheet bytes in a terminal help nobody.
Messages about the export go to standard error, never into the data.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path


def iso_date(value: str) -> date:
    """An argparse type for the commands' dates (YYYY-MM-DD), with a clear error."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-01-31") from None


#: Export formats whose bytes are not text.
BINARY_FORMATS = frozenset({"xlsx", "pdf"})

OUTPUT_HELP = "file to write (default: standard output; required for xlsx and pdf)"


def add_output_argument(parser: argparse.ArgumentParser) -> None:
    """The one `--output` option of every export subcommand."""
    parser.add_argument("--output", type=Path, help=OUTPUT_HELP)


def check_output(export_format: str, output: Path | None) -> str | None:
    """Why the export cannot be written where asked (None: it can), checked before any work."""
    if output is None and export_format in BINARY_FORMATS:
        return f"{export_format} is a binary format: give --output FILE"
    return None


def write_export(data: bytes, output: Path | None, what: str) -> None:
    """Write `data` to `output`, or to standard output when no file is given."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    print(f"{what} written to {output}", file=sys.stderr)
