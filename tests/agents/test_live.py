"""The hall's live state shared through the database: what one process's AMI link receives
reaches the browsers of every process; the same events recorded by N processes make one
row; wrap-up ends by time. Both backends (the `database` fixture)."""

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from twisted.internet import defer

from agents.live import LiveRecorder, Observed, record_events
from hotline.ami.message import Message
from hotline.ami.simulator import DEVICE_NOT_INUSE
from schemas.calls import CallRecord
from schemas.enums import AgentRole, CallOutcome
from schemas.live import QueueCall, QueueMember, ScreenPop
from tests.agents.support import SettableClock, create_agent
from tests.agents.test_terminal import IFACE, NOW, Rig, cards, states


@pytest.fixture
def rig(database, pumped_reactor):
    rig = Rig(database, pumped_reactor)
    create_agent(database, "li", AgentRole.AGENT, interface=IFACE)
    yield rig
    rig.stop()


def member(database, interface=IFACE):
    def read(session):
        row = session.get(QueueMember, interface)
        return None if row is None else dict(state=row.state, revision=row.revision,
                                             in_call=row.in_call, paused=row.paused,
                                             wrap_up_until=row.wrap_up_until,
                                             state_since=row.state_since,
                                             now=row.state_at(NOW + dt.timedelta(hours=1)))
    return database.read_now(read)


def calls(database):
    return database.read_now(lambda s: [
        dict(uniqueid=c.caller_uniqueid, outcome=c.outcome, hold_s=c.hold_s, talk_s=c.talk_s,
             interface=c.interface, caller=c.caller, ended=c.ended_at is not None)
        for c in s.scalars(select(QueueCall).order_by(QueueCall.joined_at))])


def pops(database):
    return database.read_now(lambda s: s.scalar(select(func.count()).select_from(ScreenPop)))


def test_the_same_events_received_by_two_processes_make_one_row_and_one_pop(rig, database):
    rig.add_node()  # a second process with its own AMI link and recorder
    rig.settle(rig.ami.queue_add("hotline", IFACE, member_name="li"))
    rig.sync()
    assert member(database)["revision"] == 1 and member(database)["state"] == "available"
    rig.settle(rig.ami.queue_pause(IFACE, True, queue="hotline", reason="午饭"))
    rig.sync()
    assert member(database)["revision"] == 2 and member(database)["state"] == "paused"
    caller, leg = rig.caller(), rig.agent_leg()
    rig.sim.queue_caller_join("hotline", caller)
    rig.clock.advance(4)
    rig.sim.agent_connect("hotline", caller, leg, IFACE)
    rig.sync()
    assert pops(database) == 1
    assert calls(database) == [dict(uniqueid=caller.uniqueid, outcome="answered", hold_s=4,
                                    talk_s=None, interface=IFACE, caller="13812345678",
                                    ended=False)]
    rig.clock.advance(75)
    rig.sim.agent_complete("hotline", caller, leg, IFACE)  # the times the simulator measured
    rig.sync()
    assert [c["outcome"] for c in calls(database)] == ["completed"]
    assert calls(database)[0]["talk_s"] == 75
    assert member(database)["revision"] == 4  # on_call, then back: one change each


def test_an_agent_connect_received_by_one_process_pops_the_card_in_another(rig, database):
    def seed(session):
        session.add(CallRecord(call_id="call-9", flow="hotline", caller="13812345678",
                               started_at=NOW, path="menu:3", menu_choice="complaint",
                               outcome=CallOutcome.TO_QUEUE))

    database.write_now(seed)
    other = rig.add_node(ami=False)  # a process with no AMI link at all
    li = rig.browser("li", other)
    events = rig.listen(li)
    assert states(events) == ["unknown"]
    rig.settle(rig.ami.queue_add("hotline", IFACE, member_name="li"))  # seen by the first
    rig.sync()
    assert states(events) == ["unknown", "available"]
    # A trunk's number; the IVR's call id, as manager.conf's channelvars shows it.
    caller = rig.sim.new_channel("PJSIP/trunk-0001", caller_id_num="02112345678",
                                 variables={"HOTLINE_CALL_ID": "call-9"})
    rig.sim.queue_caller_join("hotline", caller)
    rig.sim.agent_connect("hotline", caller, rig.agent_leg(), IFACE, ring_time=2)
    rig.settle_until(lambda: cards(events))
    assert 'id="card-menu-choice">投诉<' in cards(events)[0]
    assert states(events)[-1] == "on_call"
    assert other.app.hub.listening(IFACE) == 1 and rig.app.hub.listening(IFACE) == 0


def test_a_listener_connecting_later_does_not_get_older_pops(rig, database):
    other = rig.add_node(ami=False)
    early = rig.listen(rig.browser("li", other))
    first = rig.caller("13900001111")
    rig.sim.queue_caller_join("hotline", first)
    rig.sim.agent_connect("hotline", first, rig.agent_leg(), IFACE)
    rig.flush()
    rig.settle(rig.node.recorder.idle())  # recorded; no process has looked yet
    rig.wall.advance(5)
    late = rig.listen(rig.browser("li", other))
    rig.settle_until(lambda: cards(early))
    also_late = rig.listen(rig.browser("li"))  # and on the process that recorded it
    rig.sync()
    assert cards(late) == [] and cards(also_late) == []
    second = rig.caller("13900002222")
    rig.sim.queue_caller_join("hotline", second)
    rig.sim.agent_connect("hotline", second, rig.agent_leg(), IFACE)
    rig.settle_until(lambda: cards(late) and cards(also_late) and len(cards(early)) == 2)
    assert len(cards(late)) == 1 and "13900002222" in cards(late)[0]
    rig.sync()
    assert len(cards(early)) == 2 and len(cards(late)) == 1 and len(cards(also_late)) == 1


def test_wrap_up_ends_by_time_with_no_event_and_no_timer(rig, database):
    other = rig.add_node(ami=False)
    events = rig.listen(rig.browser("li", other))
    rig.settle(rig.ami.queue_add("hotline", IFACE, member_name="li"))
    rig.sim.queues["hotline"].members[IFACE].wrapuptime = 20
    rig.sim.set_device_state(IFACE, DEVICE_NOT_INUSE)  # its blob carries the Wrapuptime
    caller, leg = rig.caller(), rig.agent_leg()
    rig.sim.queue_caller_join("hotline", caller)
    rig.sim.agent_connect("hotline", caller, leg, IFACE)
    rig.sync()
    assert states(events)[-1] == "on_call"
    # Asterisk 23's AgentComplete has no Wrapuptime: the member's own, recorded above.
    rig.sim.agent_complete("hotline", caller, leg, IFACE, hold_time=1, talk_time=30)
    rig.sync()
    assert states(events)[-1] == "wrap_up"
    stored = member(database)
    assert stored["wrap_up_until"] == NOW + dt.timedelta(seconds=20)
    assert stored["now"] == ("available", NOW + dt.timedelta(seconds=20))
    assert [c.func for c in rig.clock.getDelayedCalls()
            if getattr(c.func, "__self__", None) is not None
            and type(c.func.__self__).__name__ == "TerminalHub"] == []
    rig.wall.advance(19)
    rig.sync()
    assert states(events)[-1] == "wrap_up"
    rig.wall.advance(1)
    rig.sync()
    assert states(events)[-1] == "available"


def event(name, **fields):
    return Observed.of(Message([("Event", name), *fields.items()]))


def caller_fields(uniqueid, number="13812345678"):
    return {"Uniqueid": uniqueid, "CallerIDNum": number, "Queue": "hotline"}


def test_a_callers_passage_through_the_queue_moves_forward_only(database):
    def write(*events, at=NOW):
        database.write_now(record_events, list(events), now=at)

    write(event("QueueCallerJoin", **caller_fields("1.1"), Position="1", Count="1"),
          event("QueueCallerJoin", **caller_fields("1.2"), Position="2", Count="2"),
          event("QueueCallerJoin", **caller_fields("1.3"), Position="3", Count="3"))
    assert [c["outcome"] for c in calls(database)] == ["waiting"] * 3
    write(event("QueueCallerAbandon", **caller_fields("1.1"), Position="1",
                OriginalPosition="1", HoldTime="12"),
          event("QueueCallerLeave", **caller_fields("1.1"), Position="1", Count="2"),
          event("QueueCallerLeave", **caller_fields("1.2"), Position="1", Count="1"),
          event("QueueCallerLeave", **caller_fields("1.3"), Position="1", Count="0"),
          event("AgentConnect", **caller_fields("1.3"), Interface=IFACE, MemberName="li",
                HoldTime="9", RingTime="2"))
    by_id = {c["uniqueid"]: c for c in calls(database)}
    assert (by_id["1.1"]["outcome"], by_id["1.1"]["hold_s"]) == ("abandoned", 12)
    assert by_id["1.2"]["outcome"] == "left" and by_id["1.2"]["ended"]
    assert (by_id["1.3"]["outcome"], by_id["1.3"]["hold_s"], by_id["1.3"]["interface"]) == \
        ("answered", 9, IFACE)
    assert not by_id["1.3"]["ended"]
    complete = event("AgentComplete", **caller_fields("1.3"), Interface=IFACE,
                     MemberName="li", HoldTime="9", TalkTime="40", Reason="caller")
    write(complete)
    write(complete, at=NOW + dt.timedelta(seconds=2))  # a second process, a bit later
    # ... and that process's copy of the AgentConnect, later still: the call is over.
    write(event("AgentConnect", **caller_fields("1.3"), Interface=IFACE, MemberName="li",
                HoldTime="9", RingTime="2"), at=NOW + dt.timedelta(seconds=3))
    write(event("QueueCallerLeave", **caller_fields("1.3"), Position="1", Count="0"))
    by_id = {c["uniqueid"]: c for c in calls(database)}
    assert (by_id["1.3"]["outcome"], by_id["1.3"]["talk_s"]) == ("completed", 40)
    stored = member(database)
    assert stored["in_call"] is False and stored["state"] == "available"
    assert pops(database) == 1


def test_a_connect_seen_without_its_join_still_records_the_passage(database):
    database.write_now(record_events, [
        event("AgentConnect", **caller_fields("2.1", "+8613900001111"), Interface=IFACE,
              MemberName="li", HoldTime="30", RingTime="1")], now=NOW)
    (row,) = calls(database)
    assert (row["outcome"], row["caller"], row["hold_s"]) == ("answered", "13900001111", 30)
    joined = database.read_now(lambda s: s.scalar(select(QueueCall.joined_at)))
    assert joined == NOW - dt.timedelta(seconds=30)


def test_events_of_other_queues_are_not_recorded(rig, database):
    rig.sim.add_queue("sales")
    caller = rig.caller()
    rig.sim.queue_caller_join("sales", caller)
    rig.sim.agent_connect("sales", caller, rig.agent_leg(), IFACE)
    rig.sync()
    assert calls(database) == [] and pops(database) == 0 and member(database) is None


def test_the_recording_process_pops_at_once_the_others_at_their_next_tick(rig, database):
    other = rig.add_node(ami=False)
    here = rig.listen(rig.browser("li"))
    there = rig.listen(rig.browser("li", other))
    caller = rig.caller()
    rig.sim.queue_caller_join("hotline", caller)
    rig.sim.agent_connect("hotline", caller, rig.agent_leg(), IFACE)
    # No tick: the poller's clock does not move.
    rig.pumped.pump(lambda: (rig.flush(), cards(here))[1], timeout=10)
    assert cards(there) == []
    rig.clock.advance(0.1)  # the other process's next tick
    rig.settle_until(lambda: cards(there))
    assert len(cards(here)) == 1 and len(cards(there)) == 1


class FakeAMI:
    """Only what the recorder uses: subscriptions by event name."""

    def __init__(self):
        self.handlers: dict[str, list] = {}

    def subscribe(self, name, handler):
        self.handlers.setdefault(name, []).append(handler)
        return FakeSubscription(self.handlers[name], handler)

    def send(self, name, **fields):
        for handler in list(self.handlers.get(name, ())):
            handler(Message([("Event", name), *fields.items()]))


class FakeSubscription:
    def __init__(self, handlers, handler):
        self.handlers, self.handler = handlers, handler

    def cancel(self):
        self.handlers.remove(self.handler)


class LosesOnce:
    """The database, whose first write loses a deadlock (PostgreSQL's victim)."""

    def __init__(self, database):
        self.database, self.losses = database, 1

    def write(self, work, *args, **kwargs):
        if self.losses:
            self.losses -= 1
            return defer.fail(OperationalError("INSERT ...", {}, Exception("deadlock detected")))
        return self.database.write(work, *args, **kwargs)


def test_a_write_that_lost_a_deadlock_is_run_again(database, pumped_reactor):
    ami, clock = FakeAMI(), SettableClock(NOW)
    recorder = LiveRecorder(ami, LosesOnce(database), clock, queue="hotline")
    recorder.start()
    ami.send("AgentConnect", **caller_fields("3.1"), Interface=IFACE, MemberName="li",
             HoldTime="5", RingTime="1")
    pumped_reactor.wait(recorder.idle())
    assert [c["outcome"] for c in calls(database)] == ["answered"] and pops(database) == 1
    pumped_reactor.wait(recorder.stop())
    ami.send("AgentComplete", **caller_fields("3.1"), Interface=IFACE, MemberName="li",
             HoldTime="5", TalkTime="9", Reason="agent")
    pumped_reactor.wait(recorder.idle())
    assert [c["outcome"] for c in calls(database)] == ["answered"]  # stopped: not followed


def test_screen_pops_older_than_a_day_are_purged(database, pumped_reactor):
    ami, clock = FakeAMI(), SettableClock(NOW)
    recorder = LiveRecorder(ami, database, clock, queue="hotline")
    recorder.start()
    ami.send("AgentConnect", **caller_fields("4.1"), Interface=IFACE, HoldTime="5")
    pumped_reactor.wait(recorder.idle())
    clock.advance(23 * 3600)
    ami.send("AgentConnect", **caller_fields("4.2"), Interface=IFACE, HoldTime="5")
    pumped_reactor.wait(recorder.idle())
    assert pops(database) == 2
    clock.advance(2 * 3600)
    ami.send("AgentConnect", **caller_fields("4.3"), Interface=IFACE, HoldTime="5")
    pumped_reactor.wait(recorder.idle())
    left = database.read_now(lambda s: list(s.scalars(
        select(ScreenPop.caller_uniqueid).order_by(ScreenPop.id))))
    assert left == ["4.2", "4.3"]
    assert len(calls(database)) == 3  # the queue's passages stay (the wallboard's figures)


# After a restart or a cut link: the record made to agree with Asterisk at once ------------

def ghosts(database):
    """What a process that died mid-call left: a caller still waiting, a call still answered
    by the agent, and a member Asterisk no longer has."""
    def seed(session):
        session.add(QueueCall(caller_uniqueid="ghost-wait", queue="hotline",
                              joined_at=NOW - dt.timedelta(minutes=10), outcome="waiting"))
        session.add(QueueCall(caller_uniqueid="ghost-call", queue="hotline",
                              joined_at=NOW - dt.timedelta(minutes=8), outcome="answered",
                              answered_at=NOW - dt.timedelta(minutes=7), interface=IFACE,
                              hold_s=60))
        session.add(QueueMember(interface="PJSIP/1009", queue="hotline", member_name="zhou",
                                state="available", state_since=NOW, paused=False,
                                in_call=False, revision=1, updated_at=NOW))
    database.write_now(seed)


def test_a_login_reconciles_ghost_callers_and_agents_left_in_a_call(rig, database):
    rig.settle(rig.ami.queue_add("hotline", IFACE, member_name="li"))
    rig.sync()  # the reconciliation of the link's login included
    ghosts(database)
    database.write_now(lambda s: setattr(s.get(QueueMember, IFACE), "in_call", True))
    waiting = rig.caller("13900001111")
    rig.sim.queue_caller_join("hotline", waiting)  # a caller Asterisk does have
    rig.sync()
    rig.wall.current = NOW + dt.timedelta(minutes=1)
    changed = rig.settle(defer.Deferred.fromCoroutine(rig.node.recorder.reconcile()))
    assert changed == {"members": 1, "removed": 1, "lost": 1, "completed": 1}
    outcomes = {c["uniqueid"]: (c["outcome"], c["ended"]) for c in calls(database)}
    assert outcomes == {"ghost-wait": ("lost", True), "ghost-call": ("completed", True),
                        waiting.uniqueid: ("waiting", False)}
    assert member(database)["state"] == "available" and not member(database)["in_call"]
    assert member(database, "PJSIP/1009")["state"] == "logged_out"


def test_every_login_of_the_link_asks_asterisk_for_the_queue(rig, database):
    def queue_statuses():
        return sum(1 for a in rig.sim.actions_received if a.get("Action") == "QueueStatus"
                   and a.get("Queue") == "hotline")

    before = queue_statuses()
    ghosts(database)
    rig.ami.stopService()
    rig.flush()
    rig.ami.startService()
    rig.flush()
    rig.settle_until(lambda: queue_statuses() > before and not database.read_now(
        lambda s: s.scalar(select(func.count()).select_from(QueueCall)
                           .where(QueueCall.outcome == "waiting"))))
    assert member(database, "PJSIP/1009")["state"] == "logged_out"
