"""What the pages read, in the database thread: appeal search, an appeal's detail with its
audit trail, the caller's card, the unmatched SMS replies. Reads of a citizen's record write their audit row in the
same transaction, so a view that was shown was recorded."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from agents import params
from agents.trail import display_names
from hotline import audit
from hotline.appeals import AppealNotFound, AppealRecord
from hotline.audit import AuditRecord
from hotline.phones import PhoneNumberError, normalise_phone
from schemas.calls import CallRecord
from schemas.enums import AppealChannel, AppealKind, AppealStatus, Satisfaction, SmsInboundState
from schemas.models import Appeal, Unit
from schemas.sms import SmsInbound, SmsMessage

SEARCH_LIMIT = 50  # appeals on a page of results
SEARCH_PAGES = 20  # pages offered: the OFFSET stays under 1,000 rows
SEARCH_COUNT_CAP = SEARCH_LIMIT * SEARCH_PAGES  # matches counted up to this, then "1000+"
CARD_APPEALS = 20
CARD_CALLS = 10
CARD_SMS = 10
RECENT_DAYS = 30  # the card's summary counts calls over this many days
REPEAT_CALLS = 3  # and flags a repeat caller from this many
REPLIES_LIMIT = 200


@dataclass(frozen=True)
class AppealSearch:
    case_number: str = ""
    phone: str = ""  # a whole number, normalised
    status: str = ""
    unit_id: int | None = None
    date_from: dt.date | None = None  # Asia/Shanghai days, inclusive
    date_to: dt.date | None = None
    page: int = 1  # of SEARCH_LIMIT appeals, newest first
    phone_tail: str = ""  # the last four digits, what callers often give
    kind: str = ""
    channel: str = ""
    overdue: bool = False  # open and past its deadline
    mine: int | None = None  # 我的待办: this agent's appeals not resolved or closed

    @property
    def empty(self) -> bool:
        return not (self.case_number or self.phone or self.status or self.unit_id
                    or self.date_from or self.date_to or self.phone_tail or self.kind
                    or self.channel or self.overdue or self.mine)


SEARCH_FIELDS = ("case_number", "phone", "status", "unit_id", "date_from", "date_to", "page",
                 "kind", "channel", "overdue", "mine")
OPEN_STATUSES = (AppealStatus.RECEIVED, AppealStatus.ASSIGNED, AppealStatus.IN_PROGRESS)


def parse_search(args: params.Args) -> AppealSearch:
    """The criteria of an appeal search, each within its bounds (`agents.params`); raises
    `params.ParamError` naming the first that is not."""
    args = {key: args.get(key, "").strip() for key in SEARCH_FIELDS}
    case_number = params.digits(args, "case_number", params.CASE_NUMBER_MAX)
    # Four digits are the end of a number (what a caller gives), anything else a number.
    tail = args["phone"] if len(args["phone"]) == 4 and args["phone"].isascii() \
        and args["phone"].isdigit() else ""
    phone = "" if tail else params.phone(args, "phone")
    status = params.choice(args, "status", [s.value for s in AppealStatus])
    unit_id = params.ident(args, "unit_id")
    date_from, date_to = params.day(args, "date_from"), params.day(args, "date_to")
    params.ordered(date_from, date_to, "date_from", "date_to")
    page = params.number(args, "page", 1, SEARCH_PAGES, default=1)
    kind = params.choice(args, "kind", [k.value for k in AppealKind])
    channel = params.choice(args, "channel", [c.value for c in AppealChannel])
    overdue = params.choice(args, "overdue", ("1",)) == "1"
    mine = params.choice(args, "mine", ("1",)) == "1"
    return AppealSearch(case_number, phone, status, unit_id, date_from, date_to, page or 1,
                        tail, kind, channel, overdue, mine=1 if mine else None)


@dataclass(frozen=True)
class UnitOption:
    id: int
    code: str
    name: str


def units(session: Session) -> list[UnitOption]:
    return [UnitOption(u.id, u.code, u.name)
            for u in session.scalars(select(Unit).where(Unit.active).order_by(Unit.code))]


@dataclass(frozen=True)
class SearchResults:
    rows: list[AppealRecord]
    page: int
    count: int  # the matches, counted up to SEARCH_COUNT_CAP + 1

    @property
    def capped(self) -> bool:
        """More matches than are counted (the page says "more than 1000")."""
        return self.count > SEARCH_COUNT_CAP

    @property
    def pages(self) -> int:
        return min(SEARCH_PAGES, -(-self.count // SEARCH_LIMIT))

    @property
    def first(self) -> int:
        """The position of the page's first row among the matches (1-based)."""
        return (self.page - 1) * SEARCH_LIMIT + 1


def search_appeals(session: Session, criteria: AppealSearch, zone: ZoneInfo, *,
                   actor: str, now: dt.datetime) -> SearchResults:
    """A page of the matches, newest first, and how many there are up to SEARCH_COUNT_CAP.
    Every criterion and the order are served by an index (migration 0009), the count stops
    at the cap and the offset is bounded, so no search reads the whole table. A search by
    phone lists one citizen's appeals, so it is audited as a view of that citizen's record."""
    if criteria.phone:
        audit.record_access(session, at=now, actor=actor, entity_type="citizen",
                            entity_id=criteria.phone, note="appeal search")
    if criteria.phone_tail:  # several citizens' appeals, by what one caller said
        audit.record_access(session, at=now, actor=actor, entity_type="phone_tail",
                            entity_id=criteria.phone_tail, note="appeal search")
    where = []
    if criteria.case_number:
        where += _case_number_prefix(criteria.case_number)
    if criteria.phone:
        where.append(Appeal.citizen_phone == criteria.phone)
    if criteria.phone_tail:
        where.append(Appeal.phone_tail == criteria.phone_tail)
    if criteria.kind:
        where.append(Appeal.kind == AppealKind(criteria.kind))
    if criteria.channel:
        where.append(Appeal.channel == AppealChannel(criteria.channel))
    if criteria.mine is not None:
        where.append(Appeal.agent_id == criteria.mine)
        if not criteria.status:
            where.append(Appeal.status.in_(OPEN_STATUSES))
    if criteria.overdue:
        where += [Appeal.status.in_(OPEN_STATUSES), Appeal.deadline_at < now]
    if criteria.status:
        where.append(Appeal.status == AppealStatus(criteria.status))
    if criteria.unit_id is not None:
        where.append(Appeal.unit_id == criteria.unit_id)
    if criteria.date_from:
        start = dt.datetime.combine(criteria.date_from, dt.time(), tzinfo=zone)
        where.append(Appeal.created_at >= start.astimezone(dt.timezone.utc))
    if criteria.date_to:
        end = dt.datetime.combine(criteria.date_to + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        where.append(Appeal.created_at < end.astimezone(dt.timezone.utc))
    offset = (criteria.page - 1) * SEARCH_LIMIT
    rows = [AppealRecord.of(a) for a in session.scalars(
        select(Appeal).where(*where).order_by(Appeal.created_at.desc(), Appeal.id.desc())
        .offset(offset).limit(SEARCH_LIMIT))]
    if len(rows) < SEARCH_LIMIT and (rows or offset == 0):
        count = offset + len(rows)  # the last page: nothing left to count
    else:
        matches = (select(literal(1)).select_from(Appeal).where(*where)
                   .limit(SEARCH_COUNT_CAP + 1).subquery())
        count = session.scalar(select(func.count()).select_from(matches))
    return SearchResults(rows, criteria.page, count)


def _case_number_prefix(prefix: str) -> list:
    """Case numbers are digits, so those that start with `prefix` are the range from it to
    the next number of its length: a range the unique index answers under any collation,
    where LIKE 'prefix%' is a scan of every appeal unless the collation is C."""
    conditions = [Appeal.case_number >= prefix]
    following = f"{int(prefix) + 1:0{len(prefix)}d}"
    if len(following) == len(prefix):  # else the prefix is all nines: no upper bound
        conditions.append(Appeal.case_number < following)
    return conditions


@dataclass(frozen=True)
class AppealDetail:
    appeal: AppealRecord
    unit_name: str | None
    trail: list[AuditRecord]
    units: list[UnitOption]
    names: dict[str, str] = field(default_factory=dict)  # the trail's people, by username


def appeal_detail(session: Session, appeal_id: int, *, actor: str,
                  now: dt.datetime) -> AppealDetail:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise AppealNotFound(appeal_id)
    audit.record_access(session, at=now, actor=actor, entity_type="appeal", entity_id=appeal.id)
    session.flush()
    unit = session.get(Unit, appeal.unit_id) if appeal.unit_id else None
    trail = audit.trail(session, "appeal", appeal.id)
    return AppealDetail(AppealRecord.of(appeal), unit.name if unit else None, trail,
                        units(session), display_names(session, trail))


@dataclass(frozen=True)
class CallRow:
    call_id: str
    started_at: dt.datetime
    menu_choice: str | None
    outcome: str
    appeal_id: int | None


@dataclass(frozen=True)
class SmsRow:
    at: dt.datetime
    direction: str  # "out" or "in"
    text: str
    state: str


@dataclass(frozen=True)
class CallerCard:
    phone: str
    call_id: str | None
    menu_choice: str | None
    open_appeals: list[AppealRecord]
    past_appeals: list[AppealRecord]
    calls: list[CallRow]
    sms: list[SmsRow]
    ratings: list[AppealRecord]
    # The summary line the officer reads first ("近30天来电8次，在办2件，上次不满意").
    calls_recent: int = 0  # calls from this number in the last RECENT_DAYS days
    last_rating: Satisfaction | None = None  # of the newest rated appeal
    # What the new-appeal form is prefilled with: the newest name and area the caller gave.
    known_name: str | None = None
    known_area: str | None = None

    @property
    def repeat_caller(self) -> bool:
        """Called REPEAT_CALLS times or more in RECENT_DAYS days: said on the card first."""
        return self.calls_recent >= REPEAT_CALLS


@dataclass(frozen=True)
class CallMatch:
    phone: str
    menu_choice: str | None


def call_by_id(session: Session, call_id: str) -> CallMatch | None:
    record = session.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
    if record is None or not record.caller:
        return None
    try:
        phone = normalise_phone(record.caller)
    except PhoneNumberError:
        phone = record.caller
    return CallMatch(phone, record.menu_choice)


def caller_card(session: Session, phone: str, *, actor: str, now: dt.datetime,
                call_id: str | None = None) -> CallerCard:
    """Everything the hall knows about the caller at `phone` (normalised), audited as a view.

    With `call_id` (the IVR's HOTLINE_CALL_ID) the card also says what the caller chose in
    the menu on this call."""
    audit.record_access(session, at=now, actor=actor, entity_type="citizen", entity_id=phone,
                        note=f"call {call_id}" if call_id else None)
    menu_choice = None
    if call_id:
        current = session.scalar(select(CallRecord.menu_choice)
                                 .where(CallRecord.call_id == call_id))
        menu_choice = current
    appeals = [AppealRecord.of(a) for a in session.scalars(
        select(Appeal).where(Appeal.citizen_phone == phone)
        .order_by(Appeal.created_at.desc(), Appeal.id.desc()).limit(CARD_APPEALS))]
    open_statuses = {AppealStatus.RECEIVED, AppealStatus.ASSIGNED, AppealStatus.IN_PROGRESS}
    callers = _caller_forms(phone)
    calls = [CallRow(c.call_id, c.started_at, c.menu_choice, c.outcome.value, c.appeal_id)
             for c in _newest(session, CallRecord, "caller", callers, "started_at", CARD_CALLS)]
    sent = [SmsRow(m.created_at, "out", m.text, m.state.value)
            for m in _newest(session, SmsMessage, "destination", callers, "created_at",
                             CARD_SMS)]
    received = [SmsRow(m.received_at, "in", m.text, m.state.value)
                for m in _newest(session, SmsInbound, "source", callers, "received_at",
                                 CARD_SMS)]
    sms = sorted(sent + received, key=lambda row: row.at, reverse=True)[:CARD_SMS]
    # One count per stored form of the number, each an index range of (caller, started_at).
    calls_recent = sum(session.scalar(
        select(func.count()).select_from(CallRecord)
        .where(CallRecord.caller == form,
               CallRecord.started_at >= now - dt.timedelta(days=RECENT_DAYS))) or 0
        for form in callers)
    ratings = [a for a in appeals if a.satisfaction is not None]
    return CallerCard(
        phone=phone, call_id=call_id, menu_choice=menu_choice,
        open_appeals=[a for a in appeals if a.status in open_statuses],
        past_appeals=[a for a in appeals if a.status not in open_statuses],
        calls=calls, sms=sms, ratings=ratings, calls_recent=calls_recent,
        last_rating=ratings[0].satisfaction if ratings else None,
        known_name=next((a.citizen_name for a in appeals if a.citizen_name), None),
        known_area=next((a.area for a in appeals if a.area), None))


def _newest(session: Session, model, column: str, values: list[str], at: str,
            limit: int) -> list:
    """The `limit` newest rows (by `at`) whose `column` is one of `values`: each value's
    newest read from the (column, at) index, then merged. Asked as one OR (or IN) of the
    values, PostgreSQL may walk the whole table newest first for a caller it takes for a
    frequent one, reading a million rows to find ten."""
    statement = _newest_statement(model, column, len(values), at, limit)
    return list(session.scalars(statement, {f"value{n}": v for n, v in enumerate(values)}))


@functools.cache
def _newest_statement(model, column: str, values: int, at: str, limit: int) -> Select:
    """Built once per shape: the union's construction costs more than its execution."""
    key, when = getattr(model, column), getattr(model, at)
    branches = [select(model.id.label("id"), when.label("at"))
                .where(key == bindparam(f"value{n}")).order_by(when.desc()).limit(limit)
                .subquery() for n in range(values)]
    merged = union_all(*(select(b.c.id, b.c.at) for b in branches)).subquery()
    newest = select(merged.c.id).order_by(merged.c.at.desc(), merged.c.id.desc()).limit(limit)
    return select(model).where(model.id.in_(newest)).order_by(when.desc(), model.id.desc())


def _caller_forms(phone: str) -> list[str]:
    """The forms a number is stored in by the IVR (raw caller id) and the SMS layer."""
    forms = [phone]
    if phone.startswith("1") and len(phone) == 11:
        forms += ["86" + phone, "+86" + phone]
    return forms


def screen_pop_card(session: Session, phone: str | None, call_id: str | None, *, actor: str,
                    now: dt.datetime) -> CallerCard | None:
    """The card for a call just connected to `actor`: through the IVR's call id when the
    call record has it, else by the caller's number; None when neither is known."""
    if call_id:
        match = call_by_id(session, call_id)
        if match is not None:
            phone = match.phone
    if not phone:
        return None
    return caller_card(session, phone, actor=actor, now=now, call_id=call_id)


@dataclass(frozen=True)
class ReplyRow:
    id: int
    received_at: dt.datetime
    phone: str  # as received; the page shows it masked
    text: str
    parts: int


def unmatched_replies(session: Session, *, actor: str, now: dt.datetime,
                      limit: int = REPLIES_LIMIT) -> list[ReplyRow]:
    """Replies the message layer could not attach to an appeal, newest first. The list
    shows what citizens wrote, so each citizen on it gets an audited view."""
    rows = [ReplyRow(m.id, m.received_at, m.source, m.text, m.parts)
            for m in session.scalars(select(SmsInbound)
                                     .where(SmsInbound.state == SmsInboundState.UNMATCHED)
                                     .order_by(SmsInbound.received_at.desc(),
                                               SmsInbound.id.desc())
                                     .limit(limit))]
    for phone in dict.fromkeys(_citizen(row.phone) for row in rows):
        audit.record_access(session, at=now, actor=actor, entity_type="citizen",
                            entity_id=phone, note="unmatched SMS replies")
    return rows


def _citizen(source: str) -> str:
    """The citizen key the other views audit under (the normalised number) when it is one."""
    try:
        return normalise_phone(source)
    except PhoneNumberError:
        return source
