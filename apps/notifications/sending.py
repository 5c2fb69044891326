"""Sending one message to one apprise URL, under the outbound URL policy, with an error text
that never carries the URL's secrets."""

import ipaddress
import re
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise
from django.conf import settings

from apps.common.errors import SibylError
from apps.notifications.outbound import outbound_guard

# Log lines of apprise kept in an error text, at most; and its length, at most.
_ERROR_LINES = 3
_ERROR_CHARS = 500
# URL parts shorter than this are not treated as secrets (ports, "json", "to" …).
_SECRET_MIN_CHARS = 4


class NotificationSendError(SibylError):
    """Sending failed: the service refused it, could not be reached, or the outbound URL
    policy refused its destination. The message never contains the channel URL's secrets."""


def _secrets_of(url: str) -> list[str]:
    """Every part of ``url`` that may be a secret: user, password, host (a token for cloud
    services; not an IP address), path segments and query values, longest first, raw and
    URL-decoded."""
    try:
        parts = urlsplit(url)
        pieces = [parts.username or "", parts.password or "", parts.hostname or ""]
    except ValueError:
        parts, pieces = urlsplit(""), []
    pieces += parts.path.split("/")
    pieces += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    pieces += [url, parts.netloc]
    found = {p for piece in pieces for p in (piece, unquote(piece)) if len(p) >= _SECRET_MIN_CHARS}
    return sorted((p for p in found if not _is_ip(p)), key=len, reverse=True)


def _is_ip(text: str) -> bool:
    """An IP address is no secret, and the policy's refusals name it."""
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def scrub(text: str, url: str) -> str:
    """``text`` with every possible secret of ``url`` replaced by ``***``, shortened to
    ``_ERROR_CHARS`` characters."""
    for secret in _secrets_of(url):
        text = re.sub(re.escape(secret), "***", text, flags=re.IGNORECASE)
    return text[:_ERROR_CHARS]


def apprise_send(*, url: str, title: str, body: str) -> None:
    """Send ``title`` and ``body`` to the apprise ``url`` once (apprise's own retries off),
    within NOTIFY_TIMEOUT_S seconds, every connection checked by the outbound URL policy.

    Raises NotificationSendError with apprise's reason (or the policy's refusal), scrubbed of
    the URL's secrets."""
    # Apprise's persistent store (a cache some services keep on disk) stays in memory: the
    # worker writes nothing to the server's disk on a user's behalf.
    sender = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
    if not sender.add(url):
        raise NotificationSendError("apprise does not understand the channel URL any more")
    with outbound_guard() as guard:
        result = sender.notify(
            body=body, title=title, timeout=settings.NOTIFY_TIMEOUT_S, log_level=30
        )
    if result:
        return
    reasons = [f"outbound URL policy: {refusal}" for refusal in dict.fromkeys(guard.refusals)]
    if not reasons:
        lines = [entry.message for entry in result.logs() if entry.message]
        reasons = list(dict.fromkeys(lines))[-_ERROR_LINES:]
    text = "; ".join(reasons) or f"the service did not accept it ({result.status.name})"
    raise NotificationSendError(scrub(text, url))
