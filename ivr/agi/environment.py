"""The `agi_*` header block Asterisk sends first on a FastAGI connection, as a frozen value."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping
from urllib.parse import parse_qs

_HEADER_LINE = re.compile(r"^(agi_[a-z0-9_]+):(?: (.*))?$")
_ARG_KEY = re.compile(r"^agi_arg_([1-9][0-9]*)$")
_UNKNOWN = "unknown"


class HeaderError(ValueError):
    """A header line that Asterisk would never send."""


def parse_header_line(line: str) -> tuple[str, str]:
    """'agi_callerid: 5551234' -> ('agi_callerid', '5551234'); anything else raises HeaderError."""
    match = _HEADER_LINE.match(line)
    if match is None:
        raise HeaderError(f"not an agi_* header line: {line[:80]!r}")
    return match.group(1), match.group(2) or ""


def _known(value: str | None) -> str | None:
    # Asterisk writes the literal 'unknown' for an absent caller id, DNID and RDNIS.
    if value is None or value == "" or value == _UNKNOWN:
        return None
    return value


@dataclass(frozen=True)
class AGIEnvironment:
    """What Asterisk told us about the call. `callerid`, `dnid`, `rdnis` are None when Asterisk
    sent 'unknown'. `script_path` is `agi_network_script` without its query and slashes, the key
    flows are registered under; `args` are agi_arg_1..N in order."""

    script: str
    script_path: str
    query: Mapping[str, tuple[str, ...]]
    request: str
    channel: str
    uniqueid: str
    callerid: str | None
    calleridname: str | None
    dnid: str | None
    rdnis: str | None
    context: str
    extension: str
    priority: str
    language: str
    args: tuple[str, ...]
    raw: Mapping[str, str] = field(repr=False)

    def get(self, key: str, default: str | None = None) -> str | None:
        """Any header by its Asterisk name, e.g. env.get('agi_accountcode')."""
        return self.raw.get(key, default)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> "AGIEnvironment":
        script = headers.get("agi_network_script", "")
        path, _, query_text = script.partition("?")
        query = {k: tuple(v) for k, v in parse_qs(query_text, keep_blank_values=True).items()}
        numbered = []
        for key, value in headers.items():
            match = _ARG_KEY.match(key)
            if match:
                numbered.append((int(match.group(1)), value))
        numbered.sort()
        return cls(
            script=script,
            script_path=path.strip("/"),
            query=MappingProxyType(query),
            request=headers.get("agi_request", ""),
            channel=headers.get("agi_channel", ""),
            uniqueid=headers.get("agi_uniqueid", ""),
            callerid=_known(headers.get("agi_callerid")),
            calleridname=_known(headers.get("agi_calleridname")),
            dnid=_known(headers.get("agi_dnid")),
            rdnis=_known(headers.get("agi_rdnis")),
            context=headers.get("agi_context", ""),
            extension=headers.get("agi_extension", ""),
            priority=headers.get("agi_priority", ""),
            language=headers.get("agi_language", ""),
            args=tuple(value for _, value in numbered),
            raw=MappingProxyType(dict(headers)),
        )
