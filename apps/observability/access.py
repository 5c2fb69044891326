"""Who may scrape ``/metrics``: a bearer token, an address policy, or loopback only.

Settings (config/settings.py, from the environment):
- ``METRICS_TOKEN``: when set, a scrape must send ``Authorization: Bearer <token>``; a missing
  or wrong token is answered 401 with ``WWW-Authenticate: Bearer`` (compared in constant time).
- ``METRICS_ALLOWED_NETWORKS``: when set (CIDRs or addresses, comma-separated), the client
  address (``REMOTE_ADDR``: the peer, or the proxy in front of it) must be in one of them, else
  403.
- Both set: both must hold. Neither set: only loopback clients (127.0.0.0/8, ::1) may scrape;
  anyone else gets 403.
The metrics hold no secrets but do reveal strategy slugs, account ids, P&L and activity, so
they are never public by default.
"""

import hmac
import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)


@dataclass(frozen=True)
class Refusal:
    """Why a scrape is refused: the HTTP ``status`` (401 or 403) and a one-line ``reason``."""

    status: int
    reason: str


def allowed_networks() -> tuple[Network, ...]:
    """``METRICS_ALLOWED_NETWORKS`` parsed (an address is its /32 or /128 network); empty when
    unset. Raises ValueError for an entry that is neither."""
    return tuple(
        ipaddress.ip_network(entry.strip(), strict=False)
        for entry in settings.METRICS_ALLOWED_NETWORKS
        if entry.strip()
    )


def _address_in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 on a dual-stack socket is 127.0.0.1
    return any(ip.version == net.version and ip in net for net in networks)


def scrape_refusal(request: HttpRequest) -> Refusal | None:
    """None when ``request`` may read the metrics, else the refusal (see the module docstring
    for the policy). Networks are checked before the token, so an address outside them learns
    nothing about the token."""
    token: str = settings.METRICS_TOKEN
    networks = allowed_networks()
    address = request.META.get("REMOTE_ADDR", "")
    if networks and not _address_in(address, networks):
        return Refusal(403, "client address not in METRICS_ALLOWED_NETWORKS")
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return Refusal(401, "a valid bearer token is required")
        return None
    if not networks and not _address_in(address, LOOPBACK):
        return Refusal(
            403,
            "only loopback may scrape when neither METRICS_TOKEN nor "
            "METRICS_ALLOWED_NETWORKS is set",
        )
    return None
