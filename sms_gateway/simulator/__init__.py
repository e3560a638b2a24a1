"""The SMSC simulator: an SMPP server with faults on demand (tests, `make run`, the benchmark)."""

from sms_gateway.simulator.smsc import AcceptedSubmit, Faults, SimulatedSmsc, SmscProtocol

__all__ = ["AcceptedSubmit", "Faults", "SimulatedSmsc", "SmscProtocol"]
