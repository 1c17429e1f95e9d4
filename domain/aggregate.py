"""The base of every aggregate in the ledger: events say who acted and when.

Every event carries ``actor`` (who acted: party and role), ``timestamp``
(when it was recorded, from the ledger's clock) and ``effective_on`` (the
business date it takes effect, which may be past or future).
"""

from __future__ import annotations

from datetime import date

from eventsourcing.domain import Aggregate

from contractledger.domain.actor import Actor


class LedgerAggregate(Aggregate):
    class Event(Aggregate.Event):
        actor: Actor
        effective_on: date

    class Created(Event, Aggregate.Created):
        pass
