"""A page is what its query read (issue 14): the items as the store ordered
them, cut at the limit, never sorted or filtered again in Python (a store
collating names its own way would otherwise see its pages reordered and
its cursors skip items)."""

from __future__ import annotations

import pytest

from contractledger.http.pagination import cursor_of, key_of, page
from contractledger.http.problems import Problem


def by_name(item: dict[str, str]) -> tuple[str, str]:
    return (item["name"], item["id"])


def test_a_page_is_the_items_read_in_their_order_cut_at_the_limit() -> None:
    read = [{"name": "b", "id": "2"}, {"name": "B", "id": "1"}, {"name": "a", "id": "3"}]  # a linguistic order
    first = page(read, by_name, limit=2)
    assert first["items"] == read[:2]
    assert key_of(first["next"]) == ("B", "1")
    assert page(read[:2], by_name, limit=2) == {"items": read[:2], "next": None}
    assert page([], by_name, limit=2) == {"items": [], "next": None}


def test_a_cursor_is_the_key_it_was_made_of_and_nothing_else_is_taken() -> None:
    assert key_of(cursor_of(("x", 5))) == ("x", 5)
    for cursor in ("not base64!", cursor_of((True,)), "e30"):  # e30: {}
        with pytest.raises(Problem) as refused:
            key_of(cursor)
        assert refused.value.code == "query.cursor_invalid"
