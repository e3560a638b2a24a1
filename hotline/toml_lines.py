"""Where things sit in a TOML text, for error messages that name a line: `tomllib` gives
values without positions. One home for the operators' TOML files (the holiday list, the
units, the approval catalogue), which all report a bad entry by its line.

It reads the text line by line, as an operator writes these files: a table header on a line
of its own, one `key = value` per line. An entry written some other way (an inline table)
has no line of its own and is reported without one.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


class TomlLines:
    """The line of each top-level key, of each `[[name]]` entry and its keys, and of each
    single `[name]` table (often a `[[name]]` written with one bracket)."""

    def __init__(self, text: str) -> None:
        self._text_lines = text.splitlines()
        self.top: dict[str, int] = {}
        self.tables: dict[str, list[tuple[int, dict[str, int]]]] = {}
        self.single_tables: dict[str, int] = {}
        keys: dict[str, int] | None = None
        for number, line in enumerate(self._text_lines, 1):
            header = _HEADER.match(line)
            if header:
                name = header.group(1)
                keys = {}
                if line.lstrip().startswith("[["):
                    self.tables.setdefault(name, []).append((number, keys))
                else:
                    self.single_tables.setdefault(name, number)
                continue
            key = _KEY.match(line)
            if key:
                target = self.top if keys is None else keys
                target.setdefault(key.group(1), number)

    def entry(self, kind: str, index: int, key: str | None = None) -> int | None:
        """The line of the `index`-th `[[kind]]` entry, or of its `key` (its header's line
        when the key is not on a line of its own)."""
        entries = self.tables.get(kind, [])
        if index >= len(entries):
            return None  # written inline (kind = [{...}]): no line of its own
        header, keys = entries[index]
        return keys.get(key, header) if key else header

    def table(self, name: str) -> int | None:
        """The line that names `name` at the top: `[name]`, `[[name]]` or `name = ...`."""
        entries = self.tables.get(name)
        if entries:
            return entries[0][0]
        return self.single_tables.get(name, self.top.get(name))

    def find(self, text: str, start: int | None = 1) -> int | None:
        """The first line at or after `start` that contains `text`."""
        for number in range(max(start or 1, 1), len(self._text_lines) + 1):
            if text in self._text_lines[number - 1]:
                return number
        return None
