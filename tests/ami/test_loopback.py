"""The one test on a real socket: the AMI service against the simulator on 127.0.0.1:0."""

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.trial import unittest

from hotline.ami.actions import OriginateReason
from hotline.ami.service import AMIService
from hotline.ami.simulator import AsteriskManagerSimulator


class LoopbackTests(unittest.TestCase):
    timeout = 10

    async def _originate_over_loopback(self):
        sim = AsteriskManagerSimulator(reactor)
        sim.script_originate("13812345678", OriginateReason.BUSY, delay=0.05)
        port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(sim)
        self.addCleanup(port.stopListening)
        service = AMIService(
            "127.0.0.1",
            port.getHost().port,
            "hotline",
            "secret",
            auth="md5",
            reactor=reactor,
            ping_interval=None,
            originate_timeout=5.0,
        )
        service.startService()
        self.addCleanup(service.stopService)
        hangups = []
        service.subscribe("Hangup", hangups.append)
        result = await service.originate("Local/13812345678@hotline-callback", context="hotline-survey", exten="s")
        self.assertIs(result.reason, OriginateReason.BUSY)
        self.assertFalse(result.success)
        # The ;2 leg hangs up before the OriginateResponse, with "User busy".
        self.assertEqual((hangups[0]["Cause"], hangups[0]["Cause-txt"]), ("17", "User busy"))
        settings = await service.core_settings()
        self.assertEqual(settings["AsteriskVersion"], "23.4.1")

    def test_service_logs_in_and_originates_against_the_simulator_over_tcp(self):
        return Deferred.fromCoroutine(self._originate_over_loopback())
