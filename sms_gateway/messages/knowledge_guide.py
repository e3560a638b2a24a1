"""The guide of a knowledge article sent to a caller from the desk (办事指南): a participant
of the core's guide hook (`hotline.knowledge.guide`), rendered from its own template, split
into parts as needed, queued through the outbox on the appeal it was sent for, once per
appeal and version (a second click queues nothing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hotline.knowledge.guide import GuideRequest
from schemas.enums import SmsKind
from sms_gateway.messages.sending import Outcome, Request, Sender
from sms_gateway.messages.templates import Templates

if TYPE_CHECKING:
    from hotline.core import Core

PARTICIPANT = "sms-knowledge-guide"


class KnowledgeGuideMessages:
    def __init__(self, sender: Sender, templates: Templates) -> None:
        self.sender, self.templates = sender, templates

    def on_guide(self, session: Session, request: GuideRequest) -> Outcome:
        text = self.templates.render(SmsKind.KNOWLEDGE_GUIDE, title=request.title,
                                     materials=request.materials, location=request.location,
                                     hours=request.hours, fee=request.fee,
                                     time_limit=request.time_limit)
        scope = f"appeal:{request.appeal_id}" if request.appeal_id else \
            f"phone:{request.phone}:{request.at.date().isoformat()}"
        # The caller is on the line and asked for it: sent now, not held for quiet hours.
        return self.sender.queue(session, Request(
            SmsKind.KNOWLEDGE_GUIDE, request.phone, text, urgent=True,
            appeal_id=request.appeal_id,
            dedupe_key=f"knowledge-guide:{scope}:{request.version_id}"), request.at)


def register(core: Core, messages: KnowledgeGuideMessages) -> None:
    core.knowledge_guide_hook.register(PARTICIPANT, messages.on_guide)
