"""Optimistic concurrency at the edge: the aggregate's version is its ETag,
and a command naming the version it was based on (``If-Match``) is refused
with 412 and the current version when someone changed the aggregate since.

A read's ETag comes with what it shows: a contract's from its row in the
contract status view (queries.Versioned), so the two never disagree and a
read costs no event-store query; while the views lag it names the older
version the body shows, and a command based on it is refused 412 here.

For a command, the version is read from the newest stored event of the
aggregate (one indexed row), never by replaying it, for an early answer.
The command then carries that version (its ``expected_version``,
domain/commands.py): the aggregate it loads must still be at it, and its
save succeeds only if nothing was stored since, so a change landing between
the check and the command is refused with the same 412.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from uuid import UUID

import falcon

from contractledger.domain.errors import Conflict
from contractledger.domain.commands import VERSION_MISMATCH
from contractledger.domain.ledger import ContractLedger
from contractledger.http.answers import etag
from contractledger.domain.inputs import whole_number
from contractledger.http.problems import Problem


_VERSION = re.compile(r'(?:W/)?"([^"]*)"|([^"]*)')


def expected_version(req: falcon.Request) -> int | None:
    """The version named by ``If-Match`` (``"7"``, ``W/"7"`` or ``7``); None without one or with ``*``."""
    header = req.get_header("If-Match")
    if header is None or header.strip() == "*":
        return None
    written = _VERSION.fullmatch(header.strip())
    version = whole_number(next(d for d in written.groups() if d is not None)) if written else None
    if version is None:
        raise Problem(
            falcon.HTTP_400,
            "request.if_match_invalid",
            'If-Match takes the version from the ETag of your last read, such as "7".',
            field="If-Match",
        )
    return version


def _mismatch(expected: int, current: int) -> Problem:
    return Problem(
        falcon.HTTP_412,
        "request.version_mismatch",
        f"This was changed since version {expected}; it is now at version {current}. "
        "Read it again and retry if still needed.",
        field="If-Match",
        headers={"ETag": etag(current)},
        current_version=current,
    )


@contextmanager
def refused_as_precondition(expected: int | None) -> Iterator[None]:
    """A command expecting version ``expected`` refused because its aggregate moved on: a 412 with the current one."""
    try:
        yield
    except Conflict as conflict:
        if expected is None or conflict.code != VERSION_MISMATCH or conflict.current_version is None:
            raise
        raise _mismatch(expected, conflict.current_version) from None


def ensure_version(
    expected: int | None, ledger: ContractLedger, aggregate_id: UUID, ensure_visible: Callable[[], None]
) -> None:
    """412 with the current version when ``expected`` (``If-Match``'s, None without one) is another.

    ``ensure_visible`` raises the domain's NotFound for a caller who may not
    see the aggregate, so a version never tells anyone that something they
    cannot see exists. A missing aggregate passes: the use case then refuses
    it as not found.
    """
    if expected is None:
        return
    current = ledger.current_version(aggregate_id)
    if current is not None and current != expected:
        ensure_visible()
        raise _mismatch(expected, current)
