"""What the views runner has applied, for ``/metrics``: events and batches per view.

Counted with ``prometheus_client``; in the served runner (multiprocess mode,
``PROMETHEUS_MULTIPROC_DIR`` set by serve) each count lands in the metrics
folder, where the HTTP worker answering a scrape adds up every process's.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter

EVENTS_APPLIED = Counter(
    "contractledger_view_events_applied",
    "Events a view has applied (committed), by view.",
    ["view"],
    registry=None,
)
BATCHES_APPLIED = Counter(
    "contractledger_view_batches_applied",
    "Batches (one transaction each) a view has committed, by view.",
    ["view"],
    registry=None,
)


def start_counting(views: Iterable[str]) -> None:
    """Every view's series from the start, at zero: a view with nothing to do yet is still shown."""
    for view in views:
        EVENTS_APPLIED.labels(view=view)
        BATCHES_APPLIED.labels(view=view)


def count_batch(applied: Iterable[tuple[str, int]]) -> None:
    """One committed batch: for each view that took part, how many of its events it applied."""
    for view, events in applied:
        EVENTS_APPLIED.labels(view=view).inc(events)
        BATCHES_APPLIED.labels(view=view).inc()
