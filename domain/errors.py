"""The errors a user of the ledger can cause, each with a stable code.

Every refusal the domain makes is one of these. ``code`` is stable (clients
and tests match on it), ``message`` is a sentence telling the user what to do
instead, and ``field`` names the offending input where there is one. The HTTP
edge maps the classes to status codes in one place.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal. Never half-applied: nothing is saved."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, field={self.field!r})"


class RuleBroken(LedgerError):
    """The command breaks a rule of the rulebook (docs/rules.md)."""


class InvalidInput(LedgerError):
    """The command's input is malformed (wrong type, out of range, missing)."""


class NotFound(LedgerError):
    """The thing named does not exist (or the caller may not know it exists)."""


class NotPermitted(LedgerError):
    """The acting party or role may not do this."""


class Conflict(LedgerError):
    """The command was based on a version that is no longer current."""

    def __init__(
        self, code: str, message: str, field: str | None = None, current_version: int | None = None
    ) -> None:
        super().__init__(code, message, field)
        self.current_version = current_version
