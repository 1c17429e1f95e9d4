"""What commands answer: the use case's outcome under a name that says what
it is (also the response schemas of the API document).

``Answer.of(outcome, command)`` reads the use case's outcome, whether fresh
or replayed from the ledger's command record as plain data."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from contractledger.domain.commands import Command
from contractledger.domain.triggers import NotificationKind


class Answer(msgspec.Struct, kw_only=True):
    @classmethod
    def of(cls, outcome: Any, command: Command | None = None) -> "Answer":
        raise NotImplementedError


class NewVersion(Answer):
    """The changed aggregate's version: the ETag to send as If-Match next time."""

    version: int

    @classmethod
    def of(cls, outcome: Any, command: Command | None = None) -> "NewVersion":
        return cls(version=int(outcome))


class StatusSet(Answer):
    """A manual status: the named contract's new version (its ETag) and every
    contract that took the status (that one alone, or its whole bundle)."""

    version: int
    contract_ids: list[UUID]

    @classmethod
    def of(cls, outcome: Any, command: Command | None = None) -> "StatusSet":
        if not isinstance(outcome, dict):  # one contract's new version
            return cls(version=int(outcome), contract_ids=[_uuid(getattr(command, "contract_id"))])
        return cls(version=int(outcome["version"]), contract_ids=[_uuid(c) for c in outcome["contract_ids"]])


class PartyRegistered(Answer):
    party_id: UUID

    @classmethod
    def of(cls, outcome: Any, command: Command | None = None) -> "PartyRegistered":
        return cls(party_id=_uuid(outcome))


class BundleAssigned(Answer):
    bundle_id: UUID
    contract_ids: list[UUID]

    @classmethod
    def of(cls, outcome: Any, command: Command | None = None) -> "BundleAssigned":
        return cls(bundle_id=_uuid(outcome["bundle_id"]), contract_ids=[_uuid(c) for c in outcome["contract_ids"]])


class RelationshipRequested(Answer):
    contract_id: UUID

    @classmethod
    def of(cls, outcome: Any, command: Command | None = None) -> "RelationshipRequested":
        return cls(contract_id=_uuid(outcome))


class ContractsMoved(Answer):
    """Every bundle member the workflow step moved, in one atomic write."""

    contract_ids: list[UUID]

    @classmethod
    def of(cls, outcome: Any, command: Command | None = None) -> "ContractsMoved":
        return cls(contract_ids=[_uuid(c) for c in outcome])


class TransferAccepted(Answer):
    successor_id: UUID | None
    awaiting_relationship_id: UUID | None

    @classmethod
    def of(cls, outcome: Any, command: Command | None = None) -> "TransferAccepted":
        return cls(
            successor_id=_uuid_or_none(outcome["successor_id"]),
            awaiting_relationship_id=_uuid_or_none(outcome["awaiting_relationship_id"]),
        )


class RecordPlaced(Answer):
    """A new monitoring or debt record."""

    record_id: UUID

    @classmethod
    def of(cls, outcome: Any, command: Command | None = None) -> "RecordPlaced":
        return cls(record_id=_uuid(outcome))


class TriggersChosen(Answer):
    kinds: list[NotificationKind]

    @classmethod
    def of(cls, outcome: Any, command: Command | None = None) -> "TriggersChosen":
        return cls(kinds=list(outcome))


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _uuid_or_none(value: Any) -> UUID | None:
    return None if value is None else _uuid(value)
