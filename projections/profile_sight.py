"""Which version of a party's profile a viewer sees (rules §1, 5 and 10).

The one place that decides it: every surface that shows a profile or tells
its version (the party read and its ETag, the directory's lists and their
filters) asks this module, and shows only what it answers.

- A carrier's or an agency's profile, and an advisor's to the advisor
  itself, to auditors, sync peers and the ledger: the profile as it stands
  (as the ledger knew it at ``as_of``, when asked).
- An advisor's, to a party with a contract with it that is not terminated
  on the day asked about: the profile.
- An advisor's, to a party whose every contract with it is terminated on
  that day (the termination has taken effect): the snapshot recorded with
  the termination (the latest, when several), and the version the profile
  had when the snapshot was taken. No later change reaches that party,
  neither its content nor its version. Reactivation lifts this, and the
  changes made meanwhile show.
- An advisor's, to a party with no contract with it: its directory card
  (name and identifiers), which every party may search.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from contractledger.domain.status import Status
from contractledger.projections.contract_status import ContractStatus, read_advisors_terminated_with, read_contracts
from contractledger.projections.engine.queries import Reading, business_end_of_day
from contractledger.projections.engine.rows import instant_from
from contractledger.projections.viewer import Viewer


@dataclass(frozen=True)
class Sight:
    """What of one party's profile one viewer sees."""

    whole: bool
    """The whole profile, or only its directory card (name and identifiers)."""
    snapshot: dict[str, Any] | None = None
    """The termination's snapshot the viewer sees instead of the profile."""
    taken_at: datetime | None = None
    """When that snapshot was taken: the viewer sees nothing of the profile's history after it."""

    def until(self, as_of: datetime | None) -> datetime | None:
        """The last instant of the profile's history this sight reaches (None: all of it)."""
        if self.taken_at is None:
            return as_of
        return self.taken_at if as_of is None else min(as_of, self.taken_at)


WHOLE = Sight(True)
CARD = Sight(False)


def sees_every_profile(viewer: Viewer) -> bool:
    return viewer.sees_every_contract


def sight_of(
    read: Reading, viewer: Viewer, party_id: UUID, kind: str, *, on: date, as_of: datetime | None = None
) -> Sight:
    """The sight ``viewer`` has of one party's profile on ``on``."""
    if kind != "advisor" or sees_every_profile(viewer) or viewer.party_id == party_id:
        return WHOLE
    return advisor_sights(read, viewer, on=on, as_of=as_of, advisor_ids=[party_id]).get(party_id, CARD)


def advisor_sights(
    read: Reading,
    viewer: Viewer,
    *,
    on: date,
    as_of: datetime | None = None,
    advisor_ids: Collection[UUID] | None = None,
    hiding_among: Collection[UUID] | None = None,
) -> dict[UUID, Sight]:
    """The sight of a party's viewer of each advisor it has a contract with
    (of those named, when named); an advisor missing here is seen as its card
    (the advisor itself sees its whole profile: ask :func:`sight_of`), and,
    when none are named, one missing is seen whole or as its card: only
    the sights that hide something are answered then (of the parties
    ``hiding_among``, when given: a page naming a few)."""
    if sees_every_profile(viewer) or viewer.party_id is None:
        return {}
    if advisor_ids is None:
        # only an advisor with a termination in effect can be seen other than whole: the viewer's
        # other advisors (most of a carrier's thousands) need no contract read
        terminated = read_advisors_terminated_with(read, viewer.party_id, on=on, as_of=as_of, among=hiding_among)
        sights = advisor_sights(read, viewer, on=on, as_of=as_of, advisor_ids=terminated) if terminated else {}
        return {advisor_id: sight for advisor_id, sight in sights.items() if sight is not WHOLE}
    shared: dict[UUID, list[ContractStatus]] = {}
    for contract in read_contracts(read, viewer, advisor_ids=list(advisor_ids), on=on, as_of=as_of):
        if contract.advisor_id is not None:
            shared.setdefault(contract.advisor_id, []).append(contract)
    return {advisor_id: _sight(contracts) for advisor_id, contracts in shared.items() if advisor_id != viewer.party_id}


def _sight(shared: list[ContractStatus]) -> Sight:
    if any(c.status is not Status.TERMINATED for c in shared):
        return WHOLE
    taken = [
        (snapshot_taken_at(c.termination), c.termination["advisor_profile"])
        for c in shared
        if c.termination and c.termination.get("advisor_profile") is not None
    ]
    if not taken:
        return CARD
    at, snapshot = max(taken, key=lambda pair: pair[0])
    return Sight(True, dict(snapshot), at)


def snapshot_taken_at(termination: dict[str, Any]) -> datetime:
    """When a termination's snapshot of the advisor's profile was taken, as the
    ledger takes it (``ContractLedger._advisor_profile_at_termination``): at
    the end of the termination date in the business time zone, or when the
    termination was recorded, if that was earlier."""
    end = business_end_of_day(date.fromisoformat(str(termination["effective_on"])))
    recorded = termination.get("recorded_at")
    return end if recorded is None else min(end, instant_from(recorded))
