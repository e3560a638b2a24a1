"""`callback_queue.makeService` on the real core, as twisted_app.tac wires it."""

from __future__ import annotations

from twisted.internet.testing import MemoryReactorClock

import callback_queue
from hotline.config import Config, DatabaseConfig
from hotline.core import make_core
from ivr.agi import FlowRegistry
from ivr.flows.survey import SurveyFlow


def test_make_service_registers_its_participants_and_runs_the_dispatcher(tmp_path):
    config = Config(database=DatabaseConfig(url=f"sqlite:///{tmp_path}/hotline.sqlite3"))
    core = make_core(config, MemoryReactorClock())
    top = callback_queue.makeService(core)
    assert "callback_queue" in core.resolve_hook.names
    assert "callback_queue" in core.create_hook.names
    assert [s.name for s in top] == ["callback-dispatcher"]
    registry = FlowRegistry()
    registry.register("survey", SurveyFlow(top.queue.record_rating,
                                           prompt_prefix=config.ivr.prompt_prefix))
    assert registry.lookup("survey") is not None
    core.db.engine.dispose()
