"""A graceful stop of the callback dispatcher: calls in the air get their OriginateResponse
and their result written before it stops (their leases end with it); a call still
unanswered after the bound keeps its lease, since it may be ringing."""

from __future__ import annotations

from hotline.ami import OriginateReason
from schemas.callbacks import AttemptResult, CallbackState
from tests.callback_queue.support import CITIZEN, make_world


def test_stop_waits_for_the_call_in_the_air_and_writes_its_result(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    task_id = world.task_for(world.resolved_appeal()).id
    world.sim.script_originate(CITIZEN, OriginateReason.BUSY, delay=3.0)
    world.tick()
    stopped = world.dispatcher.stopService()
    world.clock.advance(2.0)
    world.endpoint.flush()
    assert not stopped.called  # still waiting for the OriginateResponse
    world.wait(stopped, advance=0.5)
    task = world.task(task_id)
    assert task.state is CallbackState.PENDING and task.lease_owner is None
    assert [a.result for a in world.attempts(task_id)] == [AttemptResult.BUSY]
    assert world.clock.seconds() < world.dispatcher.stop_wait_s


def test_a_call_unanswered_after_the_bound_keeps_its_lease(database, pumped_reactor):
    world = make_world(database, pumped_reactor, originate_response_s=60, lease_s=120)
    task_id = world.task_for(world.resolved_appeal()).id
    world.sim.script_originate(CITIZEN, OriginateReason.ANSWERED, respond=False)
    world.tick()
    stopped = world.dispatcher.stopService()
    assert world.dispatcher.stop_wait_s == 30.0
    world.clock.advance(29.0)
    world.endpoint.flush()
    assert not stopped.called
    world.clock.advance(1.0)
    world.wait(stopped)
    task = world.task(task_id)
    assert (task.state, task.lease_owner) == (CallbackState.DIALING, world.dispatcher.owner)


def test_nothing_is_claimed_after_stop(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    world.dispatcher.startService()
    world.wait(world.dispatcher.stopService())
    task_id = world.task_for(world.resolved_appeal()).id
    world.clock.advance(60)
    world.endpoint.flush()
    assert world.originates() == [] and world.task(task_id).state is CallbackState.PENDING
