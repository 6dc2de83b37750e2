"""Where a webhook may go: the SSRF guard.

An endpoint URL must be http(s), and its host must resolve only to public addresses: never
loopback, private, shared (CGNAT), link-local (cloud metadata at 169.254.169.254), multicast,
reserved or unspecified, in IPv4 or IPv6, including IPv4 addresses wrapped in IPv6 (mapped,
6to4, Teredo, NAT64). The host is resolved when the endpoint is registered and again for every
delivery, and the delivery connects to the very address that was checked, so DNS cannot
answer differently between the check and the connection (DNS rebinding).
``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` lifts the address rule (development, tests), not the scheme rule.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class UnsafeTarget(Exception):
    """The URL may not receive webhooks; the message says why in words staff understand."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as given (IDNA-encoded), for the Host header and TLS name checks
    port: int
    path: str  # path and query, as sent in the request line
    address: IPAddress  # the checked address to connect to

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why this address may not be a webhook target, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = address_refusal(embedded)
            return f"{reason} (inside an IPv6 address)" if reason else None
        if address.is_site_local:
            return "a site-local address"
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    return None


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"This is not a valid URL ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeTarget("Only http:// and https:// URLs can receive webhooks.")
    if parts.username or parts.password:
        raise UnsafeTarget("Put no user name or password in the URL; verify the signature instead.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget("The URL has no host name.")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise UnsafeTarget("The host name is not a valid internationalised name.") from exc
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(f"The host name {host} could not be resolved.") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeTarget(f"The host name {host} has no address.")
    return addresses


def target_resolve(url: str) -> Target:
    """Check ``url`` and pick the address to connect to; raises :class:`UnsafeTarget`.

    Every address the host resolves to must be allowed, not only the first: a name with one
    public and one internal address would otherwise reach inside on a later try.
    """
    scheme, host, port, path = _split(url)
    addresses = _resolve(host, port)
    if not settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            reason = address_refusal(address)
            if reason:
                shown = host if host == str(address) else f"{host} ({address})"
                raise UnsafeTarget(f"Webhooks cannot be sent to {shown}: it is {reason}.")
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
