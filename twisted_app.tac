# The hotline process: reads the configuration, builds the core, and sets each package's
# service under one application. Wiring only; run with `twistd -n -y twisted_app.tac`.
import gc
import sys

from twisted.application import service
from twisted.internet import defer, reactor
from twisted.logger import ILogObserver

import agents
import callback_queue
import callback_queue.report
import hotline.analysis
import ivr.service
import sms_gateway.messages.service
import sms_gateway.service
from hotline.config import ConfigError, load_config
from hotline.core import make_core
from hotline.logs import make_observer

try:
    config = load_config()
except ConfigError as error:
    sys.exit(f"hotline: configuration error: {error}")

core = make_core(config, reactor)


class StopInStages(service.MultiService):
    """Starts its children in order and stops them one after another, last first: the work
    (calls, dispatchers, web) finishes before the AMI link it may still be waiting on, and
    the database outlives every service that writes as it stops (results, released leases)."""

    def stopService(self):
        service.Service.stopService(self)

        async def stop():
            for child in reversed(list(self)):
                await defer.maybeDeferred(child.stopService)

        return defer.Deferred.fromCoroutine(stop())


application = service.Application("hotline")
application.setComponent(ILogObserver, make_observer(config.logging))
stages = StopInStages()
stages.setServiceParent(service.IServiceCollection(application))
top = service.MultiService()  # the work: stopped together, first (SIGTERM: docs/operations.md)
try:
    core.db.setServiceParent(stages)
    if core.ami is not None:
        core.ami.setServiceParent(stages)  # retried quietly with backoff while Asterisk is absent
    top.setServiceParent(stages)
    callbacks = callback_queue.makeService(core)  # registers its resolve/create participants
    callbacks.setServiceParent(top)
    flows = ivr.service.make_registry(core, request_callback=callbacks.queue.request_callback,
                                      record_rating=callbacks.queue.record_rating)
    ivr.service.makeService(core, flows).setServiceParent(top)
    sms = sms_gateway.service.makeService(core)
    sms.setServiceParent(top)
    # Templates, quiet hours, opt-out, reminders, warnings, and the replies the link stores.
    sms_gateway.messages.service.makeService(core, sms.inbox).setServiceParent(top)
    agents.makeService(core, reports={"callbacks": callback_queue.report.compliance_report,
                                      "callbacks_by_day": callback_queue.report.daily_report},
                       callbacks=callbacks.queue).setServiceParent(top)
    hotline.analysis.makeService(core).setServiceParent(top)  # hourly spike alerts (one process)
except ConfigError as error:  # a value only a package can judge (an SMSC bind, a secret)
    sys.exit(f"hotline: configuration error: {error}")

# Everything built at start-up lives as long as the process: move it out of the collector's
# reach, so that full collections (pauses of 60-80 ms at 1,000 calls) scan only call objects.
reactor.callWhenRunning(gc.freeze)
