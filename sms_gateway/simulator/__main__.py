"""Run the SMSC simulator on its own: `python -m sms_gateway.simulator --port 2775`.

Prints ``listening on <port>`` once the port is open (port 0 picks a free one), so a parent
process (the benchmark) can read where to connect.
"""

from __future__ import annotations

import argparse
import sys

from twisted.internet import endpoints, reactor
from twisted.logger import globalLogBeginner, textFileLogObserver

from sms_gateway.simulator.smsc import SimulatedSmsc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sms_gateway.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument("--system-id", default="hotline")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--receipt-delay", type=float, default=1.0,
                        help="seconds before a delivery receipt; negative: no receipts")
    parser.add_argument("--throttle-rate", type=float, default=None,
                        help="submit_sm per second above which ESME_RTHROTTLED is answered")
    parser.add_argument("--response-delay", type=float, default=0.0,
                        help="seconds before every response (an SMSC's latency)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.verbose:
        globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)])
    smsc = SimulatedSmsc(
        reactor, credentials={args.system_id: args.password},
        receipt_delay=None if args.receipt_delay < 0 else args.receipt_delay,
    )
    smsc.faults.throttle_rate = args.throttle_rate
    smsc.faults.response_delay = args.response_delay
    endpoint = endpoints.TCP4ServerEndpoint(reactor, args.port, interface=args.host)

    def listening(port) -> None:
        print(f"listening on {port.getHost().port}", flush=True)

    def failed(failure) -> None:
        print(f"cannot listen on {args.host}:{args.port}: {failure.getErrorMessage()}", file=sys.stderr)
        reactor.stop()

    endpoint.listen(smsc.factory()).addCallbacks(listening, failed)
    reactor.run()


if __name__ == "__main__":
    main()
