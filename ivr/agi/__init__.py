"""FastAGI for the 9600110 IVR: the protocol Asterisk speaks to `agi://`, the call-channel API
flows use, the flow registry, and the listening service. Call flows live elsewhere."""

from ivr.agi.channel import ALL_DIGITS, AGIChannel, RecordingResult, quote
from ivr.agi.environment import AGIEnvironment
from ivr.agi.errors import (
    AGIAppError,
    AGICommandTimeout,
    AGIConnectionClosed,
    AGIDBError,
    AGIDeadChannel,
    AGIError,
    AGIException,
    AGIHangup,
    AGIInvalidCommand,
    AGIRecordFailed,
    AGIResultHangup,
    AGISIGHUPHangup,
    AGISIGPIPEHangup,
    AGISoundFileMissing,
    AGIUnknownError,
    AGIUsageError,
    DuplicateFlowError,
)
from ivr.agi.protocol import FastAGIProtocol
from ivr.agi.registry import Flow, FlowRegistry
from ivr.agi.response import AGIResponse
from ivr.agi.server import DEFAULT_PORT, FastAGIFactory, makeService

__all__ = [
    "ALL_DIGITS",
    "AGIChannel",
    "AGIEnvironment",
    "AGIResponse",
    "DEFAULT_PORT",
    "FastAGIFactory",
    "FastAGIProtocol",
    "Flow",
    "FlowRegistry",
    "RecordingResult",
    "makeService",
    "quote",
    "AGIException",
    "AGIError",
    "AGIUnknownError",
    "AGIAppError",
    "AGIHangup",
    "AGISIGHUPHangup",
    "AGISIGPIPEHangup",
    "AGIResultHangup",
    "AGIDBError",
    "AGIUsageError",
    "AGIInvalidCommand",
    "AGIDeadChannel",
    "AGISoundFileMissing",
    "AGIRecordFailed",
    "AGIConnectionClosed",
    "AGICommandTimeout",
    "DuplicateFlowError",
]
