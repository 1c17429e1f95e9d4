"""Tables of the sync side beside the views (acknowledgements, the last
reconciliations), made the first time a database object is used."""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from contractledger.projections.engine.view_database import ViewDatabase


class TablesMadeOnce:
    """``ensure(database)`` runs the ``CREATE ... IF NOT EXISTS`` statements once per database object,
    schema changes serialised (every gunicorn worker and the runner may be first)."""

    def __init__(self, statements: Sequence[str]) -> None:
        self.statements = tuple(statements)
        self._made: weakref.WeakSet[ViewDatabase] = weakref.WeakSet()  # by object: a closed database's id is reused

    def ensure(self, database: ViewDatabase) -> None:
        if database in self._made:
            return
        with database.transaction() as tx:
            tx.serialise_schema_changes()
            for statement in self.statements:
                tx.execute(statement)
        self._made.add(database)
