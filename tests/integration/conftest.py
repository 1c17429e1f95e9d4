"""A test that takes ``store`` runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from problems_answered import undeclared_since_last_check  # noqa: E402
from stores import STORES  # noqa: E402


@pytest.fixture(scope="module", params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(autouse=True)
def problems_answered_are_declared() -> Iterator[None]:
    """Fails a test whose requests were answered a problem code the API document does not list for the route."""
    yield
    undeclared = undeclared_since_last_check()
    assert not undeclared, "answered, not declared:\n" + "\n".join(undeclared)
