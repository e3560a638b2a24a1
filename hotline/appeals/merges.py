"""Duplicates (重复件): the hall merges a new appeal into an open one about the same matter
from the same citizen, so that one appeal is handled, answered and called back about.

The merged appeal closes (`Action.MERGE`, no resolution) naming the one it joined
(`merged_into_id`); its calls (`call_records.appeal_id`) and SMS (`sms_messages`,
`sms_inbound`) move to the surviving appeal, and so does its voice message when the surviving
one has none (the merged one keeps its recording too, and its page plays it); its open work
orders are withdrawn (extension requests cancelled); the merged hook's participants run in
the same transaction (the callback queue cancels the merged appeal's open callbacks: the
citizen is called back once, about the surviving appeal). Both trails say who merged what
and why.

Refused, changing nothing: merging an appeal into itself; into an appeal that is resolved
or closed, or was itself merged; a different citizen's number unless the hall confirms it;
while a unit's reply on the merged appeal awaits the hall's review (review it first).

This module is `AppealRepository`'s mixin, as `hotline.appeals.work_orders` is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from hotline.appeals.errors import AppealValidationError, MergeRefused
from hotline.appeals.lifecycle import (
    MERGE_TARGETS,
    OPEN_WORK_ORDER,
    Action,
    WorkOrderAction,
    target_of,
    work_order_target_of,
)
from hotline.appeals.records import AppealRecord
from hotline.hooks import TransactionHook
from schemas.calls import CallRecord
from schemas.enums import WorkOrderStatus
from schemas.models import Appeal, WorkOrder
from schemas.sms import SmsInbound, SmsMessage

ENTITY = "appeal"
REASON_MAX = 2000

# fn(session, merged, into): an appeal was merged into another, e.g. the callback queue
# cancelling the merged one's open callbacks.
MergedHook = TransactionHook[[AppealRecord, AppealRecord]]


class MergeSteps:
    """The duplicates half of `AppealRepository` (a mixin: `self` is the repository)."""

    merged_hook: MergedHook
    _locked: Callable[[Session, int], Appeal]
    _move: Callable[..., AppealRecord]
    _appeal_step: Callable[..., None]
    _order_move: Callable[..., None]
    _cancel_pending: Callable[..., None]

    def merge(self, session: Session, appeal_id: int, into_id: int, reason: str, *,
              other_phone_confirmed: bool = False, actor: str,
              now: dt.datetime) -> AppealRecord:
        """合并为重复件: appeal `appeal_id` closed as a duplicate of `into_id` (see the module
        docstring); returns the merged appeal."""
        if appeal_id == into_id:
            raise MergeRefused("self", f"appeal {appeal_id} cannot be merged into itself")
        text = (reason or "").strip()
        if not text:
            raise AppealValidationError("reason", "is required", "required")
        if len(text) > REASON_MAX:
            raise AppealValidationError("reason", f"at most {REASON_MAX} characters",
                                        "length", max=REASON_MAX)
        # Both rows locked, the lower id first, so that two merges of the pair take turns.
        rows = {i: self._locked(session, i) for i in sorted((appeal_id, into_id))}
        merged, into = rows[appeal_id], rows[into_id]
        if into.merged_into_id is not None:
            raise MergeRefused("into_merged", f"appeal {into_id} was merged into another",
                               case_number=into.case_number)
        if into.status not in MERGE_TARGETS:
            raise MergeRefused("into_closed", f"appeal {into_id} is {into.status.value}",
                               case_number=into.case_number)
        if merged.citizen_phone != into.citizen_phone and not other_phone_confirmed:
            raise MergeRefused("other_phone", f"appeal {into_id} is another caller's",
                               case_number=into.case_number)
        orders = list(session.scalars(select(WorkOrder)
                                      .where(WorkOrder.appeal_id == appeal_id,
                                             WorkOrder.status.in_(OPEN_WORK_ORDER))
                                      .order_by(WorkOrder.id).with_for_update()))
        replied = [o for o in orders if o.status is WorkOrderStatus.REPLIED]
        if replied:
            raise MergeRefused("reply_pending", f"work order {replied[0].id} awaits review")
        # Every move checked before anything changes.
        target_of(Action.MERGE, merged.status)
        for order in orders:
            work_order_target_of(WorkOrderAction.WITHDRAW, order.status)

        for order in orders:
            self._order_move(session, order, WorkOrderAction.WITHDRAW, actor, now,
                             note=f"合并为重复件，并入 {into.case_number}")
            order.closed_at = now
            self._cancel_pending(session, order, actor, now)
        calls = _moved(session, CallRecord, appeal_id, into_id)
        sms = sum(_moved(session, model, appeal_id, into_id)
                  for model in (SmsMessage, SmsInbound))
        voice = ""
        if merged.recording_path and not into.recording_path:
            into.recording_path = merged.recording_path
            voice = "；留言录音转入"
        moved = f"来电 {calls} 通、短信 {sms} 条转入{voice}"
        withdrawn = f"；撤回工单 {len(orders)} 件" if orders else ""

        def change(row: Appeal) -> None:
            row.merged_into_id = into_id
            row.closed_at = now

        record = self._move(session, appeal_id, Action.MERGE, actor, now,
                            f"并入 {into.case_number}；原因：{text}；{moved}{withdrawn}",
                            change, audit_action="merge")
        self._appeal_step(session, into, "merged_in", actor, now,
                          f"{merged.case_number} 作为重复件并入；原因：{text}；{moved}")
        into_record = AppealRecord.of(into)
        self.merged_hook.run(session, record, into_record)
        return record

    def duplicates_of(self, session: Session, appeal_id: int) -> list[AppealRecord]:
        """The appeals merged into this one, oldest first."""
        return [AppealRecord.of(a) for a in session.scalars(
            select(Appeal).where(Appeal.merged_into_id == appeal_id)
            .order_by(Appeal.created_at, Appeal.id))]


def _moved(session: Session, model: type[CallRecord] | type[SmsMessage] | type[SmsInbound],
           appeal_id: int, into_id: int) -> int:
    """The rows of `model` of one appeal given to another; how many."""
    # An UPDATE's result is a CursorResult (with rowcount); Session.execute is typed Result.
    result = cast(CursorResult, session.execute(
        update(model).where(model.appeal_id == appeal_id).values(appeal_id=into_id)))
    return result.rowcount or 0
