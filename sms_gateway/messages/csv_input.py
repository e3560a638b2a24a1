"""Reading the CSV files operators hand in (reminder lists, warning number lists): their
encoding, their physical lines and their rows, in one place for every command that reads one.

Encoding. The whole file is decoded strictly before any row is read, streamed in blocks
through incremental decoders (memory does not grow with the file), so that a file in the
wrong encoding changes nothing and its first bad bytes are named by line and byte offset.
`auto` (the default) reads a file that begins with the UTF-8 byte order mark (Excel's "CSV
UTF-8") as UTF-8, a pure-ASCII file as UTF-8, and otherwise whichever of UTF-8 and GB18030
(GBK's superset: Excel in China saves CSV as GBK) decodes it. A file that decodes both ways
is refused: small files often do (the UTF-8 of 鲁Q12345 is the GBK of 椴丵12345), and
guessing would import mojibake without a word. The operator says which with `--encoding`.

Rows. The csv module's parsing, with three guards around it, each making a bad row that is
reported by the physical line it begins on while reading goes on with the next one:
- a field over the csv module's field limit (131,072 characters);
- a physical line over `MAX_LINE` characters (its text is never held);
- an unbalanced quote. A quoted field may run over line breaks (Excel writes a cell typed
  with Alt+Enter so), but not to the end of the file, not beyond `MAX_ROW_LINES` lines, and
  not over a line that reads as a row of its own (as many cells as the file's first row):
  that is a quote left open, which would otherwise swallow the rows after it. The row is
  reported at its first line and the lines after that are read again as rows, so that every
  line ends up in a row that is either read or reported.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

BLOCK = 1 << 20  # bytes (or characters) read at a time
MAX_LINE = 1 << 20  # characters in one physical line, its line break included
MAX_ROW_LINES = 10  # physical lines one row may span inside quoted fields
AUTO = "auto"
# What --encoding accepts, by the codec's canonical name: ASCII-compatible encodings only,
# so that a line break is the same byte in each.
ENCODINGS = {"utf-8": "UTF-8", "gbk": "GBK", "gb18030": "GB18030", "gb2312": "GB2312"}
HINT = "pass --encoding utf-8 or --encoding gbk"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


class EncodingError(ValueError):
    """The file as a whole cannot be decoded, or not told apart: nothing is read from it."""


def encoding_argument(text: str) -> str:
    """`--encoding`: `auto`, or one of `ENCODINGS` by any of its names (utf8, cp936, ...)."""
    if text.lower() == AUTO:
        return AUTO
    try:
        name = codecs.lookup(text).name
    except LookupError:
        name = ""
    name = "utf-8" if name == "utf-8-sig" else name
    if name not in ENCODINGS:
        raise argparse.ArgumentTypeError(
            f"expected auto, {', '.join(ENCODINGS)}; got {text!r}")
    return name


@dataclass(frozen=True)
class TextFile:
    """A file known to decode in `encoding` (a key of `ENCODINGS`)."""

    path: Path
    encoding: str
    detected: bool  # told by `auto`, not given

    @property
    def label(self) -> str:
        return ENCODINGS[self.encoding] + (" (detected)" if self.detected else "")

    def lines(self) -> Iterator[str | LongLine]:
        """Its physical lines (see `physical_lines`); the file is open while they are read."""
        codec = "utf-8-sig" if self.encoding == "utf-8" else self.encoding
        with self.path.open(encoding=codec, newline="") as stream:
            yield from physical_lines(stream)


def open_text(path: Path, encoding: str = AUTO, block_size: int = BLOCK) -> TextFile:
    """Check that the whole file decodes in `encoding`, or tell which one it is in (`auto`);
    raises `EncodingError` naming the bad bytes, or saying that the file decodes both ways."""
    if encoding != AUTO:
        scan = _scan(path, [encoding], block_size)
        if encoding in scan.invalid:
            raise EncodingError(f"{path.name} is not {ENCODINGS[encoding]} text: "
                                f"{_where(path, scan.invalid[encoding])}")
        return TextFile(path, encoding, detected=False)
    with path.open("rb") as handle:
        bom = handle.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    if bom:
        scan = _scan(path, ["utf-8"], block_size)
        if scan.invalid:
            raise EncodingError(f"{path.name} begins with a UTF-8 byte order mark but is not "
                                f"UTF-8 text: {_where(path, scan.invalid['utf-8'])}")
        return TextFile(path, "utf-8", detected=True)
    scan = _scan(path, ["utf-8", "gb18030"], block_size)
    utf8, gbk = "utf-8" not in scan.invalid, "gb18030" not in scan.invalid
    if scan.first_non_ascii is None or utf8 and not gbk:
        return TextFile(path, "utf-8", detected=True)
    if gbk and not utf8:
        return TextFile(path, "gb18030", detected=True)
    if utf8 and gbk:
        raise EncodingError(f"{path.name} decodes both as UTF-8 and as GBK (GB18030), so its "
                            f"encoding cannot be told ({_both_ways(path, scan.first_non_ascii)})"
                            f": {HINT}")
    raise EncodingError(f"{path.name} is neither UTF-8 text ({_where(path, scan.invalid['utf-8'])})"
                        f" nor GBK (GB18030) text ({_where(path, scan.invalid['gb18030'])})")


@dataclass(frozen=True)
class _Invalid:
    offset: int  # from the start of the file
    data: bytes
    reason: str


@dataclass(frozen=True)
class _Scan:
    invalid: dict[str, _Invalid]  # encoding -> its first bad bytes
    first_non_ascii: int | None  # offset


def _scan(path: Path, encodings: list[str], block_size: int) -> _Scan:
    """Decode the whole file in each encoding at once, in blocks, keeping only where each
    failed first (an encoding that failed is not fed again; all failed: reading stops)."""
    decoders = {name: codecs.getincrementaldecoder(name)("strict") for name in encodings}
    invalid: dict[str, _Invalid] = {}
    first_non_ascii = None
    offset = 0
    with path.open("rb") as handle:
        while decoders:
            block = handle.read(block_size)
            if first_non_ascii is None and (found := _NON_ASCII.search(block)):
                first_non_ascii = offset + found.start()
            for name, decoder in list(decoders.items()):
                held = len(decoder.getstate()[0])  # bytes of a character begun in a block before
                try:
                    decoder.decode(block, final=not block)
                except UnicodeDecodeError as error:
                    invalid[name] = _Invalid(offset - held + error.start,
                                             error.object[error.start:error.end], error.reason)
                    del decoders[name]
            if not block:
                break
            offset += len(block)
    return _Scan(invalid, first_non_ascii)


def _where(path: Path, invalid: _Invalid) -> str:
    return (f"line {_line_of(path, invalid.offset)}, byte offset {invalid.offset}: "
            f"{invalid.data!r}, {invalid.reason}")


def _line_of(path: Path, offset: int) -> int:
    """The physical line (counted as the rows are: CR LF, CR or LF) holding byte `offset`."""
    line, last = 1, b""
    with path.open("rb") as handle:
        while offset > 0 and (block := handle.read(min(BLOCK, offset))):
            offset -= len(block)
            line += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
            if last == b"\r" and block.startswith(b"\n"):
                line -= 1
            last = block[-1:]
    return line


def _both_ways(path: Path, offset: int) -> str:
    """Its first text other than ASCII as it reads each way, for the operator to choose. The
    first non-ASCII byte begins a character in either encoding (every byte before it is
    ASCII); the excerpt ends at the line's end or after 30 bytes."""
    with path.open("rb") as handle:
        handle.seek(offset)
        excerpt = re.split(rb"[\r\n]", handle.read(30))[0]
    utf8, gbk = (excerpt.decode(name, "replace").rstrip("\ufffd") for name in ("utf-8", "gb18030"))
    return f"line {_line_of(path, offset)} has {utf8!r} in UTF-8, {gbk!r} in GBK"


@dataclass(frozen=True)
class LongLine:
    """A physical line over `limit` characters, in place of its text."""

    limit: int


def physical_lines(stream: TextIO, limit: int = MAX_LINE,
                   block_size: int = BLOCK) -> Iterator[str | LongLine]:
    """The lines of a text stream opened with `newline=""`, each with its line break (CR LF,
    CR or LF, as the csv module and universal newlines split them), read in blocks; a line
    over `limit` characters is a `LongLine`, its text dropped as it is read."""
    tail, dropping, long_line = "", False, LongLine(limit)
    while True:
        block = stream.read(block_size)
        text = tail + block
        start = 0
        for found in _LINE_BREAK.finditer(text):
            if block and found.group() == "\r" and found.end() == len(text):
                break  # perhaps the CR of a CR LF split between blocks
            if dropping:
                dropping = False
            else:
                line = text[start:found.end()]
                yield long_line if len(line) > limit else line
            start = found.end()
        tail = text[start:]
        if not block:
            if tail and not dropping:
                yield long_line if len(tail) > limit else tail
            return
        if not dropping and len(tail) > limit:
            yield long_line
            dropping = True
        if dropping:
            tail = tail[-1:] if tail.endswith("\r") else ""


@dataclass(frozen=True)
class Record:
    line: int  # the physical line it begins on
    cells: list[str]


@dataclass(frozen=True)
class BadRecord:
    line: int
    reason: str


class _Bad(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line, self.reason = line, reason


class _Lines:
    """The physical lines the csv reader pulls, numbered, and the lines of the row it is
    reading. The reader pulls a line after the first of a row only while a quoted field is
    open; that is where a quote left open is told and the row cut off, its later lines put
    back to be read again."""

    def __init__(self, lines: Iterable[str | LongLine]) -> None:
        self._lines = enumerate(lines, start=1)
        self._again: deque[tuple[int, str | LongLine]] = deque()
        self.row: list[tuple[int, str]] = []
        self.width = 0  # cells in the file's first row

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        taken = self._again.popleft() if self._again else next(self._lines, None)
        if not self.row:
            if taken is None:
                raise StopIteration
            number, text = taken
            if isinstance(text, LongLine):
                raise _Bad(number, f"the line is longer than {text.limit:,} characters")
            self.row.append((number, text))
            return text
        reason = self._open_quote(taken)
        if reason is None:
            assert taken is not None and isinstance(taken[1], str)
            self.row.append((taken[0], taken[1]))
            return taken[1]
        first = self.row[0][0]
        self.read_again([*self.row[1:], *([taken] if taken is not None else [])])
        raise _Bad(first, f"unbalanced quote: a quoted field does not close {reason}")

    def _open_quote(self, taken: tuple[int, str | LongLine] | None) -> str | None:
        """Why the line `taken` cannot continue the open quoted field, if it cannot."""
        if taken is None:
            return "before the end of the file"
        number, text = taken
        if len(self.row) >= MAX_ROW_LINES:
            return f"within {MAX_ROW_LINES} lines"
        if isinstance(text, LongLine):
            return f"before line {number}, which is longer than {text.limit:,} characters"
        try:
            cells = next(csv.reader([text]), [])
        except csv.Error:
            return f"before line {number}, which is not CSV"
        if len(cells) >= max(self.width, 1):
            return f"before line {number}, which reads as a row of its own"
        return None

    def read_again(self, lines: Sequence[tuple[int, str | LongLine]]) -> None:
        """Put `lines` back before any others, and start a new row."""
        self._again.extendleft(reversed(lines))
        self.row = []

    def begin(self) -> None:
        self.row = []


def records(lines: Iterable[str | LongLine]) -> Iterator[Record | BadRecord]:
    """The rows of a CSV given as physical lines (`TextFile.lines()`, or any lines), each a
    `Record` or a `BadRecord`, by the line it begins on. A byte order mark is dropped."""
    source = _Lines(lines)
    reader = csv.reader(source)
    while True:
        source.begin()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _Bad as bad:
            yield BadRecord(bad.line, bad.reason)
            continue
        except csv.Error as error:
            first = source.row[0][0] if source.row else 0
            source.read_again(source.row[1:])
            yield BadRecord(first, _reason(error))
            continue
        first = source.row[0][0]
        if first == 1 and cells:
            cells[0] = cells[0].lstrip("\ufeff")
        if not source.width:
            source.width = len(cells)
        yield Record(first, cells)


def _reason(error: csv.Error) -> str:
    if "field limit" in str(error):
        return f"a field is longer than {csv.field_size_limit():,} characters"
    return f"not CSV: {error}"
