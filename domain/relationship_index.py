"""Which direct relationships exist between two organisations.

One small aggregate per ordered pair (upper, lower), at an id derived from
the pair, lists the two-party contracts between them; saving it beside a new
relationship makes two concurrent requests for the same pair collide.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from contractledger.domain.actor import Actor
from contractledger.domain.aggregate import LedgerAggregate

NAMESPACE = uuid5(NAMESPACE_URL, "https://contractledger/direct-relationships")


def pair_id(upper_id: UUID, lower_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"{upper_id.hex}>{lower_id.hex}")


class DirectRelationships(LedgerAggregate):
    class Opened(LedgerAggregate.Created):
        upper_id: UUID
        lower_id: UUID

    class RelationshipAdded(LedgerAggregate.Event):
        contract_id: UUID

        def apply(self, index: DirectRelationships) -> None:
            index.contract_ids = [*index.contract_ids, self.contract_id]

    def __init__(self, upper_id: UUID, lower_id: UUID) -> None:
        self.upper_id = upper_id
        self.lower_id = lower_id
        self.contract_ids: list[UUID] = []

    @classmethod
    def open(cls, upper_id: UUID, lower_id: UUID, *, actor: Actor, effective_on: date, at: datetime) -> DirectRelationships:
        return cls._create(
            cls.Opened,
            id=pair_id(upper_id, lower_id),
            timestamp=at,
            actor=actor,
            effective_on=effective_on,
            upper_id=upper_id,
            lower_id=lower_id,
        )

    def add(self, contract_id: UUID, *, actor: Actor, effective_on: date, at: datetime) -> None:
        self.trigger_event(
            self.RelationshipAdded, timestamp=at, actor=actor, effective_on=effective_on, contract_id=contract_id
        )
