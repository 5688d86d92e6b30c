"""Where Covey may send requests of its own (webhooks, OpenID Connect issuers): public addresses only,
unless the URL's host is one the operator allowed. A host is resolved as the socket library resolves it, so
every spelling of an address (decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, short `127.1`, IPv4-mapped
`::ffff:127.0.0.1`) ends up as the address it means; every address a name resolves to is checked, and
the request goes to the checked address, so a DNS answer that changes after the check cannot send it
elsewhere."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64 (RFC 6052): the last 32 bits are the IPv4 address a NAT64 gateway would reach.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class DestinationRefused(Exception):
    """The URL may not be called; the message says why, naming only the URL's host."""


class Unresolved(DestinationRefused):
    """The host does not resolve (now)."""


def refusal(ip: IPAddress) -> str | None:
    """Why an address is not public (loopback, link-local, private, …), or None for a public one."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded)
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if ip.is_global else "reserved"


@dataclass(frozen=True)
class Destination:
    """Where to connect: `url` names the checked address; `host` goes in the Host header and, over
    https, is the name the certificate must match."""

    url: str
    host: str | None = None
    server_name: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Host": self.host} if self.host else {}

    @property
    def extensions(self) -> dict[str, str]:
        return {"sni_hostname": self.server_name} if self.server_name else {}


def resolve(url: str, *, allowed_hosts: Collection[str], purpose: str = "webhooks") -> Destination:
    """The destination for `url`, or `DestinationRefused`. Blocking: it may ask DNS. `purpose` names
    what is refused in the message."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise DestinationRefused("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("the URL may not carry a user name or password")
    if host in {h.lower() for h in allowed_hosts}:
        return Destination(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolved(f"{host} does not resolve") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            raise DestinationRefused(f"{host} is a {reason} address; {purpose} go to public addresses only")
    chosen = addresses[0]
    netloc = f"[{chosen}]:{port}" if chosen.version == 6 else f"{chosen}:{port}"
    original = parts.netloc.rsplit("@", 1)[-1]
    named = host != str(chosen)
    return Destination(
        urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
        host=original,
        server_name=host if named and parts.scheme == "https" else None,
    )
