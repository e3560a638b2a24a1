"""Wiring of the content layer into one process: the appeal hook participants, the reply
listener, and the reminder planner service.

    messaging = register(core)                  # hooks only (e.g. a command-line tool)
    makeService(core, inbox)                    # hooks, reply listener, planner
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from twisted.application import service
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from hotline.config import Config, ConfigError
from sms_gateway.messages import appeal_messages, knowledge_guide
from sms_gateway.messages.appeal_messages import AppealMessages
from sms_gateway.messages.broadcasts import Broadcasts
from sms_gateway.messages.config import MessagesConfig, messages_config
from sms_gateway.messages.knowledge_guide import KnowledgeGuideMessages
from sms_gateway.messages.planner import PlannerService
from sms_gateway.messages.reminders import ReminderPlan, ReminderPlanner
from sms_gateway.messages.replies import ReplyHandler, ReplyResult
from sms_gateway.messages.sending import Sender
from sms_gateway.messages.templates import TEMPLATED_KINDS, Templates

if TYPE_CHECKING:
    from hotline.core import Core
    from sms_gateway.inbox import Inbox


@dataclass(frozen=True)
class Messaging:
    """The content layer's parts, built once from the configuration."""

    config: MessagesConfig
    templates: Templates
    sender: Sender
    appeals: AppealMessages
    broadcasts: Broadcasts
    plan: ReminderPlan
    planner: ReminderPlanner


def build(config: Config, zone: ZoneInfo, settings: MessagesConfig | None = None) -> Messaging:
    """From a loaded `hotline.config.Config` (its `[messages]` section unless `settings` is
    given); every template is rendered once so that a broken override stops start-up
    instead of a citizen's message."""
    settings = settings or messages_config(config)
    templates = Templates(settings, hotline_number=config.service.hotline_number, zone=zone)
    check_templates(templates)
    sender = Sender(settings, zone)
    plan = ReminderPlan(settings, zone)
    return Messaging(settings, templates, sender, AppealMessages(sender, templates),
                     Broadcasts(sender, templates), plan, ReminderPlanner(plan, sender, templates))


SAMPLE_FIELDS: dict[str, dict[str, object]] = {
    "appeal_received": {"case_number": "2026112800001",
                        "deadline": dt.datetime(2026, 12, 5, 15, 59, tzinfo=dt.timezone.utc)},
    "appeal_resolved": {"case_number": "2026112800001", "resolution": "已协调物业处理"},
    "survey": {"case_number": "2026112800001", "valid_hours": "72"},
    "reminder_vehicle": {"plate": "鲁Q12345", "due_date": dt.date(2026, 12, 31)},
    "reminder_licence": {"due_date": dt.date(2026, 12, 31)},
    "reminder_idcard": {"due_date": dt.date(2026, 12, 31), "station": "兰山派出所",
                        "opening_hours": "工作日8:30-17:00"},
    "early_warning": {"text": "警惕冒充公检法诈骗"},
    "callback_confirmation": {"case_number": None, "within_minutes": 30},
    # A long unit name, so that the check sees the longest message a site is likely to send.
    "appeal_dispatched": {"case_number": "2026112800001", "unit_name": "临沂市公安局兰山分局柳青派出所",
                          "deadline": dt.datetime(2026, 12, 5, 15, 59, tzinfo=dt.timezone.utc)},
    "appeal_extended": {"case_number": "2026112800001", "unit_name": "临沂市公安局兰山分局柳青派出所",
                        "deadline": dt.datetime(2026, 12, 19, 15, 59, tzinfo=dt.timezone.utc)},
    "progress_reply": {"found": True, "case_number": "2026112800001", "status": "in_progress",
                       "unit_name": "临沂市公安局兰山分局柳青派出所",
                       "deadline": dt.datetime(2026, 12, 5, 15, 59, tzinfo=dt.timezone.utc),
                       "resolved_at": None},
    "unit_urged": {"case_number": "2026112800001", "unit_name": "临沂市公安局兰山分局柳青派出所",
                   "deadline": dt.datetime(2026, 12, 5, 15, 59, tzinfo=dt.timezone.utc),
                   "supervise": True},
    "knowledge_guide": {"title": "居民身份证补领", "materials": "居民户口簿；未满十六周岁的由监护人陪同" * 3,
                        "location": "户籍所在地或居住地派出所户籍窗口" * 2, "hours": "工作日上午9:00-12:00，下午13:30-17:00",
                        "fee": "工本费按国家规定收取", "time_limit": "按规定时限制证"},
}


def check_templates(templates: Templates) -> None:
    for kind in TEMPLATED_KINDS:
        try:
            templates.render(kind, **SAMPLE_FIELDS[kind.value])
        except ValueError as error:
            raise ConfigError(f"messages: {templates.source_of(kind)}: {error}") from None


def register(core: Core, settings: MessagesConfig | None = None) -> Messaging:
    """Build the content layer and join the core's create and resolve hooks."""
    messaging = build(core.config, core.zone, settings)
    appeal_messages.register(core, messaging.appeals)
    knowledge_guide.register(core, KnowledgeGuideMessages(messaging.sender, messaging.templates))
    return messaging


class _Replies(service.Service):
    """Listens to the inbox; on start, handles replies stored while no listener ran."""

    log = Logger()

    def __init__(self, core: Core, inbox: Inbox, handler: ReplyHandler) -> None:
        self._core, self._inbox, self.handler = core, inbox, handler

    def startService(self) -> None:
        super().startService()
        if self.handler not in self._inbox.reply_listeners:
            self._inbox.reply_listeners.append(self.handler)
        d = self._core.db.write(self.handler.handle_pending, self._core.clock.now())
        def handled(done: list[ReplyResult]) -> None:
            if done:
                self.log.info("{count} reply(ies) stored earlier handled", count=len(done))

        d.addCallback(handled)
        d.addErrback(lambda failure: self.log.failure("Earlier replies not handled", failure))

    def stopService(self) -> defer.Deferred | None:
        super().stopService()
        if self.handler in self._inbox.reply_listeners:
            self._inbox.reply_listeners.remove(self.handler)
        return None


class MessagesService(service.MultiService):
    """The content layer's services: `replies` handles the SMS replies, `planner` queues the
    reminders due (None: `planner_enabled = false`), `messaging` is the layer's parts."""

    def __init__(self, messaging: Messaging, replies: ReplyHandler) -> None:
        super().__init__()
        self.setName("messages")
        self.messaging = messaging
        self.replies = replies
        self.planner: PlannerService | None = None


def makeService(core: Core, inbox: Inbox, *, settings: MessagesConfig | None = None,
                clock: IReactorTime | None = None) -> MessagesService:
    """`inbox`: the SMS gateway's (`sms_gateway.service.makeService(core).inbox`); `clock`:
    the planner's timer (default: the core's reactor)."""
    messaging = register(core, settings)
    handler = ReplyHandler(core.db, core.clock, core.appeals.repository,
                           survey_valid=dt.timedelta(hours=messaging.config.survey_valid_hours),
                           progress_reply=messaging.appeals.queue_progress_reply)
    top = MessagesService(messaging, handler)
    replies = _Replies(core, inbox, handler)
    replies.setName("sms-replies")
    replies.setServiceParent(top)
    if messaging.config.planner_enabled:
        planner = PlannerService(core.db, messaging.planner, wall=core.clock,
                                 clock=clock if clock is not None else core.reactor,
                                 poll_s=messaging.config.planner_poll_s,
                                 batch=messaging.config.planner_batch)
        planner.setName("reminder-planner")
        planner.setServiceParent(top)
        top.planner = planner
    return top
