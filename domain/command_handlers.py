"""One registry: each command class and the one handler that runs it.

A handler is a method of the ledger's use cases, ``(ledger, actor, command)
-> (outcome, aggregates to save)``; it checks the rules and changes the
aggregates, and ``ContractLedger.handle`` runs it once per command id and
saves what it returns in one atomic write. ``@handles(Downgrade)`` over the
method registers it and leaves in its place the ledger's call by the use
case's name (``ledger.downgrade(actor, contract_id, reason, ...)``), which
builds the command from its arguments and hands it to ``handle``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate

from contractledger.domain.actor import Actor
from contractledger.domain.commands import Command

Outcome = tuple[Any, Sequence[Aggregate]]


@dataclass(frozen=True)
class Handler:
    command: type[Command]
    body: Callable[[Any, Actor, Any], Outcome]
    """The use case's body: ``(ledger, actor, command) -> (outcome, aggregates to save)``."""
    use_case: str
    """The use case's name, which a command id's fingerprint names."""
    earlier_name: str
    """The name the ledger's fingerprints gave the use case before commands were data (its body's qualified
    name), so that a repeat of a command recorded then is still answered as its first run."""


HANDLERS: dict[type[Command], Handler] = {}


def handles(command: type[Command]) -> Callable[[Callable[..., Outcome]], Callable[..., Any]]:
    def register(handler: Callable[..., Outcome]) -> Callable[..., Any]:
        if command in HANDLERS:
            raise TypeError(f"{command.__name__} already has a handler: {HANDLERS[command].body.__qualname__}")
        HANDLERS[command] = Handler(command, handler, handler.__name__, f"{handler.__qualname__}.<locals>.use_case")

        def call(self: Any, actor: Actor, *arguments: Any, command_id: str | None = None, **fields: Any) -> Any:
            return self.handle(actor, command(*arguments, **fields), command_id=command_id)

        call.__name__, call.__qualname__, call.__doc__ = handler.__name__, handler.__qualname__, handler.__doc__
        return call

    return register


def handler_for(command: type[Command]) -> Handler:
    try:
        return HANDLERS[command]
    except KeyError:
        raise TypeError(f"{command.__name__} is no command the ledger handles") from None
