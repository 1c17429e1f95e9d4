"""A view: tables built from the event log, one handler per event class.

A view says which event classes it handles and which it deliberately ignores
(by class, so subclasses follow); any other event stops the runner with
:class:`UnhandledEvent` naming it, because skipping silently would leave the
view wrong without anyone knowing.

Views are built in *generations*: the physical table for logical table ``t``
of generation ``g`` is ``t__g<g>``. A rebuild fills a new generation while the
live one keeps serving reads, then the live pointer switches atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from contractledger.projections.view_database import ViewTransaction


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


def handles(*event_classes: type) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Marks a view method as the handler of the given event classes."""

    def mark(method: Callable[..., None]) -> Callable[..., None]:
        method.__handles__ = event_classes  # type: ignore[attr-defined]
        return method

    return mark


class View:
    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    ignores: ClassVar[tuple[type, ...]] = ()
    _handlers: ClassVar[dict[type, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[type, str] = {}
        for base in reversed(cls.__mro__):
            for attribute, value in vars(base).items():
                for event_class in getattr(value, "__handles__", ()):
                    handlers[event_class] = attribute
        cls._handlers = handlers

    def __init__(self, generation: int = 1) -> None:
        self.generation = generation
        self.t = {logical: f"{logical}__g{generation}" for logical in self.tables}

    def schema(self) -> list[str]:
        """CREATE statements for this generation's tables (use ``self.t``)."""
        raise NotImplementedError(f"view {self.name!r} must declare its schema")

    def apply(self, tx: ViewTransaction, event: Any, notification_id: int) -> None:
        for event_class in type(event).__mro__:
            attribute = self._handlers.get(event_class)
            if attribute is not None:
                getattr(self, attribute)(tx, event, notification_id)
                return
        if isinstance(event, self.ignores):
            return
        topic = f"{type(event).__module__}:{type(event).__qualname__}"
        raise UnhandledEvent(self.name, notification_id, topic)

    def flush(self, tx: ViewTransaction) -> None:
        """Called once at the end of every batch, inside its transaction, for
        views that buffer rows to write them in bulk."""

    def drop_statements(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {table}" for table in self.t.values()]
