"""Early warnings: to a list or an area, in the BULK lane, spread at the configured rate,
after the quiet hours unless urgent; progress by state; cancellable mid-way."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from hotline.config import Config, DatabaseConfig
from schemas.enums import SmsKind, SmsLane
from schemas.messaging import BroadcastState, OptAction
from sms_gateway import outbox
from sms_gateway.messages import appeal_messages, cli, optout
from sms_gateway.messages.broadcasts import BroadcastNotFound, read_numbers
from sms_gateway.messages.csv_input import EncodingError
from tests.sms_gateway.messages.support import core_with_hooks, messages, messaging, shanghai
from tests.support.appeals import new_appeal

NOW = shanghai(2026, 11, 30, 10, 0)
TEXT = "近期冒充公检法诈骗高发，公安机关不会电话要求转账"


def numbers(count, start=0):
    return [f"1391234{n:04d}" for n in range(start, start + count)]


def test_a_broadcast_to_a_list_is_spread_at_the_rate_in_the_bulk_lane(database):
    parts = messaging(broadcast_rate=10)
    database.write_now(optout.set_opt, "13912340003", OptAction.OPT_OUT, now=NOW, actor="test")
    lines = ["phone", *numbers(5), "12345", "13912340001", "05398123456"]
    broadcast_id = database.write_now(
        parts.broadcasts.create, text=TEXT, recipients=read_numbers(iter(lines)), urgent=False,
        audience="numbers test.csv", actor="supervisor:li", now=NOW)
    status = database.read_now(parts.broadcasts.status, broadcast_id)
    assert (status.recipients, status.skipped_opted_out, status.skipped_invalid) == (4, 1, 2)
    assert status.by_state == {"queued": 4} and status.state is BroadcastState.ACTIVE
    sent = database.read_now(messages)
    assert {m.kind for m in sent} == {SmsKind.EARLY_WARNING}
    assert {m.lane for m in sent} == {SmsLane.BULK}
    assert sent[0].text == f"【临沂公安】{TEXT}。回复TD退订"
    assert [m.not_before - NOW for m in sent] == [dt.timedelta(seconds=s / 10)
                                                  for s in (0, 1, 2, 4)]
    assert (status.starts_at, status.ends_at) == (NOW, NOW + dt.timedelta(seconds=0.4))


@pytest.mark.parametrize("urgent, first", [(True, shanghai(2026, 11, 30, 23, 0)),
                                           (False, shanghai(2026, 12, 1, 8, 0))])
def test_an_urgent_warning_goes_at_night_and_another_waits_for_the_morning(database, urgent,
                                                                          first):
    parts = messaging()
    night = shanghai(2026, 11, 30, 23, 0)
    database.write_now(parts.broadcasts.create, text=TEXT, recipients=numbers(3), urgent=urgent,
                       audience="numbers", actor="supervisor:li", now=night)
    assert min(m.not_before for m in database.read_now(messages)) == first


def test_a_broadcast_never_starves_appeal_messages(database):
    parts = messaging(broadcast_rate=1000)
    core, repository = core_with_hooks()
    appeal_messages.register(core, parts.appeals)
    database.write_now(parts.broadcasts.create, text=TEXT, recipients=numbers(50), urgent=True,
                       audience="numbers", actor="supervisor:li", now=NOW)
    database.write_now(repository.create, new_appeal(), actor="agent:wang",
                       now=NOW + dt.timedelta(seconds=1))
    claimed = database.write_now(outbox.claim_due, owner="test", now=NOW + dt.timedelta(minutes=1),
                                 lease=dt.timedelta(minutes=2), limit=5)
    kinds = database.read_now(lambda s: [outbox.get(s, c.id).kind for c in claimed])
    assert kinds[0] is SmsKind.APPEAL_RECEIVED


def test_cancel_mid_way_stops_what_was_not_submitted(database, db_url, capsys):
    parts = messaging(broadcast_rate=1)
    broadcast_id = database.write_now(parts.broadcasts.create, text=TEXT, recipients=numbers(10),
                                      urgent=True, audience="numbers", actor="supervisor:li",
                                      now=NOW)
    # The dispatcher has taken the first three by NOW + 2.5 s and the SMSC accepted them.
    claimed = database.write_now(outbox.claim_due, owner="test",
                                 now=NOW + dt.timedelta(seconds=2.5),
                                 lease=dt.timedelta(minutes=2), limit=100)
    assert len(claimed) == 3
    for message in claimed:
        database.write_now(outbox.record_submitted, message, link="sim", encoding="ucs2",
                           part_ids=[f"id{message.id}"], now=NOW + dt.timedelta(seconds=3))
    code, out, _ = run(["warnings", "cancel", str(broadcast_id)], db_url, capsys)
    assert code == 0 and f"broadcast {broadcast_id}: 7 messages not yet submitted cancelled" in out
    status = database.read_now(parts.broadcasts.status, broadcast_id)
    assert status.by_state == {"submitted": 3, "cancelled": 7}
    assert status.state is BroadcastState.CANCELLED and status.pending == 0
    assert database.write_now(outbox.claim_due, owner="test", now=NOW + dt.timedelta(hours=1),
                              lease=dt.timedelta(minutes=2), limit=100) == []
    code, out, _ = run(["warnings", "status", str(broadcast_id)], db_url, capsys)
    assert "cancelled; 10 messages (cancelled 7, submitted 3)" in out


def run(command, db_url, capsys):
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(required=True))
    args = parser.parse_args(command)
    code = args.handler(Config(database=DatabaseConfig(url=db_url)), args)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_send_command_to_an_area_reaches_its_citizens_in_the_date_range(database, db_url,
                                                                           capsys):
    core, repository = core_with_hooks()
    for phone, area, day in (("13912340001", "兰山街道", 28), ("13912340002", "兰山街道", 29),
                             ("13912340002", "兰山街道", 29), ("13912340003", "银雀山街道", 29),
                             ("13912340004", "兰山街道", 20), ("05398123456", "兰山街道", 29)):
        database.write_now(repository.create, new_appeal(citizen_phone=phone, area=area),
                           actor="agent:wang", now=shanghai(2026, 11, day, 10, 0))
    code, out, _ = run(["warnings", "send", "--text", TEXT, "--area", "兰山街道", "--from",
                        "2026-11-25", "--to", "2026-11-29", "--urgent"], db_url, capsys)
    assert code == 0 and "message text: 【临沂公安】近期冒充" in out
    assert "(area 兰山街道 2026-11-25..2026-11-29, urgent): active; 2 messages (queued 2)" in out
    warnings = database.read_now(messages, SmsKind.EARLY_WARNING)
    assert sorted(m.destination for m in warnings) == ["13912340001", "13912340002"]


def test_the_send_command_from_a_file_reports_bad_lines(database, db_url, tmp_path, capsys):
    path = tmp_path / "list.csv"
    path.write_text("phone\n13912340001\nabc\n13912340002\n", "utf-8")
    code, out, err = run(["warnings", "send", "--text", TEXT, "--numbers", str(path)], db_url,
                         capsys)
    assert code == 0 and "2 messages (queued 2)" in out and "1 invalid numbers" in out
    assert err.startswith("list.csv line 3: 'abc' is not a phone number")


def test_a_number_list_is_read_as_a_reminder_file_is(database, db_url, tmp_path, capsys):
    path = tmp_path / "list.csv"
    path.write_bytes(("手机号,姓名\r\n13912340001,王小明\r\n"
                      f"13912340002,{'长' * 200_000}\r\n"
                      "13912340003,\"张三\r\n13912340004,李四\r\n").encode("gbk"))
    code, out, err = run(["warnings", "send", "--text", TEXT, "--numbers", str(path)], db_url,
                         capsys)
    assert code == 0 and "list.csv: read as GB18030 (detected)" in out
    assert "2 messages (queued 2)" in out and "2 invalid numbers" in out
    assert err == ("list.csv line 3: a field is longer than 131,072 characters\n"
                   "list.csv line 4: unbalanced quote: a quoted field does not close before "
                   "line 5, which reads as a row of its own\n")
    warnings = database.read_now(messages, SmsKind.EARLY_WARNING)
    assert sorted(m.destination for m in warnings) == ["13912340001", "13912340004"]


def test_a_number_list_that_reads_both_ways_is_refused_until_its_encoding_is_given(
        database, db_url, tmp_path, capsys):
    path = tmp_path / "list.csv"
    path.write_text("phone,name\n13912340001,张三\n", "utf-8")  # 张三 is GBK's 寮犱笁 too
    command = ["warnings", "send", "--text", TEXT, "--numbers", str(path)]
    with pytest.raises(EncodingError, match="list.csv decodes both as UTF-8 and as GBK"):
        run(command, db_url, capsys)
    assert database.read_now(messages) == []
    code, out, _ = run([*command, "--encoding", "utf-8"], db_url, capsys)
    assert code == 0 and "1 messages (queued 1)" in out


def test_status_of_an_unknown_broadcast_names_it(database, db_url, capsys):
    with pytest.raises(BroadcastNotFound, match="no broadcast 99"):
        run(["warnings", "status", "99"], db_url, capsys)
