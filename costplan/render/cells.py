"""Values from data made safe for the formats people open: spreadsheets and Markdown.

A tag or code comes from a force's export, so it may be anything. In a CSV that a
spreadsheet opens, a cell starting with =, +, -, @, a tab or a carriage return can run as a
formula (OWASP "CSV injection"): such a cell is prefixed with an apostrophe, which spreadsheets
show as text. In Markdown, markup characters are escaped so a value can never become HTML, a
link or a table break. HTML output escapes with `html.escape`; JSON needs nothing.
"""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|&])")  # what can open markup in a table cell


def csv_cell(value: str) -> str:
    """A data value as a CSV cell no spreadsheet will read as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def markdown_cell(value: str) -> str:
    """A data value as Markdown text: markup characters escaped, on one line."""
    one_line = " ".join(value.split())
    return _MARKDOWN.sub(r"\\\1", one_line)
