"""SMPP 3.4 adapter of the SMS link: framing, PDU codec over smpplib, the ESME protocol, the bind service."""

from sms_gateway.smpp.config import SmppBindConfig
from sms_gateway.smpp.protocol import BindRefused, EsmeProtocol
from sms_gateway.smpp.service import SmppLink

__all__ = ["BindRefused", "EsmeProtocol", "SmppBindConfig", "SmppLink"]
