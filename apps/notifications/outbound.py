"""The outbound URL policy for notification channels (``apps.common.outbound``'s rule, with
its own allowlist ``NOTIFY_ALLOWED_HOSTS``).

A channel URL is a user's: it must not turn the server against its own network (SSRF). Two
checks, because apprise's services connect by themselves (requests, smtplib, sockets):

- at save time (``channel_url_check``): apprise must understand the URL; services that do not
  go over the network (desktop, D-Bus, syslog, macOS, Windows, USB) are refused; the host the
  URL names (and an e-mail URL's ``smtp=`` server) is resolved and every address must be
  global or allowlisted;
- at send time (``outbound_guard``): every socket connection or datagram the sending thread
  (and the threads apprise starts for it) makes is checked against the same rule through a
  Python audit hook (PEP 578), after name resolution, so a name that resolves elsewhere later
  (DNS rebinding) or a redirect to 127.0.0.1 is refused before anything is sent. Local
  sockets, subprocesses and syslog are refused too.
"""

import contextlib
import contextvars
import ipaddress
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apprise
from django.conf import settings

from apps.common.errors import SibylError
from apps.common.outbound import (
    IpAddress,
    IpNetwork,
    OutboundUrlRefusedError,
    address_refusal,
    resolve,
)

# Apprise services that do not go over the network: they would act on the server itself.
LOCAL_SCHEMES = frozenset(
    {"dbus", "kde", "qt", "glib", "gio", "gnome", "macosx", "windows", "syslog", "blink1"}
)
_DEFAULT_PORT = 0  # the port does not matter for the address check


class ChannelUrlInvalidError(SibylError):
    """The URL is not one apprise understands (unknown scheme, missing token …)."""


@dataclass(frozen=True)
class ChannelUrl:
    """A checked channel URL: apprise's service name, its scheme and the URL with its
    secrets hidden (apprise's privacy form)."""

    service: str
    scheme: str
    masked: str


def _refused(reason: str) -> OutboundUrlRefusedError:
    return OutboundUrlRefusedError(f"refused by the outbound URL policy: {reason}")


def _allowlist() -> tuple[frozenset[str], tuple[IpNetwork, ...]]:
    """NOTIFY_ALLOWED_HOSTS as (lower-case host names, IP networks)."""
    names: set[str] = set()
    networks: list[IpNetwork] = []
    for entry in settings.NOTIFY_ALLOWED_HOSTS:
        entry = entry.strip().lower().strip("[]")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return frozenset(names), tuple(networks)


def host_check(host: str) -> list[str]:
    """Resolve ``host`` and return its addresses when the policy allows them: an allowlisted
    name as it resolves, else every address global or in an allowlisted network.

    Raises OutboundUrlRefusedError when it does not resolve or an address is refused."""
    host = host.lower().strip("[]").rstrip(".")
    names, networks = _allowlist()
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = resolve(host, _DEFAULT_PORT)
        except (OSError, UnicodeError):
            raise _refused(f"host {host} does not resolve") from None
    if not addresses:
        raise _refused(f"host {host} does not resolve")
    if host in names:
        return addresses
    for address in addresses:
        reason = _address_refusal(address, networks)
        if reason:
            shown = host if host == address else f"{host} ({address})"
            raise _refused(f"{shown} is {reason}; allow it with NOTIFY_ALLOWED_HOSTS")
    return addresses


def _address_refusal(address: str, networks: tuple[IpNetwork, ...]) -> str:
    try:
        ip: IpAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if any(ip in network for network in networks):
        return ""
    return address_refusal(ip)


def channel_url_check(url: str) -> ChannelUrl:
    """Check a channel URL as typed (see the module docstring).

    Output: a ChannelUrl. Raises ChannelUrlInvalidError when apprise does not understand it,
    OutboundUrlRefusedError for a local service or a refused destination."""
    text = (url or "").strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if not scheme:
        raise ChannelUrlInvalidError(
            "not an apprise URL: expected scheme://… (e.g. tgram://, mailto://, json://)"
        )
    if scheme in LOCAL_SCHEMES:
        raise _refused(f"{scheme}:// notifies the server itself, not you; use a network service")
    plugin = apprise.Apprise.instantiate(text)
    if plugin is None:
        raise ChannelUrlInvalidError(
            f"apprise does not understand this URL (scheme {scheme!r}): check the service's "
            "URL format at https://github.com/caronc/apprise/wiki"
        )
    # Where the service connects: an e-mail URL's SMTP server when it names one (its host is
    # then the address's domain), else the host of a self-hostable service. Cloud services
    # (Telegram, Slack …) connect to their fixed public API host; their "host" is a token.
    smtp_host = getattr(plugin, "smtp_host", None)
    if smtp_host:
        host_check(str(smtp_host))
    elif "host" in getattr(plugin, "template_tokens", {}) and getattr(plugin, "host", None):
        host_check(str(plugin.host))
    return ChannelUrl(
        service=str(plugin.service_name), scheme=scheme, masked=str(plugin.url(privacy=True))
    )


# --- The send-time guard ------------------------------------------------------------------
@dataclass
class GuardState:
    """A guarded send: the networks allowlisted for it, and the refusals it met (apprise
    swallows the error its service raised, so the sender reads them here)."""

    allowed: tuple[IpNetwork, ...]
    refusals: list[str]


# The guard of the send running in this context (None: no send running).
_GUARD: contextvars.ContextVar[GuardState | None] = contextvars.ContextVar(
    "notify_outbound_guard", default=None
)
_HOOK_LOCK = threading.Lock()
_hook_installed = False
_REFUSED_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.spawn"})


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """The audit hook: outside a guarded send, nothing (one context variable read)."""
    if not event.startswith(("socket.", "subprocess.", "os.", "syslog.")):
        return
    state = _GUARD.get()
    if state is None:
        return
    reason = ""
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        reason = _destination_refusal(args, state.allowed)
    elif event in _REFUSED_EVENTS or event.startswith("syslog."):
        reason = f"{event} is not allowed while sending a notification"
    if reason:
        state.refusals.append(reason)
        raise _refused(reason)


def _destination_refusal(args: tuple[Any, ...], allowed: tuple[IpNetwork, ...]) -> str:
    """Why a socket event's destination is refused, or "" when allowed."""
    sock, address = args[0], args[-1]
    family = getattr(sock, "family", None)
    if family not in (socket.AF_INET, socket.AF_INET6):
        return "a notification may only use the network (no local socket)"
    if not isinstance(address, tuple) or not address:
        return ""  # a connected socket's send: its connect was checked
    reason = _address_refusal(str(address[0]), allowed)
    if reason:
        return f"{address[0]} is {reason}; allow it with NOTIFY_ALLOWED_HOSTS"
    return ""


def _install_hook() -> None:
    global _hook_installed
    with _HOOK_LOCK:
        if not _hook_installed:
            # Audit hooks cannot be removed; this one costs one prefix test per event outside
            # a send, and is installed only in a process that sends (the worker).
            sys.addaudithook(_audit)
            _hook_installed = True


@contextlib.contextmanager
def outbound_guard() -> Iterator[GuardState]:
    """Within the block, every connection or datagram this context makes (and the threads
    apprise starts with a copy of it) must go to an address the policy allows; others raise
    OutboundUrlRefusedError before anything is sent (and is noted in the yielded state's
    ``refusals``). Allowlisted host names are resolved when the block starts."""
    _install_hook()
    names, networks = _allowlist()
    allowed = list(networks)
    for name in names:
        with contextlib.suppress(OSError, UnicodeError):
            for address in resolve(name, _DEFAULT_PORT):
                allowed.append(ipaddress.ip_network(address.split("%", 1)[0]))
    state = GuardState(allowed=tuple(allowed), refusals=[])
    token = _GUARD.set(state)
    try:
        yield state
    finally:
        _GUARD.reset(token)
