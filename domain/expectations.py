"""Conditional commands: "apply this only if the aggregate is still at version N".

The edge's ``If-Match`` names the version a caller's decision was based on.
Checking it before the use case leaves a window in which someone else's
change could land; checking it where the use case loads the aggregate closes
it, because the save then only succeeds if nothing was stored after that
version (the store's optimistic concurrency).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from contractledger.domain.errors import Conflict

_expected: ContextVar[dict[UUID, int]] = ContextVar("contractledger_expected_versions", default={})

VERSION_MISMATCH = "aggregate.version_mismatch"


@contextmanager
def expecting(aggregate_id: UUID, version: int) -> Iterator[None]:
    """Commands run in this block refuse to act on ``aggregate_id`` unless it is at ``version``."""
    token = _expected.set({**_expected.get(), aggregate_id: version})
    try:
        yield
    finally:
        _expected.reset(token)


def ensure_expected_version(aggregate: Any) -> None:
    expected = _expected.get().get(aggregate.id)
    if expected is not None and aggregate.version != expected:
        raise Conflict(
            VERSION_MISMATCH,
            f"This was changed since version {expected}; it is now at version {aggregate.version}. "
            "Read it again and retry if still needed.",
            current_version=aggregate.version,
        )
