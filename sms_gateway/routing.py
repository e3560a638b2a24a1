"""Which SMSC bind carries a message: pure, tested rule by rule.

A configured prefix route wins (longest prefix first); then the destination's carrier from
`phonenumbers`' carrier data (China Mobile / Unicom / Telecom / Broadnet); then the fallback
bind. When the chosen bind is down, the fallback takes the message if it is up: a citizen's
acknowledgement is better late through another carrier's SMSC than not at all.
"""

from __future__ import annotations

from collections.abc import Mapping

import phonenumbers
from phonenumbers import carrier as carrier_data


class NoRoute(LookupError):
    pass


def carrier_of(number: str) -> str:
    try:
        return carrier_data.name_for_number(phonenumbers.parse(number, "CN"), "en") or ""
    except phonenumbers.NumberParseException:
        return ""


class Router:
    def __init__(self, carriers: Mapping[str, str], prefixes: Mapping[str, str],
                 fallback: str) -> None:
        """`carriers`: carrier name -> bind; `prefixes`: number prefix -> bind."""
        self._carriers = {name.lower(): bind for name, bind in carriers.items()}
        self._prefixes = sorted(prefixes.items(), key=lambda item: -len(item[0]))
        self.fallback = fallback

    def route(self, number: str) -> str:
        for prefix, bind in self._prefixes:
            if number.startswith(prefix):
                return bind
        if not self._carriers:
            return self.fallback  # no carrier routes: not worth a carrier lookup per message
        return self._carriers.get(carrier_of(number).lower(), self.fallback)

    def choose(self, number: str, links: Mapping[str, object]) -> object:
        """The link for `number`: its route if available, else the fallback if available,
        else its route anyway (the submit then fails as retryable)."""
        name = self.route(number)
        if name not in links:
            raise NoRoute(f"route {name!r} for {number[:3]}... names no configured bind")
        link = links[name]
        if not link.is_available() and self.fallback in links and name != self.fallback:
            fallback = links[self.fallback]
            if fallback.is_available():
                return fallback
        return link
