"""Parallel rebuild workers each take views of about equal measured work."""

from __future__ import annotations

from contractledger.projections.engine.rebuild import share_out
from contractledger.projections.engine.view import View


def view(name: str) -> type[View]:
    return type(name, (View,), {"name": name, "tables": (), "follows": ()})


A, B, C, D, E = (view(n) for n in "abcde")


def names(groups: list[list[type[View]]]) -> list[set[str]]:
    return [{v.name for v in group} for group in groups]


def test_the_heaviest_views_go_to_different_workers_and_the_rest_evens_them_out() -> None:
    measured = {"a": 10.0, "b": 6.0, "c": 4.0, "d": 1.0}
    assert names(share_out([A, B, C, D], measured, 2)) == [{"a", "d"}, {"b", "c"}]


def test_a_view_never_measured_weighs_as_the_measured_average() -> None:
    measured = {"a": 9.0, "b": 1.0, "c": 2.0}  # e weighs 4.0
    assert names(share_out([A, B, C, E], measured, 2)) == [{"a"}, {"e", "c", "b"}]


def test_before_any_rebuild_views_are_shared_out_alike_and_never_to_more_workers_than_views() -> None:
    assert [len(g) for g in share_out([A, B, C, D], {}, 2)] == [2, 2]
    assert len(share_out([A, B], {}, 8)) == 2
