"""The callback queue (回访): a follow-up call after every resolved appeal, queue and
voice-message callbacks for the agents, and the compliance report.

`makeService(core, ami)` builds the dispatcher and registers the resolve participant that
creates each appeal's callback task in the resolving transaction.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from twisted.application.service import MultiService
from twisted.logger import Logger

from callback_queue.config import CallbacksConfig, check_against_ivr, opening_from_ivr

if TYPE_CHECKING:
    from callback_queue.dispatcher import CallbackDispatcher
    from callback_queue.queue import CallbackQueue
    from hotline.ami.service import AMIService
    from hotline.core import Core

# The package's import stays light (config only), so that the core's configuration loader
# can import `callback_queue.config` without pulling in the database and AMI layers.
_LAZY = {"CallbackDispatcher": "callback_queue.dispatcher",
         "CallbackPolicy": "callback_queue.policy",
         "CallbackQueue": "callback_queue.queue",
         "CallbackRepository": "callback_queue.repository"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'callback_queue' has no attribute {name!r}")


RESOLVE_PARTICIPANT = "callback_queue"
log = Logger(namespace="callback_queue")

__all__ = ["CallbackDispatcher", "CallbackPolicy", "CallbackQueue", "CallbackRepository",
           "CallbacksConfig", "makeService", "build"]


class CallbackQueueService(MultiService):
    """The callback queue's service: `queue` is the facade the IVR and the web use,
    `dispatcher` the service that places the calls (a child only while it may run)."""

    def __init__(self, queue: CallbackQueue, dispatcher: CallbackDispatcher) -> None:
        super().__init__()
        self.setName("callback_queue")
        self.queue = queue
        self.dispatcher = dispatcher


def build(core: Core, ami: AMIService | None, config: CallbacksConfig | None = None,
          owner: str | None = None) -> tuple[CallbackQueue, CallbackDispatcher]:
    """The queue and its dispatcher, without registering anything (tools and tests)."""
    from callback_queue.dispatcher import CallbackDispatcher
    from callback_queue.policy import CallbackPolicy
    from callback_queue.queue import CallbackQueue
    from callback_queue.repository import CallbackRepository

    config = config or getattr(core.config, "callbacks", None) or CallbacksConfig()
    check_against_ivr(config, core.config.ivr)  # a lease shorter than the queue's wait
    policy = CallbackPolicy(config, core.calendar, core.zone,
                            opening=opening_from_ivr(core.config.ivr))
    repository = CallbackRepository(policy, core.appeals.repository)
    queue = CallbackQueue(core.db, repository, ami, core.clock, config)
    dispatcher = CallbackDispatcher(core.db, repository, ami, core.clock, core.reactor, config,
                                    owner=owner)
    return queue, dispatcher


def makeService(core: Core, ami: AMIService | None = None,
                config: CallbacksConfig | None = None,
                owner: str | None = None) -> CallbackQueueService:
    """The callback queue's service (the dispatcher, unless `enabled = false` or there is no
    AMI link), with its participants registered: on `core.resolve_hook` the appeal's
    satisfaction callback, on `core.create_hook` a voice message's agent callback, on the
    appeals' `merged_hook` the cancelling of a duplicate's callbacks. `ami`
    defaults to `core.ami`. The `CallbackQueue` facade is the returned service's `.queue`
    (its `request_callback` for the IVR backend, its `record_rating` for the survey flow)."""
    ami = ami if ami is not None else core.ami
    config = config or getattr(core.config, "callbacks", None) or CallbacksConfig()
    queue, dispatcher = build(core, ami, config, owner)
    queue.requested_hook = core.callback_requested_hook
    queue.repository.survey_sms_hook = core.survey_sms_hook
    core.resolve_hook.register(RESOLVE_PARTICIPANT, queue.repository.on_resolved)
    if core.create_hook is not None:
        core.create_hook.register(RESOLVE_PARTICIPANT, queue.repository.on_created)
    merged = core.appeals.repository.merged_hook
    if RESOLVE_PARTICIPANT not in merged.names:  # a repository a queue before this one joined
        merged.register(RESOLVE_PARTICIPANT, queue.repository.on_merged)
    if core.metrics is not None:
        core.metrics.snapshot.add_query("callbacks", callback_counts)
    top = CallbackQueueService(queue, dispatcher)
    if config.enabled and ami is not None:
        dispatcher.setServiceParent(top)
    else:
        log.warn("Callback dispatcher not started: {why}; tasks are still created and kept",
                 why="no AMI link" if ami is None else "[callbacks] enabled = false")
    return top


def callback_counts(session, now):
    """Runs in the database thread (the core's metrics snapshot): callback tasks by state,
    and how many open ones are past their due time."""
    from prometheus_client.core import GaugeMetricFamily
    from sqlalchemy import func, select

    from schemas.callbacks import OPEN_STATES, CallbackState, CallbackTask

    by_state = GaugeMetricFamily("hotline_callbacks", "Callback tasks by state", labels=["state"])
    counts = dict(session.execute(
        select(CallbackTask.state, func.count()).group_by(CallbackTask.state)).all())
    for state in CallbackState:
        by_state.add_metric([state.value], counts.get(state, 0))
    overdue = session.execute(select(func.count()).select_from(CallbackTask).where(
        CallbackTask.state.in_(OPEN_STATES), CallbackTask.due_by < now)).scalar()
    return [by_state, GaugeMetricFamily("hotline_callbacks_overdue",
                                        "Open callback tasks past their due time",
                                        value=overdue or 0)]
