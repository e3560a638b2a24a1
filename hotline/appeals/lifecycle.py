"""The appeal lifecycle as a table: which action moves an appeal from which states to which.

received -> assigned -> in_progress -> resolved -> closed; a unit may be reassigned before
resolution; reopen (a dissatisfied rating, or a supervisor's decision) sends a resolved or
closed appeal back to in_progress with its unit kept.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hotline.appeals.errors import InvalidTransition
from schemas.enums import AppealStatus as S


class Action(enum.StrEnum):
    ASSIGN = "assign"
    START = "start"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[S]
    target: S


TRANSITIONS: dict[Action, Transition] = {
    Action.ASSIGN: Transition(frozenset({S.RECEIVED, S.ASSIGNED, S.IN_PROGRESS}), S.ASSIGNED),
    Action.START: Transition(frozenset({S.ASSIGNED}), S.IN_PROGRESS),
    Action.RESOLVE: Transition(frozenset({S.IN_PROGRESS}), S.RESOLVED),
    Action.CLOSE: Transition(frozenset({S.RESOLVED}), S.CLOSED),
    Action.REOPEN: Transition(frozenset({S.RESOLVED, S.CLOSED}), S.IN_PROGRESS),
}


def target_of(action: Action, status: S) -> S:
    """The state `action` leads to from `status`, or InvalidTransition."""
    transition = TRANSITIONS[action]
    if status not in transition.sources:
        raise InvalidTransition(action.value, status.value,
                                frozenset(s.value for s in transition.sources))
    return transition.target
