"""Bundles (rules §4): the contracts assigned together, which move together.

The bundle records its members so that a workflow step on one member can
find and move all the others in the same atomic save. A member's own
``bundle_id`` says whether it is still in: the bundle's list, read a moment
earlier, may not show a detach that raced the move yet. A move of several
members is recorded on the bundle too (``MovedTogether``), so its save is
checked against the bundle's version and a detach that raced it (which
records ``MemberDetached`` there) makes one of the two saves fail whole:
they end in one serial order, on every store and across processes.

While the bundle is still with the agency or the producer its members move
as one (``bundle.detach_first``): a manual status on one member alone is
refused while other members are still attached, and a move of the bundle is
refused while a member stands apart in another status. From
pending_carrier on, each carrier decides its own contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from contractledger.domain.actor import Actor
from contractledger.domain.aggregate import LedgerAggregate
from contractledger.domain.errors import RuleBroken
from contractledger.domain.status import Status

if TYPE_CHECKING:
    from contractledger.domain.contract import Contract

WITH_AGENCY_OR_PRODUCER = frozenset({Status.PENDING_AGENCY, Status.PENDING_PRODUCER})
"""Before pending_carrier: the statuses in which a bundle moves as one."""

DETACH_FIRST = "bundle.detach_first"


class Bundle(LedgerAggregate):
    class Formed(LedgerAggregate.Created):
        member_ids: list[UUID]

    class MemberDetached(LedgerAggregate.Event):
        contract_id: UUID

        def apply(self, bundle: Bundle) -> None:
            bundle.member_ids = [m for m in bundle.member_ids if m != self.contract_id]

    class MovedTogether(LedgerAggregate.Event):
        """Members moved as one (a workflow step, a whole-bundle status), saved with their own events."""

        contract_ids: list[UUID]
        status: str

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

    def record_moved_together(
        self, contract_ids: Sequence[UUID], status: Status, *, actor: Actor, effective_on: date, at: datetime
    ) -> None:
        self.trigger_event(
            self.MovedTogether,
            timestamp=at,
            actor=actor,
            effective_on=effective_on,
            contract_ids=list(contract_ids),
            status=status.value,
        )


def ensure_may_move_alone(contract: Contract, attached: Sequence[Contract]) -> None:
    """rules §4 (bundle.detach_first): a manual status on one member while the
    bundle is with the agency or the producer would split it."""
    if contract.status in WITH_AGENCY_OR_PRODUCER and attached:
        raise RuleBroken(
            DETACH_FIRST,
            f"This contract's bundle is {contract.status.value} and moves as one ({len(attached) + 1} contracts): "
            "detach the contract from its bundle first, then set its status, or set the status for the whole bundle.",
            "status",
        )


def ensure_moving_as_one(contract: Contract, attached: Sequence[Contract]) -> None:
    """rules §4: a bundle moves as one only when its attached, non-terminal
    members share one status; a member standing apart (left so by a ledger
    written before bundle.detach_first) must be detached first."""
    apart = [m for m in attached if m.status is not contract.status]
    if apart:
        raise RuleBroken(
            DETACH_FIRST,
            f"Contract {apart[0].id} of this bundle is {apart[0].status.value} while this one is "
            f"{contract.status.value}, and a bundle moves as one: detach the contracts standing apart first.",
        )
