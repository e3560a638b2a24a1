"""SMGP 3.0 (China Telecom's SMGW) adapter of the SMS link: framing, codec, what a Deliver
means, the SP's protocol, the link service, and an SMGW simulator."""

from sms_gateway.smgp.config import SmgpBindConfig
from sms_gateway.smgp.protocol import LoginRefused, SmgpClientProtocol
from sms_gateway.smgp.service import SmgpLink

__all__ = ["LoginRefused", "SmgpBindConfig", "SmgpClientProtocol", "SmgpLink"]
