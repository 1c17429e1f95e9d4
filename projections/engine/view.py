"""A view: tables built from the event log, one handler per event class.

A view names the aggregates it follows (``follows``); events of any other
aggregate never reach it (a runner whose views all pass them by does not
even decode them). Of a followed aggregate's events, it says which it
handles and which it deliberately ignores (by class, so subclasses follow);
any other stops the runner with :class:`UnhandledEvent` naming it, because
skipping a new event silently would leave the view wrong without anyone
knowing.

Views are built in *generations*: the physical table for logical table ``t``
of generation ``g`` is ``t__g<g>``. A rebuild fills a new generation while the
live one keeps serving reads, then the live pointer switches atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from contractledger.projections.engine.view_database import ViewTransaction


class UnhandledEvent(RuntimeError):
    """A view met an event it does not know: it stops rather than skip it."""

    def __init__(self, view: str, notification_id: int, topic: str) -> None:
        super().__init__(
            f"view {view!r} cannot handle the event {topic} at notification id {notification_id}; "
            "it has stopped without applying it. Teach the view this event (or list it as ignored) "
            "and restart the runner."
        )
        self.view = view
        self.notification_id = notification_id
        self.topic = topic


_UNKNOWN = object()


def handles(*event_classes: type) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Marks a view method as the handler of the given event classes."""

    def mark(method: Callable[..., None]) -> Callable[..., None]:
        method.__handles__ = event_classes  # type: ignore[attr-defined]
        return method

    return mark


class View:
    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    follows: ClassVar[tuple[type, ...]]
    """The aggregates whose events reach the view."""
    ignores: ClassVar[tuple[type, ...]] = ()
    """Events of the followed aggregates that the view deliberately passes by."""
    _handlers: ClassVar[dict[type, str]]
    # event class -> handler name, or "" for an ignored class: worked out
    # once per class from the MRO, then one dictionary lookup per event
    _dispatch: ClassVar[dict[type, str]]
    _followed: ClassVar[tuple[type, ...]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[type, str] = {}
        for base in reversed(cls.__mro__):
            for attribute, value in vars(base).items():
                for event_class in getattr(value, "__handles__", ()):
                    handlers[event_class] = attribute
        cls._handlers = handlers
        cls._dispatch = {}
        if not hasattr(cls, "name"):
            return  # a base for views (BufferedView), not one
        follows = getattr(cls, "follows", None)
        if follows is None:
            raise TypeError(f"view {cls.__name__} must name the aggregates it follows (follows = (...,))")
        cls._followed = tuple(aggregate.Event for aggregate in follows)
        strays = [e for e in (*handlers, *cls.ignores) if not issubclass(e, cls._followed)]
        if strays:
            names = ", ".join(sorted(e.__qualname__ for e in strays))
            raise TypeError(f"view {cls.__name__} handles or ignores events of aggregates it does not follow: {names}")

    def __init__(self, generation: int = 1) -> None:
        self.generation = generation
        self.t = self.table_names(generation)

    @classmethod
    def table_names(cls, generation: int) -> dict[str, str]:
        """The physical table of each logical table in ``generation``."""
        return {logical: f"{logical}__g{generation}" for logical in cls.tables}

    @classmethod
    def live_table_names(cls) -> dict[str, str]:
        """What readers name each logical table by: a database view over the
        live generation's table, moved with the live pointer in the switch's
        transaction (``alias_statements``), so a read needs no lookup first."""
        return {logical: f"{logical}__live" for logical in cls.tables}

    def alias_statements(self) -> list[str]:
        """Points each logical table's live name at this generation's table."""
        live = self.live_table_names()
        statements = []
        for logical, table in self.t.items():
            statements += [f"DROP VIEW IF EXISTS {live[logical]}", f"CREATE VIEW {live[logical]} AS SELECT * FROM {table}"]
        return statements

    def schema(self) -> list[str]:
        """CREATE statements for this generation's tables (use ``self.t``)."""
        raise NotImplementedError(f"view {self.name!r} must declare its schema")

    def tables_schema(self) -> list[str]:
        """``schema()`` without its secondary indexes: the tables with their
        keys, which the handlers' upserts need."""
        return [statement for statement in self.schema() if not _is_secondary_index(statement)]

    def indexes_schema(self) -> list[str]:
        """The secondary indexes of ``schema()``: what the view's queries
        need, and its handlers do not. A rebuild builds them at the end, in
        one pass over the finished tables, instead of keeping them up to date
        row by row while it fills them."""
        return [statement for statement in self.schema() if _is_secondary_index(statement)]

    def apply(self, tx: ViewTransaction, event: Any, notification_id: int) -> None:
        attribute = self._dispatch.get(type(event))
        if attribute is None:
            attribute = self._route(type(event), notification_id)
        if attribute:
            getattr(self, attribute)(tx, event, notification_id)

    def apply_all(self, tx: ViewTransaction, events: Sequence[tuple[int, Any]]) -> None:
        """Applies a batch's (notification id, event) pairs in order: as
        :meth:`apply` for each, with the handler found once per event class."""
        bound = self.__dict__.get("_bound")
        if bound is None:
            bound = self._bound = {}
        for notification_id, event in events:
            handler = bound.get(type(event), _UNKNOWN)
            if handler is _UNKNOWN:
                attribute = self._dispatch.get(type(event))
                if attribute is None:
                    attribute = self._route(type(event), notification_id)
                handler = bound[type(event)] = getattr(self, attribute) if attribute else None
            if handler is not None:
                handler(tx, event, notification_id)

    def _route(self, event_class: type, notification_id: int) -> str:
        """The handler of ``event_class`` ("" when ignored), remembered per class."""
        attribute = self._handler_name(event_class)
        if attribute is None:
            topic = f"{event_class.__module__}:{event_class.__qualname__}"
            raise UnhandledEvent(self.name, notification_id, topic)
        type(self)._dispatch[event_class] = attribute
        return attribute

    @classmethod
    def _handler_name(cls, event_class: type) -> str | None:
        """The handler of ``event_class`` or of its nearest base; "" when the
        class is ignored; None when the view does not know it."""
        for klass in event_class.__mro__:
            attribute = cls._handlers.get(klass)
            if attribute is not None:
                return attribute
        if not issubclass(event_class, cls._followed):
            return ""  # another aggregate's event: not for this view
        return "" if issubclass(event_class, cls.ignores) else None

    @classmethod
    def ignores_class(cls, event_class: type) -> bool:
        """True when the view deliberately ignores events of ``event_class``:
        a runner need not even decode them for this view. An unknown class
        is not ignored."""
        return cls._handler_name(event_class) == ""

    def begin(self, tx: ViewTransaction, events: Sequence[tuple[int, Any]]) -> None:
        """Called at the start of every batch, inside its transaction, with the
        (notification id, event) pairs this view is about to apply."""

    def flush(self, tx: ViewTransaction) -> None:
        """Called once at the end of every batch, inside its transaction, for
        views that buffer rows to write them in bulk."""

    @classmethod
    def unalias_statements(cls) -> list[str]:
        """Removes the live table names: before dropping the live generation's
        tables (PostgreSQL refuses to drop a table a view reads)."""
        return [f"DROP VIEW IF EXISTS {live}" for live in cls.live_table_names().values()]

    def drop_statements(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {table}" for table in self.t.values()]


def _is_secondary_index(statement: str) -> bool:
    return statement.lstrip().upper().startswith("CREATE INDEX")
