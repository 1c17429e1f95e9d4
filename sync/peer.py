"""Sync peers as data: each external system is a TOML file in ``sync/peers/``.

A peer file names the peer, the kinds of change it receives, how each of our
statuses (rules §3) is called in its vocabulary (``[outbound]``: every status
of the ledger, none left out, so no change is ever dropped for want of a
name) and which of its names it may send us (``[inbound]``), which onboarding
workflow steps taken in it it may relay to us (``relays``: rules §9, e.g. the
producer's signature in the onboarding app; none for a peer that runs no part
of the workflow), the column of its exports that holds its own contract id,
and where and how its items are pushed (``[delivery]``: the endpoint, the
variable holding the signing secrets, the retry schedule and, for an https
endpoint whose certificate the system's trust store does not vouch for, a
``ca_bundle``). Adding a peer is adding a file.

A file that names a status the ledger does not have, leaves one of ours
unmapped, or lacks a setting is refused when the peers are loaded (the views
runner, the HTTP app and the delivery worker all load them at start-up),
with an error naming the file and the offending entry.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contractledger.domain.status import Status
from contractledger.domain.workflow import WorkflowStep
from contractledger.store import settings

PEERS_DIRECTORY = settings.PEERS_DIRECTORY
DIRECTORY_VARIABLE = settings.SYNC_PEERS.name

KINDS = (
    "assigned",
    "status_changed",
    "writing_number_added",
    "writing_number_changed",
    "code_changed",
    "terminated",
    "reactivated",
    "transferred",
)
"""The kinds of change a peer may receive (the feed's item types)."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class PeerDefinitionError(ValueError):
    """A peer file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Delivery:
    endpoint: str
    secrets_variable: str
    first_retry_seconds: float
    longest_retry_seconds: float
    give_up_after_seconds: float
    ca_bundle: Path | None = None
    """The certificate authorities an https endpoint's certificate must chain
    to (a PEM file); None: the system's trust store."""


@dataclass(frozen=True)
class Peer:
    name: str
    description: str
    receives: frozenset[str]
    outbound: Mapping[Status, str]
    inbound: Mapping[str, Status]
    relays: frozenset[WorkflowStep]
    """The workflow steps taken in the peer that it may relay (rules §9)."""
    external_id_column: str
    delivery: Delivery
    source: Path

    def name_for(self, status: Status | str) -> str:
        """The peer's name for one of our statuses (every status has one)."""
        return self.outbound[Status(status)]

    def status_named(self, name: str) -> Status | None:
        """Our status for a name the peer may send, or None when it may not."""
        return self.inbound.get(name)

    def endpoint(self, env: Mapping[str, str]) -> str:
        """Where items are pushed: the file's endpoint unless
        ``CONTRACTLEDGER_SYNC_<PEER>_ENDPOINT`` overrides it (tests, staging)."""
        return env.get(self.endpoint_variable) or self.delivery.endpoint

    @property
    def endpoint_variable(self) -> str:
        return f"CONTRACTLEDGER_SYNC_{self.name.upper()}_ENDPOINT"

    def ca_bundle(self, env: Mapping[str, str]) -> Path | None:
        """The CA bundle the endpoint's certificate is verified against: the
        file's ``ca_bundle`` unless ``CONTRACTLEDGER_SYNC_<PEER>_CA_BUNDLE``
        overrides it; None for the system's trust store."""
        given = env.get(self.ca_bundle_variable)
        return Path(given) if given else self.delivery.ca_bundle

    @property
    def ca_bundle_variable(self) -> str:
        return f"CONTRACTLEDGER_SYNC_{self.name.upper()}_CA_BUNDLE"

    def secrets(self, env: Mapping[str, str]) -> list[str]:
        """The signing secrets, newest first; several while a key is rotated."""
        return env.get(self.delivery.secrets_variable, "").split()


def load_peer(path: Path) -> Peer:
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise PeerDefinitionError(f"sync peer file {path}: cannot be read as TOML ({error}).") from None
    reader = _Reader(path, document)
    name = reader.text("name")
    if not _NAME.match(name) or name != path.stem:
        raise PeerDefinitionError(
            f"sync peer file {path}: name {name!r} must be lower-case letters, digits and '_' and match the file name."
        )
    receives = reader.list_of_text("receives")
    for kind in receives:
        if kind not in KINDS:
            raise PeerDefinitionError(
                f"sync peer file {path}: receives {kind!r}, which is not a kind of change; use some of {', '.join(KINDS)}."
            )
    outbound: dict[Status, str] = {}
    for ours, theirs in reader.table("outbound").items():
        outbound[_status(path, "outbound", ours)] = _text(path, f"outbound.{ours}", theirs)
    unmapped = [s.value for s in Status if s not in outbound]
    if unmapped:
        raise PeerDefinitionError(
            f"sync peer file {path}: [outbound] gives no name for the status {unmapped[0]!r} "
            f"(unmapped: {', '.join(unmapped)}); map every status of the ledger, to the nearest name the peer shows."
        )
    inbound = {
        _text(path, "inbound", theirs): _status(path, f"inbound.{theirs!r}", ours)
        for theirs, ours in reader.table("inbound").items()
    }
    for theirs, ours in inbound.items():
        if outbound[ours] != theirs and theirs not in outbound.values():
            raise PeerDefinitionError(
                f"sync peer file {path}: [inbound] accepts {theirs!r}, a name [outbound] never uses; "
                "a peer reads back the names it is sent."
            )
    relays = [_step(path, action) for action in reader.list_of_text("relays")]
    delivery = _Reader(path, reader.table("delivery"), "delivery.")
    if "timeout_seconds" in delivery.document:
        raise PeerDefinitionError(
            f"sync peer file {path}: delivery.timeout_seconds is no longer read; remove it (the timeouts for connecting "
            "and reading are the settings CONTRACTLEDGER_SYNC_CONNECT_TIMEOUT and CONTRACTLEDGER_SYNC_READ_TIMEOUT)."
        )
    ca_bundle = delivery.optional_text("ca_bundle")
    return Peer(
        name=name,
        description=reader.text("description"),
        receives=frozenset(receives),
        outbound=outbound,
        inbound=inbound,
        relays=frozenset(relays),
        external_id_column=_Reader(path, reader.table("contracts"), "contracts.").text("external_id_column"),
        delivery=Delivery(
            endpoint=delivery.text("endpoint"),
            secrets_variable=delivery.text("secrets_variable"),
            first_retry_seconds=delivery.seconds("first_retry_seconds"),
            longest_retry_seconds=delivery.seconds("longest_retry_seconds"),
            give_up_after_seconds=delivery.seconds("give_up_after_seconds"),
            # a relative path is read from the peer file's folder, wherever the service starts
            ca_bundle=None if ca_bundle is None else path.parent / ca_bundle,
        ),
        source=path,
    )


def load_peers(directory: Path | None = None) -> dict[str, Peer]:
    """Every ``*.toml`` peer file of ``directory`` (default: $CONTRACTLEDGER_SYNC_PEERS, else sync/peers)."""
    folder = Path(directory) if directory else settings.SYNC_PEERS.value(os.environ)
    if not folder.is_dir():
        raise PeerDefinitionError(f"sync peers directory {folder} does not exist.")
    peers = [load_peer(path) for path in sorted(folder.glob("*.toml"))]
    return {peer.name: peer for peer in peers}


_loaded: dict[str, Peer] | None = None


def peers() -> dict[str, Peer]:
    """The configured peers, loaded once per process."""
    global _loaded
    if _loaded is None:
        _loaded = load_peers()
    return _loaded


def _status(path: Path, where: str, value: Any) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise PeerDefinitionError(
            f"sync peer file {path}: [{where}] names the status {value!r}, which the ledger does not have; "
            f"use one of {', '.join(s.value for s in Status)}."
        ) from None


def _step(path: Path, action: str) -> WorkflowStep:
    step = WorkflowStep.named(action)
    if step is None:
        raise PeerDefinitionError(
            f"sync peer file {path}: relays {action!r}, which is not a workflow step; "
            f"use some of {', '.join(s.action for s in WorkflowStep)} (or none: relays = [])."
        )
    return step


def _text(path: Path, where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PeerDefinitionError(f"sync peer file {path}: {where} must be a non-empty text.")
    return value


class _Reader:
    def __init__(self, path: Path, document: Mapping[str, Any], prefix: str = "") -> None:
        self.path, self.document, self.prefix = path, document, prefix

    def _get(self, key: str) -> Any:
        if key not in self.document:
            raise PeerDefinitionError(f"sync peer file {self.path}: {self.prefix}{key} is missing.")
        return self.document[key]

    def text(self, key: str) -> str:
        return _text(self.path, self.prefix + key, self._get(key))

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if key in self.document else None

    def seconds(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise PeerDefinitionError(f"sync peer file {self.path}: {self.prefix}{key} must be a positive number of seconds.")
        return float(value)

    def list_of_text(self, key: str) -> list[str]:
        value = self._get(key)
        if not isinstance(value, list):
            raise PeerDefinitionError(f"sync peer file {self.path}: {self.prefix}{key} must be a list.")
        return [_text(self.path, f"{self.prefix}{key}", v) for v in value]

    def table(self, key: str) -> Mapping[str, Any]:
        value = self._get(key)
        if not isinstance(value, dict):
            raise PeerDefinitionError(f"sync peer file {self.path}: [{self.prefix}{key}] must be a table.")
        return value
