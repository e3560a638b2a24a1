"""The Asterisk Manager Interface client: framing, protocol, actions, the reconnecting
service, and an AMI peer simulator for tests and the demo."""

from hotline.ami.actions import ListResult, OriginateReason, OriginateResult, mask_channel
from hotline.ami.device_states import DeviceState
from hotline.ami.errors import (
    AMIActionError,
    AMIActionTimeout,
    AMIAuthenticationError,
    AMIConnectionLost,
    AMIError,
    AMINotConnected,
    AMIProtocolError,
    AMITimeout,
    AMIUnexpectedResponse,
    OriginateTimeout,
)
from hotline.ami.events import EventDispatcher, Subscription
from hotline.ami.message import Message
from hotline.ami.protocol import AUTH_MD5, AUTH_PLAIN, AMIClientFactory, AMIClientProtocol
from hotline.ami.service import AMIService

__all__ = [
    "AUTH_MD5",
    "AUTH_PLAIN",
    "AMIActionError",
    "AMIActionTimeout",
    "AMIAuthenticationError",
    "AMIClientFactory",
    "AMIClientProtocol",
    "AMIConnectionLost",
    "AMIError",
    "AMINotConnected",
    "AMIProtocolError",
    "AMIService",
    "AMITimeout",
    "AMIUnexpectedResponse",
    "DeviceState",
    "EventDispatcher",
    "ListResult",
    "Message",
    "OriginateReason",
    "OriginateResult",
    "OriginateTimeout",
    "Subscription",
    "mask_channel",
]
