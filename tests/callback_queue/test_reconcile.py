"""What no dispatcher saw of an answered queue callback is asked of Asterisk afterwards.

The citizen answered and waits in the queue (or talks to an agent) while the dispatcher
that placed the call cannot see its channel's events: its AMI link is down, or its process
stopped. When the link has logged in again, the dispatcher asks Asterisk (Status of the
channel, by the id the Originate gave it) about the queue callbacks it holds; when a lease
runs out, whichever dispatcher polls next takes the task over and asks the same. A channel
in a bridge was put through to an agent (completed); one that is up and in no bridge still
waits (watched again); one that is gone ended as the hall recorded its passage through the
queue, or, with no record, as a failed attempt retried per the policy. Through the
dispatcher, the AMI link and the simulated Asterisk, on both backends."""

from __future__ import annotations

import datetime as dt
import queue
import time

from twisted.logger import capturedLogs, formatEvent

from callback_queue.dispatcher import CallbackDispatcher
from schemas.callbacks import AttemptResult, CallbackOutcome, CallbackState
from schemas.live import QueueCall
from tests.callback_queue.test_queue_callback_result import MEMBER, answered_queue_callback

LEASE = dt.timedelta(seconds=900)  # survey_lease_s


def deliver(world):
    world.endpoint.flush()
    world.pump.wait(world.dispatcher.idle())


def cut_link(world):
    """The AMI link drops; nothing Asterisk sends reaches this process until `relink`."""
    world.endpoint.cut()
    assert not world.ami.up


def relink(world):
    world.settle(3.0, wait=False)  # the first retry (1 s, and up to 1 s of jitter)
    assert world.ami.up


def restart(world, owner="restarted"):
    """The dispatcher's process stops; another dispatcher (the next run) takes its place."""
    world.pump.wait(world.dispatcher.stopService())
    world.dispatcher = CallbackDispatcher(world.db, world.repo, world.ami, world.wall,
                                          world.clock, world.dispatcher._config, owner=owner)


def agent_takes(world, citizen):
    agent = world.sim.new_channel(f"{MEMBER}-00000001", context="from-internal")
    world.sim.agent_connect("hotline", citizen, agent, MEMBER, ring_time=2)
    world.endpoint.flush()
    return agent


def record_passage(world, citizen, outcome):
    """The hall's record of the citizen's passage, as another process's AMI recorder wrote
    it (agents.live): this process saw none of those events."""
    def work(session):
        session.add(QueueCall(caller_uniqueid=citizen.uniqueid, queue="hotline",
                              caller=None, call_id="call-1", joined_at=world.wall.now(),
                              outcome=outcome, interface=MEMBER))
    world.db.write_now(work)


def pump_until(world, condition, timeout=20.0):
    """Run the database threads' results on this thread until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        world.endpoint.flush()
        try:
            function, args, kwargs = world.pump._calls.get(timeout=0.01)
        except queue.Empty:
            assert time.monotonic() < deadline, "condition never held"
            continue
        function(*args, **kwargs)


def status_asked(world, citizen):
    return [a for a in world.sim.actions_received
            if a.get("Action") == "Status" and a.get("Channel") == citizen.uniqueid]


# The link drops and comes back: the dispatcher asks about the calls it holds ------------------


def test_an_agent_connect_missed_while_the_link_was_down_completes_the_task_after_it(
        database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    world.tick()  # the dispatcher is watching the channel (and listening for logins)
    cut_link(world)
    world.wall.advance(seconds=20)
    agent_takes(world, citizen)  # Asterisk puts the citizen through: nobody hears it
    relink(world)
    assert world.task(task.id).state is CallbackState.IN_CALL

    assert world.tick() == []
    deliver(world)
    done = world.task(task.id)
    assert done.state is CallbackState.COMPLETED and done.outcome is CallbackOutcome.REACHED
    assert done.completed_at == world.wall.now() and done.lease_owner is None
    (attempt,) = world.attempts(task.id)
    assert attempt.result is AttemptResult.ANSWERED and attempt.ended_at == world.wall.now()
    assert len(status_asked(world, citizen)) == 1 and len(world.originates()) == 1

    # Asked once per login: later polls leave it alone.
    world.tick()
    assert len(status_asked(world, citizen)) == 1


def test_a_citizen_who_hung_up_while_the_link_was_down_is_a_failed_attempt_retried(
        database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    world.tick()
    cut_link(world)
    world.wall.advance(seconds=30)
    world.sim.queue_caller_abandon("hotline", citizen)
    world.sim.hangup_call(citizen.name)
    relink(world)

    with capturedLogs() as events:
        assert world.tick() == []
        deliver(world)
    failed = world.task(task.id)
    assert failed.state is CallbackState.PENDING and failed.lease_owner is None
    assert failed.attempts == 1
    assert failed.next_attempt_at == world.wall.now() + dt.timedelta(minutes=10)  # ivr_retry_min
    (attempt,) = world.attempts(task.id)
    # Nobody recorded how it ended: the attempt says the link was lost.
    assert attempt.result is AttemptResult.CONNECTION_LOST
    assert any("Asterisk has its channel gone" in formatEvent(e) for e in events)

    world.wall.advance(minutes=10)
    (again,) = world.tick()
    assert (again.task_id, again.attempt_number) == (task.id, 2)


def test_a_citizen_still_waiting_after_the_link_came_back_is_watched_again(
        database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    world.tick()
    cut_link(world)
    relink(world)
    world.tick()
    deliver(world)
    assert world.task(task.id).state is CallbackState.IN_CALL
    assert len(status_asked(world, citizen)) == 1

    world.wall.advance(seconds=40)
    agent_takes(world, citizen)
    deliver(world)
    done = world.task(task.id)
    assert done.state is CallbackState.COMPLETED and done.outcome is CallbackOutcome.REACHED


def test_an_event_arriving_while_asterisk_is_asked_settles_the_task_once(
        database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    world.tick()
    cut_link(world)
    relink(world)
    world.sim.frozen = True  # the Status goes out and its answer does not come yet
    ticked = world.dispatcher.tick()
    pump_until(world, lambda: status_asked(world, citizen))
    agent_takes(world, citizen)  # the AgentConnect comes first
    deliver(world)
    world.clock.advance(10.0)  # the Status's action timeout: the question is dropped
    world.pump.wait(ticked)
    deliver(world)
    done = world.task(task.id)
    assert done.state is CallbackState.COMPLETED and done.outcome is CallbackOutcome.REACHED
    assert [a.result for a in world.attempts(task.id)] == [AttemptResult.ANSWERED]


# The process restarts: the next dispatcher asks when the lease runs out -----------------------


def test_after_a_restart_a_citizen_talking_to_an_agent_completes_the_task_when_the_lease_ends(
        database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    restart(world)
    agent_takes(world, citizen)  # while no dispatcher watches the channel
    world.wall.advance(seconds=899)
    assert world.tick() == []
    assert world.task(task.id).state is CallbackState.IN_CALL  # its lease still holds
    assert status_asked(world, citizen) == []

    world.wall.advance(seconds=2)
    assert world.tick() == []
    deliver(world)
    done = world.task(task.id)
    assert done.state is CallbackState.COMPLETED and done.outcome is CallbackOutcome.REACHED
    assert done.completed_at == world.wall.now()
    (attempt,) = world.attempts(task.id)
    assert attempt.result is AttemptResult.ANSWERED
    assert len(world.originates()) == 1  # the citizen is not called again


def test_after_a_restart_a_call_that_ended_with_an_agent_is_completed_from_the_halls_record(
        database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    restart(world)
    agent = agent_takes(world, citizen)
    world.sim.agent_complete("hotline", citizen, agent, MEMBER)
    world.sim.hangup_call(citizen.name)
    record_passage(world, citizen, "completed")
    world.wall.advance(seconds=901)
    world.tick()
    deliver(world)
    done = world.task(task.id)
    assert done.state is CallbackState.COMPLETED and done.outcome is CallbackOutcome.REACHED
    assert len(world.originates()) == 1


def test_after_a_restart_a_citizen_who_abandoned_the_queue_is_retried_per_policy(
        database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    restart(world)
    world.sim.queue_caller_abandon("hotline", citizen)
    world.sim.hangup_call(citizen.name)
    record_passage(world, citizen, "abandoned")
    world.wall.advance(seconds=901)
    assert world.tick() == []  # settled; its retry is not due yet
    deliver(world)
    failed = world.task(task.id)
    assert failed.state is CallbackState.PENDING and failed.lease_owner is None
    assert failed.next_attempt_at == world.wall.now() + dt.timedelta(minutes=10)
    (attempt,) = world.attempts(task.id)
    assert attempt.result is AttemptResult.QUEUE_ABANDONED


def test_after_a_restart_a_citizen_still_in_the_queue_is_taken_over_and_watched(
        database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    restart(world)
    world.wall.advance(seconds=901)
    world.tick()
    deliver(world)
    held = world.task(task.id)
    assert held.state is CallbackState.IN_CALL and held.lease_owner == "restarted"
    assert held.lease_until == world.wall.now() + LEASE
    assert len(world.originates()) == 1  # the waiting citizen is not dialled twice

    agent_takes(world, citizen)
    deliver(world)
    done = world.task(task.id)
    assert done.state is CallbackState.COMPLETED and done.outcome is CallbackOutcome.REACHED


def test_a_lease_that_runs_out_while_asterisk_cannot_be_asked_waits_for_the_link(
        database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    restart(world)
    world.endpoint.refuse = True
    cut_link(world)
    agent_takes(world, citizen)
    world.settle(3.0, wait=False)  # the reconnection fails: unreachable
    world.wall.advance(seconds=901)
    assert world.tick() == []
    waiting = world.task(task.id)
    assert waiting.state is CallbackState.IN_CALL and waiting.lease_owner == "test-dispatcher"

    world.endpoint.refuse = False
    world.settle(60.0, wait=False)
    assert world.ami.up
    world.tick()
    deliver(world)
    done = world.task(task.id)
    assert done.state is CallbackState.COMPLETED and done.outcome is CallbackOutcome.REACHED
    assert len(world.originates()) == 1


def test_two_dispatchers_never_both_take_over_one_expired_queue_call(database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    restart(world, owner="first")
    world.wall.advance(seconds=901)
    first = world.db.write_now(lambda s: world.repo.queue_calls_to_check(
        s, "first", world.wall.now(), own=False, limit=20))
    second = world.db.write_now(lambda s: world.repo.queue_calls_to_check(
        s, "second", world.wall.now(), own=False, limit=20))
    assert [c.claim.task_id for c in first] == [task.id] and second == []
    assert first[0].taken_from == "test-dispatcher"
    assert first[0].claim.channel_id == citizen.uniqueid
