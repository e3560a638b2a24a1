"""The knowledge search: a query's words, their pinyin, the editors' synonyms and the item
codes a typo away, looked up in the index in one grouped query, ranked by how many of the
query's words an article matches, then by their weight.

Each word of the query makes a group of terms (the word, its synonyms, a code's near
misses); an article scores one for each group it matches, so 身份证 补领 ranks the article
with both above those with either, however heavy."""

from __future__ import annotations

import functools
import operator

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from hotline.knowledge import indexing
from hotline.knowledge.records import SearchHit
from schemas.knowledge import KnowledgeArticle, KnowledgeSynonym, KnowledgeTerm, KnowledgeVersion
from schemas.models import ApprovalItem

MAX_GROUPS = 8
MAX_QUERY = 100


def query_groups(query: str, synonyms: list[list[str]], codes: list[str]) -> list[set[str]]:
    """The groups of terms a query looks up (see the module's docstring)."""
    text = query.strip().lower()[:MAX_QUERY]
    groups: list[set[str]] = []
    seen: set[str] = set()
    latin = indexing.LATIN.findall(text)
    tokens = indexing.words(text)
    if len(latin) > 1:  # "ju zhu zheng", "jz z": the pinyin typed with spaces
        tokens.append("".join(latin))
    for token in tokens:
        if token in seen:
            continue
        seen.add(token)
        group = {token}
        if indexing.CODE.match(token):
            code = indexing.code_term(token)
            group |= {code} | {c for c in codes if _one_edit(code, c)}
        for words in synonyms:
            if token in words:
                group |= set(words)
        for word in list(group):
            forms = indexing.pinyin_forms(word)
            if forms and word != token:
                group.add(forms[0])
        groups.append(group)
    # A shorter word inside a longer one (身份 in 身份证) adds nothing: drop groups that are
    # a part of another group's word, so that they do not double an article's count.
    kept = [g for g in groups if not any(
        g is not other and all(any(t in o and t != o for o in other) for t in g)
        for other in groups)]
    return kept[:MAX_GROUPS]


def search(session: Session, query: str, limit: int = 20) -> list[SearchHit]:
    synonyms = [row.split() for row in session.scalars(select(KnowledgeSynonym.words))]
    codes = []
    if any(indexing.CODE.match(t) for t in indexing.LATIN.findall(query.lower())):
        codes = [indexing.code_term(c) for c in session.scalars(select(ApprovalItem.code))]
    groups = query_groups(query, synonyms, codes)
    if not groups:
        return []
    terms = set().union(*groups)
    matched = functools.reduce(operator.add, [
        func.max(case((KnowledgeTerm.term.in_(sorted(g)), 1), else_=0)) for g in groups])
    score = func.sum(KnowledgeTerm.weight)
    ranked = (select(KnowledgeTerm.article_id, matched.label("matched"), score.label("score"))
              .where(KnowledgeTerm.term.in_(sorted(terms)))
              .group_by(KnowledgeTerm.article_id)
              .order_by(matched.desc(), score.desc(), KnowledgeTerm.article_id)
              .limit(limit).subquery())
    rows = session.execute(
        select(ranked.c.article_id, ranked.c.matched, ranked.c.score, KnowledgeVersion.title,
               KnowledgeVersion.answer, KnowledgeArticle.sample, ApprovalItem.code)
        .join(KnowledgeArticle, KnowledgeArticle.id == ranked.c.article_id)
        .join(KnowledgeVersion, KnowledgeVersion.id == KnowledgeArticle.published_version_id)
        .outerjoin(ApprovalItem, ApprovalItem.id == KnowledgeArticle.item_id)
        .order_by(ranked.c.matched.desc(), ranked.c.score.desc(), ranked.c.article_id))
    return [SearchHit(article_id, title, code, answer, sample, int(score), int(matched))
            for article_id, matched, score, title, answer, sample, code in rows]


def _one_edit(a: str, b: str) -> bool:
    """Whether `b` is one substitution, insertion, deletion or swap of neighbours from `a`
    (a code misheard or mistyped: hj011 for hj001 reads hj11 and hj1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))
