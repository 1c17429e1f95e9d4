"""The house's floors (docs/architecture.md): a module imports only from its
own floor or the ones below, and on one floor only one way.

    runtime                  the composition root: catalogue, processes, serve
    http                     the API
    sync  ->  projections    feeds and peers on the read models, one module each,
              -> projections/engine    on the views engine, which knows no read model
    store                    the event store, its adapters apart:
              store/postgres   store/sqlite   (neither imports the other)
    domain                   pure: no SQL, no HTTP

Function-level imports count as much as the module's own: a dependency put
off until a function runs is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOORS = {"domain": 0, "store": 1, "projections": 2, "sync": 2, "http": 3, "runtime": 4}
"""runtime sits above http: serve runs the app, the app never runs serve.
projections and sync share a floor, one way only (ONE_WAY)."""
ONE_WAY = {("projections", "sync")}
"""On one floor: (below, above). The read side's engine and views do not know the feeds built on them."""


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def upward_imports(root: Path = ROOT) -> list[str]:
    wrong = []
    for package, floor in FLOORS.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, module in imports_of(path):
                parts = module.split(".")
                if parts[0] != "contractledger" or len(parts) < 2 or parts[1] not in FLOORS or parts[1] == package:
                    continue
                target = parts[1]
                if FLOORS[target] > floor or (FLOORS[target] == floor and (package, target) in ONE_WAY):
                    wrong.append(f"{path.relative_to(root)}:{line} ({package}) imports {module} ({target})")
    return wrong


KNOWN: set[str] = set()
"""Upward imports left to move: none (a peer's change and a client's body are decoded with the strict input
types of domain/inputs.py, below both sync and http)."""


BELOW = {("projections", "engine")}
"""Folders below the rest of their floor: each imports nothing of its floor
outside itself (the views engine imports no read model of projections/)."""
APART = {("store", "postgres"): ("store", "sqlite"), ("store", "sqlite"): ("store", "postgres")}
"""Folders of one floor that do not import each other: one store never reaches into the other."""


def imported_names(path: Path) -> list[tuple[int, str]]:
    """What a module imports, each name in full: ``from a.b import c`` is a.b.c
    (a module or a name of a.b; either way it is of a.b's folder)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def inward_imports(root: Path = ROOT) -> list[str]:
    wrong = []
    for path in sorted(p for package in FLOORS for p in (root / package).rglob("*.py")):
        folder = path.relative_to(root).parts[:-1]
        for line, module in imported_names(path):
            parts = tuple(module.split("."))
            if parts[:1] != ("contractledger",):
                continue
            target = parts[1:]
            below = next((f for f in BELOW if folder[:len(f)] == f), None)
            if below and target[:1] == below[:1] and target[:len(below)] != below:
                wrong.append(f"{path.relative_to(root)}:{line} ({'/'.join(below)}) imports {module}")
            apart = next((f for f in APART if folder[:len(f)] == f), None)
            if apart and target[:len(APART[apart])] == APART[apart]:
                wrong.append(f"{path.relative_to(root)}:{line} ({'/'.join(apart)}) imports {module}")
    return wrong


def test_no_module_imports_a_floor_above_its_own() -> None:
    assert set(upward_imports()) - KNOWN == set()


def test_every_known_exception_still_exists_so_the_list_only_shrinks() -> None:
    assert KNOWN <= set(upward_imports())


def test_the_check_sees_an_upward_import_even_inside_a_function(tmp_path: Path) -> None:
    (tmp_path / "domain").mkdir()
    (tmp_path / "domain" / "rules.py").write_text("def f():\n    from contractledger.http.app import create_app\n")
    (tmp_path / "projections").mkdir()
    (tmp_path / "projections" / "views.py").write_text("import contractledger.sync.feed_view\nfrom contractledger.store import x\n")
    (tmp_path / "sync").mkdir()
    (tmp_path / "sync" / "feed.py").write_text("from contractledger.projections import view\n")
    assert upward_imports(tmp_path) == [
        "domain/rules.py:2 (domain) imports contractledger.http.app (http)",
        "projections/views.py:1 (projections) imports contractledger.sync.feed_view (sync)",
    ]


def test_the_engine_imports_no_read_model_and_neither_store_imports_the_other() -> None:
    assert inward_imports() == []


def test_the_check_sees_the_engine_reach_a_read_model_and_one_store_reach_the_other(tmp_path: Path) -> None:
    (tmp_path / "projections" / "engine").mkdir(parents=True)
    (tmp_path / "projections" / "engine" / "runner.py").write_text(
        "from contractledger.projections.engine.view import View\n"
        "def f():\n    from contractledger.projections.contract_status import ContractStatusView\n"
    )
    (tmp_path / "projections" / "directory.py").write_text("from contractledger.projections.engine.view import View\n")
    (tmp_path / "store" / "postgres").mkdir(parents=True)
    (tmp_path / "store" / "postgres" / "recorders.py").write_text(
        "from contractledger.store.hashchain import link\nimport contractledger.store.sqlite.writers\n"
    )
    (tmp_path / "store" / "sqlite").mkdir()
    (tmp_path / "store" / "sqlite" / "factory.py").write_text("from contractledger.store import errors, postgres\n")
    (tmp_path / "store" / "settings.py").write_text("from contractledger.store import sqlite\n")
    assert inward_imports(tmp_path) == [
        "projections/engine/runner.py:3 (projections/engine) imports contractledger.projections.contract_status.ContractStatusView",
        "store/postgres/recorders.py:2 (store/postgres) imports contractledger.store.sqlite.writers",
        "store/sqlite/factory.py:1 (store/sqlite) imports contractledger.store.postgres",
    ]
