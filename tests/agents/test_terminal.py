"""The terminal's queue state through AMI and the screen pop, against the AMI peer
simulator over an in-memory link (task.Clock) and a real database: the events recorded in
the database by the live recorder, the browsers served from there by the hub's poller."""

import datetime as dt
import json

import pytest
from sqlalchemy import delete, select
from twisted.internet import defer
from twisted.internet.task import Clock

from agents.app import WebApp
from agents.config import AuthConfig
from agents.live import LiveRecorder
from agents.terminal import Listener, MemberState, TerminalHub, call_id_of
from hotline.ami.message import Message
from hotline.ami.service import AMIService
from hotline.ami.simulator import DEVICE_INUSE, DEVICE_NOT_INUSE, AsteriskManagerSimulator
from hotline.audit import trail
from schemas.calls import CallRecord
from schemas.enums import AgentRole, CallOutcome
from schemas.live import QueueMember
from schemas.models import Agent
from tests.agents.support import API_TOKEN, SECRET, Browser, SettableClock, create_agent, make_core
from tests.ami.support import SimulatorEndpoint

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.timezone.utc)
IFACE = "PJSIP/1001"


class Node:
    """One service process: a web app on the shared database, its hub polling on `clock`,
    and (with an AMI link) its live recorder."""

    def __init__(self, database, pumped, clock: Clock, wall: SettableClock, ami=None):
        self.core = make_core(database, pumped, wall, ami=ami)
        self.app = WebApp(self.core, AuthConfig(secret_key=SECRET, api_token=API_TOKEN))
        self.app.hub = TerminalHub(ami, database, queue="hotline", clock=clock, wall=wall,
                                   pop_card=self.app._pop_card,
                                   render_card=self.app._render_card)
        self.recorder = None
        if ami is not None:
            self.recorder = LiveRecorder(ami, database, wall, queue="hotline")
            self.recorder.recorded.append(self.app.hub.wake)  # as agents.web wires it
            self.recorder.start()

    def stop(self):
        self.app.hub.stop()
        if self.recorder is not None:
            self.recorder.stop()


class Rig:
    """Web applications with live AMI links to one simulator, on one database."""

    def __init__(self, database, pumped_reactor):
        self.database = database
        self.clock = Clock()
        self.wall = SettableClock(NOW)
        self.sim = AsteriskManagerSimulator(self.clock, wall=lambda: 1795887545.0 + self.clock.seconds())
        self.pumped = pumped_reactor
        self.endpoints: list[SimulatorEndpoint] = []
        self.links: list[AMIService] = []
        self.nodes: list[Node] = []
        self.node = self.add_node()
        self.app = self.node.app
        self.ami = self.links[0]

    def add_node(self, ami: bool = True) -> Node:
        link = None
        if ami:
            endpoint = SimulatorEndpoint(self.sim, self.clock)
            link = AMIService("127.0.0.1", 5038, "hotline", "secret", clock=self.clock,
                              endpoint=endpoint, ping_interval=None,
                              instance=f"t{len(self.links)}")
            self.endpoints.append(endpoint)
            self.links.append(link)
        node = Node(self.database, self.pumped, self.clock, self.wall, ami=link)
        if link is not None:
            link.startService()
            self.flush()
            assert link.state == link.LOGGED_IN
        self.nodes.append(node)
        return node

    def flush(self):
        for endpoint in self.endpoints:
            endpoint.flush()

    def stop(self):
        for node in self.nodes:
            node.stop()
        for link in self.links:
            link.stopService()

    def settle(self, d: defer.Deferred, timeout: float = 10.0):
        results = []
        d.addBoth(results.append)

        def done():
            self.flush()
            return bool(results)

        self.pumped.pump(done, timeout=timeout)
        outcome = results[0]
        if hasattr(outcome, "raiseException"):
            outcome.raiseException()
        return outcome

    def sync(self):
        """Every event sent so far recorded by each recorder, then one poll by each hub."""
        self.flush()
        for node in self.nodes:
            if node.recorder is not None:
                self.settle(node.recorder.idle())
        for node in self.nodes:
            self.settle(node.app.hub.poll())

    def settle_until(self, predicate, timeout: float = 10.0):
        """Pump thread results; when idle, let the pollers' clock run (100 ms steps)."""
        def done():
            self.flush()
            return predicate()

        self.pumped.pump(done, timeout=timeout, clock=self.clock, step=0.1)

    def browser(self, username: str, node: Node | None = None) -> Browser:
        browser = Browser((node or self.node).app, self.pumped, waiter=self.settle)
        assert browser.login(username).status == 303
        return browser

    def listen(self, browser: Browser) -> list[tuple[str, str]]:
        result = browser.get("/terminal/events")
        events: list[tuple[str, str]] = []
        result.response.open(lambda kind, data: events.append((kind, data)))
        self.sync()
        return events

    def caller(self, number: str = "13812345678"):
        return self.sim.new_channel("PJSIP/trunk-0001", caller_id_num=number)

    def agent_leg(self):
        return self.sim.new_channel(f"{IFACE}-00000002", caller_id_num="1001")


@pytest.fixture
def rig(database, pumped_reactor):
    rig = Rig(database, pumped_reactor)
    create_agent(database, "li", AgentRole.AGENT, interface=IFACE)
    yield rig
    rig.stop()


def states(events):
    return [json.loads(data)["state"] for kind, data in events if kind == "state"]


def cards(events):
    return [data for kind, data in events if kind == "card"]


def test_queue_buttons_drive_asterisk_and_the_page_follows_its_events(rig):
    li = rig.browser("li")
    events = rig.listen(li)
    assert states(events) == ["unknown"]
    assert li.post("/terminal/queue", {"action": "login"}).status == 303
    rig.sync()
    member = rig.sim.queues["hotline"].members[IFACE]
    assert member.member_name == "li 警官" and not member.paused
    assert li.post("/terminal/queue", {"action": "pause", "reason": "午饭"}).status == 303
    rig.sync()
    assert member.paused and member.paused_reason == "午饭"
    assert li.post("/terminal/queue", {"action": "unpause"}).status == 303
    rig.sync()
    assert li.post("/terminal/queue", {"action": "logout"}).status == 303
    rig.sync()
    assert IFACE not in rig.sim.queues["hotline"].members
    assert states(events) == ["unknown", "available", "paused", "available", "logged_out"]
    paused = [json.loads(d) for k, d in events if k == "state"][2]
    assert paused == {"state": "paused", "reason": "午饭", "device": 1}


def test_the_poller_runs_only_while_a_browser_listens(rig):
    assert not rig.app.hub.polling
    result = rig.browser("li").get("/terminal/events")
    result.response.open(lambda kind, data: None)
    assert rig.app.hub.polling and rig.app.hub.listening(IFACE) == 1
    result.response.close()
    assert not rig.app.hub.polling and rig.app.hub.listening(IFACE) == 0


def test_terminal_page_asks_asterisk_for_the_state_on_first_paint(rig, database):
    rig.settle(rig.ami.queue_add("hotline", IFACE, paused=True, reason="培训"))
    rig.sync()
    # A database that never saw the member join (no process was following Asterisk then).
    database.write_now(lambda s: s.execute(delete(QueueMember)))
    page = rig.browser("li").get("/terminal")
    assert 'data-state="paused"' in page.body and "培训" in page.body
    stored = database.read_now(lambda s: (lambda m: (m.state, m.paused_reason))(
        s.get(QueueMember, IFACE)))
    assert stored == ("paused", "培训")


def test_state_follows_device_and_call_events_and_wrap_up_ends_by_time(rig):
    li = rig.browser("li")
    events = rig.listen(li)
    li.post("/terminal/queue", {"action": "login"})
    rig.sim.queues["hotline"].members[IFACE].wrapuptime = 30  # the member's own wrap-up
    rig.sim.set_device_state(IFACE, DEVICE_INUSE)  # an outbound call from the desk phone
    rig.sync()
    assert states(events)[-1] == "on_call"
    caller, leg = rig.caller(), rig.agent_leg()
    rig.sim.queue_caller_join("hotline", caller)
    rig.sim.set_device_state(IFACE, DEVICE_NOT_INUSE)
    rig.sync()
    assert states(events)[-1] == "available"
    rig.sim.agent_connect("hotline", caller, leg, IFACE)
    rig.sync()
    assert states(events)[-1] == "on_call"
    rig.sim.agent_complete("hotline", caller, leg, IFACE, hold_time=3, talk_time=60)
    rig.sim.set_device_state(IFACE, DEVICE_NOT_INUSE)  # the phone hung up
    rig.sync()
    assert states(events)[-1] == "wrap_up"
    rig.wall.advance(29)
    rig.sync()
    assert states(events)[-1] == "wrap_up"
    rig.wall.advance(1)
    rig.sync()
    assert states(events)[-1] == "available"


def test_agent_connect_pops_the_card_matched_by_the_call_id(rig, database):
    def seed(session):
        session.add(CallRecord(call_id="call-77", flow="hotline", caller="13812345678",
                               started_at=NOW, path="menu:2", menu_choice="help",
                               outcome=CallOutcome.TO_QUEUE))

    database.write_now(seed)
    li = rig.browser("li")
    events = rig.listen(li)
    li.post("/terminal/queue", {"action": "login"})
    caller = rig.sim.new_channel("PJSIP/trunk-0001", caller_id_num="02112345678")  # a trunk's number
    rig.sim.queue_caller_join("hotline", caller)
    rig.sim.queue_caller_leave("hotline", caller)
    rig.sim.inject_event("AgentConnect", [*caller.fields(), ("ChanVariable", "HOTLINE_CALL_ID=call-77"),
                                          *rig.agent_leg().fields("Dest"), ("Queue", "hotline"),
                                          ("Interface", IFACE), ("MemberName", "li"),
                                          ("HoldTime", 3), ("RingTime", 2)], "agent,all")
    rig.settle_until(lambda: cards(events))
    card = cards(events)[0]
    assert 'id="card-phone">13812345678<' in card
    assert 'id="card-menu-choice">求助<' in card
    assert "call_id=call-77" in card and "kind=help" in card
    views = database.read_now(trail, "citizen", "13812345678")
    assert [(v.actor, v.note) for v in views] == [("li", "call call-77")]
    rig.sync()
    assert len(cards(events)) == 1  # once


def test_agent_connect_without_a_call_id_pops_by_the_caller_number(rig, database):
    li = rig.browser("li")
    events = rig.listen(li)
    caller = rig.caller("+8613900001111")
    rig.sim.queue_caller_join("hotline", caller)
    rig.sim.agent_connect("hotline", caller, rig.agent_leg(), IFACE)
    rig.settle_until(lambda: cards(events))
    assert 'id="card-phone">13900001111<' in cards(events)[0]


def test_a_call_for_another_interface_pops_nothing_here(rig):
    li = rig.browser("li")
    events = rig.listen(li)
    caller = rig.caller()
    rig.sim.queue_caller_join("hotline", caller)
    rig.sim.agent_connect("hotline", caller, rig.agent_leg(), "PJSIP/1002")
    rig.sync()
    rig.sync()
    assert cards(events) == [] and states(events) == ["unknown"]


def test_a_closed_event_stream_stops_receiving(rig):
    li = rig.browser("li")
    result = li.get("/terminal/events")
    events = []
    result.response.open(lambda kind, data: events.append(kind))
    assert rig.app.hub.listening(IFACE) == 1
    result.response.close()
    assert rig.app.hub.listening(IFACE) == 0
    caller = rig.caller()
    rig.sim.queue_caller_join("hotline", caller)
    rig.sim.agent_connect("hotline", caller, rig.agent_leg(), IFACE)
    rig.sync()
    assert "card" not in events


def test_queue_action_with_asterisk_down_shows_the_error(rig):
    li = rig.browser("li")
    rig.ami.stopService()
    result = li.post("/terminal/queue", {"action": "login"})
    assert result.status == 502 and "与交换机的连接中断" in result.body


def test_agent_without_an_interface_cannot_join_the_queue(rig, database):
    create_agent(database, "zhou", AgentRole.AGENT)
    zhou = rig.browser("zhou")
    assert zhou.post("/terminal/queue", {"action": "login"}).status == 409
    assert zhou.get("/terminal/events").status == 409


def test_call_id_is_read_from_the_channel_variables_of_the_event():
    event = Message([("Event", "AgentConnect"), ("ChanVariable", "OTHER=1"),
                     ("ChanVariable", "HOTLINE_CALL_ID=abc"),
                     ("DestChanVariable", "HOTLINE_CALL_ID=dest")])
    assert call_id_of(event) == "abc"
    assert call_id_of(Message([("Event", "AgentConnect")])) is None


def test_member_state_as_the_browser_receives_it():
    assert not MemberState().known and MemberState("logged_out").known
    assert json.loads(MemberState("paused", "午饭").as_json()) == {"state": "paused",
                                                                 "reason": "午饭"}


def test_an_agent_deactivated_or_moved_leaves_the_queue_on_the_interface_it_left(rig, database):
    create_agent(database, "zhao", AgentRole.ADMIN)
    create_agent(database, "qian", AgentRole.AGENT, interface="PJSIP/1009")
    qian = database.read_now(lambda s: s.scalar(select(Agent.id).where(Agent.username == "qian")))
    li = database.read_now(lambda s: s.scalar(select(Agent.id).where(Agent.username == "li")))
    rig.settle(rig.ami.queue_add("hotline", IFACE, member_name="li"))
    rig.settle(rig.ami.queue_add("hotline", "PJSIP/1009", member_name="qian"))
    assert {IFACE, "PJSIP/1009"} <= set(rig.sim.queues["hotline"].members)
    admin = rig.browser("zhao")
    assert admin.post(f"/admin/agents/{qian}/deactivate").status == 303
    rig.flush()
    assert "PJSIP/1009" not in rig.sim.queues["hotline"].members
    moved = admin.post(f"/admin/agents/{li}", {"display_name": "li 警官", "role": "agent",
                                               "unit": "", "interface": "PJSIP/1010"})
    assert moved.status == 303
    rig.flush()
    assert IFACE not in rig.sim.queues["hotline"].members
    # Not a member any more (or never was): the change is not refused for it.
    assert admin.post(f"/admin/agents/{li}", {"display_name": "li 警官", "role": "agent",
                                              "unit": "", "interface": IFACE}).status == 303


class HeldReads:
    """A database whose reads answer only when the test says: a poll held in flight."""

    def __init__(self):
        self.reads: list[defer.Deferred] = []

    def read(self, fn, *args, **kwargs):
        d: defer.Deferred = defer.Deferred()
        self.reads.append(d)
        return d


def test_a_poll_asked_for_while_one_is_in_flight_waits_for_a_read_that_starts_after_it():
    db = HeldReads()
    hub = TerminalHub(None, db, queue="hotline", clock=Clock(), wall=SettableClock(NOW),
                      pop_card=lambda *a: defer.succeed(None), render_card=lambda *a: "")
    sent: list[tuple[str, str]] = []
    hub.listen(Listener(IFACE, "li", "zh-CN", lambda kind, data: sent.append((kind, data))))
    assert len(db.reads) == 1  # the poller's first read, in flight
    asked = hub.poll()  # e.g. after this process committed an event
    db.reads[0].callback(([], []))  # the stale read ends: it may predate that commit
    assert not asked.called and len(db.reads) == 2
    db.reads[1].callback(([], []))
    assert asked.called
    hub.stop()
