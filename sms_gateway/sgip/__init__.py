"""SGIP 1.2 (China Unicom's SMG) adapter of the SMS link: framing, codec, the SP's two sides
(binding to the SMG to submit, listening for the SMG's binds that deliver replies and
reports), the link service, and an SMG simulator."""

from sms_gateway.sgip.config import SgipBindConfig
from sms_gateway.sgip.protocol import BindRefused, SgipClientProtocol, SgipServerProtocol
from sms_gateway.sgip.service import SgipLink

__all__ = ["BindRefused", "SgipBindConfig", "SgipClientProtocol", "SgipLink",
           "SgipServerProtocol"]
