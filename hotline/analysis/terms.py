"""Hot topics (热点词): the terms of the appeals' subjects and bodies, segmented with jieba
plus a user dictionary of police and place words and a stop-word list.

The shipped words are `lexicon.toml` beside this module; a bureau adds its own in two plain
text files that `[analysis] user_dictionary` and `stop_words` name (one word a line, `#`
starts a comment; in the dictionary a line may carry jieba's frequency and tag after the
word; a line `-词` takes a shipped word out). A term is counted once per appeal that has it
(document frequency), so one long complaint cannot make a topic.

Segmenting is the costly part (tens of thousands of appeals a month), so `TermIndex` keeps
each ended day's counts in memory: a day that is over does not change, and the page and the
printable report read the same month many times. Today is always segmented afresh.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import tomllib
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.models import Appeal

LEXICON = Path(__file__).with_name("lexicon.toml")
MIN_LENGTH = 2  # a single character says nothing (的, 车, 狗)
BODY_CHARS = 300  # of an appeal's body segmented beside its subject
HOT_LIMIT = 20
RISING_MIN = 3  # appeals in the period a rising term has at least
RISING_RATIO = 1.5  # and this many times (plus one) what the comparison period had
CACHED_DAYS = 800
_WORDLIKE = re.compile(r"^[\w\u4e00-\u9fff]+$")
_DIGITS = re.compile(r"^[\d.]+$")


class LexiconError(ValueError):
    """A dictionary or stop-word file cannot be read; the message names it and the line."""


@dataclass(frozen=True)
class Lexicon:
    words: tuple[tuple[str, int | None, str | None], ...]  # (word, frequency, tag)
    stop_words: frozenset[str]

    @property
    def version(self) -> int:
        return hash((self.words, self.stop_words))


def load_lexicon(user_dictionary: str | Path | None = None,
                 stop_words: str | Path | None = None) -> Lexicon:
    """The shipped words with the bureau's files (either may be absent: "" or None)."""
    shipped = tomllib.loads(LEXICON.read_text("utf-8"))
    words: dict[str, tuple[str, int | None, str | None]] = {
        w: (w, None, None) for w in shipped["words"]}
    stops = set(shipped["stop_words"])
    if user_dictionary:
        for number, fields in _lines(user_dictionary):
            if fields[0].startswith("-"):
                words.pop(fields[0][1:], None)
                continue
            frequency = None
            if len(fields) > 1:
                if not fields[1].isdigit():
                    raise LexiconError(f"{user_dictionary}, line {number}: the frequency after "
                                       f"the word must be a whole number, got {fields[1]!r}")
                frequency = int(fields[1])
            words[fields[0]] = (fields[0], frequency, fields[2] if len(fields) > 2 else None)
    if stop_words:
        for _number, fields in _lines(stop_words):
            if fields[0].startswith("-"):
                stops.discard(fields[0][1:])
            else:
                stops.add(fields[0])
    return Lexicon(tuple(words.values()), frozenset(stops))


def _lines(path: str | Path) -> Iterable[tuple[int, list[str]]]:
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LexiconError(f"cannot read {path}: {error}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if fields:
            yield number, fields


class Segmenter:
    """jieba's own tokenizer object (not the module's global one), with the lexicon's words
    added; built on first use, in the thread that needs it (loading takes about a second)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._tokenizer = None
        self._lock = threading.Lock()

    def _ready(self):
        with self._lock:
            if self._tokenizer is None:
                import logging

                import jieba  # type: ignore[import-untyped]

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for word, frequency, tag in self.lexicon.words:
                    tokenizer.add_word(word, frequency, tag)
                self._tokenizer = tokenizer
            return self._tokenizer

    def terms(self, text: str) -> set[str]:
        """The distinct terms of `text` worth counting."""
        stops = self.lexicon.stop_words
        return {word for word in self._ready().cut(text)
                if len(word) >= MIN_LENGTH and word not in stops and _WORDLIKE.match(word)
                and not _DIGITS.match(word)}


def appeal_text(subject: str, body: str | None) -> str:
    return f"{subject}\n{(body or '')[:BODY_CHARS]}"


@dataclass(frozen=True)
class TermRow:
    term: str
    current: int  # appeals of the period with the term
    previous: int  # of the comparison period
    expected: float  # `previous` scaled to the period's length

    @property
    def delta(self) -> int:
        return self.current - self.previous

    @property
    def change(self) -> float | None:
        return None if not self.previous else round(self.current / self.previous - 1, 4)

    @property
    def rise(self) -> float:
        """How much more often than expected: (current + 1) / (expected + 1)."""
        return (self.current + 1) / (self.expected + 1)


@dataclass(frozen=True)
class HotTopics:
    hot: tuple[TermRow, ...]  # most appeals first
    rising: tuple[TermRow, ...]  # fastest rising first
    appeals: int  # of the period, segmented
    previous_appeals: int


class TermIndex:
    """Term counts per local day, the ended days kept (see the module's docstring)."""

    def __init__(self, segmenter: Segmenter, *, cached_days: int = CACHED_DAYS) -> None:
        self.segmenter = segmenter
        self.cached_days = cached_days
        self._days: OrderedDict[tuple[dt.datetime, int], tuple[Counter[str], int]] = OrderedDict()
        self._lock = threading.Lock()

    def counts(self, session: Session, bounds: Sequence[dt.datetime], *,
               now: dt.datetime) -> tuple[Counter[str], int]:
        """The terms' appeal counts over the days between `bounds` (each day's start, then
        the end), and the appeals counted."""
        total: Counter[str] = Counter()
        appeals = 0
        missing = []
        version = self.segmenter.lexicon.version
        for start, end in zip(bounds, bounds[1:], strict=False):
            with self._lock:
                cached = self._days.get((start, version))
                if cached is not None:
                    self._days.move_to_end((start, version))
            if cached is None:
                missing.append((start, end))
            else:
                total.update(cached[0])
                appeals += cached[1]
        for start, end in _runs(missing):
            by_day = self._segment(session, start, end, [s for s, e in missing
                                                         if start <= s and e <= end])
            for day_start, (counter, count) in by_day.items():
                total.update(counter)
                appeals += count
                day_end = next(e for s, e in missing if s == day_start)
                if day_end <= now:
                    self._keep((day_start, version), (counter, count))
        return total, appeals

    def _segment(self, session: Session, start: dt.datetime, end: dt.datetime,
                 starts: list[dt.datetime]) -> dict[dt.datetime, tuple[Counter[str], int]]:
        result: dict[dt.datetime, tuple[Counter[str], int]] = {s: (Counter(), 0) for s in starts}
        rows = session.execute(select(Appeal.created_at, Appeal.subject, Appeal.body)
                               .where(Appeal.created_at >= start, Appeal.created_at < end)
                               .execution_options(yield_per=5000))
        for created_at, subject, body in rows:
            day = _day_of(created_at, starts)
            counter, count = result[day]
            counter.update(self.segmenter.terms(appeal_text(subject, body)))
            result[day] = (counter, count + 1)
        return result

    def _keep(self, key: tuple[dt.datetime, int], value: tuple[Counter[str], int]) -> None:
        with self._lock:
            self._days[key] = value
            while len(self._days) > self.cached_days:
                self._days.popitem(last=False)


def _runs(spans: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Adjacent days merged, so that a month not yet cached is one range scan."""
    runs: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in spans:
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


def _day_of(moment: dt.datetime, starts: list[dt.datetime]) -> dt.datetime:
    day = starts[0]
    for start in starts:
        if start <= moment:
            day = start
        else:
            break
    return day


def hot_topics(current: Counter[str], previous: Counter[str], *, appeals: int,
               previous_appeals: int, days: int, previous_days: int,
               limit: int = HOT_LIMIT) -> HotTopics:
    """The most frequent terms, and those rising fastest against the comparison period (at
    least RISING_MIN appeals now, RISING_RATIO times the comparison period's rate, both
    plus one)."""
    scale = days / previous_days if previous_days else 1.0

    def row(term: str) -> TermRow:
        return TermRow(term, current[term], previous.get(term, 0),
                       round(previous.get(term, 0) * scale, 2))

    hot = [row(t) for t, _ in sorted(current.items(), key=lambda i: (-i[1], i[0]))[:limit]]
    candidates = [row(t) for t, n in current.items() if n >= RISING_MIN]
    rising = sorted((r for r in candidates if r.rise >= RISING_RATIO),
                    key=lambda r: (-r.rise, -r.current, r.term))[:limit]
    return HotTopics(tuple(hot), tuple(rising), appeals, previous_appeals)
