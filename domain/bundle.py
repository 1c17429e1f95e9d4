"""Bundles (SPEC 4): the contracts assigned together, which move together.

The bundle records its members so that a workflow step on one member can
find and move all the others in the same atomic save.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from contractledger.domain.actor import Actor
from contractledger.domain.aggregate import LedgerAggregate


class Bundle(LedgerAggregate):
    class Formed(LedgerAggregate.Created):
        member_ids: list[UUID]

    class MemberDetached(LedgerAggregate.Event):
        contract_id: UUID

        def apply(self, bundle: Bundle) -> None:
            bundle.member_ids = [m for m in bundle.member_ids if m != self.contract_id]

    def __init__(self, member_ids: list[UUID]) -> None:
        self.member_ids = list(member_ids)

    @classmethod
    def form(cls, bundle_id: UUID, member_ids: list[UUID], *, actor: Actor, effective_on: date, at: datetime) -> Bundle:
        return cls._create(
            cls.Formed, id=bundle_id, timestamp=at, actor=actor, effective_on=effective_on, member_ids=list(member_ids)
        )

    def detach(self, contract_id: UUID, *, actor: Actor, effective_on: date, at: datetime) -> None:
        self.trigger_event(
            self.MemberDetached, timestamp=at, actor=actor, effective_on=effective_on, contract_id=contract_id
        )
