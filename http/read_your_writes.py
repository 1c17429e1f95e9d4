"""Read your writes: a command's answer names the ledger position of its
last event (``Ledger-Position``), and a query given ``wait_for=<position>``
answers only once the views it reads have applied it, or 504 after a
bounded wait.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import falcon

from contractledger.domain.ledger import ContractLedger
from contractledger.http.problems import Problem
from contractledger.projections.engine.view_database import ViewDatabase
from contractledger.projections.engine.waiting import wait_until_applied

POSITION_HEADER = "Ledger-Position"


class PositionedLedger(ContractLedger):
    """The ledger, remembering per thread the notification id of the last
    event this thread recorded, so a command's answer can name it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recorded = threading.local()

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = super().save(*objs, **kwargs)
        if recordings:
            self._recorded.position = max(r.notification.id for r in recordings)
        return recordings

    def forget_position(self) -> None:
        self._recorded.position = None

    def position_recorded(self) -> int | None:
        return getattr(self._recorded, "position", None)

    def position_after_command(self) -> int:
        """The last event this thread recorded; for a repeated command that
        recorded nothing, the ledger's newest position (never behind the
        first attempt's events)."""
        recorded = self.position_recorded()
        return recorded if recorded is not None else (self.recorder.max_notification_id() or 0)


def wait_for_position(
    ledger: ContractLedger, views: ViewDatabase, position: int | None, view_names: Sequence[str], bound: float
) -> None:
    if position is None or position == 0:
        return
    newest = ledger.recorder.max_notification_id() or 0
    if position > newest:
        raise Problem(
            falcon.HTTP_422,
            "query.wait_for_beyond_ledger",
            f"The ledger has recorded up to position {newest}; wait_for takes a position from a command's "
            f"{POSITION_HEADER} header.",
            field="wait_for",
        )
    if not wait_until_applied(views, position, view_names, bound):
        raise Problem(
            falcon.HTTP_504,
            "query.views_behind",
            f"The views had not applied position {position} within {bound:g} s; retry shortly.",
            field="wait_for",
        )
