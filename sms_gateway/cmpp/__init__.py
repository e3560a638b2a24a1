"""CMPP 2.0 and 3.0 (China Mobile's ISMG) adapter of the SMS link: framing, codec, segments,
what a CMPP_DELIVER means, the SP's protocol, the link service, and an ISMG simulator."""

from sms_gateway.cmpp.config import CmppBindConfig
from sms_gateway.cmpp.protocol import CmppClientProtocol, ConnectRefused
from sms_gateway.cmpp.service import CmppLink

__all__ = ["CmppBindConfig", "CmppClientProtocol", "CmppLink", "ConnectRefused"]
