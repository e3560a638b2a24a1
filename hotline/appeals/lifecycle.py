"""The appeal lifecycle as tables: which action moves an appeal, a work order or an extension
request from which states to which.

An appeal: received -> assigned -> in_progress -> resolved -> closed, or received -> closed
when the hall answers it on the phone (当场答复办结, most consultations); a unit may be
reassigned before resolution; reopen (a dissatisfied rating, or a supervisor's decision)
sends a resolved or closed appeal back to in_progress with its unit kept; return hands an
assigned or in-progress appeal back to the hall (received, no unit), as a unit's 退单 does;
merge closes an open appeal as a duplicate (重复件) of another open one (`merged_into_id`),
with no resolution: it is not resolved, and nobody calls the citizen back about it.

A work order (the appeal dispatched to one unit): dispatched -> signed -> replied ->
accepted, with replied -> sent_back -> replied again; a dispatched or signed order may be
returned by the unit, and any open one withdrawn by a re-dispatch to another unit; an
accepted one reworked (重办) after a 不满意 callback, as a new order to the same unit. Each
step of the lead order (主办) moves its appeal too (`hotline.appeals.work_orders` says how),
both checked before either changes; an assisting order (协办) takes the same moves (sign,
return, reply, accept with the lead's, withdraw) and leaves the appeal where the lead has it.

An extension request: pending -> approved or refused by a supervisor, or cancelled when its
work order leaves handling.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

from hotline.appeals.errors import InvalidTransition
from schemas.enums import AppealStatus as S
from schemas.enums import ExtensionStatus as E
from schemas.enums import WorkOrderStatus as W

StateT = TypeVar("StateT", bound=enum.Enum)


class Action(enum.StrEnum):
    ASSIGN = "assign"
    START = "start"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    RETURN = "return"
    ANSWER = "answer"  # 当场答复办结: answered on the phone, closed with its answer
    MERGE = "merge"  # 合并为重复件: closed as a duplicate of another open appeal


@dataclass(frozen=True)
class Transition(Generic[StateT]):
    sources: frozenset[StateT]
    target: StateT


TRANSITIONS: dict[Action, Transition[S]] = {
    Action.ASSIGN: Transition(frozenset({S.RECEIVED, S.ASSIGNED, S.IN_PROGRESS}), S.ASSIGNED),
    Action.START: Transition(frozenset({S.ASSIGNED}), S.IN_PROGRESS),
    Action.RESOLVE: Transition(frozenset({S.IN_PROGRESS}), S.RESOLVED),
    Action.CLOSE: Transition(frozenset({S.RESOLVED}), S.CLOSED),
    Action.REOPEN: Transition(frozenset({S.RESOLVED, S.CLOSED}), S.IN_PROGRESS),
    Action.RETURN: Transition(frozenset({S.ASSIGNED, S.IN_PROGRESS}), S.RECEIVED),
    Action.ANSWER: Transition(frozenset({S.RECEIVED}), S.CLOSED),
    Action.MERGE: Transition(frozenset({S.RECEIVED, S.ASSIGNED, S.IN_PROGRESS}), S.CLOSED),
}
# An appeal another may be merged into: still being handled.
MERGE_TARGETS = TRANSITIONS[Action.MERGE].sources


class WorkOrderAction(enum.StrEnum):
    SIGN = "sign"  # 签收
    RETURN = "return"  # 退单
    REPLY = "reply"  # 办结回复
    ACCEPT = "accept"  # 审核通过
    SEND_BACK = "send_back"  # 审核退回
    WITHDRAW = "withdraw"  # 改派: the order is withdrawn, a new one goes to the other unit
    # 重办: an accepted order whose appeal a 不满意 callback reopened, attributed to the unit,
    # goes back to that unit as a new order (the target is the new order's state; the
    # accepted one stays as it was, named by the new one's `rework_of`).
    REWORK = "rework"


OPEN_WORK_ORDER = frozenset({W.DISPATCHED, W.SIGNED, W.REPLIED, W.SENT_BACK})
# The states in which the unit is handling the order (notes, extension requests).
HANDLING = frozenset({W.SIGNED, W.SENT_BACK})
# Open and the unit's to act on (once replied, the hall's): what can be overdue.
WITH_THE_UNIT = frozenset({W.DISPATCHED, W.SIGNED, W.SENT_BACK})

WORK_ORDER_TRANSITIONS: dict[WorkOrderAction, Transition[W]] = {
    WorkOrderAction.SIGN: Transition(frozenset({W.DISPATCHED}), W.SIGNED),
    WorkOrderAction.RETURN: Transition(frozenset({W.DISPATCHED, W.SIGNED}), W.RETURNED),
    WorkOrderAction.REPLY: Transition(HANDLING, W.REPLIED),
    WorkOrderAction.ACCEPT: Transition(frozenset({W.REPLIED}), W.ACCEPTED),
    WorkOrderAction.SEND_BACK: Transition(frozenset({W.REPLIED}), W.SENT_BACK),
    WorkOrderAction.WITHDRAW: Transition(OPEN_WORK_ORDER, W.WITHDRAWN),
    WorkOrderAction.REWORK: Transition(frozenset({W.ACCEPTED}), W.DISPATCHED),
}


class ExtensionAction(enum.StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"
    CANCEL = "cancel"


EXTENSION_TRANSITIONS: dict[ExtensionAction, Transition[E]] = {
    ExtensionAction.APPROVE: Transition(frozenset({E.PENDING}), E.APPROVED),
    ExtensionAction.REFUSE: Transition(frozenset({E.PENDING}), E.REFUSED),
    ExtensionAction.CANCEL: Transition(frozenset({E.PENDING}), E.CANCELLED),
}


def _target(transition: Transition[StateT], action: str, status: StateT,
            what: str) -> StateT:
    if status not in transition.sources:
        raise InvalidTransition(action, str(status.value),
                                frozenset(str(s.value) for s in transition.sources), what=what)
    return transition.target


def target_of(action: Action, status: S) -> S:
    """The state `action` leads to from `status`, or InvalidTransition."""
    return _target(TRANSITIONS[action], action.value, status, "an appeal")


def work_order_target_of(action: WorkOrderAction, status: W) -> W:
    return _target(WORK_ORDER_TRANSITIONS[action], action.value, status, "a work order")


def extension_target_of(action: ExtensionAction, status: E) -> E:
    return _target(EXTENSION_TRANSITIONS[action], action.value, status,
                   "an extension request")
