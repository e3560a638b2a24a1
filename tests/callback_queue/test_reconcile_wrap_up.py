"""Before a queue callback is placed, Asterisk is asked which members are ready:
Getvar QUEUE_MEMBER(<queue>,ready) counts those not paused, their phone Not in use and not
in wrap-up by the queue's own wrapuptime (which Asterisk 23.4.1 publishes in no event: the
golden ami_queue_wrapup has ready 0 and free 1 during a wrap-up). Asterisk's count wins over
the hall's live state ([agi] queue_wrapup_s, kept by hand equal to queues.conf); where it
cannot be read, the hall's live state judges, as before. Through the dispatcher, the AMI link
and the simulated Asterisk, on both backends."""

from __future__ import annotations

import datetime as dt

from twisted.internet.defer import Deferred
from twisted.logger import capturedLogs, formatEvent

from hotline.ami.errors import AMIActionError
from schemas.live import QueueMember
from tests.callback_queue.support import CITIZEN, make_world

MEMBER = "PJSIP/1001"


def world_with_a_request(database, pumped_reactor, wrapuptime=15):
    world = make_world(database, pumped_reactor)
    world.sim.queues["hotline"].wrapuptime = wrapuptime  # queues.conf
    world.wait(world.ami.queue_add("hotline", MEMBER))
    task = world.pump.wait(Deferred.fromCoroutine(world.queue.request_callback(CITIZEN, "call-1")))
    return world, task


def end_a_call(world):
    """The member took a call and it ended just now: Asterisk's wrap-up starts."""
    caller = world.sim.new_channel("PJSIP/trunk-00000001", caller_id_num="13900001111")
    leg = world.sim.new_channel(f"{MEMBER}-00000002")
    world.sim.queue_caller_join("hotline", caller)
    world.sim.agent_connect("hotline", caller, leg, MEMBER)
    world.sim.agent_complete("hotline", caller, leg, MEMBER, talk_time=40)
    world.endpoint.flush()


def hall_says_wrap_up(world, seconds):
    """The hall's live state has the member in wrap-up for `seconds` more (as the recorder
    writes it from [agi] queue_wrapup_s at the AgentComplete)."""
    now = world.wall.now()

    def work(session):
        session.add(QueueMember(interface=MEMBER, queue="hotline", logged_in=True,
                                state="wrap_up", state_since=now, updated_at=now,
                                wrap_up_until=now + dt.timedelta(seconds=seconds)))
    world.db.write_now(work)


def readies(world):
    return [a for a in world.sim.actions_received
            if a.get("Action") == "Getvar" and a.get("Variable") == "QUEUE_MEMBER(hotline,ready)"]


def test_no_queue_callback_goes_out_while_asterisk_has_the_member_in_wrap_up(
        database, pumped_reactor):
    world, task = world_with_a_request(database, pumped_reactor)
    end_a_call(world)  # the hall's live state knows nothing of it (no recorder here)
    world.clock.advance(1)
    assert world.tick() == []
    assert world.originates() == [] and len(readies(world)) == 1
    world.clock.advance(13)
    assert world.tick() == []
    world.clock.advance(1)  # 15 s after the call ended
    (claim,) = world.tick()
    assert claim.task_id == task.id
    assert [o["Context"] for o in world.originates()] == ["hotline-queue-callback"]


def test_asterisks_count_wins_over_a_longer_wrap_up_in_the_halls_state(database, pumped_reactor):
    world, task = world_with_a_request(database, pumped_reactor, wrapuptime=0)
    hall_says_wrap_up(world, 30)  # [agi] queue_wrapup_s set longer than queues.conf's
    (claim,) = world.tick()
    assert claim.task_id == task.id


def test_where_ready_cannot_be_read_the_halls_wrap_up_judges_and_that_is_logged_once(
        database, pumped_reactor):
    world, task = world_with_a_request(database, pumped_reactor, wrapuptime=0)
    world.sim.function_value = lambda text: ""  # no QUEUE_MEMBER(): app_queue's function absent
    hall_says_wrap_up(world, 10)
    with capturedLogs() as events:
        assert world.tick() == []
        assert world.tick() == []
        world.wall.advance(seconds=11)
        (claim,) = world.tick()
    assert claim.task_id == task.id and len(readies(world)) == 3
    lines = [formatEvent(e) for e in events]
    assert sum("QUEUE_MEMBER(hotline,ready) unread" in line for line in lines) == 1

    del world.sim.function_value  # Asterisk answers again
    world.pump.wait(Deferred.fromCoroutine(world.queue.request_callback("13900002222", "call-2")))
    with capturedLogs() as events:
        world.tick()
    assert len(readies(world)) == 4
    assert sum("read again" in formatEvent(e) for e in events) == 1


def test_an_error_answer_to_getvar_falls_back_to_the_halls_state(database, pumped_reactor):
    world, task = world_with_a_request(database, pumped_reactor, wrapuptime=0)

    def refuse(variable, channel=None):
        raise AMIActionError("Getvar", "GetVar Access Forbidden: Variable")

    world.ami.getvar = refuse
    hall_says_wrap_up(world, 10)
    assert world.tick() == []
    world.wall.advance(seconds=11)
    (claim,) = world.tick()
    assert claim.task_id == task.id
