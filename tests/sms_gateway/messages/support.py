"""Building the content layer on a test database, and reading back what it queued."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace

from sqlalchemy import select

from hotline.appeals import ResolveHook
from hotline.config import Config
from schemas.enums import SmsKind
from schemas.sms import SmsMessage
from sms_gateway.messages.config import MessagesConfig
from sms_gateway.messages.service import Messaging, build
from tests.support.appeals import SHANGHAI, make_repository


def messaging(**settings) -> Messaging:
    return build(Config(), SHANGHAI, MessagesConfig(**settings))


def shanghai(*args) -> dt.datetime:
    """A Shanghai wall-clock time, as the aware UTC time the code stores."""
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class Sent:
    id: int
    kind: SmsKind
    lane: int
    destination: str
    text: str
    state: str
    not_before: dt.datetime
    appeal_id: int | None
    dedupe_key: str | None


def messages(session, kind: SmsKind | None = None) -> list[Sent]:
    query = select(SmsMessage).order_by(SmsMessage.id)
    if kind is not None:
        query = query.where(SmsMessage.kind == kind)
    return [Sent(m.id, m.kind, m.lane, m.destination, m.text, m.state.value, m.not_before,
                 m.appeal_id, m.dedupe_key) for m in session.scalars(query)]


def core_with_hooks(**settings):
    """The parts of a core the hook registration uses, and the repository running them."""
    create_hook, resolve_hook = ResolveHook(), ResolveHook()
    repository = make_repository(resolve_hook)
    repository.create_hook = create_hook
    core = SimpleNamespace(config=Config(), zone=SHANGHAI, create_hook=create_hook,
                           resolve_hook=resolve_hook, callback_requested_hook=None,
                           survey_sms_hook=None,
                           appeals=SimpleNamespace(repository=repository))
    return core, repository


def open_in_progress(database, repository, now: dt.datetime, **fields):
    """An appeal opened, assigned to a unit and started: ready to resolve."""
    from tests.support.appeals import add_unit, new_appeal

    appeal = database.write_now(repository.create, new_appeal(**fields), actor="agent:wang",
                                now=now)
    unit_id = database.write_now(lambda s: add_unit(s, code=f"PS-{appeal.id}"))
    database.write_now(repository.assign, appeal.id, unit_id, actor="agent:wang", now=now)
    database.write_now(repository.start, appeal.id, actor="agent:wang", now=now)
    return appeal


def resolved(database, repository, now: dt.datetime, resolution: str = "已协调物业处理",
             **fields):
    appeal = open_in_progress(database, repository, now, **fields)
    return database.write_now(repository.resolve, appeal.id, resolution, actor="agent:wang",
                              now=now)
