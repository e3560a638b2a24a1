"""The three-way call (三方通话): the officer brings the handling unit's duty phone into the call
with the citizen, so that the unit can answer the caller itself.

Through AMI, as a real Asterisk 23.4.1 did it in the lab (tests/golden: ami_threeway_*):
the unit's duty phone is originated into a conference ([hotline-threeway] runs
ConfBridge(hotline-${EXTEN}) in docs/asterisk/extensions.conf); only once the unit has
answered and joined are the citizen and the officer moved there from the queue's bridge, with
one Redirect of both channels (by their Uniqueids, as the queue's AgentConnect gave them), so
that a unit that does not answer leaves the call exactly as it was. The IVR's AGI then sees
Queue end and the channel leave it (agi_threeway_by_name), and ends as a served call.

Every use is audited (who brought which unit into which call).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import audit
from hotline.ami.errors import AMIError
from hotline.masking import mask_phone
from hotline.phones import PhoneNumberError, normalise_phone
from schemas.live import QueueCall
from schemas.models import Unit

CONTEXT = "hotline-threeway"
# Not answered within this many seconds: the unit is reported not reached.
RING_S = 30


class ThreeWayRefused(Exception):
    """Why the unit could not be brought in: `reason` keys the words (threeway.<reason>)."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


@dataclass(frozen=True)
class CallLegs:
    caller_uniqueid: str
    member_uniqueid: str
    call_id: str | None


@dataclass(frozen=True)
class ThreeWayCall:
    conference: str
    unit_name: str
    unit_phone: str  # masked


def conference_of(caller_uniqueid: str) -> str:
    """The conference's extension: digits only (the dialplan's `_X.` pattern), one per call."""
    return "3" + re.sub(r"\D", "", caller_uniqueid)


def current_legs(session: Session, interface: str) -> CallLegs | None:
    """The two channels of the call the queue put through to `interface` and that is still
    on (the newest, as the terminal's current call is)."""
    row = session.scalars(select(QueueCall).where(
        QueueCall.interface == interface, QueueCall.outcome == "answered")
        .order_by(QueueCall.answered_at.desc()).limit(1)).first()
    if row is None or not row.member_uniqueid:
        return None
    return CallLegs(row.caller_uniqueid, row.member_uniqueid, row.call_id)


def units_with_duty_phone(session: Session) -> list[tuple[int, str]]:
    """(id, name) of the active units a three-way call can bring in, by code."""
    return [(unit.id, unit.name) for unit in session.scalars(
        select(Unit).where(Unit.active.is_(True), Unit.duty_phone.is_not(None),
                           Unit.duty_phone != "").order_by(Unit.code))]


def duty_phone_of(session: Session, unit_id: int) -> tuple[str, str]:
    """(the unit's name, its duty phone normalised); refused for an unknown or inactive unit
    or one without a duty phone."""
    unit = session.get(Unit, unit_id)
    if unit is None or not unit.active:
        raise ThreeWayRefused("unit_unknown")
    if not unit.duty_phone:
        raise ThreeWayRefused("no_duty_phone", unit=unit.name)
    try:
        return unit.name, normalise_phone(unit.duty_phone)
    except PhoneNumberError:
        raise ThreeWayRefused("no_duty_phone", unit=unit.name) from None


def record_use(session: Session, *, at, actor: str, legs: CallLegs, unit: str, phone: str,
               outcome: str) -> None:
    audit.record(session, at=at, actor=actor, action="threeway", entity_type="call",
                 entity_id=legs.call_id or legs.caller_uniqueid,
                 note=f"{unit} {mask_phone(phone)}: {outcome}")


async def bring_in_unit(core: Any, *, interface: str, unit_id: int, actor: str) -> ThreeWayCall:
    """Originate the unit's duty phone into the call's conference, then move the citizen and
    the officer there. Raises `ThreeWayRefused` (nothing changed for the call) when there is
    no call to join, no duty phone, no AMI link, or the unit does not answer; a call that
    ended meanwhile hangs the unit's phone up again."""
    ami = core.ami
    if ami is None or not ami.up:
        raise ThreeWayRefused("ami_down")
    legs = await core.db.read(current_legs, interface)
    if legs is None:
        raise ThreeWayRefused("no_call")
    unit, phone = await core.db.read(duty_phone_of, unit_id)
    callbacks = getattr(core.config, "callbacks", None)
    dial_string = getattr(callbacks, "dial_string", "PJSIP/{number}@{trunk}")
    trunks = getattr(callbacks, "trunks", ("trunk",)) or ("trunk",)
    caller_id = getattr(callbacks, "caller_id", "9600110")
    conference = conference_of(legs.caller_uniqueid)
    now = core.clock.now
    try:
        result = await ami.originate(
            dial_string.format(number=phone, trunk=trunks[0]), context=CONTEXT,
            exten=conference, caller_id=caller_id, timeout_ms=RING_S * 1000,
            variables={"HOTLINE_CALL_ID": legs.call_id or ""},
            channel_id=f"threeway-{uuid.uuid4().hex[:12]}", response_timeout=RING_S + 15)
    except AMIError as error:
        raise ThreeWayRefused("ami_down", error=str(error)) from None
    if not result.success:
        await core.db.write(record_use, at=now(), actor=actor, legs=legs, unit=unit,
                            phone=phone, outcome=f"not answered ({result.reason.name})")
        raise ThreeWayRefused("not_answered", unit=unit)
    try:
        await ami.redirect(legs.caller_uniqueid, extra_channel=legs.member_uniqueid,
                           context=CONTEXT, exten=conference)
    except AMIError:
        # The citizen or the officer hung up while the unit's phone rang.
        if result.uniqueid:
            try:
                await ami.hangup(result.uniqueid)
            except AMIError:
                pass
        await core.db.write(record_use, at=now(), actor=actor, legs=legs, unit=unit,
                            phone=phone, outcome="call ended before the unit joined")
        raise ThreeWayRefused("call_gone") from None
    await core.db.write(record_use, at=now(), actor=actor, legs=legs, unit=unit, phone=phone,
                        outcome=f"joined conference {conference}")
    return ThreeWayCall(conference, unit, mask_phone(phone))
