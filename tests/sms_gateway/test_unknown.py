"""A message the SMSC accepted whose final receipt never came is `unknown` at the end of its
validity, not `submitted` for ever; a receipt that still comes settles it."""

import argparse
import datetime as dt

from twisted.internet.task import Clock

from hotline.config import load_config
from schemas.enums import SmsState
from sms_gateway import outbox
from sms_gateway.cli import cmd_unknown
from sms_gateway.dispatcher import DispatchSettings, OutboxDispatcher
from sms_gateway.link import DeliveryReceipt, MessageState
from sms_gateway.routing import Router
from tests.sms_gateway.test_dispatcher import ScriptedLink, Wall, queue, state


def submitted(database, wall, text, carrier_id):
    message = queue(database, text, wall.time)

    def work(session):
        (claimed,) = outbox.claim_due(session, owner="t", now=wall.time,
                                      lease=dt.timedelta(seconds=60), limit=1)
        outbox.record_submitted(session, claimed, link="mobile", encoding="ucs2",
                                part_ids=[carrier_id], now=wall.time)
    database.write_now(work)
    return message


def test_no_final_receipt_within_the_validity_makes_a_message_unknown_and_a_late_one_settles_it(
        database):
    wall = Wall()
    silent = submitted(database, wall, "无回执", "AA1")
    later = wall.time + outbox.UNKNOWN_AFTER - dt.timedelta(seconds=1)
    assert database.write_now(outbox.settle_unknown, later) == 0  # still within its validity
    assert database.write_now(outbox.settle_unknown, later + dt.timedelta(seconds=1)) == 1
    row = state(database, silent)
    assert row.state is SmsState.UNKNOWN and row.last_error == \
        "no final delivery receipt within 72 h"
    assert [m.id for m in database.read_now(outbox.unknown_messages)] == [silent]
    database.write_now(outbox.take_receipts, [(DeliveryReceipt(
        "AA1", MessageState.DELIVERED), None, "mobile")], later + dt.timedelta(hours=1))
    assert state(database, silent).state is SmsState.DELIVERED
    assert database.read_now(outbox.unknown_messages) == []


def test_the_dispatcher_s_sweep_makes_overdue_messages_unknown_and_counts_them(
        database, pumped_reactor):
    wall, clock = Wall(), Clock()
    silent = submitted(database, wall, "无回执", "AB2")
    dispatcher = OutboxDispatcher(database, {"mobile": ScriptedLink()},
                                  Router({}, {}, "mobile"), clock, wall,
                                  DispatchSettings(owner="t", poll_s=1, receipt_sweep_s=30,
                                                   unknown_after=dt.timedelta(hours=6)))
    dispatcher.startService()
    wall.time += dt.timedelta(hours=6)
    pumped_reactor.pump(lambda: dispatcher.unknown == 1, clock=clock, step=1.0)
    assert state(database, silent).state is SmsState.UNKNOWN
    stopped = dispatcher.stopService()
    pumped_reactor.pump(lambda: stopped.called, clock=clock, step=0.5)


def test_the_operator_command_lists_unknown_messages_with_the_number_masked(
        tmp_path, capsys):
    from hotline.db import Database, make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    path = tmp_path / "hotline.toml"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    config = load_config(path, environ={})
    database = Database(make_engine(config.database), reactor=None)
    upgrade(database.engine)
    wall = Wall()
    silent = submitted(database, wall, "无回执", "AC3")
    database.write_now(outbox.settle_unknown, wall.time + outbox.UNKNOWN_AFTER)
    assert cmd_unknown(config, argparse.Namespace(limit=10)) == 0
    out = capsys.readouterr().out
    assert f"message {silent} to 138****5678, link mobile" in out
    assert "13812345678" not in out
