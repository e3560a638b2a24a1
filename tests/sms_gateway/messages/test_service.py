"""`makeService(core, inbox)`: the hooks join the core's transactions, the reply listener
hears the inbox, the planner runs; the configuration's [messages] table is honoured."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from twisted.internet import task

from hotline.config import AmiConfig, Config, DatabaseConfig
from hotline.core import make_core
from schemas.enums import SmsInboundState, SmsKind
from schemas.sms import SmsInbound
from sms_gateway.inbox import Inbox
from sms_gateway.link import MobileOriginated
from sms_gateway.messages.config import MessagesConfig, messages_config
from sms_gateway.messages.service import makeService
from tests.sms_gateway.messages.support import messages
from tests.support.appeals import new_appeal


def test_the_service_wires_hooks_replies_and_the_planner(db_url, pumped_reactor):
    config = Config(database=DatabaseConfig(url=db_url), ami=AmiConfig(enabled=False))
    core = make_core(config, pumped_reactor)
    core.db.startService()
    inbox = Inbox(core.db, core.clock)
    clock = task.Clock()
    top = makeService(core, inbox, clock=clock)
    top.startService()
    try:
        assert core.create_hook.names == ("sms-appeal-received",)
        assert core.resolve_hook.names == ("sms-appeal-resolved",)
        assert inbox.reply_listeners == [top.replies]
        pumped_reactor.pump(lambda: top.planner.rounds == 1)
        appeal = pumped_reactor.wait(core.appeals.create(new_appeal(), actor="agent:wang"))
        [sent] = core.db.read_now(messages)
        assert sent.kind is SmsKind.APPEAL_RECEIVED and sent.appeal_id == appeal.id
        pumped_reactor.wait(inbox.on_message(MobileOriginated(
            source="13812345678", destination="9600110", text="ＴＤ")))

        def handled():
            return core.db.read_now(lambda s: s.scalar(select(SmsInbound.state)))
        pumped_reactor.pump(lambda: handled() is SmsInboundState.OPT_OUT)
    finally:
        pumped_reactor.wait(top.stopService())
        core.db.stopService()
    assert inbox.reply_listeners == []


def test_messages_settings_come_from_the_config_section_when_the_loader_has_one():
    assert messages_config(Config()) == MessagesConfig()

    @dataclasses.dataclass(frozen=True)
    class WithMessages:
        messages: object

    assert messages_config(WithMessages({"daily_cap": 5})).daily_cap == 5
    settings = MessagesConfig(signature="【兰山公安】")
    assert messages_config(WithMessages(settings)) is settings
    # The core loader's way: a package section under `hotline.config_sections`.
    assert messages_config(Config(extensions={"messages": settings})) is settings
