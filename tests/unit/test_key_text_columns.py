"""A text column that holds an id, an ISO date or an instant is declared
KEY_TEXT where the view database's tables are declared (projections, sync,
http): compared and sorted as bytes, ``TEXT COLLATE "C"`` on PostgreSQL,
``TEXT`` on SQLite (projections/engine/view_database.py). The names say which
columns those are (``*_id``, ``*_on``, ``*_at``); this reads every CREATE
TABLE the house writes and finds none of them declared plain TEXT."""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

from contractledger.projections.engine import view_database
from contractledger.projections.engine.view_database import KEY_TEXT

ROOT = Path(__file__).resolve().parents[2]
VIEW_DATABASE_FOLDERS = ("projections", "sync", "http", "runtime")
"""Where the view database's tables are declared (the event store's own, in store/, are its business)."""
PLAIN_KEY_COLUMN = re.compile(r"\b(\w+_(?:id|on|at)) TEXT\b")


def create_tables(root: Path = ROOT) -> dict[str, list[str]]:
    """Every string (f-strings with their fields as {}) that creates a table, by file."""
    found: dict[str, list[str]] = {}
    for folder in VIEW_DATABASE_FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.JoinedStr):
                    text = "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    text = node.value
                else:
                    continue
                if "CREATE TABLE" in text:
                    found.setdefault(str(path.relative_to(root)), []).append(text)
    return found


def plain_key_columns(root: Path = ROOT) -> set[str]:
    return {
        f"{path}: {column}"
        for path, statements in create_tables(root).items()
        for statement in statements
        for column in PLAIN_KEY_COLUMN.findall(statement)
    }


def test_every_id_date_and_instant_column_is_declared_key_text() -> None:
    assert plain_key_columns() == set()


def test_the_idempotency_records_keep_the_c_collation_of_their_instant() -> None:
    from contractledger.http import idempotency

    assert ' started_at TEXT COLLATE "C" NOT NULL,' in view_database._to_pyformat(idempotency.SCHEMA[0])


def test_the_check_reads_f_strings_and_finds_a_plain_key_column(tmp_path: Path) -> None:
    (tmp_path / "projections").mkdir()
    (tmp_path / "projections" / "view.py").write_text(
        "def schema(t):\n"
        "    return [f\"CREATE TABLE IF NOT EXISTS {t['a']} (party_id KEY_TEXT PRIMARY KEY,\"\n"
        "            \" name TEXT NOT NULL, joined_on TEXT)\"]\n"
    )
    assert plain_key_columns(tmp_path) == {"projections/view.py: joined_on"}


def test_each_dialect_fills_key_text_in() -> None:
    statement = "CREATE TABLE IF NOT EXISTS t (party_id KEY_TEXT PRIMARY KEY, name TEXT, joined_at KEY_TEXT NOT NULL)"
    assert KEY_TEXT == "KEY_TEXT"
    assert view_database._to_pyformat(statement) == (
        'CREATE TABLE IF NOT EXISTS t (party_id TEXT COLLATE "C" PRIMARY KEY, name TEXT, joined_at TEXT COLLATE "C" NOT NULL)'
    )
    assert view_database._for_sqlite(statement) == (
        "CREATE TABLE IF NOT EXISTS t (party_id TEXT PRIMARY KEY, name TEXT, joined_at TEXT NOT NULL)"
    )
    connection = sqlite3.connect(":memory:")
    connection.execute(view_database._for_sqlite(statement))
    assert [(row[1], row[2]) for row in connection.execute("PRAGMA table_info(t)")] == [
        ("party_id", "TEXT"), ("name", "TEXT"), ("joined_at", "TEXT")
    ]
