"""What a resident typed, made safe for an XLSX cell.

A stray control character (a U+0007 from a phone keyboard, a pasted U+001B) makes openpyxl
refuse the whole workbook, because XML 1.0 cannot hold it: one tip or answer would break every
export. Every export that writes resident text into XLSX passes it through `xlsx_cell`. (Text
that starts like a formula is each export's own business: see `bot.tips.export` and
`bot.surveys.results`.)
"""

from __future__ import annotations

#: Shown where a character was that a spreadsheet cannot hold.
REPLACEMENT = "\ufffd"


def xlsx_cell(value: object) -> object:
    """`value` as an XLSX cell: characters XML cannot hold replaced by U+FFFD."""
    if not isinstance(value, str):
        return value
    # openpyxl's own list of what it refuses; imported here with the rest of openpyxl, which
    # only exports need.
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, value)
