"""The terms an article is found by, and the terms of a query: jieba's words, each word's
pinyin and its initials (居住证: juzhuzheng, jzz), item codes in lower case. Both sides go
through the same functions, so what is indexed is what a query can hit.

jieba loads its dictionary (about a second) on first use; `warm()` does it at start-up so
that no caller waits for it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

import jieba  # type: ignore[import-untyped]
from pypinyin import lazy_pinyin

jieba.setLogLevel(60)  # its "Building prefix dict" lines go to stderr otherwise

MAX_TERM = 64  # knowledge_terms.term
HAN = re.compile(r"[\u3400-\u9fff]")
LATIN = re.compile(r"[a-z0-9]+")
CODE = re.compile(r"^([a-z]{1,4})0*(\d{1,4})$")

# Words too common in guides to tell one article from another.
STOP_WORDS = frozenset("的 了 和 与 及 或 在 是 等 为 有 可 可以 需 需要 办理 申请 如何 怎么 怎样 "
                       "什么 哪里 多少 吗 呢 请问 我 我们 你 您 要 想 问 一下 相关".split())

_lock = threading.Lock()
_warm = False


def warm() -> None:
    global _warm
    with _lock:
        if not _warm:
            jieba.initialize()
            _warm = True


def words(text: str) -> list[str]:
    """The words of `text` for search: jieba's finest cut (身份证 gives 身份 and 身份证),
    Latin runs lower-cased, stop words and lone punctuation left out."""
    warm()
    found = []
    for word in jieba.cut_for_search(text.lower()):
        word = word.strip()
        if not word or word in STOP_WORDS:
            continue
        if HAN.search(word) or LATIN.fullmatch(word):
            found.append(word[:MAX_TERM])
    return found


def pinyin_forms(word: str) -> tuple[str, str] | None:
    """A Chinese word's pinyin run together and its initials (居住证: juzhuzheng, jzz);
    None for a word with no Chinese in it."""
    if not HAN.search(word):
        return None
    syllables = [s for s in lazy_pinyin(word, errors="ignore") if s.isalpha()]
    if not syllables:
        return None
    return "".join(syllables)[:MAX_TERM], "".join(s[0] for s in syllables)[:MAX_TERM]


def code_term(code: str) -> str:
    """An item code as indexed: lower case, digits without leading zeros (HJ001, hj1: hj1)."""
    folded = code.strip().lower()
    match = CODE.match(folded)
    return f"{match.group(1)}{int(match.group(2))}" if match else folded


def weighted_terms(parts: Iterable[tuple[str, int]], codes: Iterable[str] = ()) -> dict[str, int]:
    """The index rows of an article: each term with its weight, the heaviest of the parts it
    occurs in (a word in the title is not outweighed by the same word in the body). A
    pinyin form weighs a little less than its word; a lone initial is not indexed (one
    letter finds everything)."""
    terms: dict[str, int] = {}

    def add(term: str, weight: int) -> None:
        if term and weight > terms.get(term, 0):
            terms[term] = weight

    for text, weight in parts:
        for word in words(text):
            add(word, weight)
            forms = pinyin_forms(word)
            if forms and weight >= 3:  # the body's pinyin would only add noise
                full, initials = forms
                add(full, weight - 1)
                if len(initials) > 1:
                    add(initials, weight - 2)
    for code in codes:
        add(code_term(code), 12)
    return terms
