"""The packages joined as twisted_app.tac joins them, meeting in the core's transactions:
a callback request is confirmed by SMS, a new appeal acknowledged, a resolved one gets its
follow-up call and its SMS, all in the transaction that causes them."""

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from twisted.internet.defer import Deferred

import callback_queue
import sms_gateway.messages.service
from hotline.config import AmiConfig, Config, DatabaseConfig
from hotline.core import make_core
from schemas.callbacks import CallbackTask
from schemas.enums import SmsKind
from schemas.sms import SmsMessage
from sms_gateway.messages.config import MessagesConfig
from tests.support.appeals import add_unit, new_appeal


@pytest.fixture
def wired(db_url, pumped_reactor):
    core = make_core(Config(database=DatabaseConfig(url=db_url), ami=AmiConfig(enabled=False)),
                     pumped_reactor)
    core.db.startService()
    callbacks = callback_queue.makeService(core, ami=None)
    sms_gateway.messages.service.register(core)
    yield core, callbacks.queue
    core.db.stopService()


def sms_kinds(core):
    return core.db.read_now(lambda s: [(m.kind, m.destination) for m in
                                       s.scalars(select(SmsMessage).order_by(SmsMessage.id))])


@freeze_time("2026-11-27T02:00:00Z")  # a Friday, 10:00 in Shanghai
def test_callback_request_is_confirmed_by_sms_in_its_transaction(wired, pumped_reactor):
    core, queue = wired
    pumped_reactor.wait(Deferred.fromCoroutine(queue.request_callback("13812345678", "call-9")))
    assert sms_kinds(core) == [(SmsKind.CALLBACK_CONFIRMATION, "13812345678")]
    tasks = core.db.read_now(lambda s: [t.citizen_phone for t in s.scalars(select(CallbackTask))])
    assert tasks == ["13812345678"]


@freeze_time("2026-11-27T02:00:00Z")
def test_appeal_opened_and_resolved_brings_its_sms_and_its_callback(wired, pumped_reactor):
    core, _ = wired
    appeals = core.appeals
    record = pumped_reactor.wait(appeals.create(new_appeal(), actor="agent:li"))
    unit = core.db.write_now(add_unit)
    pumped_reactor.wait(appeals.assign(record.id, unit, actor="agent:li"))
    pumped_reactor.wait(appeals.start(record.id, actor="agent:li"))
    pumped_reactor.wait(appeals.resolve(record.id, "已调解", actor="agent:li"))
    assert [kind for kind, _ in sms_kinds(core)] == [SmsKind.APPEAL_RECEIVED,
                                                     SmsKind.APPEAL_RESOLVED]
    tasks = core.db.read_now(lambda s: [t.appeal_id for t in s.scalars(select(CallbackTask))])
    assert tasks == [record.id]


@freeze_time("2026-11-27T02:00:00Z")
def test_callback_fallback_survey_sms_uses_the_template_and_signature(wired, pumped_reactor):
    core, queue = wired
    assert queue.repository.survey_sms_hook is core.survey_sms_hook
    record = pumped_reactor.wait(core.appeals.create(new_appeal(), actor="agent:li"))
    now = core.clock.now()
    core.db.write_now(core.survey_sms_hook.run, record.id, now, "callback-survey:1")
    core.db.write_now(core.survey_sms_hook.run, record.id, now, "callback-survey:1")  # once
    surveys = core.db.read_now(lambda s: [m.text for m in s.scalars(
        select(SmsMessage).where(SmsMessage.kind == SmsKind.SURVEY))])
    assert len(surveys) == 1
    assert surveys[0].startswith(MessagesConfig().signature)
    assert record.case_number in surveys[0] and "满意" in surveys[0]


def test_the_hotline_flow_marks_its_end_for_the_dialplan_and_the_survey_does_not(wired):
    from ivr.service import make_registry

    core, queue = wired
    registry = make_registry(core, record_rating=lambda task_id, digit: None)
    assert registry.marks_done("hotline")
    assert not registry.marks_done("survey")
