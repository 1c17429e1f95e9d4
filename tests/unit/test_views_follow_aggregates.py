"""A view names the aggregates it follows (issue 16, step 3): events of other
aggregates pass it by, unnamed; a followed aggregate's event it neither
handles nor ignores still stops it, so a new event is never skipped silently."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event

from contractledger.projections.engine.view import UnhandledEvent, View, handles


class Shelf(Aggregate):
    @event("Built")
    def __init__(self) -> None:
        pass

    @event("Painted")
    def paint(self) -> None:
        pass

    @event("Moved")
    def move(self) -> None:
        pass


class Lamp(Aggregate):
    @event("Lit")
    def __init__(self) -> None:
        pass


class Shelves(View):
    name = "shelves"
    tables = ("shelves",)
    follows = (Shelf,)
    ignores = (Shelf.Painted,)

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.built = 0

    @handles(Shelf.Built)
    def built_one(self, tx: Any, e: Any, notification_id: int) -> None:
        self.built += 1


def test_events_of_an_aggregate_the_view_does_not_follow_pass_it_by() -> None:
    view = Shelves()
    lit = Lamp().collect_events()[0]
    built = Shelf().collect_events()[0]
    view.apply_all(None, [(1, lit), (2, built)])  # type: ignore[arg-type]
    assert view.built == 1
    assert Shelves.ignores_class(type(lit)) and Shelves.ignores_class(Shelf.Painted)


def test_an_event_of_a_followed_aggregate_neither_handled_nor_ignored_stops_the_view() -> None:
    shelf = Shelf()
    shelf.move()
    moved = shelf.collect_events()[-1]
    assert not Shelves.ignores_class(type(moved))
    with pytest.raises(UnhandledEvent, match="Shelf.Moved"):
        Shelves().apply_all(None, [(3, moved)])  # type: ignore[arg-type]


def test_a_view_must_name_the_aggregates_it_follows() -> None:
    with pytest.raises(TypeError, match="must name the aggregates it follows"):
        type("Nameless", (View,), {"name": "nameless", "tables": ()})


def test_a_view_may_not_handle_or_ignore_events_of_an_aggregate_it_does_not_follow() -> None:
    with pytest.raises(TypeError, match="Lamp.Lit"):
        type("Stray", (View,), {"name": "stray", "tables": (), "follows": (Shelf,), "ignores": (Lamp.Lit,)})

    def lit(self: Any, tx: Any, e: Any, notification_id: int) -> None: ...

    with pytest.raises(TypeError, match="Lamp.Lit"):
        type("Stray", (View,), {"name": "stray", "tables": (), "follows": (Shelf,), "lit": handles(Lamp.Lit)(lit)})
