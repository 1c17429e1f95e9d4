"""Cursor pagination of the list routes.

Each list route names the key that orders its items (a tuple of text and
numbers, unique per item) and reads its page in SQL: the items after the
cursor's key, in key order as the store orders them, and one more to know
there is a next. A page is what was read, cut at the limit; its ``next``
cursor is the last item's key, opaque to clients (base64url of its JSON):
text and whole numbers from 0 to 2^63-1, never true or false (which Python
and SQL would take for 1 and 0). Each route turns a cursor back into its
key and refuses one of another shape (``query.cursor_invalid``). Because a
cursor is a key, not an offset, items recorded meanwhile never shift a
page; an empty page means caught up.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any

import falcon
import msgspec

from contractledger.domain.inputs import LARGEST_WHOLE_NUMBER
from contractledger.http.problems import Problem

Key = tuple[Any, ...]


def cursor_of(key: Key) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(key))).decode().rstrip("=")


def key_of(cursor: str) -> Key:
    try:
        decoded = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        decoded = None
    if not isinstance(decoded, list) or not all(map(_key_part, decoded)):
        raise Problem(
            falcon.HTTP_400,
            "query.cursor_invalid",
            "The cursor is not one this API gave; pass the `next` value of the previous page as it was.",
            field="after",
        )
    return tuple(decoded)


def _key_part(part: Any) -> bool:
    if isinstance(part, bool):
        return False
    return isinstance(part, str) or (isinstance(part, int) and 0 <= part <= LARGEST_WHOLE_NUMBER)


def page(read: Sequence[Any], key: Callable[[Any], Key], limit: int) -> dict[str, Any]:
    """``{"items": [...], "next": cursor or None}`` of a page read in SQL (up
    to ``limit`` + 1 items, in the list's order): never sorted or filtered
    again here, so the store's order (its collation of names too) is the
    list's."""
    chosen = list(read[:limit])
    more = len(read) > limit
    return {"items": chosen, "next": cursor_of(key(chosen[-1])) if more else None}
