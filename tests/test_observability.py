"""Watching the service: the links' up/down state and since when (AMI login and loss, SMSC
binds), and JSON-lines logs that never carry a caller's number."""

from __future__ import annotations

import io
import json

from twisted.internet.task import Clock
from twisted.logger import formatEvent, globalLogPublisher

from hotline.ami.service import AMIService
from hotline.config import LoggingConfig
from hotline.logs import make_observer
from ivr.simulator import CallSetup
from sms_gateway.smpp.config import SmppBindConfig
from sms_gateway.smpp.service import SmppLink
from tests.ivr.helpers import run_call
from tests.ivr.test_hotline_flow import CITIZEN, MemoryBackend, citizen, make_flow


class _NoEndpoint:
    def connect(self, factory):
        raise AssertionError("not started in these tests")


def test_ami_link_is_down_until_login_and_since_changes_on_login_and_loss():
    clock = Clock()
    ami = AMIService(clock=clock, endpoint=_NoEndpoint())
    assert (ami.up, ami.since) == (False, 0)
    clock.advance(5)
    ami._setState(ami.CONNECTING)
    ami._setState(ami.UNREACHABLE, "refused")
    assert (ami.up, ami.since) == (False, 0)  # down all along: since the start
    clock.advance(5)
    ami._setState(ami.LOGGED_IN)
    assert (ami.up, ami.since) == (True, 10)
    clock.advance(30)
    ami._setState(ami.LOST, "connection reset")
    assert (ami.up, ami.since) == (False, 40)


class _Bound:
    can_submit = True
    submits_outstanding = 0


def test_smsc_bind_since_changes_when_it_becomes_available_and_when_it_is_lost():
    clock = Clock()
    link = SmppLink(SmppBindConfig(password="x"), _NoEndpoint(), clock,
                    on_receipt=lambda r: None, on_message=lambda m: None, name="cmcc")
    assert (link.is_available(), link.since) == (False, 0)
    clock.advance(7)
    protocol = _Bound()
    link._protocolBound(protocol)
    assert (link.is_available(), link.since) == (True, 7)
    clock.advance(3)
    link._protocolLost(protocol)
    assert (link.is_available(), link.since) == (False, 10)


def _json_lines_of(run, raw_events: list | None = None) -> list[str]:
    stream = io.StringIO()
    observer = make_observer(LoggingConfig(level="debug", format="json"), stream)
    globalLogPublisher.addObserver(observer)
    if raw_events is not None:
        globalLogPublisher.addObserver(raw_events.append)
    try:
        run()
    finally:
        globalLogPublisher.removeObserver(observer)
        if raw_events is not None:
            globalLogPublisher.removeObserver(raw_events.append)
    return [line for line in stream.getvalue().split("\x1e") if line.strip()]


def test_json_log_lines_of_a_call_never_contain_the_caller_number():
    def calls():
        run_call(make_flow(MemoryBackend()), "_ 1", citizen())  # to the queue
        run_call(make_flow(MemoryBackend(fail=True)), "_ 4 2026112000001#", citizen())
        run_call(make_flow(MemoryBackend()), "_ H", citizen())  # hangs up at the menu
        run_call(make_flow(MemoryBackend()), "", CallSetup(callerid=CITIZEN, script="nowhere"))

    raw: list = []
    lines = _json_lines_of(calls, raw)
    assert lines, "the calls logged nothing"
    # The call sites mask already (the observer's masking is only a safety net).
    assert all(CITIZEN not in formatEvent(event) for event in raw)
    for line in lines:
        json.loads(line)
        assert CITIZEN not in line
        assert CITIZEN[-8:] not in line
    assert any("138****5678" in line for line in lines)


def test_a_raw_number_a_call_site_forgot_to_mask_is_masked_in_json_and_text_lines():
    from twisted.logger import Logger

    log = Logger(namespace="test")
    for form in ("json", "text"):
        stream = io.StringIO()
        observer = make_observer(LoggingConfig(level="info", format=form), stream)
        log.observer = observer
        log.info("Call from {caller}, id {id_number}", caller=CITIZEN,
                 id_number="110105199001011234")
        written = stream.getvalue()
        assert CITIZEN not in written and "110105199001011234" not in written
        assert "138****5678" in written
        if form == "json":
            event = json.loads(written.strip("\x1e\n"))
            assert event["caller"] == "138****5678"


def test_log_levels_below_the_configured_one_are_not_written():
    from twisted.logger import Logger

    stream = io.StringIO()
    log = Logger(namespace="test", observer=make_observer(
        LoggingConfig(level="warn", format="json"), stream))
    log.info("quiet")
    log.warn("loud")
    assert "quiet" not in stream.getvalue() and "loud" in stream.getvalue()


def test_an_event_flattened_before_it_reaches_the_observer_is_masked_too():
    from twisted.logger import LogLevel

    event = {"log_format": "Call from {caller}", "caller": CITIZEN, "log_level": LogLevel.info,
             "log_namespace": "test", "log_time": 0.0,
             "log_flattened": {"caller!s:": CITIZEN, "caller!:": CITIZEN}}
    stream = io.StringIO()
    make_observer(LoggingConfig(level="debug", format="json"), stream)(event)
    assert CITIZEN not in stream.getvalue() and "138****5678" in stream.getvalue()


_ID_NUMBER = "110105199001011234"


def _integrity_failure(*, capture_vars: bool = False):
    """A real driver error quoting the row it refused, as a failure logged from an errback."""
    import sqlalchemy as sa
    from twisted.python.failure import Failure

    engine = sa.create_engine("sqlite://")
    citizens = sa.Table("citizens", sa.MetaData(), sa.Column("phone", sa.String, unique=True),
                        sa.Column("id_number", sa.String))
    citizens.metadata.create_all(engine)
    with engine.begin() as connection:
        phone, id_number = CITIZEN, _ID_NUMBER  # locals, seen by a failure that captures them
        connection.execute(citizens.insert(), {"phone": phone, "id_number": id_number})
        try:
            connection.execute(citizens.insert(), {"phone": phone, "id_number": id_number})
        except sa.exc.IntegrityError:
            return Failure(captureVars=capture_vars)
    raise AssertionError("the second insert was accepted")


def test_a_logged_failure_quoting_a_phone_and_an_id_number_is_masked_in_the_text_line():
    from twisted.logger import Logger

    failure = _integrity_failure()
    assert CITIZEN in failure.getTraceback() and _ID_NUMBER in failure.getTraceback()
    stream = io.StringIO()
    log = Logger(namespace="test", observer=make_observer(
        LoggingConfig(level="info", format="text"), stream))
    log.failure("Storing the citizen failed", failure)
    written = stream.getvalue()
    assert "IntegrityError" in written and "Traceback" in written
    assert CITIZEN not in written and _ID_NUMBER not in written
    assert "138****5678" in written and "110*************34" in written


def test_a_logged_failure_quoting_a_phone_and_an_id_number_is_masked_in_the_json_line():
    from twisted.logger import Logger, eventFromJSON

    failure = _integrity_failure(capture_vars=True)
    stream = io.StringIO()
    log = Logger(namespace="test", observer=make_observer(
        LoggingConfig(level="info", format="json"), stream))
    log.failure("Storing the citizen failed", failure)
    written = stream.getvalue()
    assert CITIZEN not in written and _ID_NUMBER not in written  # message, traceback, locals
    event = eventFromJSON(written.strip("\x1e\n"))
    traceback = event["log_failure"].getTraceback()
    assert "IntegrityError" in traceback and "138****5678" in traceback
    assert "138****5678" in event["log_failure"].traceback
    assert "110*************34" in event["log_failure"].value


def test_a_legacy_log_err_and_an_exception_given_as_a_field_are_masked_too():
    from twisted.logger import Logger, LogPublisher
    from twisted.python import log as legacy

    failure = _integrity_failure()
    for form in ("json", "text"):
        stream = io.StringIO()
        observer = make_observer(LoggingConfig(level="info", format=form), stream)
        Logger(namespace="test", observer=observer).warn(
            "Health check: database unreachable: {error}", error=failure.value)
        publisher = LogPublisher(observer)
        legacy.LogPublisher(publisher, publisher).msg(failure=failure, isError=1,
                                                   why="Unhandled error in Deferred:")
        written = stream.getvalue()
        assert CITIZEN not in written and _ID_NUMBER not in written
        assert "UNIQUE constraint failed" in written
        assert "Unhandled error in Deferred" in written
        assert written.count("138****5678") >= 2  # the field and the traceback
