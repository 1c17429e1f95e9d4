"""The problem codes a use case can raise, read from the source of the rules.

A route running a use case (a command's ``ContractLedger`` method, a sync
peer's change) can answer every code its rules raise. Those are found by
walking the source of ``domain/`` and ``sync/`` from the use case's function
through every function it calls, by name, and collecting each listed code a
function names (a literal, a module constant, or a code built from parts,
such as ``f"contract.{action}.not_active"``, whose parts name the use case).
A call by a shared name reaches each function of that name (of the
caller's package or the domain below it), so the walk may list a code the
use case cannot quite reach; it never misses one its functions name. The recording of the HTTP tests
(``tests/integration/conftest.py``) checks what routes answer against it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import contractledger.domain as domain
import contractledger.domain.ledger  # noqa: F401  (its use cases register their handlers)
import contractledger.sync as sync
from contractledger.domain.command_handlers import HANDLERS
from contractledger.http.problem_codes import PROBLEM_CODES

NESTED = frozenset({"use_case"})
"""The name every use case gives the body it runs inside its method: walked with the method, never by name."""


def codes_raised_by(use_cases: Iterable[str]) -> frozenset[str]:
    """Every listed code the functions named, and those they call, name; a command's use case, with those
    of the ledger's one way of running a command (``ContractLedger.handle``)."""
    commands = {handler.use_case for handler in HANDLERS.values()}
    found: set[str] = set()
    for name in use_cases:
        found |= _reached_from(name)
        if name in commands:
            found |= _reached_from("handle")
    return frozenset(found)


@cache
def _reached_from(start: str) -> frozenset[str]:
    functions = _functions()
    if start not in functions:
        raise LookupError(f"{start}: no function of domain/ or sync/ has this name")
    seen: set[tuple[str, str]] = set()
    todo = [(name, package) for name, package in _packages_of(start)]
    codes: set[str] = set()
    while todo:
        name, package = todo.pop()
        if (name, package) in seen or name in NESTED:
            continue
        seen.add((name, package))
        for node, constants in functions.get(name, {}).get(package, ()):
            codes |= _named_in(node, constants, start)
            todo += [(callee, below) for callee in _callees(node) for below in _BELOW[package]]
            todo += [(handled, "domain") for handled in _commands_made(node)]
    return frozenset(codes)


_BELOW = {"domain": ("domain",), "sync": ("sync", "domain")}
"""Whose functions a call of each package may reach: its own and the floors below (docs/architecture.md)."""


def _packages_of(name: str) -> list[tuple[str, str]]:
    return [(name, package) for package in _functions()[name]]


def _named_in(function: ast.AST, constants: dict[str, str], use_case: str) -> set[str]:
    codes: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Constant) and node.value in PROBLEM_CODES:
            codes.add(node.value)
        elif isinstance(node, ast.Name) and constants.get(node.id) in PROBLEM_CODES:
            codes.add(constants[node.id])
        elif isinstance(node, ast.JoinedStr):
            pattern = "".join(re.escape(p.value) if isinstance(p, ast.Constant) else "([a-z_]+)" for p in node.values)
            for code in PROBLEM_CODES:
                parts = re.fullmatch(pattern, code)
                if parts and all(part in use_case for part in parts.groups()):
                    codes.add(code)
    return codes


def _commands_made(function: ast.AST) -> list[str]:
    """The use cases of the commands the function makes (``AddWritingNumber(...)``): the ledger runs each by
    its handler (domain/command_handlers.py), which no call names."""
    handled = _use_case_of_command()
    return [handled[node.id] for node in ast.walk(function) if isinstance(node, ast.Name) and node.id in handled]


@cache
def _use_case_of_command() -> dict[str, str]:
    return {handler.command.__name__: handler.use_case for handler in HANDLERS.values()}


def _callees(function: ast.AST) -> list[str]:
    """The names the function calls; not a callable it was given (``change(contract)``): its caller's, walked there."""
    given = {argument.arg for node in ast.walk(function) if isinstance(node, ast.arguments)
             for argument in (*node.posonlyargs, *node.args, *node.kwonlyargs)}
    names = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            called = node.func
            if isinstance(called, ast.Name) and called.id not in given:
                names.append(called.id)
            elif isinstance(called, ast.Attribute):
                names.append(called.attr)
    return names


@cache
def _functions() -> dict[str, dict[str, list[tuple[ast.AST, dict[str, str]]]]]:
    """Every function and method of domain/ and sync/ by name and package, with its module's string constants."""
    found: dict[str, dict[str, list[tuple[ast.AST, dict[str, str]]]]] = {}
    for package in (domain, sync):
        floor = package.__name__.rsplit(".", 1)[1]
        for path in sorted(Path(package.__path__[0]).glob("*.py")):
            tree = ast.parse(path.read_text())
            constants = {
                target.id: node.value.value
                for node in tree.body
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.setdefault(node.name, {}).setdefault(floor, []).append((node, constants))
    return found
