"""Kill things under load, over a socket, on each store: a gunicorn worker,
the views runner, the delivery worker, PostgreSQL itself, the whole service.
The service recovers by itself and loses nothing acknowledged (see
fault_drill; ``scripts/fault-drill`` runs the same drills longer and prints
the figures)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fault_drill import FAULTS, POSTGRES_ONLY, drill  # noqa: E402

# A recovery slower than this is a service that did not heal (the drill's figures are in scripts/fault-drill).
RECOVERED_WITHIN_SECONDS = 30.0


@pytest.mark.parametrize("fault", list(FAULTS))
def test_after_the_fault_nothing_acknowledged_is_lost_or_doubled_and_retries_replay(
    tmp_path: Path, store: str, fault: str
) -> None:
    if fault in POSTGRES_ONLY and store != "postgres":
        pytest.skip("a PostgreSQL fault")
    outcome = drill(tmp_path, store, fault)
    assert outcome.unexpected == [], outcome.unexpected[:5]
    assert outcome.problems == [], outcome.problems[:5]
    assert outcome.acknowledged > 10
    assert outcome.lost == outcome.duplicated == outcome.half_applied == 0
    assert outcome.exactly_once == outcome.acknowledged == outcome.replays_equal
    assert outcome.write_recovery is not None and outcome.write_recovery < RECOVERED_WITHIN_SECONDS
    assert outcome.read_recovery is not None and outcome.read_recovery < RECOVERED_WITHIN_SECONDS
