"""The API document's examples are what the app answers: the recording
scenario (tests/integration/api_examples.py) run again on a fresh ledger of
each store gives exactly the recorded requests and answers
(http/api_examples.json). When a route or an answer changes on purpose,
record them again with scripts/record-api-examples."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from api_examples import record  # noqa: E402

from contractledger.http.openapi import EXAMPLES_FILE  # noqa: E402


def test_the_scenario_replayed_answers_as_recorded(tmp_path: Path, store: str) -> None:
    recorded = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    replayed = record(tmp_path, store)
    assert replayed.keys() == recorded.keys()
    differing = [operation_id for operation_id in recorded if replayed[operation_id] != recorded[operation_id]]
    assert not differing, {operation_id: replayed[operation_id] for operation_id in differing[:3]}
