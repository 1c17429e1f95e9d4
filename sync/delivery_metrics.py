"""What push delivery has done, for ``/metrics``: attempts and failures per
peer, and the items it gave up on (dead letters).

Counted with ``prometheus_client``; in the served delivery worker
(multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR`` set by serve) each count
lands in the metrics folder, where the HTTP worker answering a scrape adds
up every process's.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter

ATTEMPTS = Counter(
    "contractledger_sync_delivery_attempts",
    "Items POSTed to a peer's endpoint (first tries and retries), by peer.",
    ["peer"],
    registry=None,
)
FAILURES = Counter(
    "contractledger_sync_delivery_failures",
    "Attempts that did not deliver (no answer, a refused certificate, a redirect, any status but 2xx), by peer.",
    ["peer"],
    registry=None,
)
DEAD_LETTERS = Counter(
    "contractledger_sync_dead_letters",
    "Items given up on (kept as dead letters for an operator), by peer.",
    ["peer"],
    registry=None,
)


def start_counting(peers: Iterable[str]) -> None:
    """Every pushed peer's series from the start, at zero: no failure yet is a 0, not a missing series."""
    for peer in peers:
        for counter in (ATTEMPTS, FAILURES, DEAD_LETTERS):
            counter.labels(peer=peer)
