"""Who is asking, and what they may see (rules §5 to 7): the one place the
read side decides visibility.

A viewer is a user acting for a party, an auditor, or a sync peer (the
ledger itself reads as an auditor does). The rules:

- A party sees a contract only when it is on the contract's chain; a
  contract it is not on does not exist for it, in lists or by id. So what is
  private to a contract's parties (vesting, the advisor's profile snapshot at
  termination) reaches no one else. Auditors see every contract; sync peers
  see every contract's status, chain, writing numbers and codes (rules §9),
  and of its details only what their feeds carry: a downgrade's reason
  (public, rules §5), never a vest's or a termination's reason, a note, a
  document or the advisor's profile snapshot (rules §5, 9).
- Monitoring and debt: the rule of :mod:`contractledger.domain.visibility`,
  on the record's current state: private records only to the party that
  recorded them, public ones to every party on the contract, everything to
  auditors, nothing to sync peers. A debt closed again is private again, so
  its whole trail leaves other parties' sight.
- Downgrades are public to every party working with the advisor: a party
  with any contract with that advisor, or the advisor itself.
- Health status is computed only from the records the viewer may see.
- Reminder tasks belong to the party that set the reminder: only its own,
  everything to auditors.

Each rule is here twice, in words a row can be tested by (``may_see_*``) and
as an SQL condition a query can filter and page by (``*_condition``), so a
list reads only the rows its viewer may see, in its index's order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from contractledger.domain.actor import Actor, Role
from contractledger.domain.visibility import may_see_record, sees_every_record, sees_private_details


@dataclass(frozen=True)
class Viewer:
    actor: Actor

    @classmethod
    def of(cls, actor: Actor) -> "Viewer":
        return cls(actor)

    @classmethod
    def auditor(cls, user: str) -> "Viewer":
        return cls(Actor(Role.AUDITOR, user))

    @classmethod
    def sync_peer(cls, peer: str) -> "Viewer":
        return cls(Actor(Role.SYNC_PEER, peer))

    @property
    def party_id(self) -> UUID | None:
        return self.actor.party_id

    @property
    def sees_every_contract(self) -> bool:
        return self.actor.role in (Role.AUDITOR, Role.SYNC_PEER, Role.SYSTEM)

    @property
    def sees_every_record(self) -> bool:
        return sees_every_record(self.actor)

    @property
    def sees_records(self) -> bool:
        """Whether any monitoring or debt can reach this viewer (sync peers: none)."""
        return self.sees_every_record or self.party_id is not None

    @property
    def party_on_every_contract(self) -> UUID | None:
        """The party on the chain of every contract this viewer may see (its
        own), or None when it sees every contract (or none): a list of its
        contracts is that party's contracts."""
        return None if self.sees_every_contract else self.party_id

    def may_see_contract(self, chain: Collection[UUID]) -> bool:
        return self.sees_every_contract or (self.party_id is not None and self.party_id in chain)

    def contract_condition(
        self, contract_id: str, contract_parties: str, *, row_by_row: bool = False, walking: UUID | None = None
    ) -> tuple[str, list[Any]]:
        """``may_see_contract`` as an SQL condition on the column ``contract_id``
        names, with its parameters; ``contract_parties`` is the contract status
        view's table of (contract, party on its chain). ``row_by_row``: one
        key lookup per row checked (for a few rows chosen otherwise), instead
        of the viewer's contracts as a list (which may drive a page's read).
        ``walking``: the rows are the contracts of that party, read from its
        own list; when it is the viewer's own, every one may be seen."""
        if self.sees_every_contract or (walking is not None and walking == self.party_on_every_contract):
            return "1 = 1", []
        if self.party_id is None:
            return "1 = 0", []
        if row_by_row:
            return (
                f"EXISTS (SELECT 1 FROM {contract_parties} p WHERE p.party_id = ? AND p.contract_id = {contract_id})",
                [str(self.party_id)],
            )
        return (
            f"{contract_id} IN (SELECT p.contract_id FROM {contract_parties} p WHERE p.party_id = ?)",
            [str(self.party_id)],
        )

    def record_condition(
        self, *, recorded_by: str, public: str, contract_id: str, contract_parties: str
    ) -> tuple[str, list[Any]]:
        """``may_see_record`` as an SQL condition, with its parameters: on the
        column naming who recorded the record, a condition true when it is
        public, and the column naming its contract."""
        branches = self.record_branches(
            recorded_by=recorded_by, public=public, contract_id=contract_id, contract_parties=contract_parties
        )
        if len(branches) == 1:
            return branches[0]
        return f"({' OR '.join(sql for sql, _ in branches)})", [param for _, params in branches for param in params]

    def record_branches(
        self, *, recorded_by: str, public: str, contract_id: str, contract_parties: str
    ) -> list[tuple[str, list[Any]]]:
        """``record_condition`` as disjoint conditions, each with its parameters,
        whose union is what the viewer may see: for a party, what it recorded
        itself, and what others made public on a contract it is on. A page
        reads each as a range of its own index and merges them, rather than
        walking every record to test both at each one."""
        if self.sees_every_record:
            return [("1 = 1", [])]
        if self.party_id is None:
            return [("1 = 0", [])]
        party = str(self.party_id)
        return [
            (f"{recorded_by} = ?", [party]),
            (
                f"{recorded_by} <> ? AND ({public}) AND {contract_id} IN"
                f" (SELECT p.contract_id FROM {contract_parties} p WHERE p.party_id = ?)",
                [party, party],
            ),
        ]

    def works_with_advisor_condition(
        self, advisor_id: UUID, contracts: str, contract_parties: str
    ) -> tuple[str, list[Any]]:
        """``works_with_advisor`` for one advisor as an SQL condition (the same
        for every row, so the store decides it once), with its parameters;
        ``contracts`` and ``contract_parties`` are the contract status view's
        tables of contracts and of (contract, party on its chain)."""
        if self.sees_every_contract or (self.party_id is not None and self.party_id == advisor_id):
            return "1 = 1", []
        if self.party_id is None:
            return "1 = 0", []
        exists = (
            f"EXISTS (SELECT 1 FROM {contracts} w JOIN {contract_parties} p"
            " ON p.contract_id = w.contract_id AND p.party_id = ? WHERE w.advisor_id = ?)"
        )
        return exists, [str(self.party_id), str(advisor_id)]

    def own_party_condition(self, party_id: str) -> tuple[str, list[Any]]:
        """What belongs to the viewer's own party (its reminder tasks) as an SQL
        condition on the column ``party_id`` names, with its parameters:
        everything for those who see every record, nothing for sync peers."""
        if self.sees_every_record:
            return "1 = 1", []
        if self.party_id is None:
            return "1 = 0", []
        return f"{party_id} = ?", [str(self.party_id)]

    def sees_private_details(self, chain: Collection[UUID]) -> bool:
        return sees_private_details(self.actor, chain)

    def may_see_record(self, *, recorded_by: UUID, public: bool, chain: Collection[UUID]) -> bool:
        return may_see_record(self.actor, recorded_by=recorded_by, public=public, chain=chain)

    def works_with_advisor(self, advisor_id: UUID, chains_with_advisor: Collection[Collection[UUID]]) -> bool:
        """A party working with the advisor: the advisor itself or a party on
        any of its contracts (who sees its downgrades, rules §5)."""
        if self.sees_every_contract:
            return True
        if self.party_id is None:
            return False
        return self.party_id == advisor_id or any(self.party_id in chain for chain in chains_with_advisor)

