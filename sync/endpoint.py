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
import math
import re
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import ProtocolError, SSLError

from contractledger.store.errors import StoreConfigurationError
from contractledger.sync.peer import Peer

log = logging.getLogger("contractledger.sync.delivery")

PLAIN_HTTP_HOSTS = "CONTRACTLEDGER_SYNC_PLAIN_HTTP_HOSTS"
CONNECT_TIMEOUT = "CONTRACTLEDGER_SYNC_CONNECT_TIMEOUT"
READ_TIMEOUT = "CONTRACTLEDGER_SYNC_READ_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT = "5"
DEFAULT_READ_TIMEOUT = "10"
LONGEST_TIMEOUT_SECONDS = 300.0

_HOST_NAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")


def plain_http_hosts(env: Mapping[str, str]) -> frozenset[str]:
    """The hosts besides loopback that may be sent to over plain http: host
    names or IP addresses, separated by commas (default: none)."""
    given = env.get(PLAIN_HTTP_HOSTS, "")
    hosts = set()
    for entry in given.replace(",", " ").split():
        host = entry.lower()
        if not (_HOST_NAME.match(host) or _is_address(host)):
            raise StoreConfigurationError(
                PLAIN_HTTP_HOSTS,
                f"{PLAIN_HTTP_HOSTS}={given!r} must list host names or IP addresses separated by commas "
                f"(no scheme, port or path); {entry!r} is none.",
            )
        hosts.add(host)
    return frozenset(hosts)


def timeout(env: Mapping[str, str], setting: str) -> float:
    """``CONTRACTLEDGER_SYNC_CONNECT_TIMEOUT`` (default 5 s) or ``..._READ_TIMEOUT`` (default 10 s)."""
    given = env.get(setting, DEFAULT_CONNECT_TIMEOUT if setting == CONNECT_TIMEOUT else DEFAULT_READ_TIMEOUT)
    try:
        seconds = float(given)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= LONGEST_TIMEOUT_SECONDS:  # nan and inf fail too
        raise StoreConfigurationError(
            setting, f"{setting}={given!r} must be a number of seconds above 0 and at most {LONGEST_TIMEOUT_SECONDS:g}."
        )
    return seconds


def is_loopback(host: str) -> bool:
    return host == "localhost" or (_is_address(host) and ipaddress.ip_address(host).is_loopback)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


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


class Endpoint:
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
