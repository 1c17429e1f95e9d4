"""One outbound feed per peer: a view of the changes it receives, applied by
the views runner exactly once (its rows and its position commit together).

Each heard contract event becomes one item (``cloudevents``), unless the
peer does not receive that kind or the change came from the peer itself (no
echo: its own change is not sent back to it as a new change; every other
peer gets it, marked with its origin). Items are numbered per contract in
this feed (gap-free), and the feed's cursor is the event's notification id.

Origin comes from the event's actor: an inbound change is run as
``Actor(SYNC_PEER, <peer>)``. Causation comes from the event itself: the
ledger names the command on every event it saves (``causation_id``: the
command id given, ``<peer>:<change id>`` for a peer's change, or an id it
made up for a command given none), so each item says exactly which command
caused it, whatever ran before or after it.

Events stored before events named their command have no ``causation_id``;
for those the cause is inferred as it was then: the ledger saved a command's
record right after the events it caused (the store numbers one save's events
consecutively), so the events since the last boundary that share the
record's actor are that command's. A batch of the runner may end between a
peer's such events and their record; those items are *held* (not yet in the
feed) until the record arrives, which is certain and immediate: it was
committed with them. Such an event with no record after it has no causation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from contractledger.domain.actor import Actor, Role
from contractledger.domain.command_record import CommandRecord
from contractledger.domain.contract import Contract
from contractledger.projections.engine.view import View, handles
from contractledger.projections.engine.view_database import ViewTransaction
from contractledger.sync import cloudevents
from contractledger.sync.changes import HEARD, UNHEARD, ContractState, change_of
from contractledger.sync.links import link_of
from contractledger.sync.peer import Peer, peers

LEDGER = "ledger"
"""The origin of a change made in the ledger itself (a user, or the ledger's own process)."""


def origin_of(actor: Actor | None) -> str:
    return actor.user if actor is not None and actor.role is Role.SYNC_PEER else LEDGER


class _Tracked:
    """A contract as this feed knows it while a batch is applied."""

    def __init__(self, state: ContractState | None, external_id: str | None, sequence: int, known: bool) -> None:
        self.state = state
        self.external_id = external_id
        self.sequence = sequence
        self.known = known  # a row exists (UPDATE) or not yet (INSERT)


class FeedView(View):
    peer: ClassVar[Peer]
    follows = (Contract, CommandRecord)
    ignores = UNHEARD

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        # logical table names are global to the runner: each peer's are its own
        self.tables_of = {part: self.t[f"sync_feed_{self.peer.name}_{part}"] for part in ("feed", "contracts", "held")}

    def schema(self) -> list[str]:
        feed, contracts, held = self.tables_of["feed"], self.tables_of["contracts"], self.tables_of["held"]
        return [
            f"CREATE TABLE IF NOT EXISTS {feed} (position BIGINT PRIMARY KEY, item_id KEY_TEXT NOT NULL,"
            " contract_id KEY_TEXT NOT NULL, sequence INTEGER NOT NULL, origin TEXT NOT NULL, item TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {contracts} (contract_id KEY_TEXT PRIMARY KEY, external_id KEY_TEXT,"
            " sequence INTEGER NOT NULL, status TEXT NOT NULL, writing_numbers TEXT NOT NULL, codes TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {contracts}_external ON {contracts} (external_id)",
            f"CREATE TABLE IF NOT EXISTS {held} (position BIGINT PRIMARY KEY, actor TEXT NOT NULL,"
            " contract_id KEY_TEXT NOT NULL, sequence INTEGER NOT NULL, origin TEXT NOT NULL, item TEXT NOT NULL)",
        ]

    # -- a batch ------------------------------------------------------------------

    def begin(self, tx: ViewTransaction, events: Sequence[tuple[int, Any]]) -> None:
        # Nothing is remembered across batches but what the tables hold: a
        # batch that failed is retried from the view's position as if new.
        self._contracts: dict[str, _Tracked] = {}
        self._new_items: list[tuple[int, str, int, str, dict[str, Any]]] = []
        self._actor_at: dict[int, str | None] = {}
        tx.execute(f"SELECT position, actor, contract_id, sequence, origin, item FROM {self.tables_of['held']} ORDER BY position")
        self._held_before = [(p, a, c, s, o, json.loads(i)) for p, a, c, s, o, i in tx.fetchall()]
        self._causation, self._held_now = self._causes(events)

    def _causes(self, events: Sequence[tuple[int, Any]]) -> tuple[dict[int, str | None], set[int]]:
        """Each heard event's command id (or None), and the events to hold
        (only events stored before events named their command are ever held)."""
        causation: dict[int, str | None] = {}
        run: list[int] = [p for p, *_ in self._held_before]
        run_actor: Any = self._held_before[0][1] if self._held_before else None

        def close(command_id: str | None) -> None:
            for position in run:
                causation[position] = command_id
            run.clear()

        for position, event in events:
            named = getattr(event, "causation_id", None)
            if named is not None:
                # an event naming its command: exact. A run of older events
                # still open here had no record after it (a save is contiguous)
                close(None)
                run_actor = None
                if isinstance(event, HEARD):
                    causation[position] = named
                continue
            actor = _actor_key(getattr(event, "actor", None))
            if isinstance(event, CommandRecord.Recorded):
                close(event.command_id if actor == run_actor else None)
                run_actor = None
                continue
            if actor != run_actor:
                close(None)
                run_actor = actor
            if isinstance(event, HEARD):
                run.append(position)
        held: set[int] = set()
        if run and run_actor is not None and json.loads(run_actor)["role"] == Role.SYNC_PEER.value:
            held = set(run)
        else:
            close(None)
        return causation, held

    def flush(self, tx: ViewTransaction) -> None:
        released = [h for h in self._held_before if h[0] not in self._held_now]
        if released:
            tx.executemany(f"DELETE FROM {self.tables_of['held']} WHERE position = ?", [(h[0],) for h in released])
        to_feed = [(p, c, s, o, i) for p, _a, c, s, o, i in released]
        to_hold = []
        for position, contract_id, sequence, origin, item in self._new_items:
            if position in self._held_now:
                to_hold.append((position, self._actor_at[position], contract_id, sequence, origin, cloudevents.encode(item)))
            else:
                to_feed.append((position, contract_id, sequence, origin, item))
        rows = []
        for position, contract_id, sequence, origin, item in to_feed:
            item["causationid"] = self._causation.get(position)
            rows.append((position, item["id"], contract_id, sequence, origin, cloudevents.encode(item)))
        tx.insert_rows(self.tables_of["feed"], ("position", "item_id", "contract_id", "sequence", "origin", "item"), rows)
        tx.insert_rows(self.tables_of["held"], ("position", "actor", "contract_id", "sequence", "origin", "item"), to_hold)
        for contract_id, tracked in self._contracts.items():
            state = tracked.state
            assert state is not None
            values = (tracked.external_id, tracked.sequence, state.status, json.dumps(state.writing_numbers), json.dumps(state.codes))
            if tracked.known:
                tx.execute(
                    f"UPDATE {self.tables_of['contracts']} SET external_id = ?, sequence = ?, status = ?, writing_numbers = ?,"
                    " codes = ? WHERE contract_id = ?",
                    (*values, contract_id),
                )
            else:
                tx.execute(
                    f"INSERT INTO {self.tables_of['contracts']} (external_id, sequence, status, writing_numbers, codes, contract_id)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (*values, contract_id),
                )

    # -- events ---------------------------------------------------------------------

    @handles(*HEARD)
    def on_change(self, tx: ViewTransaction, event: Any, position: int) -> None:
        contract_id = str(event.originator_id)
        tracked = self._tracked(tx, contract_id)
        kind, tracked.state, details = change_of(event, tracked.state)
        origin = origin_of(event.actor)
        if kind not in self.peer.receives or origin == self.peer.name:
            return
        tracked.sequence += 1
        state = tracked.state
        data = {
            "contract_id": contract_id,
            "external_id": tracked.external_id,
            "status": state.status,
            "peer_status": self.peer.name_for(state.status),
            "writing_numbers": list(state.writing_numbers),
            "codes": [dict(c) for c in state.codes],
            "change": details,
            "actor": _actor_shown(event.actor),
        }
        item = cloudevents.event(
            peer=self.peer.name,
            kind=kind,
            position=position,
            contract_id=event.originator_id,
            version=event.originator_version,
            sequence=tracked.sequence,
            recorded_at=event.timestamp.isoformat(),
            effective_on=event.effective_on.isoformat(),
            origin=origin,
            causation=None,
            data=data,
        )
        self._actor_at[position] = _actor_key(event.actor)
        self._new_items.append((position, contract_id, tracked.sequence, origin, item))

    @handles(CommandRecord.Recorded)
    def on_record(self, tx: ViewTransaction, event: Any, position: int) -> None:
        link = link_of(event.outcome)
        if link is None or link["peer"] != self.peer.name:
            return
        tracked = self._tracked(tx, link["contract_id"])
        tracked.external_id = link["external_id"]

    def _tracked(self, tx: ViewTransaction, contract_id: str) -> _Tracked:
        tracked = self._contracts.get(contract_id)
        if tracked is None:
            tx.execute(
                f"SELECT external_id, sequence, status, writing_numbers, codes FROM {self.tables_of['contracts']} WHERE contract_id = ?",
                (contract_id,),
            )
            row = tx.fetchone()
            if row is None:
                tracked = _Tracked(None, None, 0, known=False)
            else:
                external_id, sequence, status, numbers, codes = row
                tracked = _Tracked(ContractState(status, json.loads(numbers), json.loads(codes)), external_id, int(sequence), True)
            self._contracts[contract_id] = tracked
        return tracked


def _actor_shown(actor: Actor) -> dict[str, str]:
    """Who acted, as an item says it: a relayed step also names the role that took it (rules §9)."""
    shown = {"role": actor.role.value, "user": actor.user}
    if actor.on_behalf_of is not None:
        shown["on_behalf_of"] = actor.on_behalf_of.value
    return shown


def _actor_key(actor: Actor | None) -> str | None:
    if actor is None:
        return None
    return json.dumps({"role": actor.role.value, "user": actor.user, "party_id": str(actor.party_id) if actor.party_id else None}, sort_keys=True)


def feed_view_for(peer: Peer) -> type[FeedView]:
    """The view class of one peer's feed (its own name and tables)."""
    return type(
        f"{peer.name.title().replace('_', '')}FeedView",
        (FeedView,),
        {
            "peer": peer,
            "name": f"sync_feed_{peer.name}",
            "tables": tuple(f"sync_feed_{peer.name}_{part}" for part in ("feed", "contracts", "held")),
            "__module__": __name__,
        },
    )


def feed_tables(peer: str, generation: int) -> dict[str, str]:
    return {logical: f"sync_feed_{peer}_{logical}__g{generation}" for logical in ("feed", "contracts", "held")}


FEED_VIEWS: tuple[type[FeedView], ...] = tuple(feed_view_for(peer) for peer in peers().values())
"""Every configured peer's feed view, for the views runner's catalogue."""
