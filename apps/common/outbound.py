"""The outbound URL policy: which addresses the server may call on a user's behalf.

Every URL a user supplies (an LLM endpoint's ``base_url``) is checked when it is saved and
again at every connection, so the server cannot be turned against its own network (SSRF): the
cloud metadata service (169.254.169.254), Redis or PostgreSQL on loopback, the private LAN.

The rule (``outbound_url_check`` at save time, ``outbound_addresses`` at connect time):

- the scheme is ``http`` or ``https``, the host parses, and the URL carries no user info;
- the host is resolved (``resolve``, i.e. ``socket.getaddrinfo``) and refused when ANY of its
  addresses is loopback, private, link-local, multicast, reserved, unspecified or otherwise
  not global (IPv4 inside IPv6 — mapped ``::ffff:a.b.c.d``, 6to4, NAT64 — is judged as the
  IPv4 address it carries);
- unless allowed by the setting ``LLM_ALLOWED_HOSTS`` (host names, matched exactly and
  case-insensitively; IP addresses; CIDR networks such as ``10.1.0.0/16``), or it is the
  operator's own ``LLM_BASE_URL`` (its host and port are trusted).

At connect time ``PinnedHttpTransport`` resolves, checks, then connects to the very address it
checked (TLS SNI, certificate check and the ``Host`` header keep the host name), so a name that
resolves to a public address when saved and to 127.0.0.1 later (DNS rebinding) is refused
without being contacted. Refusals name the policy, never anything a refused host said.
"""

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore2
import httpx2
from django.conf import settings

from apps.common.errors import SibylError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SCHEMES = ("http", "https")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class OutboundUrlRefusedError(SibylError):
    """A URL or address is refused by the outbound URL policy; the message says why and how
    to allow it. It never carries anything a refused host answered (it was not contacted)."""


@dataclass(frozen=True)
class CheckedUrl:
    """A URL the policy allowed: its scheme, host (lower-case, no brackets), port and the
    addresses it resolved to when checked (empty when its host name is allowlisted)."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _refused(reason: str) -> OutboundUrlRefusedError:
    return OutboundUrlRefusedError(f"refused by the outbound URL policy: {reason}")


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to for a TCP connection to ``port`` (getaddrinfo),
    without duplicates, in the resolver's order. Tests replace this function to simulate DNS.

    Raises OSError (``socket.gaierror``) when the name does not resolve.
    """
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for *_, sockaddr in found:
        address = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    return addresses


def _embedded_ipv4(ip: IpAddress) -> IpAddress:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), else ``ip`` itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_refusal(ip: IpAddress) -> str:
    """Why ``ip`` may not be called ("loopback", "link-local" …), or "" for a global unicast
    address. IPv4 carried in IPv6 is judged as that IPv4 address."""
    ip = _embedded_ipv4(ip)
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not a global address", not ip.is_global),
    )
    return next((reason for reason, hit in checks if hit), "")


@dataclass(frozen=True)
class _Allowlist:
    names: frozenset[str]
    networks: tuple[IpNetwork, ...]
    origins: frozenset[tuple[str, int]]


def _allowlist() -> _Allowlist:
    """LLM_ALLOWED_HOSTS split into names and networks, plus the operator's LLM_BASE_URL."""
    names: set[str] = set()
    networks: list[IpNetwork] = []
    for entry in settings.LLM_ALLOWED_HOSTS:
        entry = entry.strip().lower().strip("[]")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    origins: set[tuple[str, int]] = set()
    operator = _split(settings.LLM_BASE_URL) if settings.LLM_BASE_URL else None
    if operator is not None:
        origins.add((operator[1], operator[2]))
    return _Allowlist(frozenset(names), tuple(networks), frozenset(origins))


def _split(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, or None when it is not one."""
    try:
        parts = urlsplit(url.strip())
        host, scheme = (parts.hostname or "").rstrip("."), parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None
    if scheme not in SCHEMES or not host:
        return None
    return scheme, host.lower(), port


def _ip(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def outbound_addresses(host: str, port: int) -> list[str]:
    """The addresses the server may connect to for ``host``:``port``, resolved now.

    An allowlisted name (LLM_ALLOWED_HOSTS, or the operator's LLM_BASE_URL host and port) is
    trusted as it resolves; otherwise every address must be global or inside an allowlisted
    network. Output: IP address strings, at least one.

    Raises OutboundUrlRefusedError when the host does not resolve or any address is refused.
    """
    host = host.lower().strip("[]").rstrip(".")
    allow = _allowlist()
    trusted = host in allow.names or (host, port) in allow.origins
    literal = _ip(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            raise _refused(f"host {host} does not resolve") from None
        if not addresses:
            raise _refused(f"host {host} does not resolve")
    if trusted:
        return addresses
    for address in addresses:
        ip = _ip(address)
        if ip is None:
            raise _refused(f"{host} resolves to {address!r}, not an IP address")
        if any(ip in network for network in allow.networks):
            continue
        reason = address_refusal(ip)
        if reason:
            shown = host if host == address else f"{host} ({address})"
            raise _refused(f"{shown} is {reason}; allow it with LLM_ALLOWED_HOSTS")
    return addresses


def outbound_url_check(url: str) -> CheckedUrl:
    """Check a user-supplied URL against the outbound URL policy (see the module docstring).

    Input: the URL as typed. Output: a CheckedUrl. Raises OutboundUrlRefusedError naming the
    rule it breaks: not http(s), no host, user info in the URL, a bad port, a host that does
    not resolve, or an address that is not global and not allowlisted.
    """
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _refused(f"{text!r} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"scheme {scheme!r}" if scheme else f"{text!r} (no scheme)"
        raise _refused(f"{shown} is not allowed; use http:// or https://")
    if not parts.hostname:
        raise _refused(f"{text!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise _refused("a URL may not carry a user name or password; enter the key instead")
    host = parts.hostname.lower().rstrip(".")
    port = port or _DEFAULT_PORTS[scheme]
    return CheckedUrl(scheme, host, port, tuple(outbound_addresses(host, port)))


class _PinnedBackend(httpcore2.SyncBackend):
    """httpcore's synchronous network backend, but every TCP connection goes to an address
    the policy checked just now (``outbound_addresses``), never to a fresh lookup."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        """Resolve and check ``host``, then connect to the first checked address that answers.

        Raises OutboundUrlRefusedError (nothing contacted) or httpcore's ConnectError /
        ConnectTimeout when no checked address accepts the connection.
        """
        addresses = outbound_addresses(host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as error:
                last = error
        assert last is not None  # outbound_addresses returns at least one address
        raise last


class PinnedHttpTransport(httpx2.HTTPTransport):
    """httpx's transport whose connections obey the outbound URL policy at connect time
    (``_PinnedBackend``): DNS-rebinding safe, no proxy from the environment. Input: the
    ``verify`` setting of httpx (an ``ssl.SSLContext``, a CA bundle path or a bool)."""

    def __init__(self, verify: ssl.SSLContext | str | bool = True) -> None:
        super().__init__(verify=verify, trust_env=False)
        # httpx builds its httpcore pool without a way to pass a network backend; the pool is
        # rebuilt with the same settings and the pinned backend (httpx2/_transports/default.py).
        previous = self._pool
        self._pool = httpcore2.ConnectionPool(
            ssl_context=previous._ssl_context,
            max_connections=previous._max_connections,
            max_keepalive_connections=previous._max_keepalive_connections,
            keepalive_expiry=previous._keepalive_expiry,
            http1=previous._http1,
            http2=previous._http2,
            network_backend=_PinnedBackend(),
        )
        previous.close()


def pinned_http_client(*, timeout_s: float) -> httpx2.Client:
    """An httpx client for user-supplied URLs: connections checked and pinned by the outbound
    URL policy, redirects never followed (a 3xx is an answer, not a new request), no proxy or
    netrc from the environment. ``timeout_s``: seconds for each of connect, read and write."""
    return httpx2.Client(
        transport=PinnedHttpTransport(),
        follow_redirects=False,
        trust_env=False,
        timeout=timeout_s,
    )
