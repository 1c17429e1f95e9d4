"""What the app is built from: ``create_app(config)`` takes one of these;
the composition root builds it from the environment (``runtime/wsgi.py``),
tests build it by hand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contractledger.domain.clock import Clock
from contractledger.http.idempotency import IdempotentResponses
from contractledger.http.metrics import Metrics
from contractledger.http.read_your_writes import PositionedLedger
from contractledger.http.tokens import TokenRegistry
from contractledger.projections.engine.view import View
from contractledger.projections.engine.view_database import ViewDatabase


@dataclass
class AppConfig:
    ledger: PositionedLedger
    views: ViewDatabase
    tokens: TokenRegistry
    responses: IdempotentResponses
    clock: Clock
    metrics: Metrics = field(default_factory=lambda: Metrics(None))
    wait_bound: float = 5.0
    """The longest a query waits for the views to apply ``wait_for`` (seconds)."""
    ready_max_lag: int = 100
    """/ready answers 503 when a view is more than this many events behind."""
    views_kept: tuple[type[View], ...] = ()
    """The views the runner keeps current: /ready and /metrics tell how far behind each is."""
    processes: Callable[[], dict[str, Any] | None] = lambda: None
    """The supervised processes as their supervisor last told them (None: not supervised)."""
