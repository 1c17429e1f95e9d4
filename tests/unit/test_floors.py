"""The house's floors (docs/architecture.md): a module imports only from its
own floor or the ones below, and on one floor only one way.

    runtime                  the composition root: catalogue, processes, serve
    http                     the API
    sync  ->  projections    feeds and peers on the read side's engine and views
    store                    the event store
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


KNOWN = {"sync/inbound.py:61 (sync) imports contractledger.http.inputs (http)"}
"""Left to move (issue 16): a peer's change is decoded with the API's strict
input types, which belong below both http and sync."""


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
