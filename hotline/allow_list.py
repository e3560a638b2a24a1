"""Which peers may connect to a listener: an allow-list of addresses and networks.

The FastAGI port takes orders from whoever connects (a connection *is* a call), so it is
closed to everyone but the Asterisk servers listed in `[agi] allow`, loopback by default.
The list is parsed once, when the configuration loads, so a typo stops the service at start
instead of letting nobody (or everybody) in later."""

from __future__ import annotations

import ipaddress
from typing import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK = ("127.0.0.1", "::1")


def parse_networks(entries: Iterable[str], *, key: str) -> tuple[Network, ...]:
    """Each entry as a network: an address ("10.0.0.5", "::1") or a network ("10.0.0.0/24").
    A bad entry raises ValueError naming `key` and the entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{key}: {entry!r} is not an IP address or network "
                             "(e.g. 10.0.0.5 or 10.0.0.0/24)") from None
    return tuple(networks)


def peer_address(host: object) -> Address | None:
    """The peer's address as the listener reports it, or None if it is not an IP address
    (a UNIX socket, say). A dual-stack listener on "::" sees an IPv4 peer as ::ffff:a.b.c.d:
    it is matched as the IPv4 address it is. A zone suffix ("fe80::1%eth0") is dropped."""
    try:
        address = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class AllowList:
    """The networks a peer must be in. Built from the configuration's strings."""

    def __init__(self, entries: Iterable[str], *, key: str = "allow") -> None:
        self.entries = tuple(entries)
        self.networks = parse_networks(self.entries, key=key)

    def allows(self, host: object) -> bool:
        address = peer_address(host)
        return address is not None and any(address in network for network in self.networks)

    def __repr__(self) -> str:
        return f"AllowList({', '.join(self.entries)})"
