"""The whole hotline service as one tree of Twisted services, as `twisted_app.tac` runs it
and as `hotline demo` runs it: the only place that joins the packages (each package's
`makeService` and the participants it registers on the core).

The tree stops in stages (SIGTERM: docs/operations.md): first the work (calls, dispatchers,
web, the spike job) together, then the AMI link the work may still wait on, then the
database, which outlives every service that writes as it stops (results, released leases).
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.application import service
from twisted.internet import defer

import agents
import callback_queue
import callback_queue.export
import callback_queue.report
import hotline.analysis
import hotline.appeals.urging_job
import hotline.recordings
import ivr.service
import sms_gateway.messages.service
import sms_gateway.service
from hotline.core import Core


class StopInStages(service.MultiService):
    """Starts its children in order and stops them one after another, last first."""

    def stopService(self):
        service.Service.stopService(self)

        async def stop():
            for child in reversed(list(self)):
                await defer.maybeDeferred(child.stopService)

        return defer.Deferred.fromCoroutine(stop())


@dataclass(frozen=True)
class ServiceTree:
    root: StopInStages
    work: service.MultiService
    sms: service.MultiService  # the SMPP side: its inbox and, when embedded, the SMSC simulator


def build(core: Core) -> ServiceTree:
    """Every package's service on `core`; raises `ConfigError` for a value only a package
    can judge (an SMSC bind, a secret)."""
    root = StopInStages()
    work = service.MultiService()
    core.db.setServiceParent(root)
    if core.calendar_loader is not None:
        core.calendar_loader.setServiceParent(root)  # loaded holiday lists, before any deadline
    if core.ami is not None:
        core.ami.setServiceParent(root)  # retried quietly with backoff while Asterisk is absent
    work.setServiceParent(root)
    callbacks = callback_queue.makeService(core)  # registers its resolve/create participants
    callbacks.setServiceParent(work)
    flows = ivr.service.make_registry(core, request_callback=callbacks.queue.request_callback,
                                      record_rating=callbacks.queue.record_rating)
    ivr.service.makeService(core, flows).setServiceParent(work)
    sms = sms_gateway.service.makeService(core)
    sms.setServiceParent(work)
    # Templates, quiet hours, opt-out, reminders, warnings, and the replies the link stores.
    sms_gateway.messages.service.makeService(core, sms.inbox).setServiceParent(work)
    agents.makeService(core, reports={"callbacks": callback_queue.report.compliance_report,
                                      "callbacks_by_day": callback_queue.report.daily_report,
                                      "callbacks_file": callback_queue.export.export},
                       callbacks=callbacks.queue).setServiceParent(work)
    hotline.analysis.makeService(core).setServiceParent(work)  # hourly spike alerts (one process)
    hotline.appeals.urging_job.makeService(core).setServiceParent(work)  # 催办, 督办 (one process)
    hotline.recordings.makeService(core).setServiceParent(work)  # index, purge (one process)
    return ServiceTree(root, work, sms)
