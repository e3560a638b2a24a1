"""A queue callback (the callback offer's, a voice message's) is completed when the citizen
reaches an agent, not when they answer: the dispatcher keeps the answered task in_call until
the AgentConnect of its channel (completed, reached), or until the channel leaves the queue
first (hung up, or the queue's wait ran out: a failed attempt, retried per policy); with no
word at all, whichever process polls after the lease ran out asks Asterisk (test_reconcile.py)
and, the channel gone with no record of an agent, settles it as failed.
Through the dispatcher, the AMI link and the simulated Asterisk, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from twisted.internet.defer import Deferred

from callback_queue.dispatcher import CallbackDispatcher
from schemas.callbacks import AttemptResult, CallbackOutcome, CallbackState
from tests.callback_queue.support import CITIZEN, make_world

MEMBER = "PJSIP/1001"


def d(coroutine):
    return Deferred.fromCoroutine(coroutine)


def answered_queue_callback(database, pumped_reactor):
    """A citizen asked to be called back, an agent is free, the dispatcher calls and the
    citizen answers: the dialplan's Queue() now holds their channel."""
    world = make_world(database, pumped_reactor)
    world.sim.add_queue("hotline")
    world.wait(world.ami.queue_add("hotline", MEMBER))
    task = world.pump.wait(d(world.queue.request_callback(CITIZEN, "call-1")))
    (claim,) = world.tick()
    world.settle()  # the citizen answers (the simulator's 1 s)
    citizen = world.sim.answered_originate(claim.channel_id)
    assert (citizen.context, citizen.exten) == ("hotline-queue-callback", "s")
    world.sim.queue_caller_join("hotline", citizen)
    world.endpoint.flush()
    return world, task, claim, citizen


def deliver(world):
    world.endpoint.flush()
    world.pump.wait(world.dispatcher.idle())


def test_an_answered_queue_callback_is_in_call_until_an_agent_takes_it(database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    waiting = world.task(task.id)
    assert waiting.state is CallbackState.IN_CALL and waiting.outcome is None
    assert waiting.lease_until == world.wall.now() + dt.timedelta(seconds=900)  # survey_lease_s
    (attempt,) = world.attempts(task.id)
    assert attempt.result is AttemptResult.ANSWERED and attempt.ended_at is None

    world.wall.advance(seconds=40)  # the citizen waits in the queue
    agent = world.sim.new_channel(f"{MEMBER}-00000001", context="from-internal")
    world.sim.agent_connect("hotline", citizen, agent, MEMBER, ring_time=3)
    deliver(world)
    done = world.task(task.id)
    assert done.state is CallbackState.COMPLETED and done.outcome is CallbackOutcome.REACHED
    assert done.completed_at == world.wall.now() and done.lease_owner is None
    (attempt,) = world.attempts(task.id)
    assert attempt.result is AttemptResult.ANSWERED and attempt.ended_at == world.wall.now()

    # The call's end after the agent talked to the citizen changes nothing.
    world.sim.agent_complete("hotline", citizen, agent, MEMBER)
    world.sim.hangup_call(citizen.name)
    deliver(world)
    assert world.task(task.id).state is CallbackState.COMPLETED


@pytest.mark.parametrize("how", ["hung up", "queue timeout"])
def test_a_citizen_gone_from_the_queue_before_an_agent_is_a_failed_attempt_retried(
        database, pumped_reactor, how):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    world.wall.advance(seconds=30)
    if how == "hung up":
        world.sim.queue_caller_abandon("hotline", citizen)
    else:  # Queue() returns after its timeout; the dialplan hangs up
        world.sim.queue_caller_leave("hotline", citizen)
    world.sim.hangup_call(citizen.name)
    deliver(world)
    failed = world.task(task.id)
    assert failed.state is CallbackState.PENDING and failed.outcome is None
    assert failed.attempts == 1 and failed.lease_owner is None
    assert failed.next_attempt_at == world.wall.now() + dt.timedelta(minutes=10)  # ivr_retry_min
    (attempt,) = world.attempts(task.id)
    assert attempt.result is AttemptResult.QUEUE_ABANDONED
    assert attempt.ended_at == world.wall.now()

    assert world.tick() == []  # not before the retry is due
    world.wall.advance(minutes=10)
    (again,) = world.tick()
    assert (again.task_id, again.attempt_number) == (task.id, 2)


def test_the_last_attempt_gone_from_the_queue_gives_the_callback_up(database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    for _ in range(2):  # attempts 2 and 3 end the same way
        world.sim.queue_caller_abandon("hotline", citizen)
        world.sim.hangup_call(citizen.name)
        deliver(world)
        world.wall.advance(minutes=10)
        (claim,) = world.tick()
        world.settle()
        citizen = world.sim.answered_originate(claim.channel_id)
        world.sim.queue_caller_join("hotline", citizen)
    world.sim.queue_caller_abandon("hotline", citizen)
    world.sim.hangup_call(citizen.name)
    deliver(world)
    gone = world.task(task.id)
    assert gone.state is CallbackState.UNREACHABLE and gone.outcome is CallbackOutcome.UNREACHABLE
    assert [a.result for a in world.attempts(task.id)] == [AttemptResult.QUEUE_ABANDONED] * 3


def test_with_no_word_of_an_agent_the_lease_settles_it_as_failed_after_a_restart(
        database, pumped_reactor):
    world, task, claim, citizen = answered_queue_callback(database, pumped_reactor)
    world.pump.wait(world.dispatcher.stopService())
    # The AgentConnect comes while no dispatcher watches the channel: nobody records it.
    agent = world.sim.new_channel(f"{MEMBER}-00000001", context="from-internal")
    world.sim.agent_connect("hotline", citizen, agent, MEMBER)
    world.endpoint.flush()
    world.sim.agent_complete("hotline", citizen, agent, MEMBER)
    world.sim.hangup_call(citizen.name)
    world.endpoint.flush()
    restarted = CallbackDispatcher(world.db, world.repo, world.ami, world.wall, world.clock,
                                   world.dispatcher._config, owner="restarted")
    world.dispatcher = restarted
    world.wall.advance(seconds=899)
    assert world.tick() == []
    assert world.task(task.id).state is CallbackState.IN_CALL  # its lease still holds

    world.wall.advance(seconds=2)
    assert world.tick() == []  # settled, and its retry is not due yet
    # The poll asked Asterisk and ended the watch; the failed attempt is written after it.
    world.pump.wait(world.dispatcher.idle())
    settled = world.task(task.id)
    assert settled.state is CallbackState.PENDING and settled.lease_owner is None
    assert settled.next_attempt_at == world.wall.now() + dt.timedelta(minutes=10)
    (attempt,) = world.attempts(task.id)
    assert attempt.result is AttemptResult.LEASE_EXPIRED and attempt.ended_at == world.wall.now()
