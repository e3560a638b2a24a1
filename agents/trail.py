"""An appeal's audit trail as people read it: who by their display name (the system's own
actors by what they are), what in the page's words, the states as the status words, and
the page views of one person in a row folded into one line with their count, so that eleven
views in two minutes do not bury the three steps around them.

The trail itself (`hotline.audit`) keeps every row as written: this is only its reading."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.audit import AuditRecord
from schemas.models import Agent

# The system's actors, by what the trail calls them (`trail.actor.<key>` words them).
SYSTEM_ACTORS = {"system:ivr": "ivr", "system:callback-survey": "survey",
                 "system:callback-queue": "callbacks", "system:sms-reply": "sms",
                 "api": "api"}


@dataclass(frozen=True)
class TrailRow:
    at: dt.datetime
    until: dt.datetime | None  # the last of folded views
    actor: str  # as shown
    action: str  # the raw action (for tests and styling)
    label: str  # in words
    states: str  # "已受理 → 已交办", or ""
    note: str
    count: int  # folded views: how many


def display_names(session: Session, trail: Iterable[AuditRecord]) -> dict[str, str]:
    """username -> display name of the people on a trail, in one query."""
    names = {e.actor for e in trail if not e.actor.startswith("system:")}
    if not names:
        return {}
    return dict(session.execute(select(Agent.username, Agent.display_name)
                                .where(Agent.username.in_(names))).all())


def readable(trail: Iterable[AuditRecord], names: Mapping[str, str],
             t: Callable[..., str], known: Callable[[str], bool]) -> list[TrailRow]:
    """The rows to show; `known(key)` says whether the page's words have `key`."""
    def word(key: str, fallback: str) -> str:
        return t(key) if known(key) else fallback

    def actor(name: str) -> str:
        if name in SYSTEM_ACTORS:  # before the people: "api" is no one's username
            return word(f"trail.actor.{SYSTEM_ACTORS[name]}", name)
        if name.startswith("system:"):
            return word("trail.actor.system", name)
        shown = names.get(name)
        return f"{shown}（{name}）" if shown and shown != name else name

    rows: list[TrailRow] = []
    for e in trail:
        last = rows[-1] if rows else None
        if (e.action == "view" and last is not None and last.action == "view"
                and last.actor == actor(e.actor)):
            rows[-1] = TrailRow(last.at, e.at, last.actor, "view", last.label, "",
                                last.note, last.count + 1)
            continue
        states = ""
        if e.from_state or e.to_state:
            states = " → ".join(word(f"status.{s}", s) for s in (e.from_state, e.to_state)
                                if s)
        rows.append(TrailRow(e.at, None, actor(e.actor), e.action,
                             word(f"trail.action.{e.action}", e.action), states,
                             e.note or "", 1))
    return rows
