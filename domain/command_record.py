"""Idempotent commands: one record per caller-supplied command id.

The record's id is derived from the command id, so two processes running the
same command race to create the same aggregate: the loser's whole save fails
on the version conflict, and it answers with the winner's stored outcome.
A fingerprint of the arguments tells a repeat from a reuse of the id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from contractledger.domain.actor import Actor
from contractledger.domain.aggregate import LedgerAggregate
from contractledger.domain.errors import RuleBroken

NAMESPACE = uuid5(NAMESPACE_URL, "https://contractledger/commands")


def record_id(command_id: str) -> UUID:
    return uuid5(NAMESPACE, command_id)


def _canonical(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (UUID, date, datetime)):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return _canonical(asdict(value))
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_canonical(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    return value


def fingerprint(use_case: str, arguments: dict[str, Any]) -> str:
    text = json.dumps({"use_case": use_case, "arguments": _canonical(arguments)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


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

    def outcome_for(self, fingerprint: str) -> Any:
        if fingerprint != self.fingerprint:
            raise RuleBroken(
                "command.id_reused",
                "This command id was already used for a different command; use a new command id.",
                "command_id",
            )
        return self.outcome
