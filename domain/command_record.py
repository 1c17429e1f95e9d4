"""Idempotent commands: one record per caller-supplied command id.

The record's id is derived from the command id, so two processes running the
same command race to create the same aggregate: the loser's whole save fails
on the version conflict, and it answers with the winner's stored outcome.
A fingerprint of the arguments tells a repeat from a reuse of the id.

Every event a command saves names the command (``causation_id``): the
caller's command id, or for a command given none an id the ledger makes up
(``ledger:<uuid>``), so what caused each change is exact without a record
per command (only a caller's id needs one, for its repeats).
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from contractledger.domain.actor import Actor
from contractledger.domain.aggregate import LedgerAggregate
from contractledger.domain.errors import RuleBroken
from contractledger.domain.plain_data import plain

NAMESPACE = uuid5(NAMESPACE_URL, "https://contractledger/commands")


def record_id(command_id: str) -> UUID:
    return uuid5(NAMESPACE, command_id)


def generated_command_id() -> str:
    """The command id of a command run without one: it names the command's events, nothing else."""
    return f"ledger:{uuid4()}"


def mark_caused_by(aggregates: Iterable[Aggregate], command_id: str) -> None:
    """Names ``command_id`` as the cause of every event the aggregates are about
    to save. Only unsaved events are touched (they are frozen once built; this
    is their last moment before the store)."""
    for aggregate in aggregates:
        for event in aggregate.pending_events:
            object.__setattr__(event, "causation_id", command_id)


def fingerprint(use_case: str, arguments: dict[str, Any]) -> str:
    text = json.dumps({"use_case": use_case, "arguments": plain(arguments)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class CommandPrint:
    """What tells a repeat of a command from another command under the same id: the use case, the actor
    and the command's own fields, as plain data. ``earlier``: the print the ledger gave the same command
    before commands were data, under its use case's earlier name (made only when a repeat is compared)."""

    def __init__(self, use_case: str, earlier_name: str, actor: Actor, fields: dict[str, Any]) -> None:
        self.actor = actor
        self._arguments = {"actor": actor, **fields}
        self._earlier_name = earlier_name
        self.current = fingerprint(use_case, self._arguments)

    @cached_property
    def earlier(self) -> str:
        return fingerprint(self._earlier_name, self._arguments)


class CommandRecord(LedgerAggregate):
    class Recorded(LedgerAggregate.Created):
        command_id: str
        fingerprint: str
        outcome: Any

    def __init__(self, command_id: str, fingerprint: str, outcome: Any) -> None:
        self.command_id = command_id
        self.fingerprint = fingerprint
        self.outcome = outcome

    @classmethod
    def record(
        cls, command_id: str, fingerprint: str, outcome: Any, *, actor: Actor, effective_on: date, at: datetime
    ) -> CommandRecord:
        return cls._create(
            cls.Recorded,
            id=record_id(command_id),
            timestamp=at,
            actor=actor,
            effective_on=effective_on,
            command_id=command_id,
            fingerprint=fingerprint,
            outcome=outcome,
        )

    def outcome_for(self, command: CommandPrint) -> Any:
        if self.fingerprint != command.current and self.fingerprint != command.earlier:
            raise RuleBroken(
                "command.id_reused",
                "This command id was already used for a different command; use a new command id.",
                "command_id",
            )
        return self.outcome
