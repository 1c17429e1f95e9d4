"""Every end-to-end test runs once on each store: the ``store`` fixture names
it ("sqlite" or "postgres"), and a test's server is ``Server(..., store=store)``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from served import STORES  # noqa: E402


@pytest.fixture(scope="module", params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return request.param
