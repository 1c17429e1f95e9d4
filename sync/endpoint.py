"""A peer's endpoint as push delivery reaches it, over urllib3.

https is verified: the certificate must chain to the system's trust store,
or to the peer's own CA bundle (``ca_bundle`` in its file, or
``CONTRACTLEDGER_SYNC_<PEER>_CA_BUNDLE``), and name the endpoint's host.
Plain http is only for loopback, or for the hosts an operator lists in
``CONTRACTLEDGER_SYNC_PLAIN_HTTP_HOSTS`` (a network they trust): anything
else is refused when the service starts, not at the first delivery. Each
peer has its own pool of kept-alive connections. A redirect is not
followed: a delivery goes where the peer's settings say or nowhere, so a 3xx
is a failed attempt like any other (and logged, since it is most likely a
moved endpoint to correct). Connecting and reading each have a time limit
(``CONTRACTLEDGER_SYNC_CONNECT_TIMEOUT``, ``CONTRACTLEDGER_SYNC_READ_TIMEOUT``).
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import ProtocolError, SSLError

from contractledger.store import settings
from contractledger.store.settings import is_address
from contractledger.store.errors import StoreConfigurationError
from contractledger.sync.peer import Peer

log = logging.getLogger("contractledger.sync.delivery")

PLAIN_HTTP_HOSTS = settings.SYNC_PLAIN_HTTP_HOSTS.name
CONNECT_TIMEOUT = settings.SYNC_CONNECT_TIMEOUT.name
READ_TIMEOUT = settings.SYNC_READ_TIMEOUT.name
_TIMEOUTS = {CONNECT_TIMEOUT: settings.SYNC_CONNECT_TIMEOUT, READ_TIMEOUT: settings.SYNC_READ_TIMEOUT}


def plain_http_hosts(env: Mapping[str, str]) -> frozenset[str]:
    """The hosts besides loopback that may be sent to over plain http (store/settings.py)."""
    return settings.SYNC_PLAIN_HTTP_HOSTS.value(env)


def timeout(env: Mapping[str, str], setting: str) -> float:
    """``CONTRACTLEDGER_SYNC_CONNECT_TIMEOUT`` (default 5 s) or ``..._READ_TIMEOUT`` (default 10 s)."""
    return _TIMEOUTS[setting].value(env)


def is_loopback(host: str) -> bool:
    return host == "localhost" or (is_address(host) and ipaddress.ip_address(host).is_loopback)


@dataclass(frozen=True)
class Target:
    """Where one peer's items go, checked against the rules above."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    ca_bundle: Path | None


def target(peer: Peer, env: Mapping[str, str]) -> Target:
    """The peer's endpoint, or StoreConfigurationError in one sentence naming
    the setting to change."""
    url = peer.endpoint(env)
    setting = peer.endpoint_variable if env.get(peer.endpoint_variable) else f"the endpoint of {peer.source}"
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        host, port, parts = "", None, None
    if parts is None or parts.scheme not in ("http", "https") or not host or parts.username or parts.fragment:
        raise StoreConfigurationError(
            peer.endpoint_variable,
            f"Sync peer {peer.name}: {setting} ({url!r}) must be an https:// (or, to loopback, http://) URL with a host.",
        )
    if parts.scheme == "http" and not is_loopback(host) and host not in plain_http_hosts(env):
        raise StoreConfigurationError(
            PLAIN_HTTP_HOSTS,
            f"Sync peer {peer.name}: {setting} ({url!r}) is plain http to {host}, which is not loopback; "
            f"use https, or list {host} in {PLAIN_HTTP_HOSTS} if the network to it is trusted.",
        )
    bundle = peer.ca_bundle(env) if parts.scheme == "https" else None
    if bundle is not None:
        _check_bundle(peer, bundle)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path, bundle)


def _check_bundle(peer: Peer, bundle: Path) -> None:
    try:
        ssl.create_default_context(cafile=str(bundle))
    except (OSError, ssl.SSLError) as error:
        raise StoreConfigurationError(
            peer.ca_bundle_variable,
            f"Sync peer {peer.name}: its CA bundle {bundle} (from {peer.ca_bundle_variable} or ca_bundle in "
            f"{peer.source}) cannot be read as PEM certificates ({getattr(error, 'strerror', None) or error}).",
        ) from None


def check(chosen: Sequence[Peer], env: Mapping[str, str]) -> None:
    """What the service checks at start-up: the timeouts, the plain-http
    hosts and every pushed peer's endpoint (StoreConfigurationError)."""
    timeout(env, CONNECT_TIMEOUT), timeout(env, READ_TIMEOUT), plain_http_hosts(env)
    for peer in chosen:
        target(peer, env)


class PeerEndpoint:
    """One peer's endpoint: a pool of kept-alive connections to it."""

    def __init__(self, peer: Peer, env: Mapping[str, str]) -> None:
        self.peer = peer.name
        self.target = target(peer, env)
        limits = urllib3.Timeout(connect=timeout(env, CONNECT_TIMEOUT), read=timeout(env, READ_TIMEOUT))
        # one thread delivers to a peer, one request at a time: one connection kept
        common = dict(host=self.target.host, port=self.target.port, timeout=limits, retries=False, maxsize=1)
        if self.target.scheme == "https":
            self.pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
                **common, cert_reqs=ssl.CERT_REQUIRED,
                ca_certs=None if self.target.ca_bundle is None else str(self.target.ca_bundle),
            )  # fmt: skip
        else:
            self.pool = urllib3.HTTPConnectionPool(**common)

    def post(self, body: bytes, headers: Mapping[str, str]) -> int:
        """The answer's status; raises urllib3's errors (timeouts, TLS, refused)."""
        for attempt in (1, 2):  # a kept-alive connection the peer closed meanwhile gets one fresh try
            try:
                response = self.pool.urlopen(
                    "POST", self.target.path, body=body, headers=dict(headers),
                    # no redirect followed (a pool follows one within its host unless told), no retry
                    # here: a failed attempt waits in the outbox for its back-off
                    redirect=False, retries=False, assert_same_host=False,
                )  # fmt: skip
            except (ProtocolError, SSLError) as failure:
                if attempt == 1 and _dropped(failure):
                    continue
                if isinstance(failure, SSLError):
                    log.warning("%s: TLS to %s failed, the item waits for its retry: %s", self.peer, self.target.url, failure)
                raise
            if 300 <= response.status < 400:
                log.warning(
                    "%s: %s answered %d, a redirect to %s, which is not followed (a failed attempt): "
                    "correct the peer's endpoint if it has moved",
                    self.peer, self.target.url, response.status, response.headers.get("Location", "nowhere"),
                )  # fmt: skip
            return response.status
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.pool.close()


def _dropped(failure: ProtocolError | SSLError) -> bool:
    """A connection the peer closed between two requests: the next request
    finds it gone (aborted, or over TLS an end of stream)."""
    if isinstance(failure, ProtocolError):
        return True
    cause = failure.args[0] if failure.args else None
    return isinstance(cause, (ssl.SSLEOFError, ssl.SSLZeroReturnError))
