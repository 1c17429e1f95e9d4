"""Notifications read back from a store, made cheaply.

A page of the log is many thousands of notifications (a view rebuild reads a
million): the library's frozen dataclass ``__init__`` costs about 2 us each
and a UUID parsed from text several more, against well under 1 us for the
same object filled directly and an id made once per recurring originator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

_new = object.__new__

# Recurring originator ids are made once; forgotten in bulk when there are many.
ID_MEMO_LIMIT = 200_000


def notification(id: int, originator_id: Any, originator_version: int, topic: str, state: bytes) -> Notification:
    """A Notification equal to ``Notification(id=..., ...)``: the fields set
    as the generated ``__init__`` sets them (into the instance's dict)."""
    made = _new(Notification)
    made.__dict__.update(
        id=id, originator_id=originator_id, originator_version=originator_version, topic=topic, state=state
    )
    return made


class OriginatorIds:
    """UUIDs from their text, each made once while remembered (they are immutable)."""

    def __init__(self) -> None:
        self._ids: dict[str, UUID] = {}

    def __call__(self, text: str) -> UUID:
        found = self._ids.get(text)
        if found is None:
            if len(self._ids) >= ID_MEMO_LIMIT:
                self._ids.clear()
            found = self._ids[text] = UUID(text)
        return found


@dataclass(frozen=True)
class StatePage:
    """A page of the log in columns, for a reader that decodes JSON states
    in bulk (a view runner): the ids, originators, versions and topics of
    its events, and their states already joined into one JSON array text.
    No object is made per event. ``count`` and ``last_id`` cover every
    event of the page's range, those of skipped topics included."""

    after: int
    count: int
    last_id: int
    ids: Sequence[int]
    originator_ids: Sequence[Any]
    versions: Sequence[int]
    topics: Sequence[str]
    states: str  # "[state,state,...]"

    def __len__(self) -> int:
        return self.count
