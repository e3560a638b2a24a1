"""A real service process SIGKILLed in the middle of sending, then restarted: every message
is sent, none is lost, and duplicates stay within the window of what was in flight."""

import signal

import pytest
from sqlalchemy import create_engine, func, select

from schemas.enums import SmsKind, SmsState
from schemas.sms import SmsMessage, SmsPart
from sms_gateway import outbox
from tests.support.appeals import utc
from tests.support.processes import start_service, start_smsc, wait_for

MESSAGES = 300
IN_FLIGHT = 40


@pytest.mark.slow
def test_service_killed_mid_batch_and_restarted_sends_every_message(database, db_url, tmp_path):
    smsc, port = start_smsc()
    config = tmp_path / "hotline.toml"
    config.write_text(f"""
[sms]
lease_s = 5
poll_s = 0.1
max_in_flight = {IN_FLIGHT}
dispatch_batch = 20
[sms.binds.sim]
host = "127.0.0.1"
port = {port}
system_id = "hotline"
password = "secret"
rate = 100.0
window = 10
""", encoding="utf-8")
    for n in range(MESSAGES):
        database.write_now(outbox.enqueue, kind=SmsKind.TEST, destination="13812345678",
                           text=f"测试短信 {n}", now=utc(2026, 1, 1))
    engine = create_engine(db_url)

    def count(*where):
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(SmsMessage).where(*where))

    sent = SmsMessage.state.in_([SmsState.SUBMITTED, SmsState.DELIVERED])
    log = tmp_path / "service.log"
    try:
        service = start_service(config, db_url, log)
        wait_for(lambda: count(sent) >= 60, 60, "the first messages to be sent")
        service.send_signal(signal.SIGKILL)
        service.wait(10)
        at_kill = count(sent)
        assert at_kill < MESSAGES, "the service finished before it could be killed"
        service = start_service(config, db_url, log)
        wait_for(lambda: count(sent) == MESSAGES, 90, "every message to be sent")
        service.terminate()
        # twistd re-raises the signal after a clean shutdown, so the status is -SIGTERM
        assert service.wait(20) in (0, -signal.SIGTERM)
        assert log.read_text(errors="replace").count("Server Shut Down.") == 1
    finally:
        for process in (service, smsc):
            if process.poll() is None:
                process.kill()
    with engine.connect() as connection:
        attempts_per_message = connection.execute(
            select(SmsPart.message_id, func.count(func.distinct(SmsPart.attempt)))
            .group_by(SmsPart.message_id)).all()
    engine.dispose()
    assert len(attempts_per_message) == MESSAGES
    resent = [m for m, attempts in attempts_per_message if attempts > 1]
    assert len(resent) <= IN_FLIGHT  # only what was in flight at the kill can go twice
    assert count(SmsMessage.state == SmsState.FAILED) == 0
