"""The IVR's service: the FastAGI listener with the hotline flow registered, and the check
of what the IVR needs in Asterisk's directories (warned of at start and on /healthz)."""

from __future__ import annotations

from twisted.application import service

from hotline.core import Core
from ivr.agi import FlowRegistry
from ivr.agi import server as agi_server
from ivr.asterisk_files import AsteriskFilesCheck, warnings_of
from ivr.backend import CallbackRequester, HotlineBackend
from ivr.flows.hotline import HotlineFlow
from ivr.flows.survey import SurveyFlow
from ivr.hours import ServiceHours
from ivr.settling import CallRecordSettler


def make_registry(core: Core, request_callback: CallbackRequester | None = None,
                  record_rating=None) -> FlowRegistry:
    """The flows by name: `hotline` always; `survey` when a rating sink is given (the
    callback queue's `record_rating(task_id, digit)`). The sinks are injected so that the
    IVR never imports the callback queue."""
    config = core.config
    backend = HotlineBackend(core.db, core.appeals, core.clock, core.reactor,
                             config.agi.backend_timeout_s, process=config.service.name,
                             request_callback=request_callback,
                             record_timeout_s=config.agi.record_timeout_s)
    hours = ServiceHours(config.ivr, core.calendar, core.zone)
    registry = FlowRegistry()
    registry.register("hotline", HotlineFlow(backend, hours, config.ivr, config.agi.queue,
                                             metrics=core.metrics, warnings=warnings_of(core)),
                      marks_done=True)
    if record_rating is not None:
        registry.register("survey", SurveyFlow(record_rating, prompt_prefix=config.ivr.prompt_prefix))
    return registry


def makeService(core: Core, registry: FlowRegistry | None = None) -> service.MultiService:
    agi = core.config.agi
    top = service.MultiService()
    top.setName("ivr")
    listener = agi_server.makeService(registry or make_registry(core), core.reactor,
                                      interface=agi.host, port=agi.port,
                                      allowed_hosts=agi.allow,
                                      command_timeout=agi.command_timeout_s,
                                      reactor=core.reactor, drain_timeout=agi.drain_s,
                                      metrics=core.metrics,
                                      listening=core.listening)
    listener.setServiceParent(top)
    CallRecordSettler(core).setServiceParent(top)
    # The prompts and the voice-message spool, where this host sees Asterisk's directories.
    AsteriskFilesCheck(core, warnings_of(core)).setServiceParent(top)
    return top
