"""The unit assessment (监督考核) on a month of rows built by hand, on both databases: every
figure below was counted by hand from the rows, with the reasoning beside each order."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline import audit
from hotline.assessment.periods import period, previous_days
from hotline.assessment.units import Figures, assessment, unit_figures
from schemas.callbacks import (
    CallbackMode,
    CallbackOrigin,
    CallbackOutcome,
    CallbackState,
    CallbackTask,
)
from schemas.enums import (
    AppealChannel,
    AppealKind,
    AppealStatus,
    ExtensionStatus,
    UnitKind,
    WorkOrderStatus,
)
from schemas.models import (
    Appeal,
    Unit,
    UrgingKind,
    WorkOrder,
    WorkOrderExtension,
    WorkOrderUrging,
)
from tests.support.appeals import SHANGHAI

W = WorkOrderStatus
NOVEMBER = period(dt.date(2026, 11, 1), dt.date(2026, 11, 30), SHANGHAI)
OCTOBER = period(dt.date(2026, 10, 1), dt.date(2026, 10, 31), SHANGHAI)
NOW = dt.datetime(2026, 11, 30, 18, 0, tzinfo=SHANGHAI)  # read on the month's last evening


def sh(month, day, hour=12, minute=0, second=0):
    return dt.datetime(2026, month, day, hour, minute, second,
                       tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


def end_of(month, day):
    return sh(month, day, 23, 59, 59)


def build_month(session) -> dict[str, int]:
    """Units A, B (work), C (active, nothing), D (inactive, nothing), the hall; appeals and
    their work orders, extension requests, urgings, callbacks and ratings."""
    units = {}
    for code, active, kind in (("A", True, UnitKind.STATION), ("B", True, UnitKind.STATION),
                               ("C", True, UnitKind.SQUAD), ("D", False, UnitKind.STATION),
                               ("H", True, UnitKind.SERVICE_HALL)):
        unit = Unit(code=f"PS-{code}", name=f"{code}所", kind=kind, active=active)
        session.add(unit)
        session.flush()
        units[code] = unit.id
    appeals = {}
    for n, unit in ((1, "A"), (2, "A"), (3, "A"), (4, "A"), (5, "A"), (6, "A"), (7, "B"),
                    (8, "B"), (9, "B"), (10, None)):
        appeal = Appeal(case_number=f"2026110100{n:03d}", channel=AppealChannel.PHONE,
                        kind=AppealKind.HELP, status=AppealStatus.IN_PROGRESS,
                        subject=f"事项{n}", citizen_phone="13812345678",
                        unit_id=units.get(unit), deadline_at=end_of(11, 20),
                        created_at=sh(10, 27), updated_at=sh(10, 27))
        session.add(appeal)
        session.flush()
        appeals[n] = appeal.id
    orders = {}

    def order(name, appeal, unit, status, dispatched, sign_by, return_by, due, **done):
        row = WorkOrder(appeal_id=appeals[appeal], unit_id=units[unit], status=status,
                        dispatched_at=dispatched, dispatched_by="hall", reason="辖区",
                        instruction="核实处理", sign_by=sign_by, return_by=return_by,
                        due_at=due, extended_days=done.pop("extended_days", 0), send_backs=0,
                        updated_at=dispatched, **done)
        session.add(row)
        session.flush()
        orders[name] = row.id

    # Unit A.
    # 1: signed on time, replied before its deadline, accepted: resolved on time.
    order("a1", 1, "A", W.ACCEPTED, sh(11, 2, 9), sh(11, 2, 11), end_of(11, 4), end_of(11, 9),
          signed_at=sh(11, 2, 10), replied_at=sh(11, 6, 15), reviewed_at=sh(11, 7, 9),
          closed_at=sh(11, 7, 9))
    # 2: signed late, replied after its deadline (10th), accepted: resolved late, overdue.
    order("a2", 2, "A", W.ACCEPTED, sh(11, 3, 9), sh(11, 3, 11), end_of(11, 5), end_of(11, 10),
          signed_at=sh(11, 3, 14), replied_at=sh(11, 12, 10), reviewed_at=sh(11, 12, 16),
          closed_at=sh(11, 12, 16))
    # 3: never signed, returned in time after its sign-for limit: not signed in time,
    # returned; its deadline (11th) came after it left: not overdue.
    order("a3", 3, "A", W.RETURNED, sh(11, 4, 9), sh(11, 4, 11), end_of(11, 6), end_of(11, 11),
          returned_at=sh(11, 5, 9), closed_at=sh(11, 5, 9), return_reason="非本辖区")
    # 4: the same appeal again, signed on time, still being handled past its deadline (13th):
    # overdue; one extension request, refused. Appeal 3 is received once.
    order("a4", 3, "A", W.SIGNED, sh(11, 6, 9), sh(11, 6, 11), end_of(11, 10), end_of(11, 13),
          signed_at=sh(11, 6, 10))
    # 5: dispatched in October (signed on time then), extended by 3 working days in November
    # (deadline 4th -> 9th), replied on the 9th and accepted on the 10th: on time.
    order("a5", 4, "A", W.ACCEPTED, sh(10, 28, 9), sh(10, 28, 11), end_of(10, 30),
          end_of(11, 9), signed_at=sh(10, 28, 10), replied_at=sh(11, 9, 12),
          reviewed_at=sh(11, 10, 9), closed_at=sh(11, 10, 9), extended_days=3)
    # 6: signed on time, returned after its return limit (a row the service would refuse):
    # returned late.
    order("a6", 5, "A", W.RETURNED, sh(11, 16, 9), sh(11, 16, 11), end_of(11, 18),
          end_of(11, 23), signed_at=sh(11, 16, 9, 30), returned_at=sh(11, 20, 9),
          closed_at=sh(11, 20, 9), return_reason="非本单位职责")
    # 7: dispatched this afternoon, to be signed by tomorrow morning: nothing late yet.
    order("a7", 6, "A", W.DISPATCHED, sh(11, 30, 16), sh(12, 1, 9, 30), end_of(12, 2),
          end_of(12, 7))
    # 8: a rework of order 1 after a 不满意 callback, signed on time; due in December.
    order("a8", 1, "A", W.SIGNED, sh(11, 25, 9), sh(11, 25, 11), end_of(11, 27), end_of(12, 2),
          signed_at=sh(11, 25, 9, 20), rework_of=orders["a1"])
    # Unit B.
    # 9: signed on time, withdrawn (re-dispatched) after its deadline (12th): overdue.
    order("b1", 7, "B", W.WITHDRAWN, sh(11, 5, 9), sh(11, 5, 11), end_of(11, 9), end_of(11, 12),
          signed_at=sh(11, 5, 10), closed_at=sh(11, 13, 9))
    # 10: replied before its deadline, awaiting review: not resolved, not overdue.
    order("b2", 8, "B", W.REPLIED, sh(11, 20, 9), sh(11, 20, 11), end_of(11, 24),
          end_of(11, 27), signed_at=sh(11, 20, 9, 10), replied_at=sh(11, 26, 10))
    # 11: sent back, its deadline in December: counted nowhere as late.
    order("b3", 9, "B", W.SENT_BACK, sh(11, 24, 9), sh(11, 24, 11), end_of(11, 26),
          end_of(12, 1), signed_at=sh(11, 24, 10), replied_at=sh(11, 27, 10),
          reviewed_at=sh(11, 28, 9))

    def extension(name, status, requested, decided, days=3):
        session.add(WorkOrderExtension(
            work_order_id=orders[name], status=status, days=days, reason="情况复杂",
            requested_at=requested, requested_by="unit", due_before=end_of(11, 4),
            due_after=end_of(11, 9) if status is ExtensionStatus.APPROVED else None,
            decided_at=decided, decided_by="zhao" if decided else None))

    extension("a5", ExtensionStatus.APPROVED, sh(11, 2, 9), sh(11, 3, 9))  # asked, approved
    extension("a4", ExtensionStatus.REFUSED, sh(11, 10, 9), sh(11, 11, 9))  # asked, refused
    extension("a5", ExtensionStatus.REFUSED, sh(10, 30, 9), sh(10, 31, 9))  # October's

    def urging(name, unit, kind, at):
        session.add(WorkOrderUrging(appeal_id=appeals[1], work_order_id=orders[name],
                                    unit_id=units[unit], kind=kind, automatic=True, at=at,
                                    deadline_at=end_of(11, 13)))

    urging("a4", "A", UrgingKind.URGE, sh(11, 12, 9))
    urging("a4", "A", UrgingKind.SUPERVISE, sh(11, 16, 9))
    urging("a2", "A", UrgingKind.URGE, sh(11, 9, 9))
    urging("b1", "B", UrgingKind.SUPERVISE, sh(11, 13, 8))
    urging("a5", "A", UrgingKind.URGE, sh(10, 31, 9))  # October's

    def callback(unit, due, state, completed=None, origin=CallbackOrigin.RESOLUTION):
        session.add(CallbackTask(
            citizen_phone="13812345678", origin=origin, mode=CallbackMode.AUTOMATED,
            state=state, appeal_kind=AppealKind.HELP, unit_id=units.get(unit),
            resolved_at=due - dt.timedelta(days=1), window_start=due - dt.timedelta(days=1),
            due_by=due, next_attempt_at=due, attempts=1, max_attempts=3,
            outcome=CallbackOutcome.RATED if completed else None, completed_at=completed,
            created_at=due, updated_at=due))

    S = CallbackState
    callback("A", sh(11, 8, 20), S.COMPLETED, sh(11, 8, 10))  # within
    callback("A", sh(11, 13, 20), S.COMPLETED, sh(11, 14, 10))  # late
    callback("A", sh(11, 11, 20), S.UNREACHABLE)  # due, not reached
    callback("A", sh(11, 30, 20), S.PENDING)  # due at 20:00 tonight: not due yet
    callback("A", sh(11, 9, 20), S.CANCELLED)  # resolved again: left out
    callback("A", sh(11, 9, 20), S.COMPLETED, sh(11, 9, 10),
             origin=CallbackOrigin.IVR_CALLBACK_REQUEST)  # not a satisfaction callback
    callback("B", sh(11, 28, 20), S.COMPLETED, sh(11, 27, 10))  # within
    callback(None, sh(11, 10, 20), S.COMPLETED, sh(11, 10, 10))  # no unit: no unit's

    def step(appeal, action, at, note):
        audit.record(session, at=at, actor="system:callback-survey", action=action,
                     entity_type="appeal", entity_id=appeals[appeal], note=note)

    step(1, "close", sh(11, 8, 10), "rated satisfied")
    step(2, "reopen", sh(11, 14, 10), "rated dissatisfied: 民警态度差")
    step(2, "close", sh(11, 25, 10), "rated basically_satisfied")
    step(4, "close", sh(11, 11, 10), "rated satisfied: SMS survey reply 41")
    step(4, "close", sh(10, 30, 10), "rated satisfied")  # October's
    step(7, "close", sh(11, 20, 10), "rated basically_satisfied")
    step(1, "close", sh(11, 26, 10), "closed by the hall")  # no rating
    step(1, "view", sh(11, 26, 11), "rated satisfied")  # not a rating step
    step(10, "close", sh(11, 26, 12), "rated dissatisfied")  # no unit
    return units


# Unit A in November, counted from the orders above:
A_NOVEMBER = Figures(
    dispatched=7,  # a1 a2 a3 a4 a6 a7 a8 (a5 was October's)
    received=5,  # appeals 1 2 3 5 6 (3 twice, 1 twice)
    signed_on_time=4,  # a1 a4 a6 a8
    signed_late=1,  # a2
    unsigned_late=1,  # a3 (a7's limit is tomorrow)
    returned=2,  # a3 a6
    late_returns=1,  # a6
    extension_requests=2,  # a5's on the 2nd, a4's on the 10th
    extended=1, extended_days=3,  # a5's
    resolved=3,  # a1 a2 a5
    resolved_on_time=2,  # a1 a5
    overdue=2,  # a2 (replied late), a4 (still handling)
    urged=2, supervised=1, reworked=1,
    callbacks_due=4, callbacks_within=1, callbacks_not_due=1,
    satisfied=2, basically_satisfied=1, dissatisfied=1)
B_NOVEMBER = Figures(dispatched=3, received=3, signed_on_time=3, overdue=1, supervised=1,
                     callbacks_due=1, callbacks_within=1, basically_satisfied=1)
A_OCTOBER = Figures(dispatched=1, received=1, signed_on_time=1, extension_requests=1, urged=1,
                    satisfied=1)


def test_each_units_figures_match_the_hand_counted_month(database):
    units = database.write_now(build_month)
    figures = database.read_now(unit_figures, NOVEMBER.start, NOVEMBER.end, now=NOW)
    assert figures == {units["A"]: A_NOVEMBER, units["B"]: B_NOVEMBER}
    october = database.read_now(unit_figures, OCTOBER.start, OCTOBER.end, now=NOW)
    assert october == {units["A"]: A_OCTOBER}


def test_the_rates_divide_by_what_could_meet_the_goal():
    assert A_NOVEMBER.sign_on_time_rate == 0.6667  # 4 of 6 whose limit came
    assert A_NOVEMBER.on_time_rate == 0.6667  # 2 of 3 resolved
    assert A_NOVEMBER.callback_rate == 0.3333  # 1 of 4 due, less 1 not due yet
    assert A_NOVEMBER.rated == 4 and A_NOVEMBER.satisfaction_rate == 0.75  # (2 + 1) / 4
    assert B_NOVEMBER.on_time_rate is None  # nothing resolved: no rate, not 0
    assert B_NOVEMBER.sign_on_time_rate == 1.0 and B_NOVEMBER.satisfaction_rate == 1.0


def test_the_deadlines_still_ahead_are_not_counted_missed(database):
    units = database.write_now(build_month)
    earlier = dt.datetime(2026, 11, 12, 12, 0, tzinfo=SHANGHAI)
    a = database.read_now(unit_figures, NOVEMBER.start, NOVEMBER.end, now=earlier)[units["A"]]
    # At noon on the 12th: a2's deadline (10th) has passed with the reply after it, a4's
    # (13th) is still ahead; a7's sign-for limit and the 30th's callback are ahead either way.
    assert a.overdue == 1 and a.unsigned_late == 1 and a.callbacks_not_due == 1


def test_the_assessment_ranks_lists_and_compares_the_units(database):
    units = database.write_now(build_month)
    report = database.read_now(assessment, NOVEMBER.start, NOVEMBER.end, OCTOBER.start,
                               OCTOBER.end, now=NOW, ranking="sign_on_time_rate")
    # B signs all on time, A 4 of 6; C has nothing to rate and comes last, unranked; the
    # inactive D and the hall are not listed.
    assert [(r.code, r.rank) for r in report.units] == [("PS-B", 1), ("PS-A", 2), ("PS-C", None)]
    a = report.units[1]
    assert a.figures == A_NOVEMBER and a.previous == A_OCTOBER
    assert report.units[2].figures == Figures() and report.units[2].previous == Figures()
    assert report.total.figures == A_NOVEMBER + B_NOVEMBER
    assert report.total.figures.dispatched == 10 and report.total.previous == A_OCTOBER
    by_on_time = database.read_now(assessment, NOVEMBER.start, NOVEMBER.end, OCTOBER.start,
                                   OCTOBER.end, now=NOW)
    assert [(r.code, r.rank) for r in by_on_time.units] == [("PS-A", 1), ("PS-B", None),
                                                            ("PS-C", None)]
    assert units  # built


def test_units_tied_on_the_measure_share_a_rank(database):
    from hotline.assessment.units import UnitRow, rank

    rows = [UnitRow(n, code, code, Figures(resolved=2, resolved_on_time=on_time), Figures())
            for n, (code, on_time) in enumerate((("X", 1), ("Y", 2), ("Z", 2), ("W", 0)))]
    assert [(r.code, r.rank) for r in rank(rows, "on_time_rate")] == [
        ("Y", 1), ("Z", 1), ("X", 3), ("W", 4)]


def test_an_unknown_ranking_is_refused(database):
    with pytest.raises(ValueError, match="ranking must be one of"):
        database.read_now(assessment, NOVEMBER.start, NOVEMBER.end, OCTOBER.start,
                          OCTOBER.end, now=NOW, ranking="speed")


def test_the_callback_figures_are_the_compliance_reports(database):
    from callback_queue.report import compliance_report

    units = database.write_now(build_month)
    figures = database.read_now(unit_figures, NOVEMBER.start, NOVEMBER.end, now=NOW)
    rows = {r.group: r for r in database.read_now(compliance_report, NOVEMBER.start,
                                                  NOVEMBER.end, "unit", now=NOW)}
    for code in ("A", "B"):
        ours, theirs = figures[units[code]], rows[str(units[code])]
        assert (ours.callbacks_due, ours.callbacks_within, ours.callbacks_not_due) == \
            (theirs.due, theirs.within, theirs.not_due)
        assert ours.callback_rate == theirs.compliance


@pytest.mark.parametrize(("first", "last", "expected"), [
    ("2026-11-01", "2026-11-30", ("2026-10-01", "2026-10-31")),  # a month: the month before
    ("2026-07-01", "2026-09-30", ("2026-04-01", "2026-06-30")),  # a quarter
    ("2026-03-01", "2026-03-30", ("2026-02-01", "2026-02-28")),  # so far: cut at February's end
    ("2026-11-01", "2026-11-28", ("2026-10-01", "2026-10-28")),  # this month so far
    ("2026-03-01", "2026-03-31", ("2026-02-01", "2026-02-28")),
    ("2026-01-01", "2026-01-31", ("2025-12-01", "2025-12-31")),  # across the year
    ("2026-11-10", "2026-11-16", ("2026-11-03", "2026-11-09")),  # a week: the week before
])
def test_the_period_compared_with(first, last, expected):
    found = previous_days(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    assert tuple(day.isoformat() for day in found) == expected


def test_a_period_is_shanghai_days_as_utc_instants():
    assert NOVEMBER.start == dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.timezone.utc)
    assert NOVEMBER.end == dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.timezone.utc)
    assert NOVEMBER.days == 30 and NOVEMBER.label == "2026-11-01 至 2026-11-30"
    with pytest.raises(ValueError, match="before it starts"):
        period(dt.date(2026, 11, 2), dt.date(2026, 11, 1), SHANGHAI)
    with pytest.raises(ValueError, match="at most 366 days"):
        period(dt.date(2025, 1, 1), dt.date(2026, 11, 1), SHANGHAI)


def test_the_urgings_are_counted_as_the_urging_steps_count_them(database):
    from tests.support.appeals import make_repository

    units = database.write_now(build_month)
    figures = database.read_now(unit_figures, NOVEMBER.start, NOVEMBER.end, now=NOW)
    counts = database.read_now(make_repository().urging_counts, start=NOVEMBER.start,
                               end=NOVEMBER.end)
    assert {c.unit_id: (c.urged, c.supervised) for c in counts} == {
        unit_id: (f.urged, f.supervised) for unit_id, f in figures.items()
        if f.urged or f.supervised} == {units["A"]: (2, 1), units["B"]: (0, 1)}
