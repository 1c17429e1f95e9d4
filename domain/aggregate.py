"""The base of every aggregate in the ledger: events say who acted and when.

Every event carries ``actor`` (who acted: party and role), ``timestamp``
(when it was recorded, from the ledger's clock) and ``effective_on`` (the
business date it takes effect, which may be past or future). Every event a
command saves also names the command (``causation_id``: its command id, or
one the ledger made up for a command given none); events stored before
there was such a field read it as None.
"""

from __future__ import annotations

from dataclasses import field
from datetime import date

from eventsourcing.domain import Aggregate

from contractledger.domain.actor import Actor


class LedgerAggregate(Aggregate):
    class Event(Aggregate.Event):
        actor: Actor
        effective_on: date
        # set by the ledger as the command saves (see ContractLedger._run)
        causation_id: str | None = field(default=None, kw_only=True)

    class Created(Event, Aggregate.Created):
        pass
